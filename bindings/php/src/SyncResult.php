<?php

declare(strict_types=1);

namespace Incwo\Connector;

/** The result of {@see Connector::sync()}: the run log, the flow's summary and metrics. */
final class SyncResult
{
    /**
     * @param array<string, mixed> $summary `['summary' => counts, 'outcomes' => per record]`
     */
    public function __construct(
        public readonly RunLog $log,
        public readonly array $summary,
        public readonly string $metrics,
    ) {
    }

    /**
     * The outcome of each record (null for a record not finished yet).
     *
     * @return list<array<string, mixed>|null>
     */
    public function outcomes(): array
    {
        return array_values($this->summary['outcomes'] ?? []);
    }

    /**
     * The outcome counts (`total`, `synced`, `quarantined`…).
     *
     * @return array<string, mixed>
     */
    public function counts(): array
    {
        return (array) ($this->summary['summary'] ?? []);
    }
}
