<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\Checkpoint\LedgerStore;
use Incwo\Connector\Checkpoint\PdoLedgerStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\ScaleOut\RecordProcessor;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\ContainerInterface;
use Symfony\Component\DependencyInjection\Reference;
use Symfony\Component\Messenger\MessageBusInterface;

/** Registers the scale-out services (`incwo_connector.scale_out` enabled). */
final class Services
{
    /** @param array<string, mixed> $config the `scale_out` node */
    public static function register(ContainerBuilder $container, array $config, string $tenant): void
    {
        $shards = (int) $config['shards'];
        $container->register(PdoLedgerStore::class, PdoLedgerStore::class)
            ->setFactory([PdoLedgerStore::class, 'connect'])
            ->setArguments([$config['ledger_dsn'], $config['ledger_user'], $config['ledger_password'], 'incwo_', new Reference(Core::class)])
            ->setPublic(true);
        $container->setAlias(LedgerStore::class, PdoLedgerStore::class);
        $container->register(RecordProcessor::class, RecordProcessor::class)
            ->setArguments([
                new Reference(Connector::class),
                new Reference(LedgerStore::class),
                $shards,
                $tenant,
                new Reference('logger', ContainerInterface::NULL_ON_INVALID_REFERENCE),
            ])
            ->setPublic(true);
        if (!interface_exists(MessageBusInterface::class)) {
            return;
        }
        $container->register(IntegrationPublisher::class, IntegrationPublisher::class)
            ->setAutowired(true)
            ->setPublic(true);
        $container->register(IntegrationMessageHandler::class, IntegrationMessageHandler::class)
            ->setAutowired(true)
            ->addTag('messenger.message_handler', ['handles' => IntegrationMessage::class]);
        $container->register(QuarantinedRecordHandler::class, QuarantinedRecordHandler::class)
            ->setAutowired(true)
            ->addTag('messenger.message_handler', ['handles' => QuarantinedRecord::class]);
        $container->register(WorkersCommand::class, WorkersCommand::class)
            ->setArguments([$shards, (string) $config['transport']])
            ->addTag('console.command', ['command' => 'incwo:workers']);
        $container->register(BacklogCommand::class, BacklogCommand::class)
            ->setArguments([new Reference(Core::class), $config['amqp_dsn'], $shards])
            ->addTag('console.command', ['command' => 'incwo:backlog']);
        $container->register(PublishCommand::class, PublishCommand::class)
            ->setAutowired(true)
            ->addTag('console.command', ['command' => 'incwo:publish']);
    }
}
