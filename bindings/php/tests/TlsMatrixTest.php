<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\SyncResult;
use PHPUnit\Framework\TestCase;
use Psr\Log\AbstractLogger;
use Symfony\Component\HttpClient\HttpClient;

/**
 * The TLS fault matrix (tests/tls/order-create.json): over HTTPS against
 * incwo-sim in TLS mode, trusting its test CA through Symfony HttpClient's
 * `cafile`, the order create meets each TLS fault once, and the simulator
 * holds exactly one order, no duplicate, and the record ended synced.
 */
final class TlsMatrixTest extends TestCase
{
    private static ?Simulator $sim = null;

    private static string $dir;

    public static function setUpBeforeClass(): void
    {
        self::$dir = sys_get_temp_dir() . '/incwo-php-tls-' . getmypid();
        self::$sim = new Simulator(tlsDir: self::$dir . '/ca');
    }

    public static function tearDownAfterClass(): void
    {
        self::$sim?->stop();
        self::$sim = null;
        @unlink(self::$dir . '/ca/ca.pem');
        @rmdir(self::$dir . '/ca');
    }

    /** @return array<string, mixed> */
    private static function matrix(): array
    {
        return json_decode((string) file_get_contents(Support::root() . '/tests/tls/order-create.json'), true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * The phase curl's info gives each fault: a refused handshake ends before sending.
     *
     * @return iterable<string, array{string, string}>
     */
    public static function faults(): iterable
    {
        foreach (array_keys(self::matrix()['faults']) as $name) {
            yield $name => [$name, str_starts_with($name, 'tls_handshake_refused') ? 'tls_handshake' : 'sent'];
        }
    }

    /** @dataProvider faults */
    public function testTheOrderIsCreatedExactlyOnce(string $name, string $phase): void
    {
        $sim = self::$sim;
        $matrix = self::matrix();
        $rule = $matrix['faults'][$name];
        $sim->reset();
        $store = new FileCheckpointStore(self::$dir . '/state');
        $store->delete($name);
        $http = HttpClient::create(['cafile' => $sim->caFile]);
        $failures = new class () extends AbstractLogger {
            /** @var list<array{kind: mixed, phase: mixed}> */
            public array $seen = [];

            public function log($level, $message, array $context = []): void
            {
                if (isset($context['phase'])) {
                    $this->seen[] = ['kind' => $context['kind'] ?? null, 'phase' => $context['phase']];
                }
            }
        };
        $connector = new Connector(new Core(), $http, $sim->connection(), $matrix['options'], $store, $failures, 2.0);
        self::assertSame(['synced', 'synced'], self::outcomes($connector->sync($matrix['setup'], $name)));
        $sim->addFaults([$rule]);
        // No admin call until the order is synced: a handshake fault strikes the next new connection.
        $result = $connector->sync($matrix['order'], $name);
        $state = json_decode($sim->stateJson(), true, 512, JSON_THROW_ON_ERROR);
        self::assertSame(1, $state['counters']['faults_fired'][$rule['fault']['kind']] ?? 0, "{$name} did not fire: " . json_encode($state['counters']));
        self::assertSame([], $state['duplicates']);
        self::assertSame(1, $state['counts']['proposal_sheets'], 'exactly one order');
        self::assertSame('order', $state['objects']['proposal_sheets'][0]['sheet_type']);
        self::assertSame(['synced'], self::outcomes($result), json_encode($result->outcomes()));
        self::assertSame([$phase], array_column($failures->seen, 'phase'), json_encode($failures->seen));
        $store->delete($name);
    }

    /** @return list<string|null> */
    private static function outcomes(SyncResult $result): array
    {
        return array_map(static fn (?array $o): ?string => $o['outcome'] ?? null, $result->outcomes());
    }
}
