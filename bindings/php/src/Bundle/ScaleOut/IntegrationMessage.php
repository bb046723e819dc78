<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

/**
 * One record on the `incwo.integration` exchange: routed by its partition
 * key (the `x-customer` header) to a shard queue. `runs` counts how many
 * times it was requeued (deferred or waiting for a retry).
 */
final class IntegrationMessage
{
    /**
     * @param array{kind: string, record: mixed} $record        the record envelope
     * @param string                             $partitionKey  `partition.route`'s key (the header value)
     * @param string|null                        $orderCustomer an invoice's or cancellation's order customer, when the producer knew it
     */
    public function __construct(
        public readonly array $record,
        public readonly string $partitionKey,
        public readonly ?string $orderCustomer = null,
        public readonly int $runs = 0,
        public readonly ?int $sequence = null,
    ) {
    }

    /** The same message, requeued once more. */
    public function requeued(): self
    {
        return new self($this->record, $this->partitionKey, $this->orderCustomer, $this->runs + 1, $this->sequence);
    }
}
