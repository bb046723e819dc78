<?php

declare(strict_types=1);

namespace Incwo\Connector;

/** What a run of the flow loop saw: requests, events, outcomes, how it ended. */
final class RunLog
{
    /** @var array<string, int> requests sent, by HTTP method */
    public array $requests = [];

    /** @var list<array{queue: string, event: array<string, mixed>}> published events */
    public array $published = [];

    /** @var array<int, array<string, mixed>> record outcomes by batch index (from recordDone actions) */
    public array $outcomes = [];

    /** Actions handled. */
    public int $actions = 0;

    /** Times the run started again from a shared store after another writer's entry refused its write. */
    public int $restarts = 0;

    /** @var array<string, mixed>|null the Done summary, once the batch is over */
    public ?array $summary = null;

    /** Set when the loop stopped on a Wait the wait policy declined (ms since the epoch). */
    public ?int $waitUntil = null;

    /** The reason of that Wait (`retry_backoff`, `breaker_open`…). */
    public ?string $waitReason = null;

    /** Whether the batch reached Done. */
    public function isDone(): bool
    {
        return $this->summary !== null;
    }
}
