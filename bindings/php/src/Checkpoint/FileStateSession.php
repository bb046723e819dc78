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

    public function __construct(private readonly FileCheckpointStore $store, private readonly string $path, private readonly FileLock $lock)
    {
    }

    public function startArgs(): array
    {
        $text = $this->store->read($this->path);

        return $text === null ? [] : ['checkpoint' => $text];
    }

    /**
     * Writes the whole file (a file has no cheaper partial write) at the
     * run's first save, then when the ledger changed or progress is asked for.
     */
    public function save(Flow $flow, bool $progress, bool $final = false): void
    {
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
