<?php

declare(strict_types=1);

namespace Incwo\Connector\Quarantine;

use Incwo\Connector\Checkpoint\QuarantineStore;
use Incwo\Connector\Core;
use Incwo\Connector\Exception\UsageException;

/**
 * The quarantine workflow over a {@see QuarantineStore}: every rule is the
 * core's (`quarantine.merge`, `quarantine.list`, `quarantine.select`,
 * `quarantine.replay_batch`, `quarantine.settle`, `quarantine.drop`,
 * `quarantine.runbook`); this class
 * only reads and writes the store around those calls.
 */
final class Quarantine
{
    /** @var \Closure(): int */
    private readonly \Closure $clock;

    /** @param (callable(): int)|null $clock ms since the epoch (the real clock by default) */
    public function __construct(private readonly Core $core, private readonly QuarantineStore $store, ?callable $clock = null)
    {
        $this->clock = $clock !== null ? \Closure::fromCallable($clock) : static fn (): int => (int) floor(microtime(true) * 1000);
    }

    /**
     * Stores the entry of a `recordDone` action, merged with the record's
     * previous one (first sighting kept, attempts counted, open again).
     *
     * @param array<string, mixed> $entry
     *
     * @return array<string, mixed> the stored entry
     */
    public function store(array $entry): array
    {
        return $this->store->updateQuarantine((string) $entry['id'], function (?array $previous) use ($entry): array {
            $args = ['entry' => $entry];
            if ($previous !== null) {
                $args['previous'] = $previous;
            }

            return $this->core->call('quarantine.merge', $args)['entry'];
        });
    }

    /**
     * The entries matching `$filter` (`code`, `class`, `resource`,
     * `olderThanSeconds`, `state`; open ones by default), oldest first,
     * after deleting those past their retention.
     *
     * @param array<string, mixed> $filter
     *
     * @return list<array<string, mixed>>
     */
    public function list(array $filter = [], ?int $retentionDays = null): array
    {
        $args = ['entries' => $this->store->quarantineEntries(), 'now' => $this->now()];
        $filter = array_filter($filter, static fn ($v): bool => $v !== null);
        if ($filter !== []) {
            $args['filter'] = $filter;
        }
        if ($retentionDays !== null) {
            $args['retentionDays'] = $retentionDays;
        }
        $result = $this->core->call('quarantine.list', $args);
        if (($result['expired'] ?? []) !== []) {
            $this->store->deleteQuarantine(array_values($result['expired']));
        }

        return array_values($result['entries']);
    }

    /**
     * One entry, or a `usage.not_found` UsageException naming the way to list them.
     *
     * @return array<string, mixed>
     */
    public function get(string $id): array
    {
        return $this->store->quarantineEntry($id) ?? throw new UsageException([
            'class' => 'usage',
            'code' => 'usage.not_found',
            'message' => "no quarantine entry {$id}",
            'hint' => '`incwo:quarantine:list --status all` lists them',
        ]);
    }

    /**
     * Drops an entry with its reason (required; kept with it, redacted).
     *
     * @return array<string, mixed> the dropped entry
     */
    public function drop(string $id, string $reason): array
    {
        $this->get($id);

        return $this->store->updateQuarantine($id, fn (?array $entry): array => $this->core->call('quarantine.drop', ['entry' => $entry, 'reason' => $reason, 'now' => $this->now()])['entry']);
    }

    /**
     * The lines of a batch (JSON Lines) that replay `$entries`, and the ids no line matched.
     *
     * @param list<array<string, mixed>> $entries
     *
     * @return array{jsonl: string, missing: list<string>}
     */
    public function select(array $entries, string $jsonl): array
    {
        $result = $this->core->call('quarantine.select', ['entries' => $entries, 'jsonl' => $jsonl]);

        return ['jsonl' => (string) $result['jsonl'], 'missing' => array_values($result['missing'])];
    }

    /**
     * The JSON Lines a manual replay of `$entries` sends (`quarantine.replay_batch`):
     * from the fixed record (`$record`: a bare record, an envelope or envelope
     * lines) or from a batch (`$jsonl`: the entries' lines), one of them. The
     * core refuses, as a UsageException with its code and hint, an entry that
     * is not open (`usage.quarantine_not_open`), a bare record for other than
     * one entry (`usage.quarantine_bare_record`) or for an entry of no kind
     * (`usage.quarantine_no_kind`), and a batch missing an entry's line
     * (`usage.quarantine_not_in_batch`).
     *
     * @param list<array<string, mixed>> $entries
     */
    public function replayBatch(array $entries, ?string $record = null, ?string $jsonl = null): string
    {
        $args = ['entries' => $entries];
        if ($record !== null) {
            $args['record'] = $record;
        }
        if ($jsonl !== null) {
            $args['jsonl'] = $jsonl;
        }

        return (string) $this->core->call('quarantine.replay_batch', $args)['jsonl'];
    }

    /**
     * Settles the entry a replayed record's `recordDone` action names (the
     * core finds it among `$entries`, or the only one replayed when the fixed
     * record's external id changed): stored as `replayed` when it synced.
     * Returns the settled entry, or null when none matches.
     *
     * @param list<array<string, mixed>> $entries
     * @param array<string, mixed>       $done
     *
     * @return array<string, mixed>|null
     */
    public function settle(array $entries, array $done): ?array
    {
        $entry = $this->core->call('quarantine.settle', ['entries' => $entries, 'done' => $done, 'now' => $this->now()])['entry'] ?? null;
        if (!is_array($entry)) {
            return null;
        }

        return $this->store->updateQuarantine((string) $entry['id'], static fn (): array => $entry);
    }

    /** The runbook line of a code (docs/RUNBOOK.md). */
    public function runbook(string $code): string
    {
        return (string) $this->core->call('quarantine.runbook', ['code' => $code])['line'];
    }

    private function now(): int
    {
        return ($this->clock)();
    }
}
