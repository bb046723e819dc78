<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\Reference;
use Symfony\Component\Messenger\MessageBusInterface;

/**
 * Registers the inbound services: the webhook controller (route
 * `incwo_connector_webhook` in Resources/config/routes.yaml) and the
 * handler of {@see InboundChangeMessage}. Settings come from the
 * environment: INCWO_WEBHOOK_SECRET (the URL's last segment),
 * INCWO_WEBHOOK_ALLOW (networks, comma-separated, e.g. 185.16.44.0/24) and
 * INCWO_INBOUND_CHECKPOINT_KEY (the checkpoint holding the ledger; `inbound`).
 */
final class Services
{
    /**
     * @param array<string, mixed> $connection
     * @param array<string, mixed> $options
     */
    public static function register(ContainerBuilder $container, array $connection, array $options): void
    {
        $allow = array_values(array_filter(array_map('trim', explode(',', (string) (getenv('INCWO_WEBHOOK_ALLOW') ?: '')))));
        $container->register(WebhookController::class, WebhookController::class)
            ->setArguments([
                new Reference(Core::class),
                new Reference(MessageBusInterface::class),
                [
                    'secret' => getenv('INCWO_WEBHOOK_SECRET') ?: null,
                    'allowNetworks' => $allow,
                    'businessFileId' => (string) ($connection['businessFileId'] ?? ''),
                ],
            ])
            ->setPublic(true)
            ->addTag('controller.service_arguments');
        $container->register(InboundChangeHandler::class, InboundChangeHandler::class)
            ->setArguments([
                new Reference(Connector::class),
                new Reference(MessageBusInterface::class),
                new Reference(CheckpointStore::class),
                $connection,
                $options,
                getenv('INCWO_INBOUND_CHECKPOINT_KEY') ?: 'inbound',
            ])
            ->addTag('messenger.message_handler', ['handles' => InboundChangeMessage::class]);
    }
}
