<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

/**
 * A record the core quarantined (contract or business error: it needs a
 * fix, never a retry), sent to the quarantine transport with its error.
 */
final class QuarantinedRecord
{
    /**
     * @param array{kind: string, record: mixed} $record
     * @param array<string, mixed>               $error  `{class, code, message, …}`
     */
    public function __construct(
        public readonly array $record,
        public readonly string $partitionKey,
        public readonly array $error,
    ) {
    }
}
