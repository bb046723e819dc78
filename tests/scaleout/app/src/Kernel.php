<?php

declare(strict_types=1);

namespace Incwo\ScaleOutTest;

use Incwo\Connector\Bundle\IncwoConnectorBundle;
use Incwo\Connector\Bundle\ScaleOut\Topology;
use Symfony\Bundle\FrameworkBundle\FrameworkBundle;
use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\Kernel as BaseKernel;
use Symfony\Component\Routing\Loader\Configurator\RoutingConfigurator;

/**
 * The scale-out test application: the bundle with scale-out on, Messenger
 * on RabbitMQ with the bundle's topology, settings from the environment
 * (INCWO_SCALE_SERVER, INCWO_SCALE_AMQP_DSN, INCWO_SCALE_LEDGER_DSN,
 * INCWO_SCALE_SHARDS, INCWO_SCALE_VAR, INCWO_PASSWORD).
 */
final class Kernel extends BaseKernel
{
    use MicroKernelTrait;

    public function registerBundles(): iterable
    {
        return [new FrameworkBundle(), new IncwoConnectorBundle()];
    }

    public function getProjectDir(): string
    {
        return dirname(__DIR__);
    }

    public function getCacheDir(): string
    {
        return self::var() . '/cache/' . $this->environment;
    }

    public function getLogDir(): string
    {
        return self::var() . '/log';
    }

    private static function var(): string
    {
        return (string) (getenv('INCWO_SCALE_VAR') ?: sys_get_temp_dir() . '/incwo-scaleout');
    }

    private static function env(string $name, string $default): string
    {
        $value = getenv($name);

        return $value === false || $value === '' ? $default : $value;
    }

    protected function configureContainer(ContainerConfigurator $container): void
    {
        $shards = (int) self::env('INCWO_SCALE_SHARDS', '4');
        $amqp = self::env('INCWO_SCALE_AMQP_DSN', 'amqp://guest:guest@127.0.0.1:5672/%2f');
        $container->extension('framework', [
            'secret' => 'scale-out-test',
            'http_method_override' => false,
            'messenger' => Topology::messenger($amqp, $shards),
        ]);
        $container->extension('incwo_connector', [
            'server' => self::env('INCWO_SCALE_SERVER', 'http://127.0.0.1:8080'),
            'business_file_id' => '123456',
            'login' => 'api@example.fr',
            'company' => 'acme',
            'timeout' => 3.0,
            'checkpoint_dir' => self::var() . '/incwo',
            'retry' => ['maxAttempts' => 4, 'baseDelayMs' => 200, 'maxDelayMs' => 2000],
            'scale_out' => [
                'enabled' => true,
                'shards' => $shards,
                'ledger_dsn' => self::env('INCWO_SCALE_LEDGER_DSN', 'sqlite:' . self::var() . '/ledger.sqlite'),
                'amqp_dsn' => $amqp,
            ],
        ]);
    }

    protected function configureRoutes(RoutingConfigurator $routes): void
    {
        $routes->import(dirname(__DIR__, 4) . '/bindings/php/src/Bundle/Resources/config/routes.yaml');
    }
}
