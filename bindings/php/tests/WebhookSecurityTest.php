<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Bundle\Log\RedactionProcessor;
use Incwo\Connector\Bundle\Log\Redactor;
use Incwo\Connector\Core;
use Incwo\Connector\Tests\App\CapturingLogger;
use Incwo\Connector\Tests\App\TestKernel;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;

/**
 * The bundle's webhook endpoint is secure by default, in a real kernel:
 * secrets read at runtime (nowhere in the compiled cache), 503 without a
 * secret (logged once, across processes), 413 over 1 MiB, 429 after 10
 * wrong secrets a minute per address (kept across kernels, as across
 * PHP-FPM processes), and the router's log never carries the secret.
 */
final class WebhookSecurityTest extends TestCase
{
    private const SECRET = 'whsec-php-cache-4c9e1f7b2d';

    private const PASSWORD = 'pw-php-cache-8a2f6d31';

    private const PING = '{"zname": "bill_sheets", "zid": 500001}';

    private static ?Simulator $sim = null;

    private string $varDir;

    /** @var list<TestKernel> */
    private array $kernels = [];

    public static function setUpBeforeClass(): void
    {
        self::$sim = new Simulator(['--password', self::PASSWORD]);
    }

    public static function tearDownAfterClass(): void
    {
        self::$sim?->stop();
    }

    protected function setUp(): void
    {
        $this->varDir = sys_get_temp_dir() . '/incwo-php-webhook-' . getmypid() . '-' . uniqid();
        self::env('INCWO_PASSWORD', self::PASSWORD);
        self::env('INCWO_WEBHOOK_SECRET', self::SECRET);
        CapturingLogger::$records = [];
    }

    protected function tearDown(): void
    {
        foreach ($this->kernels as $kernel) {
            $kernel->shutdown();
        }
        self::env('INCWO_PASSWORD', 'secret');
        self::env('INCWO_WEBHOOK_SECRET', null);
        exec('rm -rf ' . escapeshellarg($this->varDir));
    }

    private static function env(string $name, ?string $value): void
    {
        if ($value === null) {
            putenv($name);
            unset($_ENV[$name], $_SERVER[$name]);

            return;
        }
        putenv("{$name}={$value}");
        $_ENV[$name] = $_SERVER[$name] = $value;
    }

    /** A kernel on this test's var dir: the first compiles the container, the next reuse it (a new process would). */
    private function kernel(): TestKernel
    {
        $kernel = new TestKernel(self::$sim->baseUrl, $this->varDir);
        $kernel->boot();
        $this->kernels[] = $kernel;

        return $kernel;
    }

    private static function post(TestKernel $kernel, string $uri, string $body = self::PING, string $address = '127.0.0.1', array $server = []): Response
    {
        return $kernel->handle(Request::create($uri, 'POST', [], [], [], ['CONTENT_TYPE' => 'application/json', 'REMOTE_ADDR' => $address] + $server, $body));
    }

    /** Every file under the cache dir, as one text. */
    private function cacheText(): string
    {
        $text = '';
        $files = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($this->varDir . '/cache', \FilesystemIterator::SKIP_DOTS));
        foreach ($files as $file) {
            if ($file->isFile()) {
                $text .= (string) file_get_contents($file->getPathname());
            }
        }

        return $text;
    }

    public function testSecretsAreReadAtRuntimeAndNowhereInTheCompiledCache(): void
    {
        $kernel = $this->kernel();
        self::assertSame(202, self::post($kernel, '/incwo/webhook/' . self::SECRET)->getStatusCode());
        self::assertSame(403, self::post($kernel, '/incwo/webhook/guessed')->getStatusCode());
        self::assertSame(202, self::post($kernel, '/incwo/webhook?token=' . self::SECRET)->getStatusCode());
        $cache = $this->cacheText();
        self::assertGreaterThan(10000, strlen($cache), 'the container and the router were compiled into the cache');
        self::assertStringContainsString('INCWO_WEBHOOK_SECRET', $cache, 'the container reads the env var at runtime');
        self::assertStringNotContainsString(self::SECRET, $cache);
        self::assertStringNotContainsString(self::PASSWORD, $cache);
        $containers = glob($this->varDir . '/cache/*/*.php') ?: [];
        $compiled = array_map('filemtime', $containers);

        // Another process with another secret: the same compiled container takes it.
        self::env('INCWO_WEBHOOK_SECRET', 'whsec-rotated-0b5e');
        $next = $this->kernel();
        self::assertSame(202, self::post($next, '/incwo/webhook/whsec-rotated-0b5e')->getStatusCode());
        self::assertSame(403, self::post($next, '/incwo/webhook/' . self::SECRET)->getStatusCode());
        self::assertSame($compiled, array_map('filemtime', $containers), 'the container was not compiled again');
    }

    public function testWithoutASecretEveryCallIs503AndLoggedOnceAcrossProcesses(): void
    {
        self::env('INCWO_WEBHOOK_SECRET', null);
        $kernel = $this->kernel();
        foreach ([$kernel, $kernel, $this->kernel()] as $k) {
            $response = self::post($k, '/incwo/webhook');
            self::assertSame(503, $response->getStatusCode());
            self::assertSame('inbound.no_secret', json_decode((string) $response->getContent(), true)['error']);
            self::assertSame('60', $response->headers->get('Retry-After'));
        }
        $logged = array_filter(CapturingLogger::$records, static fn (array $r): bool => str_contains($r['message'], 'inbound.no_secret'));
        self::assertCount(1, $logged, CapturingLogger::text());
        self::assertSame('error', array_values($logged)[0]['level']);
    }

    public function testBodiesOver1MiBAreRefusedUnread(): void
    {
        $kernel = $this->kernel();
        $url = '/incwo/webhook/' . self::SECRET;
        self::assertSame(413, self::post($kernel, $url, str_repeat('x', 2 * 1024 * 1024))->getStatusCode());
        self::assertSame(413, self::post($kernel, $url, '{', '127.0.0.1', ['CONTENT_LENGTH' => (string) (2 * 1024 * 1024)])->getStatusCode());
        // Over the core's 64 KiB, under 1 MiB: read, then refused by the core.
        self::assertSame(413, self::post($kernel, $url, '{"zname":"bill_sheets","zid":1,"pad":"' . str_repeat('x', 200 * 1024) . '"}')->getStatusCode());
        self::assertSame(202, self::post($kernel, $url)->getStatusCode());
    }

    public function testTenWrongSecretsAMinuteThen429AcrossProcesses(): void
    {
        $kernel = $this->kernel();
        for ($i = 0; $i < 10; ++$i) {
            self::assertSame(403, self::post($kernel, "/incwo/webhook/guess-{$i}", self::PING, '198.51.100.7')->getStatusCode(), "guess {$i}");
        }
        // A new process (kernel) reads the same store: the address is refused, even with the right secret.
        $response = self::post($this->kernel(), '/incwo/webhook/' . self::SECRET, self::PING, '198.51.100.7');
        self::assertSame(429, $response->getStatusCode());
        $retry = (int) $response->headers->get('Retry-After');
        self::assertTrue($retry >= 1 && $retry <= 60, (string) $retry);
        self::assertSame('inbound.too_many_failures', json_decode((string) $response->getContent(), true)['error']);
        // Other addresses are not affected.
        self::assertSame(202, self::post($kernel, '/incwo/webhook/' . self::SECRET, self::PING, '198.51.100.8')->getStatusCode());
    }

    public function testTheRouterLogAndEveryOtherLineNeverCarryTheSecret(): void
    {
        $kernel = $this->kernel();
        self::assertSame(202, self::post($kernel, '/incwo/webhook/' . self::SECRET . '?x=1')->getStatusCode());
        self::assertSame(202, self::post($kernel, '/incwo/webhook?zid=1&token=' . self::SECRET)->getStatusCode());
        self::assertSame(403, self::post($kernel, '/incwo/webhook/guess-' . self::SECRET . 'x')->getStatusCode());
        // A GET is refused by the router, which logs the exception and its URL.
        $get = $kernel->handle(Request::create('/incwo/webhook/' . self::SECRET, 'GET', [], [], [], ['REMOTE_ADDR' => '127.0.0.1']));
        self::assertSame(405, $get->getStatusCode());

        $matched = array_filter(CapturingLogger::$records, static fn (array $r): bool => str_starts_with($r['message'], 'Matched route'));
        self::assertCount(3, $matched, CapturingLogger::text());
        $first = array_values($matched)[0]['context'];
        self::assertSame('incwo_connector_webhook', $first['route']);
        self::assertSame('[redacted]', $first['route_parameters']['secret']);
        self::assertStringContainsString('/incwo/webhook/[redacted]', $first['request_uri']);
        $text = CapturingLogger::text();
        self::assertStringContainsString('inbound.bad_secret', $text, 'the refusal is logged');
        $refusedGet = array_filter(CapturingLogger::$records, static fn (array $r): bool => str_contains($r['message'], 'No route found for "GET'));
        self::assertCount(1, $refusedGet, $text);
        self::assertStringContainsString('/incwo/webhook/[redacted]', array_values($refusedGet)[0]['message']);
        self::assertStringNotContainsString(self::SECRET, $text);
    }

    public function testTheMonologProcessorRedactsArrayAndObjectRecords(): void
    {
        $processor = new RedactionProcessor(new Redactor(static fn (): Core => new Core(null)));
        $record = $processor([
            'message' => 'POST /incwo/webhook/' . self::SECRET . ' with Authorization: Basic dXNlcjpwYXNz',
            'context' => ['request_uri' => '/incwo/webhook?zid=1&token=' . self::SECRET, 'route_parameters' => ['secret' => self::SECRET, '_route' => 'r'], 'n' => 3, 'body' => '{"password":"hunter2"}', 'e' => new \RuntimeException('GET /incwo/webhook/' . self::SECRET)],
            'level' => 200,
        ]);
        self::assertSame('POST /incwo/webhook/[redacted] with Authorization: Basic [redacted]', $record['message']);
        self::assertSame('/incwo/webhook?zid=1&token=[redacted]', $record['context']['request_uri']);
        self::assertSame(['secret' => '[redacted]', '_route' => 'r'], $record['context']['route_parameters']);
        self::assertSame(3, $record['context']['n']);
        self::assertSame('{"password":"[redacted]"}', $record['context']['body']);
        self::assertStringContainsString('RuntimeException: GET /incwo/webhook/[redacted] at ', $record['context']['e']);
        self::assertSame(200, $record['level']);

        // Monolog 3's immutable LogRecord: a copy through with().
        $object = new class('see /incwo/webhook/' . self::SECRET, ['password' => 'x']) {
            public function __construct(public readonly string $message, public readonly array $context)
            {
            }

            public function with(string $message, array $context): self
            {
                return new self($message, $context);
            }
        };
        $redacted = $processor($object);
        self::assertSame('see /incwo/webhook/[redacted]', $redacted->message);
        self::assertSame(['password' => '[redacted]'], $redacted->context);
    }
}
