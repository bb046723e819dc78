<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\DependencyInjection;

use Incwo\Connector\Bundle\Command\SyncCommand;
use Incwo\Connector\Bundle\Controller\MetricsController;
use Incwo\Connector\Bundle\CoreFactory;
use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\Bundle\Messenger;
use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Checkpoint\QuarantineStore;
use Incwo\Connector\Bundle\Quarantine as QuarantineCommands;
use Incwo\Connector\Quarantine\Quarantine;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\ContainerInterface;
use Symfony\Component\DependencyInjection\Extension\Extension;
use Symfony\Component\DependencyInjection\Reference;
use Symfony\Component\HttpClient\HttpClient;
use Symfony\Component\Messenger\MessageBusInterface;

/** Registers the connector's services from the `incwo_connector:` configuration. */
final class IncwoConnectorExtension extends Extension
{
    /** @param array<mixed> $configs */
    public function load(array $configs, ContainerBuilder $container): void
    {
        $config = $this->processConfiguration(new Configuration(), $configs);

        $container->register(Core::class, Core::class)
            ->setFactory([CoreFactory::class, 'create'])
            ->setArguments([$config['profile'], $config['library_path'], $config['header_path']]);

        $container->register('incwo_connector.http_client')
            ->setClass(\Symfony\Contracts\HttpClient\HttpClientInterface::class)
            ->setFactory([HttpClient::class, 'create']);

        $container->register(FileCheckpointStore::class, FileCheckpointStore::class)
            ->setArguments([$config['checkpoint_dir']]);
        $container->setAlias(CheckpointStore::class, FileCheckpointStore::class);
        $container->setAlias(QuarantineStore::class, FileCheckpointStore::class);
        $container->register(Quarantine::class, Quarantine::class)
            ->setArguments([new Reference(Core::class), new Reference(QuarantineStore::class)]);

        $container->register(MetricsStore::class, MetricsStore::class)
            ->setArguments([$config['checkpoint_dir'], new Reference(Core::class)]);

        $options = array_filter(
            ['company' => $config['company'], 'tenant' => $config['tenant'], 'retry' => $config['retry'] ?: null],
            static fn ($v) => $v !== null,
        );
        $connection = [
            'server' => $config['server'],
            'businessFileId' => (string) $config['business_file_id'],
            'auth' => ['type' => 'basic', 'login' => $config['login'], 'password' => $config['password']],
            'allowInsecureHttp' => $config['allow_insecure_http'],
        ];
        $container->register(Connector::class, Connector::class)
            ->setArguments([
                new Reference(Core::class),
                new Reference('incwo_connector.http_client'),
                $connection,
                $options,
                new Reference(CheckpointStore::class),
                new Reference('logger', ContainerInterface::NULL_ON_INVALID_REFERENCE),
                $config['timeout'],
            ])
            ->addTag('monolog.logger', ['channel' => 'incwo'])
            ->setPublic(true);

        $container->register(SyncCommand::class, SyncCommand::class)
            ->setAutowired(true)
            ->addTag('console.command', ['command' => 'incwo:sync']);

        foreach ([
            'incwo:quarantine:list' => QuarantineCommands\ListCommand::class,
            'incwo:quarantine:show' => QuarantineCommands\ShowCommand::class,
            'incwo:quarantine:replay' => QuarantineCommands\ReplayCommand::class,
            'incwo:quarantine:drop' => QuarantineCommands\DropCommand::class,
        ] as $name => $command) {
            $container->register($command, $command)
                ->setAutowired(true)
                ->addTag('console.command', ['command' => $name]);
        }

        $container->register(MetricsController::class, MetricsController::class)
            ->setAutowired(true)
            ->setPublic(true)
            ->addTag('controller.service_arguments');

        \Incwo\Connector\Bundle\Inbound\Services::registerRedaction($container);
        if (interface_exists(MessageBusInterface::class)) {
            foreach (Messenger\AbstractSyncHandler::HANDLERS as $handler => $message) {
                $container->register($handler, $handler)
                    ->setAutowired(true)
                    ->addTag('messenger.message_handler', ['handles' => $message]);
            }
            \Incwo\Connector\Bundle\Inbound\Services::register($container, $connection, $options, $config['checkpoint_dir']);
        }

        if ($config['scale_out']['enabled']) {
            \Incwo\Connector\Bundle\ScaleOut\Services::register($container, $config['scale_out'], (string) ($config['tenant'] ?? ''));
        }
    }
}
