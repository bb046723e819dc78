<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

/**
 * An incwo object to re-read and compare with the ledger (the `target` of
 * `inbound.webhook`: `{resource, id}`). Dispatched by the webhook endpoint,
 * so incwo gets its answer at once; route it to an async transport.
 */
final class InboundChangeMessage
{
    /** @param array{resource: string, id: int} $target */
    public function __construct(public readonly array $target)
    {
    }
}
