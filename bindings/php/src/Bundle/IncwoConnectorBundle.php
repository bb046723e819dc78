<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle;

use Incwo\Connector\Bundle\DependencyInjection\IncwoConnectorExtension;
use Symfony\Component\DependencyInjection\Extension\ExtensionInterface;
use Symfony\Component\HttpKernel\Bundle\Bundle;

/**
 * Symfony bundle of the incwo connector: configuration `incwo_connector:`,
 * the Core and Connector services, the `incwo:sync` and `incwo:quarantine:*`
 * commands (the quarantine kept in the checkpoint store), one Messenger
 * message and handler per queue, and a `/metrics` controller.
 */
final class IncwoConnectorBundle extends Bundle
{
    public function getContainerExtension(): ?ExtensionInterface
    {
        return new IncwoConnectorExtension();
    }

    public function getPath(): string
    {
        return __DIR__;
    }
}
