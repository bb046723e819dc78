<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\Bundle\Messenger\ConfirmationEvent;
use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\ScaleOut\RecordProcessor;
use Psr\Log\LoggerInterface;
use Psr\Log\NullLogger;
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\MessageBusInterface;

/**
 * Handles one record of a shard queue (see {@see RecordProcessor}) and maps
 * the core's decisions to Messenger: a record that waits for a retry or is
 * deferred (itself, or behind an earlier record of its customer) is sent
 * again with a DelayStamp at the time the core decided (rounded up to
 * `DELAY_STEP_MS`, so the broker keeps few delay queues); a quarantined one
 * goes to the quarantine transport as a {@see QuarantinedRecord}. Anything
 * thrown (database or broker down) is left to Messenger's retry and failure
 * transport: the record is idempotent through the shared ledger.
 */
final class IntegrationMessageHandler
{
    /** Delays are rounded up to this step (ms). */
    public const DELAY_STEP_MS = 250;

    private readonly LoggerInterface $logger;

    public function __construct(
        private readonly RecordProcessor $processor,
        private readonly MessageBusInterface $bus,
        ?LoggerInterface $logger = null,
        private readonly ?MetricsStore $metrics = null,
    ) {
        $this->logger = $logger ?? new NullLogger();
    }

    public function __invoke(IntegrationMessage $message): void
    {
        $result = $this->processor->process(
            $message->record,
            $message->orderCustomer,
            fn (string $queue, array $event) => $this->bus->dispatch(new ConfirmationEvent($queue, $event)),
            $message->sequence,
        );
        if ($result->metrics !== '') {
            $this->metrics?->add($result->metrics);
        }
        if ($result->mustRequeue()) {
            $delay = max(0, (int) $result->notBefore - (int) floor(microtime(true) * 1000));
            $delay = max(self::DELAY_STEP_MS, (int) (ceil($delay / self::DELAY_STEP_MS) * self::DELAY_STEP_MS));
            $this->logger->info('incwo: {record} {status} ({reason}), requeued in {delay} ms', [
                'record' => $result->route['recordKey'] ?? '?', 'status' => $result->status, 'reason' => $result->reason, 'delay' => $delay,
            ]);
            $next = $message->requeued();
            $this->bus->dispatch(new Envelope($next, IntegrationPublisher::stamps($result->partitionKey() ?: $message->partitionKey, $delay)));

            return;
        }
        if ($result->status === 'quarantined') {
            $this->bus->dispatch(new QuarantinedRecord($message->record, $message->partitionKey, $result->error ?? [], $result->quarantine));
        }
    }
}
