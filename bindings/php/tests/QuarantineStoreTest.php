<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Checkpoint\PdoCheckpointStore;
use Incwo\Connector\Checkpoint\QuarantineStore;
use Incwo\Connector\Checkpoint\StateStoreException;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\Quarantine\Quarantine;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpClient\HttpClient;

/**
 * The quarantine in each state store (file, SQLite, MariaDB), fed by real
 * runs against the simulator: one entry per record however often it is
 * quarantined (merged by the core), the filter columns of the table, a
 * replay of every open entry from the fixed batch (the lines `quarantine.select`
 * picks) that syncs each order once, and retention.
 */
final class QuarantineStoreTest extends TestCase
{
    use ScratchDirs;

    private static ?Simulator $sim = null;

    public static function setUpBeforeClass(): void
    {
        self::$sim = new Simulator();
    }

    public static function tearDownAfterClass(): void
    {
        self::$sim?->stop();
        self::$sim = null;
    }

    protected function setUp(): void
    {
        self::$sim->reset();
    }

    public function testTheFileStoreKeepsTheQuarantineBesideTheCheckpointsPrivately(): void
    {
        $dir = $this->scratch();
        $this->workflow(new FileCheckpointStore($dir));
        self::assertSame('0600', substr(sprintf('%o', fileperms("{$dir}/quarantine.json")), -4));
        file_put_contents("{$dir}/quarantine.json", '{"entries": ');
        try {
            (new FileCheckpointStore($dir))->quarantineEntries();
            self::fail('a torn quarantine file was read');
        } catch (StateStoreException $e) {
            self::assertSame('store.quarantine_unreadable', $e->getErrorCode());
            self::assertSame("{$dir}/quarantine.json", $e->getDetails()['path']);
        }
    }

    public function testTheSqliteStoreKeepsOneRowPerEntryWithItsFilterColumns(): void
    {
        $pdo = new \PDO('sqlite:' . $this->scratch() . '/state.sqlite');
        $this->workflow(new PdoCheckpointStore($pdo), $pdo);
    }

    public function testTheMariaDbStoreKeepsOneRowPerEntryWithItsFilterColumns(): void
    {
        $db = MariaDb::startOrSkip();
        try {
            $pdo = $db->pdo();
            $this->workflow(new PdoCheckpointStore($pdo), $pdo);
        } finally {
            $db->stop();
        }
    }

    private function workflow(CheckpointStore&QuarantineStore $store, ?\PDO $pdo = null): void
    {
        $core = new Core();
        $connector = new Connector($core, HttpClient::create(), self::$sim->connection(), [], $store, timeout: 5.0);
        $batch = self::batch(null);

        // Two runs quarantine the same two orders: two entries, quarantined twice each.
        $first = $connector->sync($batch, 'shop');
        self::assertSame(2, $first->counts()['quarantined']);
        $quarantine = $connector->quarantine();
        self::assertInstanceOf(Quarantine::class, $quarantine);
        $seen = array_column($quarantine->list(), 'firstSeen', 'externalId');
        usleep(5_000);
        $connector->sync($batch, 'shop');
        $entries = $quarantine->list(['resource' => 'order', 'code' => 'contract.invalid']);
        self::assertSame(['CMD-Q-1', 'CMD-Q-2'], array_column($entries, 'externalId'));
        self::assertSame([2, 2], array_column($entries, 'attempts'));
        self::assertSame($seen, array_column($entries, 'firstSeen', 'externalId'), 'the first sighting is kept');
        self::assertGreaterThan($entries[0]['firstSeen'], $entries[0]['lastSeen']);
        if ($pdo !== null) {
            $rows = $pdo->query('SELECT id, state, code, class, kind, external_id, first_seen FROM incwo_checkpoints_quarantine ORDER BY external_id')->fetchAll(\PDO::FETCH_NUM);
            self::assertSame(
                [[$entries[0]['id'], 'open', 'contract.invalid', 'contract', 'order', 'CMD-Q-1'], [$entries[1]['id'], 'open', 'contract.invalid', 'contract', 'order', 'CMD-Q-2']],
                array_map(static fn (array $r): array => array_slice(array_map('strval', $r), 0, 6), $rows),
            );
            self::assertSame($entries[0]['firstSeen'], (int) $rows[0][6]);
        }

        // Replayed from the fixed batch: only the lines of the entries, each order once.
        $selected = $quarantine->select($entries, self::batch(49.9));
        self::assertSame([], $selected['missing']);
        self::assertSame(2, substr_count($selected['jsonl'], "\n"));
        $done = [];
        $replay = $connector->withOptions(['manualReplay' => true])->sync($selected['jsonl'], 'shop', onAction: static function (array $action) use (&$done): void {
            if ($action['action'] === 'recordDone') {
                $done[] = $action;
            }
        });
        self::assertSame(2, $replay->counts()['synced']);
        self::assertSame(2, $replay->log->requests['POST'] ?? 0, 'only the two orders are created');
        self::assertStringContainsString('replay_total{reason="manual"} 2', $replay->metrics);
        foreach ($done as $action) {
            self::assertSame('replayed', $quarantine->settle($entries, $action)['state']);
        }
        self::assertSame([], $quarantine->list());
        self::assertCount(2, $quarantine->list(['state' => 'replayed']));
        $state = json_decode(self::$sim->stateJson(), true, 512, JSON_THROW_ON_ERROR);
        self::assertSame([], $state['duplicates']);
        self::assertSame(['CMD-Q-1', 'CMD-Q-2'], array_column($state['objects']['proposal_sheets'], 'title'));

        // Retention: 31 days after their last change they are deleted.
        $later = new Quarantine($core, $store, static fn (): int => (int) floor(microtime(true) * 1000) + 31 * 86_400_000);
        self::assertSame([], $later->list(['state' => 'all']));
        self::assertSame([], $store->quarantineEntries());
    }

    private static function batch(?float $price): string
    {
        $order = static function (string $number) use ($price): array {
            $line = ['sku' => 'KIT-API-01', 'description' => 'Kit', 'qty' => 2, 'taxCode' => 'TVA20'];
            if ($price !== null) {
                $line['unitPriceExclTax'] = $price;
            }

            return ['kind' => 'order', 'record' => ['orderNumber' => $number, 'customerExternalId' => 'CLI-Q', 'orderDate' => '2026-04-11', 'currency' => 'EUR', 'lines' => [$line]]];
        };
        $lines = [
            ['kind' => 'customer', 'record' => ['externalId' => 'CLI-Q', 'name' => 'Client Q', 'kind' => 'client',
                'billingAddress' => ['line1' => '18 rue des Tanneurs', 'zipCode' => '69002', 'city' => 'Lyon', 'country' => 'FR']]],
            ['kind' => 'product', 'record' => ['sku' => 'KIT-API-01', 'name' => 'Kit', 'unitPriceExclTax' => 49.9, 'taxCode' => 'TVA20', 'unit' => 'unit', 'active' => true]],
            $order('CMD-Q-1'),
            $order('CMD-Q-2'),
        ];

        return implode('', array_map(static fn (array $l): string => json_encode($l, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION) . "\n", $lines));
    }
}
