<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/**
 * A confirmation (or quarantine) event of the core, to publish on `queue`
 * (route this class to your transport; consumers dedupe on the event's
 * idempotencyKey).
 */
final class ConfirmationEvent
{
    /** @param array<string, mixed> $event */
    public function __construct(public readonly string $queue, public readonly array $event)
    {
    }
}
