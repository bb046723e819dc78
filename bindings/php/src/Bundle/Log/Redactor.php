<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Log;

use Incwo\Connector\Core;

/**
 * Redacts a log record through the core (`telemetry.log`): the message and
 * every text in the context, nested arrays included (their dotted path is
 * the key the core judges: `route_parameters.secret` is hidden whole). The
 * core's rules hide the webhook secret segment (`/incwo/webhook/<secret>`),
 * `token` and other sensitive query parameters, `password: x`,
 * `"password":"x"`, `Authorization: Basic …`, e-mails and phone numbers.
 * A throwable in the context becomes its redacted `Class: message at
 * file:line`: its message may quote a URL.
 */
final class Redactor
{
    private const UNAVAILABLE = '[log text withheld: the connector core could not redact it]';

    /** @var \Closure(): Core */
    private readonly \Closure $core;

    /** @param \Closure(): Core $core the core, built only when a record is first redacted */
    public function __construct(\Closure $core)
    {
        $this->core = $core;
    }

    /**
     * @param array<mixed> $context
     * @return array{0: string, 1: array<mixed>}
     */
    public function redact(string $message, array $context): array
    {
        $fields = [];
        $context = self::flatten($context, '', $fields);
        try {
            $event = ($this->core)()->call('telemetry.log', ['event' => ['level' => 'info', 'message' => $message, 'fields' => $fields ?: new \stdClass()]]);
        } catch (\Throwable) {
            return [self::UNAVAILABLE, self::withheld($context)];
        }
        $redacted = is_array($event['fields'] ?? null) ? $event['fields'] : [];

        return [(string) ($event['message'] ?? self::UNAVAILABLE), self::restore($context, '', $redacted)];
    }

    /**
     * Collects the texts of `$context` by dotted path into `$fields`; turns
     * throwables and other objects into texts first.
     *
     * @param array<mixed> $context
     * @param array<string, string> $fields
     * @return array<mixed> the context with only arrays and scalars
     */
    private static function flatten(array $context, string $prefix, array &$fields): array
    {
        foreach ($context as $key => $value) {
            $path = $prefix . $key;
            if ($value instanceof \Throwable) {
                $value = sprintf('%s: %s at %s:%d', $value::class, $value->getMessage(), $value->getFile(), $value->getLine());
            } elseif ($value instanceof \Stringable) {
                $value = (string) $value;
            } elseif (is_object($value)) {
                $value = $value::class;
            }
            if (is_array($value)) {
                $value = self::flatten($value, $path . '.', $fields);
            } elseif (is_string($value)) {
                $fields[$path] = $value;
            }
            $context[$key] = $value;
        }

        return $context;
    }

    /**
     * @param array<mixed> $context
     * @param array<string, mixed> $redacted
     * @return array<mixed>
     */
    private static function restore(array $context, string $prefix, array $redacted): array
    {
        foreach ($context as $key => $value) {
            $path = $prefix . $key;
            if (is_array($value)) {
                $context[$key] = self::restore($value, $path . '.', $redacted);
            } elseif (is_string($value)) {
                $context[$key] = (string) ($redacted[$path] ?? self::UNAVAILABLE);
            }
        }

        return $context;
    }

    /**
     * @param array<mixed> $context
     * @return array<mixed>
     */
    private static function withheld(array $context): array
    {
        array_walk_recursive($context, static function (&$value): void {
            if (is_string($value)) {
                $value = self::UNAVAILABLE;
            }
        });

        return $context;
    }
}
