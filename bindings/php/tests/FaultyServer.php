<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

/**
 * A running fixtures/faulty-server.php (one fault mode) and the self-signed
 * certificate of its TLS modes (SAN IP 127.0.0.1), stopped on destruction.
 */
final class FaultyServer
{
    /** @var resource */
    private $process;

    /** @var array<int, resource> */
    private array $pipes;

    public readonly string $address;

    public function __construct(string $mode, private readonly ?Certificate $certificate = null)
    {
        $command = [PHP_BINARY, __DIR__ . '/fixtures/faulty-server.php', $mode];
        if ($certificate !== null) {
            array_push($command, $certificate->certFile, $certificate->keyFile);
        }
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'a']], $pipes);
        if (!is_resource($process)) {
            throw new \RuntimeException("cannot start the faulty server ({$mode})");
        }
        $this->process = $process;
        $this->pipes = $pipes;
        $line = trim((string) fgets($pipes[1]));
        if (!preg_match('/^127\.0\.0\.1:\d+$/', $line)) {
            $this->stop();
            throw new \RuntimeException("faulty server ({$mode}) said: {$line}");
        }
        $this->address = $line;
    }

    public function __destruct()
    {
        $this->stop();
    }

    /** `http(s)://127.0.0.1:PORT/path`. */
    public function url(string $path = '/123456/firms.xml'): string
    {
        return ($this->certificate !== null ? 'https' : 'http') . "://{$this->address}{$path}";
    }

    /** Stops the process (idempotent). */
    public function stop(): void
    {
        if (isset($this->process) && is_resource($this->process)) {
            proc_terminate($this->process, 9);
            foreach ($this->pipes as $pipe) {
                if (is_resource($pipe)) {
                    fclose($pipe);
                }
            }
            proc_close($this->process);
        }
    }
}
