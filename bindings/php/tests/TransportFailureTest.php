<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\TransportFailure;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpClient\CurlHttpClient;
use Symfony\Component\HttpClient\Exception\TransportException;
use Symfony\Component\HttpClient\MockHttpClient;
use Symfony\Component\HttpClient\NativeHttpClient;
use Symfony\Contracts\HttpClient\Exception\TransportExceptionInterface;
use Symfony\Contracts\HttpClient\HttpClientInterface;

/**
 * The phase of a failed request comes from the response's info, never from
 * the message: real Symfony HttpClient requests (curl and native) against
 * servers that fail at each step, plain and TLS.
 */
final class TransportFailureTest extends TestCase
{
    private static ?Certificate $certificate = null;

    public static function setUpBeforeClass(): void
    {
        self::$certificate = new Certificate();
    }

    public static function tearDownAfterClass(): void
    {
        self::$certificate = null;
    }

    /**
     * mode of the faulty server (null: nothing listens), trusted CA, expected curl failure, expected native failure
     *
     * @return iterable<string, array{?string, bool, array{kind: string, phase: string}, array{kind: string, phase: string}}>
     */
    public static function faults(): iterable
    {
        $connect = ['kind' => 'connect_refused', 'phase' => 'connect'];
        $reset = ['kind' => 'reset', 'phase' => 'sent'];
        yield 'refused' => [null, false, $connect, $connect];
        yield 'closed after the request' => ['close_after_read', false, $reset, $reset];
        yield 'no answer' => ['silent', false, ['kind' => 'timeout', 'phase' => 'sent'], ['kind' => 'timeout', 'phase' => 'sent']];
        yield 'body cut' => ['cut_body', false, $reset, $reset];
        // The native client cannot tell a failed TLS handshake from a failed TCP connect: both "connect", never sent.
        yield 'TLS: closed before the handshake' => ['tls_close_on_accept', true, ['kind' => 'tls', 'phase' => 'tls_handshake'], $connect];
        yield 'TLS: handshake never answered' => ['tls_silent_handshake', true, ['kind' => 'timeout', 'phase' => 'tls_handshake'], ['kind' => 'timeout', 'phase' => 'connect']];
        yield 'TLS: untrusted certificate' => ['tls_handshake', false, ['kind' => 'tls', 'phase' => 'tls_handshake'], $connect];
        yield 'TLS: reset after the request' => ['tls_reset_after_read', true, $reset, $reset];
        yield 'TLS: EOF without close_notify after the request' => ['tls_eof_after_read', true, $reset, $reset];
    }

    /**
     * @dataProvider faults
     *
     * @param array{kind: string, phase: string} $curl
     * @param array{kind: string, phase: string} $native
     */
    public function testEachFailureHasThePhaseItReached(?string $mode, bool $trusted, array $curl, array $native): void
    {
        foreach (['curl' => $curl, 'native' => $native] as $client => $expected) {
            $server = $mode !== null ? new FaultyServer($mode, str_starts_with($mode, 'tls_') ? self::$certificate : null) : null;
            $url = $server?->url() ?? 'http://127.0.0.1:' . self::closedPort() . '/123456/firms.xml';
            $options = $trusted ? ['cafile' => self::$certificate->certFile] : [];
            self::assertSame($expected, self::fail_($client, $url, $options), "{$client}: {$mode}");
            $server?->stop();
        }
    }

    public function testAnUnresolvableHostIsDnsBeforeSending(): void
    {
        foreach (['curl', 'native'] as $client) {
            self::assertSame(['kind' => 'dns', 'phase' => 'connect'], self::fail_($client, 'http://nowhere.invalid/123456/firms.xml'), $client);
        }
    }

    public function testTheMessageIsNeverRead(): void
    {
        // Without info (no response, a mock), the phase is unknown whatever the message says.
        foreach (['Failed to connect to 127.0.0.1 port 9: Connection refused', 'SSL certificate problem', 'Could not resolve host: x'] as $message) {
            self::assertSame(['kind' => 'reset', 'phase' => 'unknown'], TransportFailure::of(new TransportException($message), []));
        }
        // The info of a refused connection stays "connect" under a post-send TLS message.
        $info = self::info('curl', 'http://127.0.0.1:' . self::closedPort() . '/');
        self::assertSame('connect', TransportFailure::of(new TransportException('OpenSSL SSL_read: Connection reset by peer, errno 104'), $info)['phase']);
    }

    public function testTheConnectorReportsThePhase(): void
    {
        $server = new FaultyServer('close_after_read');
        $request = ['method' => 'POST', 'url' => $server->url(), 'headers' => [], 'body' => '<firm><name>x</name></firm>'];
        $connection = ['server' => 'http://127.0.0.1:9', 'businessFileId' => '123456', 'auth' => ['type' => 'basic', 'login' => 'l', 'password' => 'p']];
        $connector = new Connector(new Core(), new CurlHttpClient(), $connection, timeout: 2.0);
        self::assertSame(['failure' => ['kind' => 'reset', 'phase' => 'sent']], $connector->send($request));
        // A client whose responses carry no timings (a mock): unknown, i.e. may have been sent.
        $mock = new MockHttpClient(static fn () => throw new TransportException('Connection refused'));
        $connector = new Connector(new Core(), $mock, $connection, timeout: 2.0);
        self::assertSame(['failure' => ['kind' => 'reset', 'phase' => 'unknown']], $connector->send($request));
    }

    /**
     * @param array<string, mixed> $options
     *
     * @return array{kind: string, phase: string}
     */
    private static function fail_(string $client, string $url, array $options = []): array
    {
        $http = self::client($client);
        $response = $http->request('POST', $url, $options + ['body' => '<firm><name>x</name></firm>', 'timeout' => 1.0, 'max_duration' => 1.0, 'max_redirects' => 0]);
        try {
            $response->getStatusCode();
            $response->getContent(false);
        } catch (TransportExceptionInterface $e) {
            return TransportFailure::of($e, $response->getInfo());
        }
        self::fail("{$client}: {$url} did not fail");
    }

    /** @return array<string, mixed> the info of a failed request */
    private static function info(string $client, string $url): array
    {
        $response = self::client($client)->request('GET', $url, ['timeout' => 1.0]);
        try {
            $response->getStatusCode();
        } catch (TransportExceptionInterface) {
        }

        return $response->getInfo();
    }

    private static function client(string $name): HttpClientInterface
    {
        return $name === 'curl' ? new CurlHttpClient() : new NativeHttpClient();
    }

    /** A port nothing listens on (bound by the OS, then released). */
    private static function closedPort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        self::assertNotFalse($socket);
        $port = (int) substr((string) strrchr((string) stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);

        return $port;
    }
}
