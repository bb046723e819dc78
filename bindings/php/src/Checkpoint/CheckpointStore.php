<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Where a host keeps flow checkpoints (the ledger that makes replays
 * idempotent), by key: one key per batch or per message stream.
 */
interface CheckpointStore
{
    /** The last checkpoint saved under `$key`, or null. */
    public function load(string $key): ?string;

    /** Saves (replaces) the checkpoint of `$key`; durable when it returns. */
    public function save(string $key, string $checkpoint): void;

    /** Forgets `$key`. */
    public function delete(string $key): void;
}
