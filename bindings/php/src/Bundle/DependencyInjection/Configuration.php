<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\DependencyInjection;

use Symfony\Component\Config\Definition\Builder\TreeBuilder;
use Symfony\Component\Config\Definition\ConfigurationInterface;

/**
 * The `incwo_connector:` tree. Connection settings and paths only: every
 * rule and default of the sync itself comes from the core (retry overrides
 * are passed through to it untouched).
 */
final class Configuration implements ConfigurationInterface
{
    public function getConfigTreeBuilder(): TreeBuilder
    {
        $tree = new TreeBuilder('incwo_connector');
        $tree->getRootNode()
            ->children()
                ->scalarNode('server')->isRequired()->cannotBeEmpty()->info('incwo base URL, e.g. https://www.incwo.com')->end()
                ->scalarNode('business_file_id')->isRequired()->cannotBeEmpty()->info('the business file (dossier) id')->end()
                ->scalarNode('login')->isRequired()->cannotBeEmpty()->info('API user login')->end()
                ->scalarNode('password')->defaultValue('%env(INCWO_PASSWORD)%')->info('API password; keep it in an env var')->end()
                ->booleanNode('allow_insecure_http')->defaultFalse()->info('allow http:// to a non-loopback server (never in production)')->end()
                ->scalarNode('profile')->defaultNull()->info('path of the mapping profile JSON (null: the shipped default)')->end()
                ->scalarNode('library_path')->defaultNull()->info('path of libincwo_ffi.so (null: $INCWO_FFI_LIBRARY, the library the package carries, or the workspace build)')->end()
                ->scalarNode('header_path')->defaultNull()->info('path of incwo.h (null: $INCWO_FFI_HEADER, the package\'s include/incwo.h or bindings/c/include/incwo.h)')->end()
                ->floatNode('timeout')->defaultValue(30.0)->info('seconds allowed to each HTTP request')->end()
                ->scalarNode('checkpoint_dir')->defaultValue('%kernel.project_dir%/var/incwo')->info('where checkpoints and the last metrics are kept')->end()
                ->scalarNode('company')->defaultNull()->info('company segment of queue names (flow option)')->end()
                ->scalarNode('tenant')->defaultNull()->info('tenant of idempotency keys (flow option; the business file id when null)')->end()
                ->variableNode('retry')->defaultValue([])->info('retry policy overrides passed to the core (maxAttempts, baseDelayMs…)')->end()
                ->arrayNode('scale_out')
                    ->info('scale-out: shard queues on RabbitMQ, a shared ledger table (docs/SCALE-OUT.md)')
                    ->canBeEnabled()
                    ->children()
                        ->integerNode('shards')->defaultValue(4)->min(1)->max(4096)->info('shard queues, one worker each')->end()
                        ->scalarNode('ledger_dsn')->defaultValue('sqlite:%kernel.project_dir%/var/incwo/ledger.sqlite')->info('PDO DSN of the shared ledger (PostgreSQL in production)')->end()
                        ->scalarNode('ledger_user')->defaultNull()->end()
                        ->scalarNode('ledger_password')->defaultNull()->info('keep it in an env var')->end()
                        ->scalarNode('amqp_dsn')->defaultNull()->info('the broker, for incwo:backlog (amqp://user:password@host:5672/%2f)')->end()
                        ->scalarNode('transport')->defaultValue('integration')->info('the Messenger transport of the shard queues')->end()
                    ->end()
                ->end()
            ->end();

        return $tree;
    }
}
