<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests\App;

use Incwo\Connector\Bundle\IncwoConnectorBundle;
use Incwo\Connector\Bundle\Messenger\AbstractSyncMessage;
use Incwo\Connector\Bundle\Messenger\ConfirmationEvent;
use Symfony\Bundle\FrameworkBundle\FrameworkBundle;
use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\Kernel;
use Symfony\Component\Routing\Loader\Configurator\RoutingConfigurator;

/** A minimal kernel with the bundle, Messenger on in-memory transports, pointed at a simulator. */
final class TestKernel extends Kernel
{
    use MicroKernelTrait;

    public function __construct(private readonly string $server, private readonly string $varDir)
    {
        parent::__construct('test', false);
    }

    public function registerBundles(): iterable
    {
        return [new FrameworkBundle(), new IncwoConnectorBundle()];
    }

    public function getProjectDir(): string
    {
        return dirname(__DIR__, 2);
    }

    public function getCacheDir(): string
    {
        return $this->varDir . '/cache';
    }

    public function getLogDir(): string
    {
        return $this->varDir . '/log';
    }

    protected function configureContainer(ContainerConfigurator $container): void
    {
        $container->extension('framework', [
            'secret' => 'test',
            'test' => true,
            'http_method_override' => false,
            'router' => ['utf8' => true],
            'messenger' => [
                'transports' => ['incwo' => 'in-memory://', 'events' => 'in-memory://'],
                'routing' => [AbstractSyncMessage::class => 'incwo', ConfirmationEvent::class => 'events'],
            ],
        ]);
        // The application's logger: the bundle decorates it with its redaction.
        $container->services()->set('logger', CapturingLogger::class);
        $container->extension('incwo_connector', [
            'server' => $this->server,
            'business_file_id' => '123456',
            'login' => 'api@example.fr',
            'company' => 'acme',
            'timeout' => 2.0,
            'checkpoint_dir' => $this->varDir . '/incwo',
        ]);
    }

    protected function configureRoutes(RoutingConfigurator $routes): void
    {
        $routes->import(dirname(__DIR__, 2) . '/src/Bundle/Resources/config/routes.yaml');
    }
}
