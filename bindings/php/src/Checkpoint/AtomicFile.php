<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Replaces a file atomically and durably: a uniquely named temporary file
 * (mode 0600) in the same directory, written and fsynced, renamed over the
 * target, then the directory fsynced so that the rename survives a crash.
 */
final class AtomicFile
{
    /** @throws StateStoreException `store.io` */
    public static function write(string $path, string $text): void
    {
        $directory = dirname($path);
        $tmp = @tempnam($directory, '.' . basename($path) . '.');
        if ($tmp === false || dirname($tmp) !== $directory) {
            if (is_string($tmp)) {
                @unlink($tmp);
            }
            throw new StateStoreException('store.io', "cannot create a temporary file in {$directory}", 'check that the directory exists and is writable by this user', ['path' => $path]);
        }
        try {
            @chmod($tmp, 0o600);
            $handle = @fopen($tmp, 'wb');
            if ($handle === false) {
                throw new StateStoreException('store.io', "cannot open {$tmp}", 'check the directory\'s permissions', ['path' => $tmp]);
            }
            $written = @fwrite($handle, $text);
            $synced = $written === strlen($text) && fflush($handle) && fsync($handle);
            fclose($handle);
            if (!$synced) {
                throw new StateStoreException('store.io', "cannot write {$tmp} (disk full?)", 'free disk space and run again: the previous state is intact', ['path' => $tmp]);
            }
            if (!@rename($tmp, $path)) {
                throw new StateStoreException('store.io', "cannot replace {$path}", 'check the directory\'s permissions: the previous state is intact', ['path' => $path]);
            }
        } catch (\Throwable $e) {
            @unlink($tmp);
            throw $e;
        }
        $dir = @fopen($directory, 'r');
        if ($dir === false || !fsync($dir)) {
            throw new StateStoreException('store.io', "cannot fsync the directory {$directory}", 'the state was written but its rename may not survive a crash: check the file system', ['path' => $directory]);
        }
        fclose($dir);
    }
}
