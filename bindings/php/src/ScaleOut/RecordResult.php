<?php

declare(strict_types=1);

namespace Incwo\Connector\ScaleOut;

/** How one record processed by {@see RecordProcessor} ended. */
final class RecordResult
{
    /**
     * @param string                    $status    `synced`, `skipped`, `quarantined` (the record is over), `deferred` (the core deferred it, or its customer waits) or `waiting` (a retry is due at `$notBefore`)
     * @param array<string, mixed>      $route     the `partition.route` answer
     * @param array<string, mixed>|null $error     the outcome's error, when any
     * @param string|null               $reason    why it was deferred or waits
     * @param array<string, mixed>|null $quarantine the core's quarantine entry of a quarantined record (redacted), to store
     * @param array<string, mixed>|null $done       the flow's `recordDone` action, when the record ended (settles a replay)
     */
    public function __construct(
        public readonly string $status,
        public readonly array $route,
        public readonly ?int $notBefore = null,
        public readonly ?array $error = null,
        public readonly ?string $reason = null,
        public readonly int $requests = 0,
        public readonly string $metrics = '',
        public readonly ?array $quarantine = null,
        public readonly ?array $done = null,
    ) {
    }

    /** Whether the record must be requeued (deferred or waiting). */
    public function mustRequeue(): bool
    {
        return $this->status === 'deferred' || $this->status === 'waiting';
    }

    /** The partition key (the `x-customer` header). */
    public function partitionKey(): string
    {
        return (string) ($this->route['partitionKey'] ?? '');
    }
}
