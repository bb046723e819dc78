<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

use Incwo\Connector\Bundle\Log\RedactingLogger;
use Incwo\Connector\Bundle\Log\RedactionProcessor;
use Incwo\Connector\Bundle\Log\Redactor;
use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Symfony\Component\DependencyInjection\Argument\ServiceClosureArgument;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\ContainerInterface;
use Symfony\Component\DependencyInjection\Reference;
use Symfony\Component\Messenger\MessageBusInterface;

/**
 * Registers the inbound services: the webhook controller (route
 * `incwo_connector_webhook` in Resources/config/routes.yaml), its guard
 * (throttle and no-secret marker under `checkpoint_dir`), the handler of
 * {@see InboundChangeMessage}, and the log redaction (a decorator of the
 * `logger` service and a Monolog processor).
 *
 * Settings come from the environment, read when a request needs them
 * (`%env()%` parameters resolved at runtime, never written into the
 * compiled container): INCWO_WEBHOOK_SECRET (the URL's last segment; unset:
 * the endpoint answers 503), INCWO_WEBHOOK_ALLOW (networks, comma-separated,
 * e.g. 185.16.44.0/24) and INCWO_INBOUND_CHECKPOINT_KEY (the checkpoint
 * holding the ledger; `inbound`).
 */
final class Services
{
    /**
     * @param array<string, mixed> $connection
     * @param array<string, mixed> $options
     */
    public static function register(ContainerBuilder $container, array $connection, array $options, string $stateDir): void
    {
        $container->setParameter('incwo_connector.inbound_checkpoint_key', 'inbound');
        $container->register(WebhookGuard::class, WebhookGuard::class)
            ->setArguments([new Reference(Core::class), $stateDir . '/webhook-guard']);
        $container->register(WebhookController::class, WebhookController::class)
            ->setArguments([
                new Reference(Core::class),
                new Reference(MessageBusInterface::class),
                [
                    'secret' => '%env(default::INCWO_WEBHOOK_SECRET)%',
                    'allowNetworks' => '%env(default::INCWO_WEBHOOK_ALLOW)%',
                    'businessFileId' => (string) ($connection['businessFileId'] ?? ''),
                ],
                new Reference(WebhookGuard::class),
                new Reference('logger', ContainerInterface::NULL_ON_INVALID_REFERENCE),
            ])
            ->setPublic(true)
            ->addTag('controller.service_arguments')
            ->addTag('monolog.logger', ['channel' => 'incwo']);
        $container->register(InboundChangeHandler::class, InboundChangeHandler::class)
            ->setArguments([
                new Reference(Connector::class),
                new Reference(MessageBusInterface::class),
                new Reference(CheckpointStore::class),
                $connection,
                $options,
                '%env(default:incwo_connector.inbound_checkpoint_key:INCWO_INBOUND_CHECKPOINT_KEY)%',
            ])
            ->addTag('messenger.message_handler', ['handles' => InboundChangeMessage::class]);
    }

    /**
     * The secret travels in the webhook URL (incwo signs nothing), and
     * Symfony logs URLs: the router's "Matched route" (`request_uri`,
     * `route_parameters`), uncaught exceptions. Every record is redacted by
     * the core first: through a decorator of `logger`, and through a Monolog
     * processor when MonologBundle builds the channel loggers.
     */
    public static function registerRedaction(ContainerBuilder $container): void
    {
        $container->register(Redactor::class, Redactor::class)
            ->setArguments([new ServiceClosureArgument(new Reference(Core::class))]);
        $container->register(RedactingLogger::class, RedactingLogger::class)
            ->setDecoratedService('logger', null, 0, ContainerInterface::IGNORE_ON_INVALID_REFERENCE)
            ->setArguments([new Reference(RedactingLogger::class . '.inner'), new Reference(Redactor::class)]);
        $container->register(RedactionProcessor::class, RedactionProcessor::class)
            ->setArguments([new Reference(Redactor::class)])
            ->addTag('monolog.processor');
    }
}
