<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\Connector;
use Psr\Log\LoggerInterface;
use Psr\Log\NullLogger;
use Symfony\Component\Messenger\Exception\UnrecoverableMessageHandlingException;
use Symfony\Component\Messenger\MessageBusInterface;
use Symfony\Component\Messenger\Stamp\DelayStamp;

/**
 * Syncs a message's records and maps the core's decisions to Messenger:
 * a Wait (retry at / requeue, as the core decided) never sleeps in the
 * worker: the message is dispatched again with a DelayStamp and the
 * checkpoint carries the progress; deferred records likewise; business and
 * contract errors (quarantine) and runs stopped for an operator throw
 * UnrecoverableMessageHandlingException, so Messenger does not retry them.
 */
abstract class AbstractSyncHandler
{
    /** Handler class => message class, one per queue. */
    public const HANDLERS = [
        QuoteMessageHandler::class => QuoteMessage::class,
        OrderMessageHandler::class => OrderMessage::class,
        StockMessageHandler::class => StockMessage::class,
        BillingMessageHandler::class => BillingMessage::class,
        ReferentialMessageHandler::class => ReferentialMessage::class,
    ];

    private readonly LoggerInterface $logger;

    public function __construct(
        private readonly Connector $connector,
        private readonly MessageBusInterface $bus,
        private readonly MetricsStore $metrics,
        ?LoggerInterface $logger = null,
    ) {
        $this->logger = $logger ?? new NullLogger();
    }

    protected function handle(AbstractSyncMessage $message): void
    {
        $result = $this->connector->sync(
            $message->records,
            $message->checkpointKey,
            onWait: static fn (): bool => false,
            publish: fn (string $queue, array $event) => $this->bus->dispatch(new ConfirmationEvent($queue, $event)),
        );
        $this->metrics->add($result->metrics);
        $now = $this->connector->now();
        if (!$result->log->isDone()) {
            $delay = max(0, (int) $result->log->waitUntil - $now);
            $this->logger->info('incwo: requeue {key} in {delay} ms ({reason})', ['key' => $message->checkpointKey, 'delay' => $delay, 'reason' => $result->log->waitReason]);
            $this->bus->dispatch($message, [new DelayStamp($delay)]);

            return;
        }
        $counts = $result->counts();
        if (isset($counts['stopped'])) {
            throw new UnrecoverableMessageHandlingException(sprintf('incwo run stopped (%s): %s', $counts['stopped']['code'] ?? '?', $counts['stopped']['message'] ?? ''));
        }
        $notBefore = null;
        $quarantined = [];
        foreach ($result->outcomes() as $outcome) {
            if (($outcome['outcome'] ?? null) === 'deferred') {
                $notBefore = min($notBefore ?? PHP_INT_MAX, (int) $outcome['notBefore']);
            } elseif (($outcome['outcome'] ?? null) === 'quarantined') {
                $quarantined[] = ($outcome['error']['class'] ?? '?') . ' ' . ($outcome['error']['code'] ?? '?');
            }
        }
        if ($notBefore !== null) {
            $this->bus->dispatch($message, [new DelayStamp(max(0, $notBefore - $now))]);
        }
        if ($quarantined !== []) {
            throw new UnrecoverableMessageHandlingException('incwo quarantined ' . count($quarantined) . ' record(s): ' . implode(', ', $quarantined));
        }
    }
}
