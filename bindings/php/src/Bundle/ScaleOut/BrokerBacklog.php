<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\Core;

/**
 * Queue depths read from RabbitMQ (a passive queue declare through the
 * php-amqp extension), rendered as the core's `integration_backlog_size{queue}`
 * gauge.
 */
final class BrokerBacklog
{
    /** @param list<string> $queues */
    public function __construct(private readonly string $dsn, private readonly array $queues)
    {
    }

    /**
     * Messages ready in each queue (-1 for a queue that does not exist).
     *
     * @return array<string, int>
     */
    public function sizes(): array
    {
        if (!class_exists(\AMQPConnection::class)) {
            throw new \RuntimeException('the amqp PHP extension is required to read queue depths');
        }
        $parts = parse_url($this->dsn);
        if ($parts === false || !isset($parts['host'])) {
            throw new \InvalidArgumentException('the AMQP DSN is not a URL');
        }
        $vhost = isset($parts['path']) && $parts['path'] !== '/' && $parts['path'] !== '' ? urldecode(substr($parts['path'], 1)) : '/';
        $connection = new \AMQPConnection([
            'host' => $parts['host'],
            'port' => $parts['port'] ?? 5672,
            'vhost' => $vhost,
            'login' => urldecode($parts['user'] ?? 'guest'),
            'password' => urldecode($parts['pass'] ?? 'guest'),
        ]);
        $connection->connect();
        $sizes = [];
        try {
            foreach ($this->queues as $name) {
                $channel = new \AMQPChannel($connection);
                $queue = new \AMQPQueue($channel);
                $queue->setName($name);
                $queue->setFlags(\AMQP_PASSIVE);
                try {
                    $sizes[$name] = (int) $queue->declareQueue();
                } catch (\AMQPQueueException) {
                    $sizes[$name] = -1;
                }
            }
        } finally {
            $connection->disconnect();
        }

        return $sizes;
    }

    /** `integration_backlog_size{queue}` in Prometheus text format. */
    public function metrics(Core $core, ?array $sizes = null): string
    {
        $events = [];
        foreach ($sizes ?? $this->sizes() as $queue => $size) {
            $events[] = ['metric' => 'backlog_size', 'queue' => $queue, 'size' => max(0, $size)];
        }

        return $core->renderMetrics($events);
    }
}
