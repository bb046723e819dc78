<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\UsageException;

/**
 * Keeps the running totals of every finished run's metrics (Prometheus
 * text, a file next to the checkpoints) so the web process exposes counters
 * that only grow, whichever worker or command measured them. The core adds
 * them up (`telemetry.accumulate`): counters and histograms add, the backlog
 * gauge keeps the last value. Workers are serialised by a lock file.
 */
final class MetricsStore
{
    public function __construct(private readonly string $directory, private readonly Core $core)
    {
    }

    /** Adds a finished run's metrics (a flow's Prometheus text) to the totals. */
    public function add(string $runMetrics): void
    {
        if (!is_dir($this->directory)) {
            @mkdir($this->directory, 0o770, true);
        }
        $path = $this->path();
        $lock = fopen($path . '.lock', 'c');
        if ($lock === false || !flock($lock, LOCK_EX)) {
            throw new \RuntimeException("cannot lock {$path}.lock to add the run's metrics");
        }
        try {
            $total = $this->load();
            try {
                $text = $this->accumulate($total === '' ? null : $total, $runMetrics);
            } catch (UsageException $e) {
                if ($e->getErrorCode() !== 'telemetry.bad_exposition' || ($e->getError()['details']['argument'] ?? null) !== 'total') {
                    throw $e;
                }
                // The totals file was edited or cut short: keep it aside and
                // start the totals again from this run (counters reset, which
                // Prometheus' rate() tolerates) rather than stop every worker.
                @rename($path, $path . '.unreadable');
                $text = $this->accumulate(null, $runMetrics);
            }
            $tmp = $path . '.' . getmypid() . '.tmp';
            if (file_put_contents($tmp, $text) === false || !rename($tmp, $path)) {
                throw new \RuntimeException("cannot write the metrics totals to {$path}");
            }
        } finally {
            flock($lock, LOCK_UN);
            fclose($lock);
        }
    }

    /** The totals so far, or an empty text before any run. */
    public function load(): string
    {
        $text = is_file($this->path()) ? file_get_contents($this->path()) : false;

        return $text === false ? '' : $text;
    }

    private function accumulate(?string $total, string $run): string
    {
        return (string) $this->core->call('telemetry.accumulate', ['total' => $total, 'run' => $run])['text'];
    }

    private function path(): string
    {
        return rtrim($this->directory, '/') . '/metrics.prom';
    }
}
