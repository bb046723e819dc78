<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Checkpoint\PdoLedgerStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\ScaleOut\RecordProcessor;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpClient\HttpClient;

/**
 * The marker index of scale-out workers, in the PDO ledger store: the first
 * message on a large account pays the sweep, later ones (any worker's, in
 * any process) read what is newer than the shared index.
 */
final class ScaleOutIndexTest extends TestCase
{
    use ScratchDirs;

    private const FIRMS = 2000;

    private const NEW = 15;

    public function testWorkersInTwoProcessesShareTheIndexAfterTheFirstMessagesSweep(): void
    {
        $sim = new Simulator();
        self::assertSame(self::FIRMS, $sim->seed(['firms' => self::FIRMS, 'prefix' => 'OLD'])['firms']['count']);
        $path = $this->scratch() . '/ledger.sqlite';
        $store = PdoLedgerStore::connect("sqlite:{$path}");
        $processor = new RecordProcessor(new Connector(new Core(), HttpClient::create(), $sim->connection(), [], null, null, 10.0), $store, 4);

        $sim->resetRequests();
        self::assertSame('synced', $processor->process(self::customer('FIRST', 0))->status);
        $sweep = self::firmGets($sim);
        self::assertGreaterThanOrEqual(self::FIRMS / 20, $sweep, 'the first message sweeps the firms');
        self::assertLessThanOrEqual(intdiv(self::FIRMS, 20) + 4, $sweep, 'the sweep reads each page about once');
        $pdo = $store->pdo();
        self::assertGreaterThanOrEqual(self::FIRMS + 1, (int) $pdo->query('SELECT COUNT(*) FROM incwo_marker_index')->fetchColumn());

        // Messages of new customers, in this process and a second worker process at the same time.
        $sim->resetRequests();
        $worker = proc_open([PHP_BINARY, '-d', 'ffi.enable=1', __DIR__ . '/scaleout-index-worker.php', $sim->connection()['server'], $path, 'TWO', (string) self::NEW], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($worker);
        for ($i = 0; $i < self::NEW; $i++) {
            self::assertSame('synced', $processor->process(self::customer('ONE', $i))->status);
        }
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        self::assertSame(0, proc_close($worker), $err);
        self::assertSame(['synced' => self::NEW], json_decode((string) $out, true)['outcomes'] ?? null, $out . $err);
        $gets = self::firmGets($sim);
        fwrite(STDERR, sprintf("\nscale-out workers: sweep %d list pages; then %d for %d new customers in two processes (%.2f each)\n", $sweep, $gets, 2 * self::NEW, $gets / (2 * self::NEW)));
        self::assertLessThanOrEqual(2 * 2 * self::NEW, $gets, 'each message read the shared index: no second sweep');

        $state = $sim->counts();
        self::assertSame(0, $state['duplicatesTotal']);
        self::assertSame(self::FIRMS + 1 + 2 * self::NEW, $state['counts']['firms']);
        $coverage = json_decode((string) $pdo->query("SELECT coverage FROM incwo_marker_coverage WHERE resource = 'firms'")->fetchColumn(), true);
        self::assertGreaterThanOrEqual(self::FIRMS, $coverage['watermark'], 'the watermark covers the seeded firms');
        [$bytes, $rows] = $pdo->query('SELECT SUM(LENGTH(resource) + LENGTH(marker) + LENGTH(found) + 16), COUNT(*) FROM incwo_marker_index')->fetch(\PDO::FETCH_NUM);
        fwrite(STDERR, sprintf("scale-out workers: %.1f bytes of row data per firm entry\n", $bytes / $rows));
    }

    public function testCoverageSavedByAWriterThatLoadedEarlierNeverMovesTheWatermarkBack(): void
    {
        $path = $this->scratch() . '/ledger.sqlite';
        $this->mergesSafely(PdoLedgerStore::connect("sqlite:{$path}"), PdoLedgerStore::connect("sqlite:{$path}"));
        $this->concurrentWritersKeepTheHighestWatermark("sqlite:{$path}", PdoLedgerStore::connect("sqlite:{$path}", null, null, 'race_'));
    }

    public function testTheMariaDbStoreMergesTheIndexAsSqliteDoes(): void
    {
        $db = MariaDb::startOrSkip();
        try {
            $a = new PdoLedgerStore($db->pdo());
            $a->createTables();
            $this->mergesSafely($a, new PdoLedgerStore($db->pdo()));
            $race = new PdoLedgerStore($db->pdo(), 'race_');
            $race->createTables();
            $this->concurrentWritersKeepTheHighestWatermark($db->dsn, $race);
        } finally {
            $db->stop();
        }
    }

    /**
     * Three processes save coverages of one resource at once (tables
     * prefixed `race_`, created by `$store`): the stored
     * watermark is the highest any of them saved (no lost update), with its
     * fact.
     */
    private function concurrentWritersKeepTheHighestWatermark(string $dsn, PdoLedgerStore $store): void
    {
        $writers = [];
        $outputs = [];
        for ($w = 0; $w < 3; $w++) {
            $writers[] = proc_open([PHP_BINARY, '-d', 'ffi.enable=1', __DIR__ . '/scaleout-coverage-writer.php', $dsn, 'race_', '150'], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
            $outputs[] = $pipes;
        }
        $max = 0;
        foreach ($writers as $w => $process) {
            $out = stream_get_contents($outputs[$w][1]);
            $err = stream_get_contents($outputs[$w][2]);
            self::assertSame(0, proc_close($process), $err);
            $max = max($max, (int) (json_decode((string) $out, true)['max'] ?? 0));
        }
        $index = json_decode((string) $store->loadIndex(), true);
        self::assertSame($max, $index['coverage']['firms']['watermark'], 'concurrent writers never move the watermark back');
        self::assertContains('W' . $max, array_column($index['entries'], 'marker'), 'the fact saved with it is there');
    }

    /** Two writers (two connections) on one store: facts are a union, coverage merges by the core's rule. */
    private function mergesSafely(PdoLedgerStore $a, PdoLedgerStore $b): void
    {
        $facts = static fn (int ...$ids): array => array_map(static fn (int $id): \stdClass => (object) ['resource' => 'firms', 'marker' => 'C' . ($id % 2), 'found' => [(object) ['id' => $id]]], $ids);
        $a->write([], (object) ['entries' => $facts(10, 11), 'coverage' => (object) ['firms' => (object) ['watermark' => 80, 'totalPages' => 4, 'order' => 'ascending']]]);
        // B loaded before A's save: its pass is in progress, its watermark older.
        $b->write([], (object) ['entries' => $facts(12), 'coverage' => (object) ['firms' => (object) ['watermark' => 40, 'totalPages' => 5, 'order' => 'ascending', 'pass' => (object) ['nextPage' => 3, 'pagesRead' => 2, 'top' => 90, 'located' => true]]]]);
        $index = json_decode((string) $a->loadIndex(), true);
        $firms = $index['coverage']['firms'];
        self::assertSame([80, 5, 3], [$firms['watermark'], $firms['totalPages'], $firms['pass']['nextPage']]);
        $ids = [];
        foreach ($index['entries'] as $entry) {
            $ids[$entry['marker']] = array_column($entry['found'], 'id');
            sort($ids[$entry['marker']]);
        }
        ksort($ids);
        self::assertSame(['C0' => [10, 12], 'C1' => [11]], $ids, 'both writers\' facts are kept: a marker\'s objects are a union');
        // A message reads every coverage and only the markers its record may look up.
        $scoped = json_decode((string) $b->loadIndex([['resource' => 'firms', 'marker' => 'C1'], ['resource' => 'customer_products', 'marker' => 'C0']]), true);
        self::assertSame([['resource' => 'firms', 'marker' => 'C1', 'found' => [['id' => 11]]]], $scoped['entries']);
        self::assertSame(80, $scoped['coverage']['firms']['watermark']);

        // A stored coverage that no longer reads is replaced, not an error.
        $b->pdo()->exec("UPDATE incwo_marker_coverage SET coverage = '{\"watermark\": \"high\"}' WHERE resource = 'firms'");
        $a->write([], (object) ['entries' => [], 'coverage' => (object) ['firms' => (object) ['watermark' => 70, 'totalPages' => 5, 'order' => 'ascending']]]);
        self::assertSame(70, json_decode((string) $a->loadIndex([]), true)['coverage']['firms']['watermark']);

        // An unknown order, once seen, stays, and claims nothing.
        $b->write([], (object) ['entries' => [], 'coverage' => (object) ['firms' => (object) ['order' => 'unknown', 'totalPages' => 5, 'pass' => (object) ['full' => true, 'nextPage' => 1]]]]);
        $a->write([], (object) ['entries' => [], 'coverage' => (object) ['firms' => (object) ['watermark' => 95, 'totalPages' => 5, 'order' => 'ascending']]]);
        $firms = json_decode((string) $a->loadIndex(), true)['coverage']['firms'];
        self::assertSame(['unknown', 0, true], [$firms['order'], $firms['watermark'], $firms['pass']['full']]);
    }

    public function testTheSharedIndexWorksOverHttps(): void
    {
        $dir = $this->scratch();
        $sim = new Simulator(tlsDir: "{$dir}/ca");
        self::assertStringStartsWith('https://', $sim->connection()['server']);
        $sim->seed(['firms' => 300, 'prefix' => 'OLD']);
        $path = "{$dir}/ledger.sqlite";
        $processor = static fn (): RecordProcessor => new RecordProcessor(new Connector(new Core(), HttpClient::create(['cafile' => $sim->caFile]), $sim->connection(), [], null, null, 10.0), PdoLedgerStore::connect("sqlite:{$path}"), 4);

        $sim->resetRequests();
        self::assertSame('synced', $processor()->process(self::customer('TLS', 0))->status);
        self::assertGreaterThanOrEqual(15, self::firmGets($sim), 'the first message sweeps 300 firms');
        // Another worker, its own connection and store object.
        $sim->resetRequests();
        $second = $processor();
        for ($i = 1; $i <= 3; $i++) {
            self::assertSame('synced', $second->process(self::customer('TLS', $i))->status);
        }
        self::assertLessThanOrEqual(6, self::firmGets($sim), 'the second worker read the index saved over HTTPS');
        self::assertSame(0, $sim->counts()['duplicatesTotal']);
    }

    /** @return array{kind: string, record: array<string, string>} */
    private static function customer(string $tag, int $i): array
    {
        return ['kind' => 'customer', 'record' => ['externalId' => sprintf('%s-%03d', $tag, $i), 'name' => "Client {$tag} {$i}", 'kind' => 'client']];
    }

    private static function firmGets(Simulator $sim): int
    {
        return (int) ($sim->requests()['byResourceMethod']['firms']['GET'] ?? 0);
    }
}
