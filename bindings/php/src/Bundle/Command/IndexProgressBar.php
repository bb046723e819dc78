<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Command;

use Symfony\Component\Console\Helper\ProgressBar;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * The marker index's progress in `incwo:sync`: while a pass reads list
 * pages (the sweep of a first sync on a large account), a progress bar of
 * the pages read with an estimate of the time left. A pass of an account
 * already indexed reads one or two pages and is not shown.
 */
final class IndexProgressBar
{
    /** Pages a pass reads before it is shown. */
    public const SHOW_FROM = 5;

    private ?ProgressBar $bar = null;

    private ?string $resource = null;

    /** When the pass followed was first seen, and its pages read then. */
    private float $startedAt = 0.0;

    private int $firstPages = 0;

    /** @param (\Closure(): float)|null $clock seconds (microtime by default) */
    public function __construct(private readonly OutputInterface $output, private readonly ?\Closure $clock = null)
    {
    }

    /**
     * Shows where the passes stand (the connector's `onIndexProgress`).
     *
     * @param list<array{resource: string, pagesRead: int, totalPages: int}> $passes
     */
    public function update(array $passes): void
    {
        $pass = $passes[0] ?? null;
        if ($pass === null || $pass['resource'] !== $this->resource) {
            $this->finish();
            if ($pass === null) {
                return;
            }
            $this->resource = $pass['resource'];
            $this->startedAt = $this->now();
            $this->firstPages = $pass['pagesRead'];
        }
        if ($pass['pagesRead'] < self::SHOW_FROM) {
            return;
        }
        if ($this->bar === null) {
            $this->output->writeln(''); // below the records' bar
            $this->bar = new ProgressBar($this->output, max(1, $pass['totalPages']));
            $this->bar->setFormat(' indexing %resource%: page %current%/%max% [%bar%] %percent:3s%% %eta%');
            $this->bar->setMessage($pass['resource'], 'resource');
            $this->bar->setMessage('', 'eta');
            $this->bar->setRedrawFrequency(1); // every page: a page takes longer than a redraw
            $this->bar->minSecondsBetweenRedraws(0.0);
            $this->bar->start();
        }
        $this->bar->setMaxSteps(max(1, $pass['totalPages'], $pass['pagesRead']));
        $this->bar->setMessage($this->eta($pass), 'eta');
        $this->bar->setProgress($pass['pagesRead']);
    }

    /** Closes the bar of the pass followed (done, or the run ended). */
    public function finish(): void
    {
        if ($this->bar !== null) {
            $this->bar->finish();
            $this->output->writeln('');
        }
        $this->bar = null;
        $this->resource = null;
    }

    /**
     * The time left, from the pace of the pages read since the pass was
     * first seen (a pass resumed from an earlier run starts midway).
     *
     * @param array{resource: string, pagesRead: int, totalPages: int} $pass
     */
    public function eta(array $pass): string
    {
        $done = $pass['pagesRead'] - $this->firstPages;
        if ($done <= 0) {
            return '';
        }
        $left = max(0, $pass['totalPages'] - $pass['pagesRead']);
        $seconds = ($this->now() - $this->startedAt) / $done * $left;

        return sprintf('ETA %s', $seconds >= 60 ? sprintf('%d min %02d s', intdiv((int) $seconds, 60), (int) $seconds % 60) : sprintf('%d s', (int) ceil($seconds)));
    }

    private function now(): float
    {
        return $this->clock !== null ? ($this->clock)() : microtime(true);
    }
}
