<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Checkpoint\PdoCheckpointStore;
use Incwo\Connector\Checkpoint\StateConflictException;
use Incwo\Connector\Checkpoint\StateStoreException;
use PHPUnit\Framework\TestCase;

/** The state stores' guarantees one by one: the file lock, durable private files, per-entry version checks, the legacy import. */
final class StateStoreTest extends TestCase
{
    use ScratchDirs;

    public function testASecondWriterOfAFileWaitsThenFailsNamingTheHolder(): void
    {
        $dir = $this->scratch();
        $first = (new FileCheckpointStore($dir))->open('business-1');
        $started = microtime(true);
        try {
            (new FileCheckpointStore($dir, 0.3))->open('business-1');
            self::fail('the second writer got the lock');
        } catch (StateStoreException $e) {
            self::assertSame('store.locked', $e->getErrorCode());
            self::assertSame(getmypid(), $e->getDetails()['holder']['pid']);
            self::assertStringContainsString('pid ' . getmypid(), $e->getMessage());
            self::assertGreaterThanOrEqual(0.3, microtime(true) - $started, 'it waited');
        }
        $first->close();
        (new FileCheckpointStore($dir, 0.3))->open('business-1')->close();
        (new FileCheckpointStore($dir, 0.3))->open('business-2')->close();
    }

    public function testAFileIsReplacedWholeAndPrivateWithNoTemporaryFileLeft(): void
    {
        $dir = $this->scratch();
        $store = new FileCheckpointStore($dir);
        $store->save('k', '{"a":1}');
        $store->save('k', '{"a":2}');
        self::assertSame('{"a":2}', $store->load('k'));
        $files = array_map('basename', glob("{$dir}/{,.}*[!.]", GLOB_BRACE) ?: []);
        sort($files);
        self::assertCount(2, $files, implode(', ', $files));
        self::assertStringEndsWith('.json', $files[0]);
        self::assertStringEndsWith('.json.lock', $files[1]);
        self::assertSame('0600', substr(sprintf('%o', fileperms("{$dir}/{$files[0]}")), -4));
    }

    public function testAStaleEntryWriteIsRefusedNotOverwritten(): void
    {
        $store = new PdoCheckpointStore(new \PDO('sqlite:' . $this->scratch() . '/s.sqlite'));
        $store->createTable();
        $entry = self::entry('k1', 'C1', 'pending');
        self::assertSame(['k1' => 1], $store->writeEntries([$entry], [], 'host:1'));
        try {
            $store->writeEntries([self::entry('k1', 'C1', 'pending')], [], 'host:2');
            self::fail('a second insert of k1 overwrote the first');
        } catch (StateConflictException $e) {
            self::assertSame('store.conflict', $e->getErrorCode());
            self::assertSame([0, 1, 'pending'], [$e->expectedVersion, $e->foundVersion, $e->foundState]);
            self::assertSame(['customer', 'C1', 'upsert'], [$e->domain, $e->externalId, $e->step]);
        }
        self::assertSame(['k1' => 2], $store->writeEntries([self::entry('k1', 'C1', 'done')], ['k1' => 1], 'host:1'));
        $this->expectException(StateConflictException::class);
        $store->writeEntries([self::entry('k1', 'C1', 'quarantined'), self::entry('k2', 'C2', 'done')], ['k1' => 1], 'host:2');
    }

    public function testARefusedWriteLeavesNothingOfItsTransaction(): void
    {
        $store = new PdoCheckpointStore(new \PDO('sqlite:' . $this->scratch() . '/s.sqlite'));
        $store->writeEntries([self::entry('k1', 'C1', 'done')], [], 'host:1');
        try {
            $store->writeEntries([self::entry('k0', 'C0', 'done'), self::entry('k1', 'C1', 'pending')], [], 'host:2');
        } catch (StateConflictException) {
        }
        self::assertSame(['k1'], array_keys($store->loadEntries()));
        self::assertSame('done', $store->loadEntries()['k1']['state']);
    }

    public function testARunStartsOnlyWhenNoOtherLiveProcessMayBeSendingAPendingCreate(): void
    {
        $store = new PdoCheckpointStore(new \PDO('sqlite:' . $this->scratch() . '/s.sqlite'), 'incwo_checkpoints', 1.0);
        $host = (string) gethostname();
        $store->writeEntries([self::entry('mine', 'C1', 'pending')], [], $host . ':' . getmypid());
        $store->writeEntries([self::entry('crashed', 'C2', 'pending')], [], $host . ':' . self::deadPid());
        $started = microtime(true);
        $ledger = json_decode($store->open('k')->startArgs()['ledger'], true);
        self::assertLessThan(0.8, microtime(true) - $started, 'its own and a dead process\'s pending entries are reconciled at once');
        self::assertSame(['C1', 'C2'], array_column($ledger, 'externalId'));

        // pid 1 is alive: its pending create may be in flight, until the lease ends.
        $store->writeEntries([self::entry('live', 'C3', 'pending')], [], $host . ':1');
        $started = microtime(true);
        $ledger = json_decode($store->open('k')->startArgs()['ledger'], true);
        self::assertGreaterThanOrEqual(0.8, microtime(true) - $started, 'it waited for the live writer (until its entry, written just before, was older than the lease)');
        self::assertSame(['C1', 'C2', 'C3'], array_column($ledger, 'externalId'), 'older than the lease: abandoned, reconciled by this run');
    }

    public function testLegacyRowsAreImportedOnceAndProgressIsKeptWithoutItsLedger(): void
    {
        $pdo = new \PDO('sqlite:' . $this->scratch() . '/s.sqlite');
        $pdo->exec('CREATE TABLE incwo_checkpoints (checkpoint_key VARCHAR(255) PRIMARY KEY, checkpoint TEXT NOT NULL, updated_at BIGINT NOT NULL)');
        $checkpoint = json_encode(['checkpointVersion' => 1, 'cursor' => 2, 'outcomes' => [null, null], 'ledger' => ['entries' => ['k1' => self::entry('k1', 'C1', 'done'), 'k2' => self::entry('k2', 'C2', 'done')]]], JSON_THROW_ON_ERROR);
        $pdo->prepare('INSERT INTO incwo_checkpoints VALUES (?, ?, 1)')->execute(['batch', $checkpoint]);

        $store = new PdoCheckpointStore($pdo);
        $store->createTable();
        self::assertSame(0, (int) $pdo->query('SELECT COUNT(*) FROM incwo_checkpoints')->fetchColumn(), 'imported once: the row is gone');
        self::assertSame(['k1', 'k2'], array_keys($store->loadEntries()));
        $progress = json_decode((string) $store->loadProgress('batch'), true);
        self::assertSame([], $progress['ledger']['entries'], 'the progress row holds no entry');
        self::assertSame(2, $progress['cursor']);
        $export = json_decode((string) $store->load('batch'), true);
        self::assertSame(['k1', 'k2'], array_keys($export['ledger']['entries']));
        self::assertSame('C2', $export['ledger']['entries']['k2']['externalId']);
        self::assertSame(2, $export['cursor']);
    }

    public function testATruncatedLegacyRowIsAClearErrorNotASilentLoss(): void
    {
        $pdo = new \PDO('sqlite::memory:');
        $pdo->exec('CREATE TABLE incwo_checkpoints (checkpoint_key VARCHAR(255) PRIMARY KEY, checkpoint TEXT NOT NULL, updated_at BIGINT NOT NULL)');
        $pdo->exec("INSERT INTO incwo_checkpoints VALUES ('big', '{\"checkpointVersion\":1,\"ledger\":{\"entries\":{\"k1\":{\"ke', 1)");
        try {
            (new PdoCheckpointStore($pdo))->createTable();
            self::fail('a truncated row was imported');
        } catch (StateStoreException $e) {
            self::assertSame('store.legacy_unreadable', $e->getErrorCode());
            self::assertSame('big', $e->getDetails()['key']);
        }
        self::assertSame(1, (int) $pdo->query('SELECT COUNT(*) FROM incwo_checkpoints')->fetchColumn(), 'the row is kept');
    }

    private static function entry(string $key, string $customer, string $state): \stdClass
    {
        return (object) ['key' => $key, 'domain' => 'customer', 'externalId' => $customer, 'step' => 'upsert', 'mapperVersion' => 1, 'state' => $state, 'hash' => 'h', 'verified' => false, 'published' => false, 'updatedAt' => 1];
    }

    /** A pid no process has. */
    private static function deadPid(): int
    {
        for ($pid = 999_999; is_dir("/proc/{$pid}"); $pid--) {
        }

        return $pid;
    }
}
