<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Exception\TechnicalException;
use Symfony\Component\Messenger\Exception\UnrecoverableMessageHandlingException;
use Symfony\Component\Messenger\MessageBusInterface;

/**
 * Handles {@see InboundChangeMessage}: re-reads the object (`inbound.fetch`,
 * sent like any request of the core), compares it with the ledger kept
 * under `$checkpointKey` (`inbound.detect`), saves the updated checkpoint and
 * dispatches an {@see InboundChangeEvent} per change. A transport failure or
 * a technical answer throws, so Messenger retries; a usage error does not.
 */
final class InboundChangeHandler
{
    /**
     * @param array<string, mixed> $connection `{server, businessFileId, auth, allowInsecureHttp?}`
     * @param array<string, mixed> $options    `{tenant?, company?}` (the flows' options)
     */
    public function __construct(
        private readonly Connector $connector,
        private readonly MessageBusInterface $bus,
        private readonly CheckpointStore $checkpoints,
        private readonly array $connection,
        private readonly array $options = [],
        private readonly string $checkpointKey = 'inbound',
    ) {
    }

    public function __invoke(InboundChangeMessage $message): void
    {
        foreach ($this->detect($message->target) as $publication) {
            $this->bus->dispatch(new InboundChangeEvent((string) $publication['queue'], (array) $publication['event']));
        }
    }

    /**
     * Re-reads and compares one target; returns the `{queue, event}` publications.
     *
     * @param array<string, mixed> $target
     *
     * @return list<array<string, mixed>>
     */
    public function detect(array $target): array
    {
        $core = $this->connector->core();
        try {
            $fetch = $core->call('inbound.fetch', ['config' => $this->connection, 'target' => $target]);
            $sent = $this->connector->send($fetch['request']);
            if (isset($sent['failure'])) {
                throw new \RuntimeException('re-reading incwo ' . json_encode($target) . ' failed in transport (' . $sent['failure']['kind'] . '); retried');
            }
            $args = [
                'target' => $target,
                'response' => $sent['response'],
                'source' => 'webhook',
                'options' => $this->options ?: new \stdClass(),
                'config' => $this->connection,
                'now' => $this->connector->now(),
            ];
            if ($core->profile() !== null) {
                $args['profile'] = $core->profile();
            }
            $checkpoint = $this->checkpoints->load($this->checkpointKey);
            if ($checkpoint !== null) {
                $args['checkpoint'] = $checkpoint;
            } else {
                $args['entries'] = [];
            }
            $result = $core->call('inbound.detect', $args);
        } catch (TechnicalException $e) {
            throw new \RuntimeException('incwo could not be read: ' . $e->getMessage() . '; retried', 0, $e);
        } catch (IncwoException $e) {
            throw new UnrecoverableMessageHandlingException('inbound change refused: ' . $e->getMessage(), 0, $e);
        }
        if (isset($result['checkpoint']) && is_string($result['checkpoint'])) {
            $this->checkpoints->save($this->checkpointKey, $result['checkpoint']);
        }

        return array_values($result['events'] ?? []);
    }
}
