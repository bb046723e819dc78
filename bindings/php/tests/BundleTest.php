<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Bundle\Messenger\OrderMessage;
use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\Bundle\Messenger\OrderMessageHandler;
use Incwo\Connector\Bundle\Messenger\ReferentialMessage;
use Incwo\Connector\Bundle\Messenger\ReferentialMessageHandler;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\Tests\App\TestKernel;
use PHPUnit\Framework\TestCase;
use Symfony\Bundle\FrameworkBundle\Console\Application;
use Symfony\Component\Console\Tester\CommandTester;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Messenger\Exception\UnrecoverableMessageHandlingException;
use Symfony\Component\Messenger\Stamp\DelayStamp;

/** The bundle booted in a test kernel, against the simulator over real HTTP. */
final class BundleTest extends TestCase
{
    private static ?Simulator $sim = null;

    private static ?TestKernel $kernel = null;

    private static string $varDir;

    public static function setUpBeforeClass(): void
    {
        self::$sim = new Simulator();
        self::$varDir = sys_get_temp_dir() . '/incwo-php-bundle-' . getmypid();
        putenv('INCWO_PASSWORD=secret');
        $_ENV['INCWO_PASSWORD'] = $_SERVER['INCWO_PASSWORD'] = 'secret';
        putenv('INCWO_WEBHOOK_SECRET=whsec-bundle-test');
        $_ENV['INCWO_WEBHOOK_SECRET'] = $_SERVER['INCWO_WEBHOOK_SECRET'] = 'whsec-bundle-test';
        self::$kernel = new TestKernel(self::$sim->baseUrl, self::$varDir);
        self::$kernel->boot();
    }

    public static function tearDownAfterClass(): void
    {
        self::$kernel?->shutdown();
        self::$sim?->stop();
        putenv('INCWO_WEBHOOK_SECRET');
        unset($_ENV['INCWO_WEBHOOK_SECRET'], $_SERVER['INCWO_WEBHOOK_SECRET']);
        exec('rm -rf ' . escapeshellarg(self::$varDir));
    }

    protected function setUp(): void
    {
        self::$sim->reset();
        self::$sim->clearFaults();
    }

    public function testServicesAreWired(): void
    {
        $container = self::$kernel->getContainer()->get('test.service_container');
        self::assertInstanceOf(Connector::class, $container->get(Connector::class));
        self::assertNotSame('', $container->get(Core::class)->version());
        self::assertInstanceOf(OrderMessageHandler::class, $container->get(OrderMessageHandler::class));
    }

    public function testSyncCommandRunsTheBatchAndMetricsAreExposed(): void
    {
        $application = new Application(self::$kernel);
        $tester = new CommandTester($application->find('incwo:sync'));
        $status = $tester->execute(['batch' => Support::root() . '/examples/data/batch.jsonl', '--checkpoint-key' => 'bundle-' . uniqid()]);
        $output = $tester->getDisplay();
        self::assertSame(0, $status, $output);
        self::assertMatchesRegularExpression('/incwo sync: (\d+) records, \1 synced, 0 skipped, 0 quarantined/', $output);
        $state = json_decode(self::$sim->stateJson(), true);
        self::assertGreaterThanOrEqual(1, $state['counts']['firms'] ?? 0);
        self::assertSame([], $state['duplicates']);
        self::assertStringNotContainsString('secret', $output);

        $response = self::$kernel->handle(Request::create('/metrics'));
        self::assertSame(200, $response->getStatusCode());
        self::assertStringStartsWith('text/plain; version=0.0.4', (string) $response->headers->get('Content-Type'));
        self::assertMatchesRegularExpression('/^api_call_duration_ms_count\{[^}]*\} [1-9]/m', (string) $response->getContent());

        // A second run adds to the totals: /metrics only grows.
        $calls = static fn (string $text): int => array_sum(array_map('intval', preg_match_all('/^api_call_duration_ms_count\{[^}]*\} (\d+)$/m', $text, $m) ? $m[1] : []));
        $first = $calls((string) $response->getContent());
        self::$sim->reset();
        $tester->execute(['batch' => Support::root() . '/examples/data/batch.jsonl', '--checkpoint-key' => 'bundle-' . uniqid()]);
        $again = (string) self::$kernel->handle(Request::create('/metrics'))->getContent();
        self::assertSame(2 * $first, $calls($again), $again);
    }

    public function testMetricsTotalsAddUpAndAnUnreadableFileStartsThemAgain(): void
    {
        $core = self::$kernel->getContainer()->get('test.service_container')->get(Core::class);
        $dir = self::$varDir . '/metrics-' . uniqid();
        $store = new MetricsStore($dir, $core);
        $run = $core->renderMetrics([
            ['metric' => 'api_call', 'endpoint' => '/firms.xml', 'operation' => 'create', 'durationMs' => 12],
            ['metric' => 'replay', 'reason' => 'reconciled'],
            ['metric' => 'backlog_size', 'queue' => 'erp.incwo.order.acme', 'size' => 4],
        ]);
        self::assertSame('', $store->load());
        $store->add($run);
        self::assertSame($run, $store->load());
        $store->add($run);
        self::assertStringContainsString("\nreplay_total{reason=\"reconciled\"} 2\n", $store->load());
        self::assertStringContainsString("\napi_call_duration_ms_sum{endpoint=\"/firms.xml\",operation=\"create\"} 24\n", $store->load());
        self::assertStringContainsString("\nintegration_backlog_size{queue=\"erp.incwo.order.acme\"} 4\n", $store->load());

        file_put_contents($dir . '/metrics.prom', "replay_total{reason=\"reconciled\"} 2.5\n");
        $store->add($run);
        self::assertSame($run, $store->load());
        self::assertFileExists($dir . '/metrics.prom.unreadable');
    }

    public function testAContractErrorIsUnrecoverable(): void
    {
        $handler = self::$kernel->getContainer()->get('test.service_container')->get(OrderMessageHandler::class);
        $order = json_decode(file_get_contents(Support::root() . '/examples/data/order-missing-price.json'), true);
        $this->expectException(UnrecoverableMessageHandlingException::class);
        $this->expectExceptionMessage('contract');
        $handler(new OrderMessage([['kind' => 'order', 'record' => $order]], 'bundle-contract-' . uniqid()));
    }

    public function testAWaitIsARequeueWithADelayStamp(): void
    {
        $container = self::$kernel->getContainer()->get('test.service_container');
        $transport = $container->get('messenger.transport.incwo');
        $transport->reset();
        self::$sim->addFaults([['method' => 'POST', 'resource' => 'firms', 'times' => 5, 'fault' => ['kind' => 'http_error', 'status' => 503]]]);
        $customer = json_decode(file_get_contents(Support::root() . '/examples/data/customer.json'), true);
        $message = new ReferentialMessage([['kind' => 'customer', 'record' => $customer]], 'bundle-wait-' . uniqid());
        $container->get(ReferentialMessageHandler::class)($message);
        $sent = $transport->getSent();
        self::assertCount(1, $sent);
        self::assertSame($message, $sent[0]->getMessage());
        self::assertNotNull($sent[0]->last(DelayStamp::class));

        // Once incwo answers again, the redelivered message finishes the record.
        self::$sim->clearFaults();
        usleep(max(0, $sent[0]->last(DelayStamp::class)->getDelay()) * 1000);
        $container->get(ReferentialMessageHandler::class)($message);
        $state = json_decode(self::$sim->stateJson(), true);
        self::assertSame(1, $state['counts']['firms'] ?? null);
    }

    public function testQueueNamesComeFromTheCore(): void
    {
        $core = self::$kernel->getContainer()->get('test.service_container')->get(Core::class);
        self::assertSame('erp.incwo.order.acme.eur', $core->queueName('order', ['company' => 'ACME', 'currency' => 'EUR']));
        self::assertSame('erp.incwo.billing.acme.quarantine', $core->queueName('billing', ['company' => 'acme'], true));
    }

    public function testTheWebhookEndpointAnswersAtOnceAndRefusesWhatIsNotAPing(): void
    {
        $post = static fn (string $body) => self::$kernel->handle(Request::create('/incwo/webhook/whsec-bundle-test', 'POST', [], [], [], ['CONTENT_TYPE' => 'application/json', 'REMOTE_ADDR' => '127.0.0.1'], $body));
        // An unknown object: accepted (202), re-read (404 in incwo), nothing changes.
        $response = $post('{"zname": "proposal_sheets", "zid": 999999, "status": "accepted"}');
        self::assertSame(202, $response->getStatusCode(), (string) $response->getContent());
        self::assertSame(['accepted' => true], json_decode((string) $response->getContent(), true));
        // Not an incwo ping: refused with the core's status and code.
        $response = $post('{"zname": "proposal_sheets"}');
        self::assertSame(400, $response->getStatusCode());
        self::assertSame('inbound.bad_body', json_decode((string) $response->getContent(), true)['error']);
        $response = $post('{"zname": "proposal_sheets", "zid": 1, "business_file_id": 42}');
        self::assertSame(403, $response->getStatusCode());
    }
}
