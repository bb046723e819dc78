<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\Bundle\Messenger\ConfirmationEvent;

/**
 * The RabbitMQ topology of scale-out (docs/DESIGN.md#11-scale-out), as the
 * `framework.messenger` configuration an application merges into its own:
 *
 * - `integration`: the `incwo.integration` exchange of type
 *   `x-consistent-hash` (plugin `rabbitmq_consistent_hash_exchange`) hashing
 *   the `x-customer` header, bound to one durable queue per shard
 *   (`incwo.integration.shard.N`, weight 1); delayed messages wait in
 *   `incwo.delays` queues and come back through the exchange, so to their
 *   shard; exceptions are retried by Messenger, then go to `incwo_failed`;
 * - `incwo_quarantine`: quarantined records ({@see QuarantinedRecord});
 * - `incwo_failed`: Messenger's failure transport;
 * - `incwo_events`: confirmation events.
 *
 * One worker consumes one shard queue (Messenger 5.4 reads with basic.get
 * and cannot use single-active-consumer):
 * `messenger:consume integration --queues=incwo.integration.shard.N`, or
 * `incwo:workers`.
 */
final class Topology
{
    /** The header the exchange hashes. */
    public const HEADER = 'x-customer';

    /** The exchange records are published to. */
    public const EXCHANGE = 'incwo.integration';

    /** The Messenger transport of records. */
    public const TRANSPORT = 'integration';

    /** The queue of shard `$shard`. */
    public static function queue(int $shard): string
    {
        return self::EXCHANGE . '.shard.' . $shard;
    }

    /**
     * The shard queues.
     *
     * @return list<string>
     */
    public static function queues(int $shards): array
    {
        return array_map(self::queue(...), range(0, max(1, $shards) - 1));
    }

    /**
     * The `framework.messenger` configuration for `$shards` shards on the
     * broker at `$dsn` (`amqp://user:password@127.0.0.1:5672/%2f`).
     *
     * @param array<string, mixed> $retry Messenger's retry strategy for exceptions
     *
     * @return array<string, mixed>
     */
    public static function messenger(string $dsn, int $shards, array $retry = ['max_retries' => 5, 'delay' => 1000, 'multiplier' => 2, 'max_delay' => 60000]): array
    {
        $queues = [];
        foreach (self::queues($shards) as $queue) {
            $queues[$queue] = ['binding_keys' => ['1'], 'arguments' => []];
        }
        $fanout = static fn (string $name): array => [
            'dsn' => $dsn,
            'options' => ['exchange' => ['name' => $name, 'type' => 'fanout'], 'queues' => [$name => []]],
        ];

        return [
            'failure_transport' => 'incwo_failed',
            'transports' => [
                self::TRANSPORT => [
                    'dsn' => $dsn,
                    'options' => [
                        'exchange' => ['name' => self::EXCHANGE, 'type' => 'x-consistent-hash', 'arguments' => ['hash-header' => self::HEADER]],
                        'queues' => $queues,
                        'delay' => ['exchange_name' => 'incwo.delays'],
                    ],
                    'retry_strategy' => $retry,
                ],
                'incwo_quarantine' => $fanout('incwo.quarantine'),
                'incwo_failed' => $fanout('incwo.failed'),
                'incwo_events' => $fanout('incwo.events'),
            ],
            'routing' => [
                IntegrationMessage::class => self::TRANSPORT,
                QuarantinedRecord::class => 'incwo_quarantine',
                ConfirmationEvent::class => 'incwo_events',
            ],
        ];
    }
}
