<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests\App;

use Psr\Log\AbstractLogger;

/** The test kernel's `logger`: keeps every record (level, message, context) as it would be written. */
final class CapturingLogger extends AbstractLogger
{
    /** @var list<array{level: mixed, message: string, context: array<mixed>}> */
    public static array $records = [];

    /**
     * @param mixed $level
     * @param string|\Stringable $message
     * @param array<mixed> $context
     */
    public function log($level, $message, array $context = []): void
    {
        self::$records[] = ['level' => $level, 'message' => (string) $message, 'context' => $context];
    }

    /** Every record as JSON text (what a JSON log handler would write). */
    public static function text(): string
    {
        return (string) json_encode(self::$records, JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR);
    }
}
