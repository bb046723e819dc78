<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Symfony\Component\HttpClient\HttpClient;
use Symfony\Contracts\HttpClient\HttpClientInterface;

/**
 * A running incwo-sim process on 127.0.0.1 (port chosen by the OS), stopped on destruction; with
 * `$tlsDir`, in TLS mode (HTTPS only, its test CA written to `$tlsDir/ca.pem`, trusted by the admin client).
 */
final class Simulator
{
    /** @var resource */
    private $process;

    /** @var array<int, resource> */
    private array $pipes;

    public readonly string $baseUrl;

    private HttpClientInterface $http;

    /** The test CA's certificate (TLS mode), to trust with Symfony HttpClient's `cafile` option. */
    public readonly ?string $caFile;

    /**
     * @param list<string> $options more incwo-sim options (e.g. `--password`, `P`)
     * @param ?string      $tlsDir  serve HTTPS, the test CA written there (`--tls-dir`)
     */
    public function __construct(array $options = [], ?string $tlsDir = null)
    {
        $binary = getenv('INCWO_SIM_BIN') ?: (getenv('CARGO_TARGET_DIR') ?: Support::root() . '/target') . '/debug/incwo-sim';
        if (!is_executable($binary)) {
            throw new \RuntimeException("incwo-sim not found at {$binary}: cargo build -p incwo-sim");
        }
        $command = [$binary, '--port', '0', ...$options];
        if ($tlsDir !== null) {
            array_push($command, '--tls-dir', $tlsDir);
        }
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'a']], $pipes);
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start incwo-sim');
        }
        $this->process = $process;
        $this->pipes = $pipes;
        $line = (string) fgets($pipes[1]);
        if (!preg_match('#listening on (https?://127\.0\.0\.1:\d+)#', $line, $m)) {
            $this->stop();
            throw new \RuntimeException("unexpected first line from incwo-sim: {$line}");
        }
        $this->baseUrl = $m[1];
        $this->caFile = $tlsDir !== null ? "{$tlsDir}/ca.pem" : null;
        $this->http = HttpClient::create(['timeout' => 5] + ($this->caFile !== null ? ['cafile' => $this->caFile] : []));
    }

    public function __destruct()
    {
        $this->stop();
    }

    /** Stops the process (idempotent). */
    public function stop(): void
    {
        if (isset($this->process) && is_resource($this->process)) {
            proc_terminate($this->process);
            foreach ($this->pipes as $pipe) {
                if (is_resource($pipe)) {
                    fclose($pipe);
                }
            }
            proc_close($this->process);
        }
    }

    /** The connection config of the flow for this simulator (its default credentials). */
    public function connection(): array
    {
        return ['server' => $this->baseUrl, 'businessFileId' => '123456', 'auth' => ['type' => 'basic', 'login' => 'api@example.fr', 'password' => 'secret'], 'allowInsecureHttp' => false];
    }

    public function reset(): void
    {
        $this->admin('POST', '/_sim/reset');
    }

    public function clearFaults(): void
    {
        $this->admin('DELETE', '/_sim/faults');
    }

    /** @param list<mixed> $faults */
    public function addFaults(array $faults): void
    {
        $this->admin('POST', '/_sim/faults', json_encode($faults, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES));
    }

    /**
     * `POST /_sim/seed`: bulk-creates pre-existing objects, e.g. `['firms' => 2000, 'prefix' => 'OLD']`.
     *
     * @param array<string, mixed> $seed
     *
     * @return array<string, mixed>
     */
    public function seed(array $seed): array
    {
        return json_decode($this->admin('POST', '/_sim/seed', json_encode($seed, JSON_THROW_ON_ERROR)), true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * `GET /_sim/counts`: objects by resource and `duplicatesTotal`.
     *
     * @return array<string, mixed>
     */
    public function counts(): array
    {
        return json_decode($this->admin('GET', '/_sim/counts'), true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * `GET /_sim/requests`: API requests counted since the last reset (`byResourceMethod`…).
     *
     * @return array<string, mixed>
     */
    public function requests(): array
    {
        return json_decode($this->admin('GET', '/_sim/requests'), true, 512, JSON_THROW_ON_ERROR);
    }

    /** `POST /_sim/requests/reset`: counts requests again from 0. */
    public function resetRequests(): void
    {
        $this->admin('POST', '/_sim/requests/reset');
    }

    /** `GET /_sim/state` as JSON text. */
    public function stateJson(): string
    {
        return $this->admin('GET', '/_sim/state');
    }

    private function admin(string $method, string $path, ?string $body = null): string
    {
        $options = $body !== null ? ['body' => $body, 'headers' => ['Content-Type' => 'application/json']] : [];
        $response = $this->http->request($method, $this->baseUrl . $path, $options);
        $status = $response->getStatusCode();
        $content = $response->getContent(false);
        if ($status >= 300) {
            throw new \RuntimeException("{$method} {$path}: HTTP {$status} {$content}");
        }

        return $content;
    }
}
