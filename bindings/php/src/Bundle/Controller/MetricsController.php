<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Controller;

use Incwo\Connector\Bundle\MetricsStore;
use Symfony\Component\HttpFoundation\Response;

/** `GET /metrics`: the connector's metrics in Prometheus text format 0.0.4, rendered by the core. */
final class MetricsController
{
    public function __construct(private readonly MetricsStore $metrics)
    {
    }

    public function __invoke(): Response
    {
        return new Response($this->metrics->load(), 200, ['Content-Type' => 'text/plain; version=0.0.4; charset=utf-8']);
    }
}
