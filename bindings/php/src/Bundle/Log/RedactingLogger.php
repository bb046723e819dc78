<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Log;

use Psr\Log\AbstractLogger;
use Psr\Log\LoggerInterface;

/**
 * Decorates the application's `logger` service: every record (the router's
 * "Matched route" with its `request_uri` and `route_parameters`, uncaught
 * exceptions quoting a URL, the connector's own lines) is redacted by the
 * core before the real logger sees it, so the webhook secret carried in the
 * URL never reaches a log. Monolog's channel loggers are covered by
 * {@see RedactionProcessor} instead.
 */
final class RedactingLogger extends AbstractLogger
{
    public function __construct(
        private readonly LoggerInterface $inner,
        private readonly Redactor $redactor,
    ) {
    }

    /**
     * @param mixed $level
     * @param string|\Stringable $message
     * @param array<mixed> $context
     */
    public function log($level, $message, array $context = []): void
    {
        [$message, $context] = $this->redactor->redact((string) $message, $context);
        $this->inner->log($level, $message, $context);
    }
}
