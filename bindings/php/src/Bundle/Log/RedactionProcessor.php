<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Log;

/**
 * A Monolog processor (tag `monolog.processor`, every channel): redacts a
 * record's message and context through the core, like
 * {@see RedactingLogger} does for a plain PSR-3 logger. Takes Monolog 2's
 * array records and Monolog 3's `LogRecord`s.
 */
final class RedactionProcessor
{
    public function __construct(private readonly Redactor $redactor)
    {
    }

    /**
     * @param array<string, mixed>|object $record
     * @return array<string, mixed>|object
     */
    public function __invoke(array|object $record): array|object
    {
        if (is_array($record)) {
            [$record['message'], $record['context']] = $this->redactor->redact((string) ($record['message'] ?? ''), (array) ($record['context'] ?? []));

            return $record;
        }
        [$message, $context] = $this->redactor->redact((string) $record->message, (array) $record->context);

        return $record->with(message: $message, context: $context);
    }
}
