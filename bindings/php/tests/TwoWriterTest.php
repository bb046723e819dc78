<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Checkpoint\PdoCheckpointStore;
use Incwo\Connector\Checkpoint\StateStore;
use PHPUnit\Framework\TestCase;

/**
 * Two PHP processes sync overlapping batches through one state store,
 * started together, against one simulator: 500 customers and 500 orders
 * (1,000 records) in all, each process 300 customers and their orders, 100
 * customers and their orders in both. The simulator must hold each document
 * once, and the store a done entry for every record.
 */
final class TwoWriterTest extends TestCase
{
    use ScratchDirs;

    private const CUSTOMERS = 500;

    public function testTwoProcessesOnOneFileStoreTakeTurnsAndLoseNothing(): void
    {
        $dir = $this->scratch('file');
        $this->runTwoWriters('file:' . $dir, new FileCheckpointStore($dir));
        self::assertSame('0600', substr(sprintf('%o', fileperms((string) glob("{$dir}/*.json")[0])), -4), 'the state file is private');
    }

    public function testTwoProcessesOnOneSqliteStoreRunTogetherAndLoseNothing(): void
    {
        $path = $this->scratch('sqlite') . '/state.sqlite';
        $this->runTwoWriters('sqlite:' . $path, new PdoCheckpointStore(new \PDO('sqlite:' . $path)));
    }

    public function testTwoProcessesOnOneMariaDbStoreRunTogetherAndLoseNothing(): void
    {
        $db = MariaDb::startOrSkip();
        try {
            $this->runTwoWriters($db->dsn, new PdoCheckpointStore($db->pdo()));
        } finally {
            $db->stop();
        }
    }

    /**
     * Starts both workers at once, waits for them, asserts the simulator's
     * and the store's state; returns the workers' reports.
     *
     * @return list<array<string, mixed>>
     */
    private function runTwoWriters(string $storeSpec, StateStore&CheckpointStore $store): array
    {
        $sim = new Simulator();
        $dir = $this->scratch('batches');
        $batches = [[1, 300], [201, 500]];
        $processes = [];
        foreach ($batches as $i => [$from, $to]) {
            file_put_contents("{$dir}/batch{$i}.jsonl", self::batch($from, $to));
        }
        $started = microtime(true);
        foreach ($batches as $i => $_) {
            $processes[$i] = proc_open(
                [PHP_BINARY, '-d', 'ffi.enable=1', '-d', 'memory_limit=512M', __DIR__ . '/two-writer-worker.php', $sim->baseUrl, $storeSpec, "{$dir}/batch{$i}.jsonl", 'business-123456'],
                [1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
                $pipes[$i],
            );
        }
        $ended = [];
        foreach ($processes as $i => $process) {
            $out = (string) stream_get_contents($pipes[$i][1]);
            $err = (string) stream_get_contents($pipes[$i][2]);
            $ended[$i] = [proc_close($process), $out, $err];
        }
        $workers = [];
        foreach ($ended as $i => [$status, $out, $err]) {
            self::assertSame(0, $status, "worker {$i} failed: {$out} {$err}");
            $workers[$i] = json_decode(trim($out), true, 512, JSON_THROW_ON_ERROR);
            self::assertSame(0, $workers[$i]['summary']['quarantined'], "worker {$i}: {$out}");
            self::assertSame(600, $workers[$i]['summary']['finished'], "worker {$i}: {$out}");
        }
        $seconds = microtime(true) - $started;

        $state = json_decode($sim->stateJson(), true, 512, JSON_THROW_ON_ERROR);
        self::assertSame([], $state['duplicates'], 'no document created twice');
        self::assertSame(self::CUSTOMERS, $state['counts']['firms']);
        self::assertSame(self::CUSTOMERS, $state['counts']['proposal_sheets']);

        $checkpoint = json_decode((string) $store->load('business-123456'), true, 512, JSON_THROW_ON_ERROR);
        $done = [];
        foreach ($checkpoint['ledger']['entries'] as $entry) {
            if ($entry['state'] === 'done') {
                $done[$entry['domain']][$entry['externalId']] = true;
            }
        }
        for ($n = 1; $n <= self::CUSTOMERS; $n++) {
            self::assertArrayHasKey("C{$n}", $done['customer'] ?? [], "customer C{$n}'s entry is in the store, done");
            self::assertArrayHasKey("O{$n}", $done['order'] ?? [], "order O{$n}'s entry is in the store, done");
        }
        self::assertCount(self::CUSTOMERS, $done['customer']);
        self::assertCount(self::CUSTOMERS, $done['order']);
        fwrite(STDERR, sprintf("\n%s: two writers, 1000 records, %.1f s, restarts %d + %d\n", $this->getName(), $seconds, $workers[0]['restarts'], $workers[1]['restarts']));

        return array_values($workers);
    }

    /** Customers `$from`..`$to` (JSON Lines), each followed by its order. */
    private static function batch(int $from, int $to): string
    {
        $lines = [];
        for ($n = $from; $n <= $to; $n++) {
            $lines[] = json_encode(['kind' => 'customer', 'record' => ['externalId' => "C{$n}", 'name' => "Client {$n}", 'kind' => 'client']], JSON_THROW_ON_ERROR);
            $lines[] = json_encode(['kind' => 'order', 'record' => ['orderNumber' => "O{$n}", 'customerExternalId' => "C{$n}", 'orderDate' => '2026-04-11', 'currency' => 'EUR',
                'lines' => [['sku' => 'P1', 'description' => 'x', 'qty' => 1, 'unitPriceExclTax' => 10, 'taxCode' => 'TVA20']]]], JSON_THROW_ON_ERROR);
        }

        return implode("\n", $lines) . "\n";
    }
}
