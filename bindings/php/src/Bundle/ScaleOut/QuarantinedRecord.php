<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

/**
 * A record the core quarantined (contract or business error: it needs a
 * fix, never a retry), sent to the quarantine transport with its error and
 * the core's quarantine entry; {@see QuarantinedRecordHandler} consumes it
 * into the bundle's quarantine store, where the `incwo:quarantine:*`
 * commands find it.
 */
final class QuarantinedRecord
{
    /**
     * @param array{kind: string, record: mixed} $record
     * @param array<string, mixed>               $error  `{class, code, message, …}`
     * @param array<string, mixed>|null          $entry  the core's quarantine entry (redacted)
     */
    public function __construct(
        public readonly array $record,
        public readonly string $partitionKey,
        public readonly array $error,
        public readonly ?array $entry = null,
    ) {
    }
}
