<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Checkpoints in a database table (`key` primary key, `checkpoint` text,
 * `updated_at`), through PDO: SQLite, PostgreSQL and MySQL.
 */
final class PdoCheckpointStore implements CheckpointStore
{
    public function __construct(private readonly \PDO $pdo, private readonly string $table = 'incwo_checkpoints')
    {
        if (!preg_match('/^[A-Za-z_][A-Za-z0-9_]*$/', $table)) {
            throw new \InvalidArgumentException('the table name must be a plain SQL identifier');
        }
        $this->pdo->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
    }

    /** Creates the table when it does not exist. */
    public function createTable(): void
    {
        $this->pdo->exec("CREATE TABLE IF NOT EXISTS {$this->table} (checkpoint_key VARCHAR(255) PRIMARY KEY, checkpoint TEXT NOT NULL, updated_at BIGINT NOT NULL)");
    }

    public function load(string $key): ?string
    {
        $statement = $this->pdo->prepare("SELECT checkpoint FROM {$this->table} WHERE checkpoint_key = ?");
        $statement->execute([$key]);
        $value = $statement->fetchColumn();

        return $value === false ? null : (string) $value;
    }

    public function save(string $key, string $checkpoint): void
    {
        $this->pdo->beginTransaction();
        try {
            $this->pdo->prepare("DELETE FROM {$this->table} WHERE checkpoint_key = ?")->execute([$key]);
            $this->pdo->prepare("INSERT INTO {$this->table} (checkpoint_key, checkpoint, updated_at) VALUES (?, ?, ?)")
                ->execute([$key, $checkpoint, (int) (microtime(true) * 1000)]);
            $this->pdo->commit();
        } catch (\Throwable $e) {
            $this->pdo->rollBack();
            throw $e;
        }
    }

    public function delete(string $key): void
    {
        $this->pdo->prepare("DELETE FROM {$this->table} WHERE checkpoint_key = ?")->execute([$key]);
    }
}
