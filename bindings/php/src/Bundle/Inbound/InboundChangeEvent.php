<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

/**
 * A change made in incwo (`quote.accepted`, `invoice.paid`,
 * `document.deleted`, `document.edited_in_incwo`…), to publish on `queue`.
 * Route this class to your transport; consumers dedupe on the event's
 * idempotencyKey (docs/INBOUND.md).
 */
final class InboundChangeEvent
{
    /** @param array<string, mixed> $event */
    public function __construct(public readonly string $queue, public readonly array $event)
    {
    }
}
