<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * An exclusive lock (flock) on a lock file beside a state file, held for a
 * run. The holder writes its pid, host and start time into the file, so a
 * writer that waited in vain can name it.
 */
final class FileLock
{
    /** @param resource $handle */
    private function __construct(private $handle, public readonly string $path)
    {
    }

    /**
     * Takes the lock, waiting at most `$waitSeconds`.
     *
     * @throws StateStoreException `store.locked` (naming the holder) or `store.io`
     */
    public static function acquire(string $path, float $waitSeconds): self
    {
        $handle = @fopen($path, 'c+');
        if ($handle === false) {
            throw new StateStoreException('store.io', "cannot open the lock file {$path}", 'check that the state directory exists and is writable by this user', ['path' => $path]);
        }
        @chmod($path, 0o600);
        $deadline = microtime(true) + max(0.0, $waitSeconds);
        while (!flock($handle, LOCK_EX | LOCK_NB)) {
            if (microtime(true) >= $deadline) {
                rewind($handle);
                $holder = json_decode((string) stream_get_contents($handle), true);
                fclose($handle);
                $holder = is_array($holder) ? $holder : [];
                $who = sprintf('pid %s on %s since %s', $holder['pid'] ?? '?', $holder['host'] ?? '?', $holder['startedAt'] ?? '?');
                throw new StateStoreException(
                    'store.locked',
                    sprintf('the state %s is held by another run (%s); waited %.1f s', $path, $who, $waitSeconds),
                    'wait for that run to end (or stop it), then run again; raise the store\'s lock wait to queue runs longer',
                    ['path' => $path, 'holder' => $holder, 'waitedSeconds' => $waitSeconds],
                );
            }
            usleep(50_000);
        }
        $me = json_encode(['pid' => getmypid(), 'host' => (string) gethostname(), 'startedAt' => gmdate('Y-m-d\TH:i:s\Z')], JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
        ftruncate($handle, 0);
        rewind($handle);
        fwrite($handle, $me);
        fflush($handle);

        return new self($handle, $path);
    }

    /** Releases the lock (idempotent). The file stays: deleting it would let two runs lock two different files. */
    public function release(): void
    {
        if (is_resource($this->handle)) {
            ftruncate($this->handle, 0);
            flock($this->handle, LOCK_UN);
            fclose($this->handle);
        }
    }

    public function __destruct()
    {
        $this->release();
    }
}
