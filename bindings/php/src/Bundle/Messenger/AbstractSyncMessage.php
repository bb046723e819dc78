<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/**
 * Records to sync, sent on one of the queues of docs/DESIGN.md#7-flows-replayable-steps. The
 * checkpoint key identifies the message across redeliveries and requeues,
 * so a replay is idempotent through the ledger.
 */
abstract class AbstractSyncMessage
{
    /** The checkpoint key of this message. */
    public readonly string $checkpointKey;

    /**
     * @param list<array{kind: string, record: mixed}> $records
     */
    public function __construct(public readonly array $records, ?string $checkpointKey = null)
    {
        $this->checkpointKey = $checkpointKey ?? static::FAMILY . '-' . hash('sha256', json_encode($records, JSON_THROW_ON_ERROR));
    }

    /** The queue family: quote, order, stock, billing or referential. */
    public const FAMILY = '';
}
