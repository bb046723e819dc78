<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\UsageException;

/**
 * The shared ledger in database tables through PDO (PostgreSQL in
 * production, SQLite for tests and by default, MySQL):
 *
 * - `{prefix}ledger`: one row per entry, `idempotency_key` primary key
 *   (unique), `domain`, `external_id`, `step` (indexed: an entry is found
 *   whatever mapper version wrote it), `state`, the entry's JSON;
 * - `{prefix}customer_queue`: the waiting queue of each partition key;
 * - `{prefix}record_outcome`: each record's last outcome;
 * - `{prefix}marker_index` and `{prefix}marker_coverage`: the marker index
 *   (the core's `flow::index`: marker → incwo ids, and how far each resource
 *   is proven complete), shared by every worker, so that only the first
 *   message reads the whole list (the sweep) and later ones read what is
 *   newer than the index. One row per fact "this object of `resource`
 *   carries `marker`" (primary key `(resource, marker, incwo_id)`, `found`:
 *   the object's JSON as the core gives it), inserted or refreshed, never
 *   removed, so concurrent writers only add to the union; one row per
 *   resource for its coverage, which a write locks and merges by the
 *   core's rule (`index.merge_coverage`: the watermark never moves back,
 *   the latest writer's pass). Both are written in the transaction of the
 *   ledger entries a flow step changed, or not at all; a reader reads the
 *   coverage before the facts, so the facts it reads include every fact
 *   that coverage claims. A message reads every coverage and the facts of
 *   the markers its record's flow may look up (the core's `indexRefs`), so
 *   its cost does not grow with the account.
 *
 * SQLite is opened in WAL mode with a busy timeout, so several worker
 * processes can share one file.
 */
final class PdoLedgerStore implements LedgerStore
{
    private readonly string $driver;

    private const FLAGS = JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION;

    private ?Core $core;

    /** @param ?Core $core merges the index coverage (`index.merge_coverage`); created when first needed */
    public function __construct(private readonly \PDO $pdo, private readonly string $prefix = 'incwo_', ?Core $core = null)
    {
        $this->core = $core;
        if (!preg_match('/^[A-Za-z_][A-Za-z0-9_]*$/', $prefix)) {
            throw new \InvalidArgumentException('the table prefix must be a plain SQL identifier');
        }
        $this->pdo->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
        $this->driver = (string) $this->pdo->getAttribute(\PDO::ATTR_DRIVER_NAME);
        if ($this->driver === 'sqlite') {
            $this->pdo->setAttribute(\PDO::ATTR_TIMEOUT, 30);
            $this->pdo->exec('PRAGMA busy_timeout = 30000');
            $this->pdo->exec('PRAGMA journal_mode = WAL');
            $this->pdo->exec('PRAGMA synchronous = NORMAL');
        }
    }

    /**
     * Opens a store from a PDO DSN (`sqlite:/path/ledger.sqlite`, `pgsql:host=…;dbname=…`);
     * `$core` merges the index coverage (the application's, so that its library path holds).
     */
    public static function connect(string $dsn, ?string $user = null, ?string $password = null, string $prefix = 'incwo_', ?Core $core = null): self
    {
        if (str_starts_with($dsn, 'sqlite:')) {
            $path = substr($dsn, 7);
            if ($path !== '' && $path !== ':memory:' && !is_dir(dirname($path))) {
                @mkdir(dirname($path), 0o770, true);
            }
        }
        $store = new self(new \PDO($dsn, $user, $password), $prefix, $core);
        $store->createTables();

        return $store;
    }

    /** The PDO connection. */
    public function pdo(): \PDO
    {
        return $this->pdo;
    }

    /** Creates the tables when they do not exist. */
    public function createTables(): void
    {
        $p = $this->prefix;
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$p}ledger (idempotency_key VARCHAR(64) NOT NULL PRIMARY KEY, domain VARCHAR(32) NOT NULL, external_id VARCHAR(255) NOT NULL, step VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, entry TEXT NOT NULL, updated_at BIGINT NOT NULL)");
        $this->pdo->exec("CREATE INDEX IF NOT EXISTS {$p}ledger_step ON {$p}ledger (domain, external_id, step)");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$p}customer_queue (partition_key VARCHAR(255) NOT NULL PRIMARY KEY, state TEXT NOT NULL, updated_at BIGINT NOT NULL)");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$p}customer_sequence (partition_key VARCHAR(255) NOT NULL PRIMARY KEY, seq BIGINT NOT NULL)");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$p}record_outcome (record_key VARCHAR(255) NOT NULL PRIMARY KEY, outcome VARCHAR(16) NOT NULL, code VARCHAR(128), runs INTEGER NOT NULL, updated_at BIGINT NOT NULL)");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$p}marker_index (resource VARCHAR(32) NOT NULL, marker VARCHAR(255) NOT NULL, incwo_id BIGINT NOT NULL, found TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (resource, marker, incwo_id))");
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$p}marker_coverage (resource VARCHAR(32) NOT NULL PRIMARY KEY, coverage TEXT NOT NULL, updated_at BIGINT NOT NULL)");
    }

    public function fetch(array $refs): array
    {
        if ($refs === []) {
            return [];
        }
        $where = [];
        $params = [];
        foreach ($refs as $ref) {
            $where[] = '(domain = ? AND external_id = ? AND step = ?)';
            array_push($params, (string) $ref['domain'], (string) $ref['externalId'], (string) $ref['step']);
        }
        $statement = $this->pdo->prepare("SELECT entry FROM {$this->prefix}ledger WHERE " . implode(' OR ', $where));
        $statement->execute($params);

        return array_map('strval', $statement->fetchAll(\PDO::FETCH_COLUMN));
    }

    public function write(array $entries, ?\stdClass $index = null): void
    {
        $indexed = $index !== null && (($index->entries ?? []) !== [] || (array) ($index->coverage ?? []) !== []);
        if ($entries === [] && !$indexed) {
            return;
        }
        $sql = $this->upsert('ledger', ['idempotency_key', 'domain', 'external_id', 'step', 'state', 'entry', 'updated_at'], 'idempotency_key');
        $this->transaction(function () use ($entries, $sql, $index, $indexed): void {
            $statement = $this->pdo->prepare($sql);
            $now = self::now();
            foreach ($entries as $entry) {
                $statement->execute([
                    (string) $entry->key,
                    (string) $entry->domain,
                    (string) $entry->externalId,
                    (string) $entry->step,
                    (string) $entry->state,
                    json_encode($entry, self::FLAGS),
                    $now,
                ]);
            }
            if ($indexed) {
                $this->writeIndex($index, $now);
            }
        });
    }

    public function loadIndex(?array $refs = null): ?string
    {
        $p = $this->prefix;
        // Coverage first: the facts read next include every fact it claims
        // (facts are only added, in the transaction of the coverage they justify).
        $coverage = [];
        foreach ($this->pdo->query("SELECT resource, coverage FROM {$p}marker_coverage")->fetchAll(\PDO::FETCH_NUM) as [$resource, $text]) {
            $value = json_decode((string) $text, false, 512, JSON_BIGINT_AS_STRING);
            if ($value instanceof \stdClass) {
                $coverage[(string) $resource] = $value;
            }
        }
        $markers = [];
        foreach ($this->facts($refs) as [$resource, $marker, $found]) {
            $value = json_decode((string) $found, false, 512, JSON_BIGINT_AS_STRING);
            if ($value instanceof \stdClass) {
                $markers[(string) $resource][(string) $marker][] = $value;
            }
        }
        $entries = [];
        foreach ($markers as $resource => $byMarker) {
            foreach ($byMarker as $marker => $found) {
                // The core sorts each marker's objects by id.
                $entries[] = ['resource' => (string) $resource, 'marker' => (string) $marker, 'found' => $found];
            }
        }
        if ($entries === [] && $coverage === []) {
            return null;
        }

        return json_encode(['entries' => $entries, 'coverage' => (object) $coverage], self::FLAGS);
    }

    public function loadQueue(string $partitionKey): ?string
    {
        $statement = $this->pdo->prepare("SELECT state FROM {$this->prefix}customer_queue WHERE partition_key = ?");
        $statement->execute([$partitionKey]);
        $value = $statement->fetchColumn();

        return $value === false ? null : (string) $value;
    }

    public function saveQueue(string $partitionKey, ?string $state): void
    {
        if ($state === null) {
            $this->pdo->prepare("DELETE FROM {$this->prefix}customer_queue WHERE partition_key = ?")->execute([$partitionKey]);

            return;
        }
        $this->pdo->prepare($this->upsert('customer_queue', ['partition_key', 'state', 'updated_at'], 'partition_key'))
            ->execute([$partitionKey, $state, self::now()]);
    }

    public function nextSequence(string $partitionKey): int
    {
        $p = $this->prefix;
        $increment = match ($this->driver) {
            'mysql' => "INSERT INTO {$p}customer_sequence (partition_key, seq) VALUES (?, 1) ON DUPLICATE KEY UPDATE seq = seq + 1",
            default => "INSERT INTO {$p}customer_sequence (partition_key, seq) VALUES (?, 1) ON CONFLICT (partition_key) DO UPDATE SET seq = {$p}customer_sequence.seq + 1",
        };
        $seq = 0;
        $this->transaction(function () use ($increment, $partitionKey, $p, &$seq): void {
            $this->pdo->prepare($increment)->execute([$partitionKey]);
            $select = $this->pdo->prepare("SELECT seq FROM {$p}customer_sequence WHERE partition_key = ?");
            $select->execute([$partitionKey]);
            $seq = (int) $select->fetchColumn();
        });

        return $seq;
    }

    public function saveOutcome(string $recordKey, string $outcome, ?string $code = null): void
    {
        $p = $this->prefix;
        $sql = match ($this->driver) {
            'mysql' => "INSERT INTO {$p}record_outcome (record_key, outcome, code, runs, updated_at) VALUES (?, ?, ?, 1, ?) ON DUPLICATE KEY UPDATE outcome = VALUES(outcome), code = VALUES(code), runs = runs + 1, updated_at = VALUES(updated_at)",
            default => "INSERT INTO {$p}record_outcome (record_key, outcome, code, runs, updated_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT (record_key) DO UPDATE SET outcome = excluded.outcome, code = excluded.code, runs = {$p}record_outcome.runs + 1, updated_at = excluded.updated_at",
        };
        $this->pdo->prepare($sql)->execute([$recordKey, $outcome, $code, self::now()]);
    }

    public function outcomeCounts(): array
    {
        $counts = [];
        foreach ($this->pdo->query("SELECT outcome, COUNT(*) FROM {$this->prefix}record_outcome GROUP BY outcome")->fetchAll(\PDO::FETCH_NUM) as [$outcome, $count]) {
            $counts[(string) $outcome] = (int) $count;
        }

        return $counts;
    }

    /**
     * The fact rows `[resource, marker, found]` of the markers `$refs` names
     * (by the primary key's prefix, 100 markers a query), or all of them.
     *
     * @param list<array{resource: string, marker: string}>|null $refs
     *
     * @return list<array{0: string, 1: string, 2: string}>
     */
    private function facts(?array $refs): array
    {
        $select = "SELECT resource, marker, found FROM {$this->prefix}marker_index";
        if ($refs === null) {
            return $this->pdo->query($select)->fetchAll(\PDO::FETCH_NUM);
        }
        $rows = [];
        foreach (array_chunk($refs, 100) as $chunk) {
            $statement = $this->pdo->prepare($select . ' WHERE ' . implode(' OR ', array_fill(0, count($chunk), '(resource = ? AND marker = ?)')));
            $statement->execute(array_merge(...array_map(static fn (array $ref): array => [(string) $ref['resource'], (string) $ref['marker']], $chunk)));
            array_push($rows, ...$statement->fetchAll(\PDO::FETCH_NUM));
        }

        return $rows;
    }

    /**
     * Writes the index's changes inside the caller's transaction: one fact
     * row per object of each changed marker (added or refreshed), then each
     * changed resource's coverage, locked and merged with the stored one.
     * Rows go in key order, so that two writers never wait on each other in
     * a cycle.
     */
    private function writeIndex(\stdClass $changes, int $now): void
    {
        $p = $this->prefix;
        $facts = [];
        foreach ($changes->entries ?? [] as $entry) {
            foreach ($entry->found ?? [] as $found) {
                $facts[(string) $entry->resource . "\0" . (string) $entry->marker . "\0" . sprintf('%020s', (string) $found->id)] = [(string) $entry->resource, (string) $entry->marker, (string) $found->id, json_encode($found, self::FLAGS), $now];
            }
        }
        ksort($facts, SORT_STRING);
        if ($facts !== []) {
            $fact = $this->pdo->prepare($this->upsert('marker_index', ['resource', 'marker', 'incwo_id', 'found', 'updated_at'], 'resource, marker, incwo_id'));
            foreach ($facts as $row) {
                $fact->execute($row);
            }
        }
        $coverage = (array) ($changes->coverage ?? []);
        ksort($coverage, SORT_STRING);
        if ($coverage === []) {
            return;
        }
        $ensure = $this->pdo->prepare($this->driver === 'mysql'
            ? "INSERT INTO {$p}marker_coverage (resource, coverage, updated_at) VALUES (?, 'null', ?) ON DUPLICATE KEY UPDATE resource = resource"
            : "INSERT INTO {$p}marker_coverage (resource, coverage, updated_at) VALUES (?, 'null', ?) ON CONFLICT (resource) DO NOTHING");
        $lock = $this->pdo->prepare("SELECT coverage FROM {$p}marker_coverage WHERE resource = ?" . ($this->driver === 'sqlite' ? '' : ' FOR UPDATE'));
        $update = $this->pdo->prepare("UPDATE {$p}marker_coverage SET coverage = ?, updated_at = ? WHERE resource = ?");
        foreach ($coverage as $resource => $incoming) {
            $resource = (string) $resource;
            // The row exists once this returns (SQLite: this transaction now holds the write lock).
            $ensure->execute([$resource, $now]);
            $lock->execute([$resource]);
            $stored = json_decode((string) $lock->fetchColumn(), false, 512, JSON_BIGINT_AS_STRING);
            $lock->closeCursor();
            $merged = null;
            if ($stored instanceof \stdClass) {
                try {
                    $merged = $this->core()->callJson('index.merge_coverage', json_encode(['stored' => $stored, 'incoming' => $incoming], self::FLAGS));
                } catch (UsageException) {
                    // A stored row that no longer reads as a coverage is replaced (a cache: it costs a pass).
                }
            }
            $merged ??= $this->core()->callJson('index.merge_coverage', json_encode(['incoming' => $incoming], self::FLAGS));
            $update->execute([$merged, $now, $resource]);
        }
    }

    private function core(): Core
    {
        return $this->core ??= new Core();
    }

    /** @param list<string> $columns */
    private function upsert(string $table, array $columns, string $key): string
    {
        $list = implode(', ', $columns);
        $marks = implode(', ', array_fill(0, count($columns), '?'));
        $keys = array_map('trim', explode(',', $key));
        $others = array_values(array_filter($columns, static fn (string $c): bool => !in_array($c, $keys, true)));
        if ($this->driver === 'mysql') {
            $set = implode(', ', array_map(static fn (string $c): string => "{$c} = VALUES({$c})", $others));

            return "INSERT INTO {$this->prefix}{$table} ({$list}) VALUES ({$marks}) ON DUPLICATE KEY UPDATE {$set}";
        }
        $set = implode(', ', array_map(static fn (string $c): string => "{$c} = excluded.{$c}", $others));

        return "INSERT INTO {$this->prefix}{$table} ({$list}) VALUES ({$marks}) ON CONFLICT ({$key}) DO UPDATE SET {$set}";
    }

    private function transaction(callable $work): void
    {
        $this->pdo->beginTransaction();
        try {
            $work();
            $this->pdo->commit();
        } catch (\Throwable $e) {
            $this->pdo->rollBack();
            throw $e;
        }
    }

    private static function now(): int
    {
        return (int) floor(microtime(true) * 1000);
    }
}
