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
 * - The marker index of a key (marker → incwo ids, so that a lookup reads
 *   only what is newer than the index) is a journal beside its file,
 *   `<file>.index.jsonl`, appended under the same lock
 *   ({@see FileMarkerIndex}); {@see delete()} removes it with the file.
 * - The quarantine ({@see QuarantineStore}) is one file beside the
 *   checkpoints, `quarantine.json` (`{"entries": {id: entry}}`, entries as
 *   the core gave them: redacted), written the same way under its own lock
 *   (`quarantine.json.lock`).
 */
final class FileCheckpointStore implements CheckpointStore, StateStore, QuarantineStore
{
    private const FLAGS = JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION;

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

    /** Removes the key's checkpoint and its marker index. */
    public function delete(string $key): void
    {
        @unlink($this->path($key));
        @unlink($this->path($key) . '.index.jsonl');
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

    public function quarantineEntries(): array
    {
        $entries = array_values($this->readQuarantine());
        usort($entries, static fn (array $a, array $b): int => [$a['firstSeen'] ?? 0, $a['id'] ?? ''] <=> [$b['firstSeen'] ?? 0, $b['id'] ?? '']);

        return $entries;
    }

    public function quarantineEntry(string $id): ?array
    {
        return $this->readQuarantine()[$id] ?? null;
    }

    public function updateQuarantine(string $id, callable $change): array
    {
        $written = [];
        $this->changeQuarantine(function (array $entries) use ($id, $change, &$written): array {
            $written = $change($entries[$id] ?? null);
            $entries[$id] = $written;

            return $entries;
        });

        return $written;
    }

    public function deleteQuarantine(array $ids): void
    {
        if ($ids !== []) {
            $this->changeQuarantine(static fn (array $entries): array => array_diff_key($entries, array_flip($ids)));
        }
    }

    /** @param callable(array<string, array<string, mixed>>): array<string, array<string, mixed>> $change */
    private function changeQuarantine(callable $change): void
    {
        $this->ensureDirectory();
        $path = $this->quarantinePath();
        $lock = FileLock::acquire($path . '.lock', $this->lockWaitSeconds);
        try {
            $entries = $change($this->readQuarantine());
            AtomicFile::write($path, json_encode(['entries' => (object) $entries], self::FLAGS));
        } finally {
            $lock->release();
        }
    }

    /** @return array<string, array<string, mixed>> entries by id */
    private function readQuarantine(): array
    {
        $path = $this->quarantinePath();
        $text = $this->read($path);
        if ($text === null) {
            return [];
        }
        $value = json_decode($text, true, 512, JSON_BIGINT_AS_STRING);
        if (!is_array($value) || !is_array($value['entries'] ?? null)) {
            throw new StateStoreException('store.quarantine_unreadable', "the quarantine file {$path} is not valid JSON", 'restore it from a backup, or move it away to start an empty quarantine', ['path' => $path]);
        }

        return $value['entries'];
    }

    private function quarantinePath(): string
    {
        return rtrim($this->directory, '/') . '/quarantine.json';
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
