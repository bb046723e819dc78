<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

use Incwo\Connector\Flow;

/**
 * A run on a {@see PdoCheckpointStore}: remembers the version of each
 * entry it read or wrote, writes what its flow changed with a version
 * check (signed `host:pid`), and its progress when asked.
 *
 * @internal created by {@see PdoCheckpointStore::open()}
 */
final class PdoStateSession implements StateSession
{
    /** @var array<string, int> version of each entry as this run knows it */
    private array $versions = [];

    private ?string $savedProgress = null;

    private float $progressSavedAt = 0.0;

    private readonly string $writer;

    public function __construct(private readonly PdoCheckpointStore $store, private readonly string $key)
    {
        $this->writer = self::writerId();
    }

    /**
     * Reads every entry, again while another writer's `pending` entry is
     * younger than the store's lease (its create may be in flight: starting
     * from it would reconcile too early and create the document twice); if
     * that lasts longer than the lease, starts without such entries.
     */
    public function startArgs(): array
    {
        $deadline = microtime(true) + $this->store->pendingLeaseSeconds();
        while (true) {
            $rows = $this->store->loadEntries();
            $fresh = (int) floor((microtime(true) - $this->store->pendingLeaseSeconds()) * 1000);
            $inFlight = array_filter($rows, fn (array $row): bool => $row['state'] === 'pending' && $row['updatedAt'] >= $fresh && self::mayBeSending($row['writer']));
            if ($inFlight === []) {
                break;
            }
            if (microtime(true) >= $deadline) {
                // Still busy: start without those entries. Reaching one of
                // them, this run's insert conflicts and it starts again.
                $rows = array_diff_key($rows, $inFlight);
                break;
            }
            usleep(20_000);
        }
        $this->versions = array_map(static fn (array $row): int => $row['version'], $rows);
        $entries = array_map(static fn (array $row): string => $row['entry'], $rows);
        $this->savedProgress = $this->store->loadProgress($this->key);
        $index = $this->store->loadIndex();
        $index = $index === null ? [] : ['index' => $index];
        if ($this->savedProgress !== null) {
            return ['checkpoint' => CheckpointParts::join($this->savedProgress, $entries)] + $index;
        }

        return ($entries === [] ? [] : ['ledger' => '[' . implode(',', $entries) . ']']) + $index;
    }

    public function save(Flow $flow, bool $progress, bool $final = false): void
    {
        $changed = json_decode($flow->takeChangedEntries(), false, 512, JSON_THROW_ON_ERROR);
        $entries = $changed->entries ?? [];
        $index = json_decode($flow->takeIndexChanges(), false, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        $indexChanged = ($index->entries ?? []) !== [] || (array) ($index->coverage ?? []) !== [];
        if ($entries !== [] || $indexChanged) {
            // One transaction: the index's changes go with the ledger's, or not at all.
            $this->versions = $this->store->writeEntries($entries, $this->versions, $this->writer, $indexChanged ? $index : null) + $this->versions;
        }
        $now = microtime(true);
        if ($final || ($progress && $now - $this->progressSavedAt >= 1.0)) {
            // The checkpoint's text holds every entry: split it at most once a second.
            [$text] = CheckpointParts::split($flow->checkpoint());
            if ($text !== $this->savedProgress) {
                $this->store->saveProgress($this->key, $text);
                $this->savedProgress = $text;
            }
            $this->progressSavedAt = $now;
        }
    }

    public function close(): void
    {
    }

    /** This process: `host:pid`. */
    private static function writerId(): string
    {
        return gethostname() . ':' . getmypid();
    }

    /**
     * Whether the writer of a `pending` entry may still be sending it: not
     * this process (its own earlier runs ended), not a process of this host
     * that is gone (a crash: reconcile at once); any other may.
     */
    private static function mayBeSending(string $writer): bool
    {
        if ($writer === self::writerId()) {
            return false;
        }
        $at = strrpos($writer, ':');
        if ($at === false || substr($writer, 0, $at) !== gethostname()) {
            return $writer !== '';
        }

        return is_dir('/proc/' . (int) substr($writer, $at + 1)) || !is_dir('/proc/self');
    }
}
