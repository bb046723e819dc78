<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * The marker index (the core's `flow::index`: marker → incwo ids, and how
 * far each resource is proven complete) of one checkpoint file, beside it:
 * `<checkpoint>.index.jsonl`, a journal of the flow's index changes, one
 * JSON line per save, so that a save costs the change, not the index.
 *
 * Written under the checkpoint's lock only ({@see FileStateSession}). When
 * a run opens it, the journal is read whole (later lines win, by resource
 * and marker) and, if it holds more than one line, replaced atomically by
 * one line holding everything. The index is a cache of incwo's state: a
 * line cut by a crash is dropped, and losing the file costs list-page
 * requests (a sweep), never a duplicate; so an append is not fsynced.
 *
 * @internal used by {@see FileStateSession}
 */
final class FileMarkerIndex
{
    private const FLAGS = JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION;

    public function __construct(private readonly string $path)
    {
    }

    /** The journal's path. */
    public function path(): string
    {
        return $this->path;
    }

    /**
     * The whole index as `{"entries", "coverage"}` JSON text for
     * {@see \Incwo\Connector\Flow::loadIndex()}, or null when there is none;
     * compacts the journal into one line.
     *
     * @throws StateStoreException `store.io`
     */
    public function load(): ?string
    {
        if (!is_file($this->path)) {
            return null;
        }
        $text = @file_get_contents($this->path);
        if ($text === false) {
            throw new StateStoreException('store.io', "cannot read the marker index {$this->path}", 'check the file\'s owner and permissions (0600, the user running the connector), or delete it: the next run rebuilds it', ['path' => $this->path]);
        }
        $entries = [];
        $coverage = [];
        $lines = 0;
        foreach (explode("\n", $text) as $line) {
            if ($line === '') {
                continue;
            }
            $lines++;
            $changes = json_decode($line, false, 512, JSON_BIGINT_AS_STRING);
            if (!$changes instanceof \stdClass) {
                continue; // cut by a crash: a cache loses a few markers, re-read later
            }
            foreach ($changes->entries ?? [] as $entry) {
                if ($entry instanceof \stdClass && isset($entry->resource, $entry->marker)) {
                    $entries[$entry->resource . "\0" . $entry->marker] = $entry;
                }
            }
            foreach ((array) ($changes->coverage ?? []) as $resource => $c) {
                $coverage[(string) $resource] = $c;
            }
        }
        $whole = json_encode(['entries' => array_values($entries), 'coverage' => (object) $coverage], self::FLAGS);
        if ($lines > 1 || !str_ends_with($text, "\n")) {
            AtomicFile::write($this->path, $whole . "\n");
        }

        return $whole;
    }

    /**
     * Appends one set of changes (JSON text of the flow's
     * `takeIndexChanges()`); nothing when it is empty.
     *
     * @throws StateStoreException `store.io`
     */
    public function append(string $changes): void
    {
        $value = json_decode($changes, false, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        if (($value->entries ?? []) === [] && (array) ($value->coverage ?? []) === []) {
            return;
        }
        $created = !is_file($this->path);
        $handle = @fopen($this->path, 'ab');
        if ($handle === false) {
            throw new StateStoreException('store.io', "cannot open the marker index {$this->path}", 'check the directory\'s permissions', ['path' => $this->path]);
        }
        if ($created) {
            @chmod($this->path, 0o600);
        }
        $line = trim($changes) . "\n";
        $written = @fwrite($handle, $line);
        fclose($handle);
        if ($written !== strlen($line)) {
            throw new StateStoreException('store.io', "cannot write the marker index {$this->path} (disk full?)", 'free disk space and run again: the ledger is intact', ['path' => $this->path]);
        }
    }
}
