<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Checkpoint\PdoCheckpointStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\Exception\ContractException;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Exception\UsageException;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpClient\MockHttpClient;

/** The FFI layer: typed exceptions, misuse, memory, and that nothing crashes the process. */
final class CoreTest extends TestCase
{
    private static function record(string $name): string
    {
        return (string) file_get_contents(Support::root() . "/examples/data/{$name}.json");
    }

    /** @return array<string, mixed> */
    private static function connection(): array
    {
        return ['server' => 'http://127.0.0.1:9', 'businessFileId' => '123456', 'auth' => ['type' => 'basic', 'login' => 'api@example.fr', 'password' => 'secret']];
    }

    public function testValidateAndMap(): void
    {
        $core = new Core();
        self::assertTrue($core->validate('order', self::record('order'))['valid']);
        $mapped = $core->map('order', json_decode(self::record('order'), true));
        self::assertSame('proposal_sheets', $mapped['resource']);
        self::assertSame('598.80', $mapped['totals']['inclTax']);
        self::assertStringContainsString('<unit_price>49.90</unit_price>', $mapped['xml']);
    }

    public function testMapXmlIsTheXmlOfMapWithoutTheDocument(): void
    {
        $core = new Core();
        $order = self::record('order');
        self::assertSame($core->map('order', $order)['xml'], $core->mapXml('order', $order, $warnings));
        self::assertSame([], $warnings);
        self::assertSame($core->map('order', $order)['xml'], $core->mapXml('order', json_decode($order, true)));
        $customer = self::record('customer');
        $core->mapXml('customer', $customer, $warnings);
        self::assertSame($core->map('customer', $customer)['warnings'], $warnings);
        self::assertSame('vat_key', $warnings[0]['code']);
        try {
            $core->mapXml('order', self::record('order-missing-price'));
            self::fail('no exception');
        } catch (ContractException $e) {
            self::assertSame('/lines/0/unitPriceExclTax', $e->getViolations()[0]['path']);
        }
        $this->expectException(UsageException::class);
        $core->mapXml('order', "{\"orderNumber\": \"\xff\"}");
    }

    public function testMapManyAnswersEachRecordUnderItsKey(): void
    {
        $core = new Core();
        $order = self::record('order');
        $records = ['first' => $order, 'broken' => '{', 'missing' => self::record('order-missing-price'), 'array' => json_decode($order, true), 'nul' => "{\0}"];
        $mapped = $core->mapMany('order', $records, $warnings);
        self::assertSame(array_keys($records), array_keys($mapped));
        self::assertSame($core->mapXml('order', $order), $mapped['first']);
        self::assertSame($mapped['first'], $mapped['array']);
        self::assertInstanceOf(UsageException::class, $mapped['broken']);
        self::assertSame('usage.malformed_json', $mapped['broken']->getErrorCode());
        self::assertInstanceOf(ContractException::class, $mapped['missing']);
        self::assertSame('/lines/0/unitPriceExclTax', $mapped['missing']->getViolations()[0]['path']);
        self::assertInstanceOf(UsageException::class, $mapped['nul'], 'a NUL inside a record stays inside it');
        self::assertSame([], $warnings);
        $customers = $core->mapMany('customer', [$order, self::record('customer'), self::record('customer')], $warnings);
        self::assertSame([1, 2], array_keys($warnings));
        self::assertSame($core->map('customer', self::record('customer'))['warnings'], $warnings[2]);
        self::assertSame($customers[1], $customers[2]);
        self::assertSame([], $core->mapMany('order', [], $warnings));
        $this->expectException(UsageException::class);
        $core->mapMany('orders', [$order]);
    }

    public function testAContractErrorCarriesItsViolations(): void
    {
        try {
            (new Core())->map('order', self::record('order-missing-price'));
            self::fail('no exception');
        } catch (ContractException $e) {
            self::assertSame('contract', $e->getErrorClass());
            self::assertSame('contract.invalid', $e->getErrorCode());
            self::assertSame('/lines/0/unitPriceExclTax', $e->getViolations()[0]['path']);
            self::assertNotNull($e->getHint());
        }
    }

    public function testMisuseIsAUsageException(): void
    {
        $core = new Core();
        foreach ([
            'usage.unknown_kind' => fn () => $core->validate('orders', '{}'),
            'usage.malformed_json' => fn () => $core->callJson('classify', '{"response": '),
            'usage.unknown_call' => fn () => $core->call('nope', []),
            'ffi.invalid_utf8' => fn () => $core->validateJson('order', "{\"x\": \"\xff\xfe\"}"),
            'usage.invalid_profile' => fn () => new Core('{"not": "a profile"}'),
        ] as $code => $call) {
            try {
                $call();
                self::fail("{$code}: no exception");
            } catch (UsageException $e) {
                self::assertSame($code, $e->getErrorCode(), $e->getMessage());
            }
        }
    }

    public function testStatusCodesOfTheHeaderAreUniqueAndNamed(): void
    {
        $header = (string) file_get_contents(Support::root() . '/bindings/c/include/incwo.h');
        preg_match_all('/^\s*(INCWO_STATUS_[A-Z0-9_]+) = (\d+),/m', $header, $m);
        self::assertGreaterThanOrEqual(5, count($m[1]));
        self::assertSame(count($m[2]), count(array_unique($m[2])), 'duplicate status codes');
        $ffi = Core::library();
        $names = [];
        foreach ($m[1] as $i => $constant) {
            $name = $ffi->incwo_status_name((int) $m[2][$i]);
            self::assertSame(strtolower(substr($constant, strlen('INCWO_STATUS_'))), $name);
            $names[] = $name;
        }
        self::assertSame('unknown', $ffi->incwo_status_name(999));
        self::assertStringNotContainsString("\n#", Core::declarations($header));
    }

    public function testAPanicInsideTheCoreIsAUsageExceptionAndTheCoreGoesOn(): void
    {
        // `debug.panic` panics inside the Rust core on purpose (the self-test
        // of the C ABI's panic barrier); Rust's default hook prints it on stderr.
        $core = new Core();
        for ($i = 0; $i < 2; $i++) {
            try {
                $core->call('debug.panic', ['message' => 'self-test from PHP']);
                self::fail('no exception');
            } catch (UsageException $e) {
                self::assertSame('usage', $e->getErrorClass());
                self::assertSame('usage.internal_panic', $e->getErrorCode());
                self::assertSame('the connector core panicked: self-test from PHP', $e->getMessage());
                self::assertNotNull($e->getHint());
                self::assertStringContainsString('usage.internal_panic', $e->getRawJson());
            }
            self::assertTrue($core->validate('order', self::record('order'))['valid']);
        }
    }

    public function testAFlowWithBadJsonOrAReleasedHandleThrowsAndTheProcessGoesOn(): void
    {
        $core = new Core();
        $flow = $core->startFlow(['config' => self::connection(), 'records' => [['kind' => 'customer', 'record' => json_decode(self::record('customer'))]], 'now' => 1_700_000_000_000, 'seed' => 1]);
        $send = $flow->poll(1_700_000_000_000);
        self::assertSame('send', $send['action']);
        try {
            $flow->onResponse($send['requestId'], '{"status": ', 1_700_000_000_001);
            self::fail('no exception');
        } catch (UsageException $e) {
            self::assertSame('usage.malformed_json', $e->getErrorCode());
        }
        try {
            $flow->onResponse(9999, ['status' => 200], 1_700_000_000_001);
            self::fail('no exception');
        } catch (UsageException $e) {
            self::assertSame('usage', $e->getErrorClass());
        }
        $flow->onTransportError($send['requestId'], ['kind' => 'connect_refused', 'phase' => 'connect'], 1_700_000_000_002);
        self::assertStringContainsString('checkpointVersion', $flow->checkpoint());
        $flow->free();
        $flow->free(); // releasing twice is a no-op
        try {
            $flow->poll(1);
            self::fail('no exception');
        } catch (UsageException $e) {
            self::assertSame('usage.invalid_handle', $e->getErrorCode());
            self::assertNotNull($e->getHint());
        }
        self::assertTrue($core->validate('order', self::record('order'))['valid']);
    }

    public function testAPhpExceptionInTheTransportNeverCrashesAndTheCheckpointSurvives(): void
    {
        $dir = sys_get_temp_dir() . '/incwo-php-core-' . getmypid();
        $store = new FileCheckpointStore($dir);
        $http = new MockHttpClient(static function (): never {
            throw new \LogicException('a bug in the transport callback');
        });
        $connector = new Connector(new Core(), $http, self::connection(), [], $store, null, 2.0);
        try {
            $connector->sync([['kind' => 'customer', 'record' => json_decode(self::record('customer'))]], 'crash');
            self::fail('no exception');
        } catch (\LogicException $e) {
            self::assertSame('a bug in the transport callback', $e->getMessage());
        }
        // Saved before the send: the pending create is in the ledger for the resumed run.
        self::assertStringContainsString('checkpointVersion', (string) $store->load('crash'));
        self::assertTrue((new Core())->validate('customer', self::record('customer'))['valid']);
        $store->delete('crash');
        @rmdir($dir);
    }

    public function testBadInputInAChildProcessNeverKillsIt(): void
    {
        $script = <<<'PHP'
            require getenv('INCWO_AUTOLOAD');
            $core = new Incwo\Connector\Core();
            $n = 0;
            foreach (['{', '', "\xff", '[]', 'null', str_repeat('[', 100000), '{"kind": 1}'] as $bad) {
                foreach (['validateJson', 'mapJson'] as $m) {
                    try { $core->$m('order', $bad); } catch (Incwo\Connector\Exception\IncwoException $e) { $n++; }
                }
                try { $core->callJson('classify', $bad); } catch (Incwo\Connector\Exception\IncwoException $e) { $n++; }
                try { $core->startFlow(['jsonl' => $bad, 'now' => 1]); } catch (Incwo\Connector\Exception\IncwoException $e) { $n++; }
            }
            try { $core->call('debug.panic', ['message' => 'child self-test']); } catch (Incwo\Connector\Exception\UsageException $e) { echo $e->getErrorCode(), "\n"; }
            echo "alive {$n} ", $core->validate('order', '{}')['valid'] ? 'valid' : 'invalid', "\n";
            PHP;
        $command = [PHP_BINARY, '-d', 'ffi.enable=1', '-r', $script];
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, getenv() + ['INCWO_AUTOLOAD' => dirname(__DIR__) . '/autoload.php']);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        $code = proc_close($process);
        self::assertSame(0, $code, $out . $err);
        self::assertMatchesRegularExpression('/^usage.internal_panic\nalive \d+ invalid$/m', $out);
        // Rust's default panic hook wrote the panic on stderr; nothing else broke.
        self::assertStringContainsString('child self-test', $err);
    }

    public function testCheckpointStores(): void
    {
        $pdo = new \PDO('sqlite::memory:');
        $stores = [new FileCheckpointStore(sys_get_temp_dir() . '/incwo-php-stores-' . getmypid()), new PdoCheckpointStore($pdo)];
        $stores[1]->createTable();
        foreach ($stores as $store) {
            self::assertNull($store->load('a/b'));
            $store->save('a/b', '{"checkpointVersion":1}');
            $store->save('a/b', '{"checkpointVersion":2}');
            self::assertSame('{"checkpointVersion":2}', $store->load('a/b'));
            self::assertNull($store->load('a_b'));
            $store->delete('a/b');
            self::assertNull($store->load('a/b'));
        }
    }

    public function testMemoryStaysFlatOver150000Calls(): void
    {
        $core = new Core();
        $record = self::record('customer');
        $rss = static fn (): int => (int) explode(' ', (string) file_get_contents('/proc/self/statm'))[1] * 4096;
        for ($i = 0; $i < 2_000; $i++) {
            $core->validateJson('customer', $record);
            $core->mapJson('customer', $record);
            $core->mapXml('customer', $record, $warnings);
        }
        $core->mapMany('customer', array_fill(0, 100, $record));
        gc_collect_cycles();
        $php = memory_get_usage();
        $native = $rss();
        $started = microtime(true);
        for ($i = 0; $i < 50_000; $i++) {
            $core->validateJson('customer', $record);
            $core->mapJson('customer', $record);
            $core->mapXml('customer', $record, $warnings);
            if ($i % 1_000 === 0) {
                $core->mapMany('customer', array_fill(0, 100, $record), $warnings);
            }
        }
        $seconds = microtime(true) - $started;
        gc_collect_cycles();
        $phpGrowth = memory_get_usage() - $php;
        $nativeGrowth = $rss() - $native;
        fwrite(STDERR, sprintf("\n150000 validate/map/mapXml calls and 50 mapMany batches of 100 in %.1f s (%.0f µs/call): PHP memory %+d bytes, RSS %+d KiB\n", $seconds, $seconds * 1e6 / 155_000, $phpGrowth, intdiv($nativeGrowth, 1024)));
        self::assertLessThan(64 * 1024, $phpGrowth, 'PHP memory grew');
        self::assertLessThan(4 * 1024 * 1024, $nativeGrowth, 'native memory (RSS) grew');
    }
}
