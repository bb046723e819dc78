<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\Bundle\Quarantine\ReplayCommand;
use Incwo\Connector\Bundle\ScaleOut\QuarantinedRecord;
use Incwo\Connector\Bundle\ScaleOut\QuarantinedRecordHandler;
use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Checkpoint\PdoLedgerStore;
use Incwo\Connector\Quarantine\Quarantine;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\ScaleOut\RecordProcessor;
use PHPUnit\Framework\TestCase;
use Symfony\Component\Console\Tester\CommandTester;
use Symfony\Component\HttpClient\HttpClient;

/** Scale-out pieces without a broker: routing, the shared ledger table, the customer gate. */
final class ScaleOutTest extends TestCase
{
    public function testRoutingIsTheCoresAndStable(): void
    {
        $core = new Core();
        $order = ['kind' => 'order', 'record' => ['orderNumber' => 'O1', 'customerExternalId' => 'C1', 'lines' => [['sku' => 'P1']]]];
        $route = $core->call('partition.route', ['record' => $order, 'shards' => 4]);
        self::assertSame('customer/C1', $route['partitionKey']);
        self::assertSame(['x-customer' => 'customer/C1'], $route['headers']);
        self::assertSame($route['shard'], $core->call('partition.route', ['record' => ['kind' => 'customer', 'record' => ['externalId' => 'C1']], 'shards' => 4])['shard']);
        $invoice = ['kind' => 'invoice', 'record' => ['invoiceNumber' => 'F1', 'sourceOrder' => 'O1']];
        self::assertSame('customer/C1', $core->call('partition.route', ['record' => $invoice, 'orderCustomer' => 'C1'])['partitionKey']);
    }

    public function testARecordRunsOnceThroughTheSharedLedgerAndWaitsBehindItsCustomer(): void
    {
        $sim = new Simulator();
        $store = new PdoLedgerStore(new \PDO('sqlite::memory:'));
        $store->createTables();
        $connector = new Connector(new Core(), HttpClient::create(), $sim->connection(), [], null, null, 2.0);
        $processor = new RecordProcessor($connector, $store, 4);
        $customer = ['kind' => 'customer', 'record' => ['externalId' => 'C1', 'name' => 'Client 1', 'kind' => 'client']];
        $order = ['kind' => 'order', 'record' => ['orderNumber' => 'O1', 'customerExternalId' => 'C1', 'orderDate' => '2026-04-11', 'currency' => 'EUR',
            'lines' => [['sku' => 'P1', 'description' => 'x', 'qty' => 1, 'unitPriceExclTax' => 10, 'taxCode' => 'TVA20']]]];

        self::assertSame('synced', $processor->process($customer)->status);
        self::assertSame('synced', $processor->process($order)->status);
        $entries = $store->fetch([['domain' => 'order', 'externalId' => 'O1', 'step' => 'create']]);
        self::assertCount(1, $entries);
        self::assertSame('done', json_decode($entries[0], true)['state']);
        self::assertSame('skipped', $processor->process($order)->status, 'a replay creates nothing');

        // A record behind a waiting record of its customer is deferred, not run.
        $store->saveQueue('customer/C1', '{"waiting":[{"record":"order:O0","notBefore":' . (PHP_INT_MAX >> 1) . '}]}');
        $deferred = $processor->process($order);
        self::assertSame('deferred', $deferred->status);
        self::assertSame('customer_waiting', $deferred->reason);
        $counts = $store->outcomeCounts();
        ksort($counts);
        self::assertSame(['deferred' => 1, 'synced' => 1], $counts);
    }

    public function testNumberedRecordsRunInPublishOrderEvenWhenOneComesBackLate(): void
    {
        $sim = new Simulator();
        $store = new PdoLedgerStore(new \PDO('sqlite::memory:'));
        $store->createTables();
        self::assertSame([1, 2, 1, 3], [$store->nextSequence('customer/C2'), $store->nextSequence('customer/C2'), $store->nextSequence('customer/C3'), $store->nextSequence('customer/C2')]);
        $connector = new Connector(new Core(), HttpClient::create(), $sim->connection(), [], null, null, 2.0);
        $processor = new RecordProcessor($connector, $store, 4);
        $order = static fn (string $n): array => ['kind' => 'order', 'record' => ['orderNumber' => $n, 'customerExternalId' => 'C9', 'orderDate' => '2026-04-11', 'currency' => 'EUR',
            'lines' => [['sku' => 'P1', 'description' => 'x', 'qty' => 1, 'unitPriceExclTax' => 10, 'taxCode' => 'TVA20']]]];
        $customer = ['kind' => 'customer', 'record' => ['externalId' => 'C9', 'name' => 'Client 9', 'kind' => 'client']];
        $key = 'customer/C9';
        $seq = [$store->nextSequence($key), $store->nextSequence($key), $store->nextSequence($key)];

        self::assertSame('synced', $processor->process($customer, null, null, $seq[0])->status);
        // Number 2 was lost with a worker; number 3 arrives first and waits.
        $early = $processor->process($order('O9-3'), null, null, $seq[2]);
        self::assertSame('deferred', $early->status);
        self::assertSame('customer_waiting', $early->reason);
        self::assertSame('synced', $processor->process($order('O9-2'), null, null, $seq[1])->status);
        usleep(((int) $early->notBefore - $connector->now() + 5) * 1000);
        self::assertSame('synced', $processor->process($order('O9-3'), null, null, $seq[2])->status);
        $state = json_decode($sim->stateJson(), true);
        $ids = [];
        foreach ($state['objects']['proposal_sheets'] as $sheet) {
            $ids[(string) $sheet['title']] = (int) $sheet['id'];
        }
        self::assertLessThan($ids['O9-3'], $ids['O9-2'], 'created in publish order');
    }

    public function testAQuarantinedRecordFeedsTheQuarantineStoreThroughItsQueue(): void
    {
        $sim = new Simulator();
        $store = new PdoLedgerStore(new \PDO('sqlite::memory:'));
        $store->createTables();
        $core = new Core();
        $processor = new RecordProcessor(new Connector($core, HttpClient::create(), $sim->connection(), [], null, null, 2.0), $store, 4);
        $order = ['kind' => 'order', 'record' => ['orderNumber' => 'OQ1', 'customerExternalId' => 'C1', 'orderDate' => '2026-04-11', 'currency' => 'EUR',
            'lines' => [['sku' => 'P1', 'description' => 'x', 'qty' => 1, 'taxCode' => 'TVA20']]]];
        self::assertSame('synced', $processor->process(['kind' => 'customer', 'record' => ['externalId' => 'C1', 'name' => 'Client 1', 'kind' => 'client']])->status);
        $result = $processor->process($order);
        self::assertSame('quarantined', $result->status);
        self::assertSame('OQ1', $result->quarantine['externalId'] ?? null);

        $dir = sys_get_temp_dir() . '/incwo-php-scaleout-q-' . getmypid();
        $quarantine = new Quarantine($core, new FileCheckpointStore($dir));
        $handler = new QuarantinedRecordHandler($quarantine);
        try {
            $handler(new QuarantinedRecord($order, $result->partitionKey(), $result->error ?? [], $result->quarantine));
            $handler(new QuarantinedRecord($order, $result->partitionKey(), $result->error ?? [], $result->quarantine));
            $entries = $quarantine->list();
            self::assertCount(1, $entries);
            self::assertSame(['OQ1', 'contract.invalid', 2], [$entries[0]['externalId'], $entries[0]['error']['code'], $entries[0]['attempts']]);
            self::assertSame('/lines/0/unitPriceExclTax', $entries[0]['error']['violations'][0]['path']);

            // Replayed as a worker runs it: through the shared ledger (the customer is there), once.
            $fixed = $order['record'];
            $fixed['lines'][0]['unitPriceExclTax'] = 10.0;
            file_put_contents("{$dir}/fixed.json", json_encode($fixed, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION));
            $connector = new Connector($core, HttpClient::create(), $sim->connection(), [], null, null, 2.0);
            $replay = new CommandTester(new ReplayCommand($connector, $quarantine, new MetricsStore($dir, $core), $processor));
            self::assertSame(0, $replay->execute(['ids' => [$entries[0]['id']], '--record' => "{$dir}/fixed.json"], ['capture_stderr_separately' => true]), $replay->getDisplay());
            $out = json_decode($replay->getDisplay(), true, 512, JSON_THROW_ON_ERROR);
            self::assertSame([$entries[0]['id']], $out['replayed']);
            self::assertSame(['replay_total{reason="manual"} 1'], $out['metrics']);
            self::assertSame(['total' => 1, 'synced' => 1], $out['summary']);
            $state = json_decode($sim->stateJson(), true, 512, JSON_THROW_ON_ERROR);
            self::assertSame([], $state['duplicates']);
            self::assertSame(['OQ1'], array_column($state['objects']['proposal_sheets'], 'title'));
            self::assertSame('replayed', $quarantine->get($entries[0]['id'])['state']);
        } finally {
            exec('rm -rf ' . escapeshellarg($dir));
        }
    }
}
