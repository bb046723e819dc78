<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Flow state in database tables through PDO (SQLite, MySQL/MariaDB,
 * PostgreSQL), the design of the scale-out {@see PdoLedgerStore}:
 *
 * - `{table}_entry`: one row per ledger entry (`idempotency_key` primary
 *   key, `domain`, `external_id`, `step`, `state`, the entry's JSON,
 *   `version`), shared by every key of the store: runs of different batches
 *   of one business file see each other's documents;
 * - `{table}_progress`: each key's progress (the checkpoint without its
 *   ledger: cursor, outcomes, retry state), small.
 *
 * A run writes only the entries its flow changed, in one transaction, each
 * with a version check: a row is inserted only if absent and updated only
 * if it still has the version the run read. A stale write is refused with a
 * {@see StateConflictException} instead of overwriting another writer's
 * entry, so several runs (different customers, or overlapping batches) can
 * share the store. Rows of the former single-text table `{table}` are
 * imported once, then deleted.
 *
 * - `{table}_marker_index` and `{table}_marker_coverage`: the marker index
 *   (the core's `flow::index`: marker → incwo ids, so that a lookup reads
 *   only what is newer than the index), one row per resource and marker
 *   (`found`: the JSON list of objects carrying it) and one per resource
 *   (`coverage` JSON), shared by every key as the entries are; upserted in
 *   the transaction of the ledger entries (last writer wins: a cache of
 *   incwo's state, whose loss costs list-page reads, never a duplicate).
 * - `{table}_quarantine`: the quarantine ({@see QuarantineStore}), one row
 *   per entry id with its JSON (as the core gave it: redacted) and the
 *   columns an operator filters on in SQL (`state`, `code`, `class`, `kind`,
 *   `external_id`, `first_seen`, `last_seen`, ms since the epoch).
 */
final class PdoCheckpointStore implements CheckpointStore, StateStore, QuarantineStore
{
    private const FLAGS = JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION;

    private readonly string $driver;

    private bool $ready = false;

    /**
     * @param string $table               name of the former table; the new ones add `_entry` and `_progress`
     * @param float  $pendingLeaseSeconds how long a run starting waits for another writer's `pending` entry
     *                                    (its request in flight) before reconciling it as abandoned; above
     *                                    the connector's request timeout
     */
    public function __construct(
        private readonly \PDO $pdo,
        private readonly string $table = 'incwo_checkpoints',
        private readonly float $pendingLeaseSeconds = 60.0,
    ) {
        if (!preg_match('/^[A-Za-z_][A-Za-z0-9_]*$/', $table)) {
            throw new \InvalidArgumentException('the table name must be a plain SQL identifier');
        }
        $this->pdo->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
        $this->driver = (string) $this->pdo->getAttribute(\PDO::ATTR_DRIVER_NAME);
        if ($this->driver === 'sqlite') {
            $this->pdo->setAttribute(\PDO::ATTR_TIMEOUT, 30);
            $this->pdo->exec('PRAGMA busy_timeout = 30000');
            $this->pdo->exec('PRAGMA journal_mode = WAL');
            $this->pdo->exec('PRAGMA synchronous = FULL');
        }
    }

    /** Creates the tables when they do not exist and imports the former table's rows (once). */
    public function createTable(): void
    {
        $t = $this->table;
        $text = $this->driver === 'mysql' ? 'MEDIUMTEXT' : 'TEXT';
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$t}_entry (idempotency_key VARCHAR(64) NOT NULL PRIMARY KEY, domain VARCHAR(32) NOT NULL, external_id VARCHAR(255) NOT NULL, step VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, entry {$text} NOT NULL, version BIGINT NOT NULL, writer VARCHAR(64) NOT NULL, updated_at BIGINT NOT NULL)");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$t}_progress (checkpoint_key VARCHAR(255) NOT NULL PRIMARY KEY, progress {$text} NOT NULL, updated_at BIGINT NOT NULL)");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$t}_quarantine (id VARCHAR(64) NOT NULL PRIMARY KEY, state VARCHAR(16) NOT NULL, code VARCHAR(128) NOT NULL, class VARCHAR(16) NOT NULL, kind VARCHAR(32), external_id VARCHAR(255), first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, entry {$text} NOT NULL)");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$t}_marker_index (resource VARCHAR(32) NOT NULL, marker VARCHAR(255) NOT NULL, found {$text} NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (resource, marker))");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$t}_marker_coverage (resource VARCHAR(32) NOT NULL PRIMARY KEY, coverage {$text} NOT NULL, updated_at BIGINT NOT NULL)");
        $this->ready = true;
        $this->importLegacy();
    }

    public function open(string $key): StateSession
    {
        $this->ready();

        return new PdoStateSession($this, $key);
    }

    /** The whole checkpoint of `$key` (progress and every entry): an export. */
    public function load(string $key): ?string
    {
        $this->ready();
        $progress = $this->loadProgress($key);
        if ($progress === null) {
            return null;
        }

        return CheckpointParts::join($progress, array_map(static fn (array $row): string => $row['entry'], $this->loadEntries()));
    }

    /**
     * Saves a whole checkpoint: its progress, and those of its entries that
     * differ from the stored ones (last writer wins: for single-writer
     * callers such as the inbound handler; runs use {@see open()}).
     */
    public function save(string $key, string $checkpoint): void
    {
        $this->ready();
        [$progress, $entries] = CheckpointParts::split($checkpoint);
        $stored = $this->loadEntries();
        $this->transaction(function () use ($key, $progress, $entries, $stored): void {
            foreach ($entries as $entryKey => $json) {
                if (($stored[$entryKey]['entry'] ?? null) !== $json) {
                    $this->upsertEntry($entryKey, $json);
                }
            }
            $this->saveProgress($key, $progress);
        });
    }

    /** Forgets the progress of `$key` (the shared ledger entries stay). */
    public function delete(string $key): void
    {
        $this->ready();
        $this->pdo->prepare("DELETE FROM {$this->table}_progress WHERE checkpoint_key = ?")->execute([$key]);
    }

    /** @internal the progress text of `$key`, or null */
    public function loadProgress(string $key): ?string
    {
        $this->ready();
        $statement = $this->pdo->prepare("SELECT progress FROM {$this->table}_progress WHERE checkpoint_key = ?");
        $statement->execute([$key]);
        $value = $statement->fetchColumn();

        return $value === false ? null : (string) $value;
    }

    /**
     * @internal every entry by idempotency key
     *
     * @return array<string, array{entry: string, state: string, version: int, writer: string, updatedAt: int}>
     */
    public function loadEntries(): array
    {
        $this->ready();
        $rows = [];
        foreach ($this->pdo->query("SELECT idempotency_key, entry, state, version, writer, updated_at FROM {$this->table}_entry")->fetchAll(\PDO::FETCH_NUM) as [$key, $entry, $state, $version, $writer, $updatedAt]) {
            $rows[(string) $key] = ['entry' => (string) $entry, 'state' => (string) $state, 'version' => (int) $version, 'writer' => (string) $writer, 'updatedAt' => (int) $updatedAt];
        }

        return $rows;
    }

    /**
     * @internal the state, version and last change of one entry, or null
     *
     * @return array{state: string, version: int, updatedAt: int}|null
     */
    public function entryStatus(string $key): ?array
    {
        $statement = $this->pdo->prepare("SELECT state, version, updated_at FROM {$this->table}_entry WHERE idempotency_key = ?");
        $statement->execute([$key]);
        $row = $statement->fetch(\PDO::FETCH_NUM);

        return $row === false ? null : ['state' => (string) $row[0], 'version' => (int) $row[1], 'updatedAt' => (int) $row[2]];
    }

    /**
     * @internal the whole marker index as `{"entries", "coverage"}` JSON text
     * for {@see \Incwo\Connector\Flow::loadIndex()}, or null when empty; a
     * row that no longer parses is left out (the next pass reads it again)
     */
    public function loadIndex(): ?string
    {
        $this->ready();
        // Coverage first: the entries read next include those another run
        // saved with it (read the other way round, a coverage committed in
        // between would claim entries this run never read).
        $coverage = [];
        foreach ($this->pdo->query("SELECT resource, coverage FROM {$this->table}_marker_coverage")->fetchAll(\PDO::FETCH_NUM) as [$resource, $text]) {
            $value = json_decode((string) $text, false, 512, JSON_BIGINT_AS_STRING);
            if ($value instanceof \stdClass) {
                $coverage[(string) $resource] = $value;
            }
        }
        $entries = [];
        foreach ($this->pdo->query("SELECT resource, marker, found FROM {$this->table}_marker_index")->fetchAll(\PDO::FETCH_NUM) as [$resource, $marker, $found]) {
            $list = json_decode((string) $found, false, 512, JSON_BIGINT_AS_STRING);
            if (is_array($list)) {
                $entries[] = ['resource' => (string) $resource, 'marker' => (string) $marker, 'found' => $list];
            }
        }
        if ($entries === [] && $coverage === []) {
            return null;
        }

        return json_encode(['entries' => $entries, 'coverage' => (object) $coverage], self::FLAGS);
    }

    /**
     * @internal writes entries in one transaction, each only if it still has
     * the version `$versions` says (0: absent), and the marker index's
     * changes (upserts) in the same transaction; returns the new versions
     *
     * @param list<\stdClass>    $entries
     * @param array<string, int> $versions
     * @param string             $writer   the run's id, kept with each entry
     * @param \stdClass|null     $index    the flow's `takeIndexChanges()`, decoded with objects
     *
     * @return array<string, int>
     *
     * @throws StateConflictException
     */
    public function writeEntries(array $entries, array $versions, string $writer, ?\stdClass $index = null): array
    {
        $this->ready();
        $t = $this->table;
        $written = [];
        $this->transaction(function () use ($entries, $versions, $writer, $t, $index, &$written): void {
            if ($index !== null) {
                $this->writeIndex($index);
            }
            $insert = $this->pdo->prepare("INSERT INTO {$t}_entry (idempotency_key, domain, external_id, step, state, entry, version, writer, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)");
            $update = $this->pdo->prepare("UPDATE {$t}_entry SET domain = ?, external_id = ?, step = ?, state = ?, entry = ?, version = ?, writer = ?, updated_at = ? WHERE idempotency_key = ? AND version = ?");
            $now = self::now();
            foreach ($entries as $entry) {
                $key = (string) $entry->key;
                $json = json_encode($entry, self::FLAGS);
                $expected = $versions[$key] ?? 0;
                $ok = true;
                if ($expected === 0) {
                    try {
                        $insert->execute([$key, (string) $entry->domain, (string) $entry->externalId, (string) $entry->step, (string) $entry->state, $json, $writer, $now]);
                    } catch (\PDOException $e) {
                        // SQLSTATE class 23: integrity constraint violation (the key exists).
                        if (!str_starts_with((string) $e->getCode(), '23')) {
                            throw $e;
                        }
                        $ok = false;
                    }
                } else {
                    $update->execute([(string) $entry->domain, (string) $entry->externalId, (string) $entry->step, (string) $entry->state, $json, $expected + 1, $writer, $now, $key, $expected]);
                    $ok = $update->rowCount() === 1;
                }
                if (!$ok) {
                    throw $this->conflict($entry, $expected);
                }
                $written[$key] = $expected + 1;
            }
        });

        return $written;
    }

    /** @internal saves the progress of `$key` */
    public function saveProgress(string $key, string $progress): void
    {
        $this->ready();
        $sql = $this->driver === 'mysql'
            ? "INSERT INTO {$this->table}_progress (checkpoint_key, progress, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE progress = VALUES(progress), updated_at = VALUES(updated_at)"
            : "INSERT INTO {$this->table}_progress (checkpoint_key, progress, updated_at) VALUES (?, ?, ?) ON CONFLICT (checkpoint_key) DO UPDATE SET progress = excluded.progress, updated_at = excluded.updated_at";
        $this->pdo->prepare($sql)->execute([$key, $progress, self::now()]);
    }

    public function quarantineEntries(): array
    {
        $this->ready();
        $rows = $this->pdo->query("SELECT entry FROM {$this->table}_quarantine ORDER BY first_seen, id")->fetchAll(\PDO::FETCH_COLUMN);

        return array_map(self::decodeEntry(...), $rows);
    }

    public function quarantineEntry(string $id): ?array
    {
        $this->ready();
        $statement = $this->pdo->prepare("SELECT entry FROM {$this->table}_quarantine WHERE id = ?");
        $statement->execute([$id]);
        $text = $statement->fetchColumn();

        return $text === false ? null : self::decodeEntry((string) $text);
    }

    public function updateQuarantine(string $id, callable $change): array
    {
        $this->ready();
        $t = $this->table;
        $written = [];
        $this->transaction(function () use ($id, $change, $t, &$written): void {
            $lock = $this->driver === 'mysql' ? ' FOR UPDATE' : '';
            $select = $this->pdo->prepare("SELECT entry FROM {$t}_quarantine WHERE id = ?{$lock}");
            $select->execute([$id]);
            $text = $select->fetchColumn();
            $written = $change($text === false ? null : self::decodeEntry((string) $text));
            $row = [
                (string) $written['state'], (string) ($written['error']['code'] ?? ''), (string) ($written['error']['class'] ?? ''),
                $written['kind'] ?? null, $written['externalId'] ?? null, (int) $written['firstSeen'], (int) $written['lastSeen'],
                json_encode($written, self::FLAGS),
            ];
            if ($text === false) {
                $this->pdo->prepare("INSERT INTO {$t}_quarantine (state, code, class, kind, external_id, first_seen, last_seen, entry, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")->execute([...$row, $id]);
            } else {
                $this->pdo->prepare("UPDATE {$t}_quarantine SET state = ?, code = ?, class = ?, kind = ?, external_id = ?, first_seen = ?, last_seen = ?, entry = ? WHERE id = ?")->execute([...$row, $id]);
            }
        });

        return $written;
    }

    public function deleteQuarantine(array $ids): void
    {
        $this->ready();
        $delete = $this->pdo->prepare("DELETE FROM {$this->table}_quarantine WHERE id = ?");
        foreach ($ids as $id) {
            $delete->execute([$id]);
        }
    }

    /** @internal see the constructor */
    public function pendingLeaseSeconds(): float
    {
        return $this->pendingLeaseSeconds;
    }

    private function ready(): void
    {
        if (!$this->ready) {
            $this->ready = true;
            try {
                $this->createTable();
            } catch (\Throwable $e) {
                $this->ready = false;
                throw $e;
            }
        }
    }

    private function conflict(\stdClass $entry, int $expected): StateConflictException
    {
        $found = $this->entryStatus((string) $entry->key);

        return new StateConflictException(
            (string) $entry->key,
            (string) $entry->domain,
            (string) $entry->externalId,
            (string) $entry->step,
            $expected,
            $found['version'] ?? 0,
            $found['state'] ?? null,
            $found['updatedAt'] ?? 0,
        );
    }

    /** Upserts the marker index's changes (inside the caller's transaction). */
    private function writeIndex(\stdClass $changes): void
    {
        $t = $this->table;
        $now = self::now();
        if (($changes->entries ?? []) !== []) {
            $entry = $this->pdo->prepare($this->driver === 'mysql'
                ? "INSERT INTO {$t}_marker_index (resource, marker, found, updated_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE found = VALUES(found), updated_at = VALUES(updated_at)"
                : "INSERT INTO {$t}_marker_index (resource, marker, found, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (resource, marker) DO UPDATE SET found = excluded.found, updated_at = excluded.updated_at");
            foreach ($changes->entries as $e) {
                $entry->execute([(string) $e->resource, (string) $e->marker, json_encode($e->found, self::FLAGS), $now]);
            }
        }
        $coverage = (array) ($changes->coverage ?? []);
        if ($coverage !== []) {
            $upsert = $this->pdo->prepare($this->driver === 'mysql'
                ? "INSERT INTO {$t}_marker_coverage (resource, coverage, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE coverage = VALUES(coverage), updated_at = VALUES(updated_at)"
                : "INSERT INTO {$t}_marker_coverage (resource, coverage, updated_at) VALUES (?, ?, ?) ON CONFLICT (resource) DO UPDATE SET coverage = excluded.coverage, updated_at = excluded.updated_at");
            foreach ($coverage as $resource => $c) {
                $upsert->execute([(string) $resource, json_encode($c, self::FLAGS), $now]);
            }
        }
    }

    /** Inserts or replaces an entry without a version check (import, whole-checkpoint saves). */
    private function upsertEntry(string $key, string $json): void
    {
        $entry = json_decode($json, false, 512, JSON_THROW_ON_ERROR);
        $t = $this->table;
        $sql = $this->driver === 'mysql'
            ? "INSERT INTO {$t}_entry (idempotency_key, domain, external_id, step, state, entry, version, writer, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, '', ?) ON DUPLICATE KEY UPDATE domain = VALUES(domain), external_id = VALUES(external_id), step = VALUES(step), state = VALUES(state), entry = VALUES(entry), version = version + 1, writer = '', updated_at = VALUES(updated_at)"
            : "INSERT INTO {$t}_entry (idempotency_key, domain, external_id, step, state, entry, version, writer, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, '', ?) ON CONFLICT (idempotency_key) DO UPDATE SET domain = excluded.domain, external_id = excluded.external_id, step = excluded.step, state = excluded.state, entry = excluded.entry, version = {$t}_entry.version + 1, writer = '', updated_at = excluded.updated_at";
        $this->pdo->prepare($sql)->execute([$key, (string) $entry->domain, (string) $entry->externalId, (string) $entry->step, (string) $entry->state, $json, self::now()]);
    }

    /** Imports each row of the former single-text table once: its entries (kept where the new table has them already) and its progress; then deletes it. */
    private function importLegacy(): void
    {
        if (!$this->tableExists($this->table)) {
            return;
        }
        $t = $this->table;
        foreach ($this->pdo->query("SELECT checkpoint_key FROM {$t}")->fetchAll(\PDO::FETCH_COLUMN) as $key) {
            $this->transaction(function () use ($t, $key): void {
                $select = $this->pdo->prepare("SELECT checkpoint FROM {$t} WHERE checkpoint_key = ?");
                $select->execute([$key]);
                $text = $select->fetchColumn();
                if ($text === false) {
                    return; // imported by a concurrent process
                }
                try {
                    [$progress, $entries] = CheckpointParts::split((string) $text);
                } catch (\JsonException $e) {
                    throw new StateStoreException('store.legacy_unreadable', "the checkpoint {$key} of table {$t} is not valid JSON (" . strlen((string) $text) . ' bytes) and cannot be imported', 'MySQL TEXT columns cut texts at 65,535 bytes: restore this checkpoint from a backup into the row, or delete the row to start that key over (its documents are then found by marker)', ['table' => $t, 'key' => (string) $key], $e);
                }
                $present = $this->loadEntries();
                foreach ($entries as $entryKey => $json) {
                    if (!isset($present[$entryKey])) {
                        $this->upsertEntry($entryKey, $json);
                    }
                }
                if ($this->loadProgress((string) $key) === null) {
                    $this->saveProgress((string) $key, $progress);
                }
                $this->pdo->prepare("DELETE FROM {$t} WHERE checkpoint_key = ?")->execute([$key]);
            });
        }
    }

    private function tableExists(string $name): bool
    {
        $sql = match ($this->driver) {
            'sqlite' => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            'mysql' => 'SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
            default => 'SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?',
        };
        $statement = $this->pdo->prepare($sql);
        $statement->execute([$name]);

        return (int) $statement->fetchColumn() > 0;
    }

    private function transaction(callable $work): void
    {
        $this->pdo->beginTransaction();
        try {
            $work();
            $this->pdo->commit();
        } catch (\Throwable $e) {
            if ($this->pdo->inTransaction()) {
                $this->pdo->rollBack();
            }
            throw $e;
        }
    }

    /** @return array<string, mixed> */
    private static function decodeEntry(string $text): array
    {
        try {
            return (array) json_decode($text, true, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        } catch (\JsonException $e) {
            throw new StateStoreException('store.quarantine_unreadable', 'a quarantine entry of the store is not valid JSON', 'restore the row from a backup, or delete it', [], $e);
        }
    }

    private static function now(): int
    {
        return (int) floor(microtime(true) * 1000);
    }
}
