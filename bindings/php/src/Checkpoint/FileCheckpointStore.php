<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Checkpoints as files in a directory, one per key (use one key per
 * business file: a key's file holds its whole ledger).
 *
 * - One writer at a time: a run ({@see open()}) holds an exclusive lock
 *   (flock) on `<file>.lock` until it ends; a second run waits at most
 *   `$lockWaitSeconds`, then fails with `store.locked` naming the holder
 *   (pid, host, start time).
 * - Durable: each write goes to a uniquely named temporary file (mode
 *   0600), is fsynced, renamed over the file, and the directory fsynced;
 *   a crash leaves the old or the new checkpoint, never half of one.
 * - A run writes when the ledger changed (the `pending` entry of a create
 *   is on disk before its request leaves) and when a record ends.
 */
final class FileCheckpointStore implements CheckpointStore, StateStore
{
    public function __construct(private readonly string $directory, private readonly float $lockWaitSeconds = 30.0)
    {
    }

    public function open(string $key): StateSession
    {
        $this->ensureDirectory();
        $path = $this->path($key);
        $lock = FileLock::acquire($path . '.lock', $this->lockWaitSeconds);

        return new FileStateSession($this, $path, $lock);
    }

    public function load(string $key): ?string
    {
        return $this->read($this->path($key));
    }

    /** Saves under the key's lock (waiting as {@see open()} does). */
    public function save(string $key, string $checkpoint): void
    {
        $this->ensureDirectory();
        $path = $this->path($key);
        $lock = FileLock::acquire($path . '.lock', $this->lockWaitSeconds);
        try {
            AtomicFile::write($path, $checkpoint);
        } finally {
            $lock->release();
        }
    }

    public function delete(string $key): void
    {
        @unlink($this->path($key));
    }

    /** @internal the text of a state file, or null when there is none */
    public function read(string $path): ?string
    {
        if (!is_file($path)) {
            return null;
        }
        $text = @file_get_contents($path);
        if ($text === false) {
            throw new StateStoreException('store.io', "cannot read the checkpoint {$path}", 'check the file\'s owner and permissions (0600, the user running the connector)', ['path' => $path]);
        }

        return $text;
    }

    private function ensureDirectory(): void
    {
        if (!is_dir($this->directory) && !@mkdir($this->directory, 0o700, true) && !is_dir($this->directory)) {
            throw new StateStoreException('store.io', "cannot create the checkpoint directory {$this->directory}", 'create it, writable by the user running the connector', ['path' => $this->directory]);
        }
    }

    private function path(string $key): string
    {
        $safe = preg_replace('/[^A-Za-z0-9_.-]/', '_', $key);

        return rtrim($this->directory, '/') . '/' . $safe . '-' . substr(hash('sha256', $key), 0, 12) . '.json';
    }
}
