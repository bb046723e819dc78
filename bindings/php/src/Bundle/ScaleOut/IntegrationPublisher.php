<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\ScaleOut\RecordProcessor;
use Symfony\Component\Messenger\Bridge\Amqp\Transport\AmqpStamp;
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\MessageBusInterface;
use Symfony\Component\Messenger\Stamp\DelayStamp;

/**
 * Publishes records to the `incwo.integration` exchange: one message per
 * record, in input order, with the `x-customer` header the consistent-hash
 * exchange hashes. An invoice's or cancellation's customer is its order's:
 * taken from the orders seen earlier in the same batch, else left to the
 * worker (the ledger).
 */
final class IntegrationPublisher
{
    /** @var array<string, string> order number → customer, from the records published */
    private array $orderCustomers = [];

    public function __construct(private readonly MessageBusInterface $bus, private readonly RecordProcessor $processor)
    {
    }

    /**
     * Publishes records; returns how many.
     *
     * @param iterable<array{kind: string, record: mixed}> $records
     */
    public function publish(iterable $records): int
    {
        $count = 0;
        foreach ($records as $record) {
            // The core names the order a record reaches its customer through
            // (`orderRef`) and the order/customer pair to remember
            // (`knownOrder`): the publisher never reads the record's fields.
            $route = $this->processor->route($record);
            $orderCustomer = null;
            if (($route['customer'] ?? null) === null && isset($route['orderRef'], $this->orderCustomers[$route['orderRef']])) {
                $orderCustomer = $this->orderCustomers[$route['orderRef']];
                $route = $this->processor->route($record, $orderCustomer);
            }
            if (isset($route['knownOrder'])) {
                $this->orderCustomers[(string) $route['knownOrder']['order']] = (string) $route['knownOrder']['customer'];
            }
            // Numbered per customer in publish order: the gate runs them in
            // that order even when the broker redelivers one late.
            $sequence = $this->processor->nextSequence((string) $route['partitionKey']);
            $this->send(new IntegrationMessage($record, (string) $route['partitionKey'], $orderCustomer, 0, $sequence));
            $count++;
        }

        return $count;
    }

    /** Sends a message with its header, after `$delayMs` when positive. */
    public function send(IntegrationMessage $message, int $delayMs = 0): void
    {
        $this->bus->dispatch(new Envelope($message, self::stamps($message->partitionKey, $delayMs)));
    }

    /**
     * The stamps of a message of partition key `$partitionKey`: the
     * `x-customer` header (AMQP) and the delay.
     *
     * @return list<\Symfony\Component\Messenger\Stamp\StampInterface>
     */
    public static function stamps(string $partitionKey, int $delayMs = 0): array
    {
        $stamps = [];
        if (class_exists(AmqpStamp::class)) {
            $stamps[] = new AmqpStamp(null, \defined('AMQP_NOPARAM') ? \AMQP_NOPARAM : 0, ['headers' => [Topology::HEADER => $partitionKey]]);
        }
        if ($delayMs > 0) {
            $stamps[] = new DelayStamp($delayMs);
        }

        return $stamps;
    }
}
