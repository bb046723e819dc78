<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Checkpoints as files in a directory, one per key, replaced atomically
 * (temporary file + rename) so a crash never leaves half a checkpoint.
 */
final class FileCheckpointStore implements CheckpointStore
{
    public function __construct(private readonly string $directory)
    {
    }

    public function load(string $key): ?string
    {
        $path = $this->path($key);
        if (!is_file($path)) {
            return null;
        }
        $text = file_get_contents($path);

        return $text === false ? null : $text;
    }

    public function save(string $key, string $checkpoint): void
    {
        if (!is_dir($this->directory) && !@mkdir($this->directory, 0o770, true) && !is_dir($this->directory)) {
            throw new \RuntimeException("cannot create the checkpoint directory {$this->directory}");
        }
        $path = $this->path($key);
        $tmp = $path . '.' . getmypid() . '.tmp';
        if (file_put_contents($tmp, $checkpoint, LOCK_EX) === false || !rename($tmp, $path)) {
            @unlink($tmp);
            throw new \RuntimeException("cannot write the checkpoint {$path}");
        }
    }

    public function delete(string $key): void
    {
        @unlink($this->path($key));
    }

    private function path(string $key): string
    {
        $safe = preg_replace('/[^A-Za-z0-9_.-]/', '_', $key);

        return rtrim($this->directory, '/') . '/' . $safe . '-' . substr(hash('sha256', $key), 0, 12) . '.json';
    }
}
