<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

use Incwo\Connector\Flow;

/**
 * A run's hold on one checkpoint file of a {@see FileCheckpointStore}: the
 * run is its only writer until {@see close()}.
 *
 * @internal created by {@see FileCheckpointStore::open()}
 */
final class FileStateSession implements StateSession
{
    private bool $written = false;

    private readonly FileMarkerIndex $index;

    public function __construct(private readonly FileCheckpointStore $store, private readonly string $path, private readonly FileLock $lock)
    {
        $this->index = new FileMarkerIndex($path . '.index.jsonl');
    }

    public function startArgs(): array
    {
        $text = $this->store->read($this->path);
        $args = $text === null ? [] : ['checkpoint' => $text];
        $index = $this->index->load();

        return $index === null ? $args : $args + ['index' => $index];
    }

    /**
     * Writes the whole file (a file has no cheaper partial write) at the
     * run's first save, then when the ledger changed or progress is asked for;
     * appends the marker index's changes to its journal ({@see FileMarkerIndex}).
     */
    public function save(Flow $flow, bool $progress, bool $final = false): void
    {
        $this->index->append($flow->takeIndexChanges());
        $changed = json_decode($flow->takeChangedEntries(), false, 512, JSON_THROW_ON_ERROR);
        if (!$this->written || ($changed->entries ?? []) !== [] || $progress || $final) {
            AtomicFile::write($this->path, $flow->checkpoint());
            $this->written = true;
        }
    }

    public function close(): void
    {
        $this->lock->release();
    }
}
