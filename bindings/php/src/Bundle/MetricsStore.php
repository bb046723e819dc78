<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle;

/**
 * Keeps the Prometheus text of the last finished run (a file next to the
 * checkpoints) so the web process can expose what a worker or the command
 * measured.
 */
final class MetricsStore
{
    public function __construct(private readonly string $directory)
    {
    }

    public function save(string $prometheusText): void
    {
        if (!is_dir($this->directory)) {
            @mkdir($this->directory, 0o770, true);
        }
        $path = $this->path();
        $tmp = $path . '.' . getmypid() . '.tmp';
        if (file_put_contents($tmp, $prometheusText) !== false) {
            rename($tmp, $path);
        }
    }

    /** The last run's metrics, or an empty text before any run. */
    public function load(): string
    {
        $text = is_file($this->path()) ? file_get_contents($this->path()) : false;

        return $text === false ? '' : $text;
    }

    private function path(): string
    {
        return rtrim($this->directory, '/') . '/metrics.prom';
    }
}
