<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\Quarantine\Quarantine;

/**
 * Consumes the quarantine transport (`incwo.quarantine`) into the bundle's
 * quarantine store: workers on any machine publish their quarantined
 * records there, one consumer (`messenger:consume incwo_quarantine`) keeps
 * them where `incwo:quarantine:list` and the other commands find them. The
 * entry is stored as the core gave it (redacted), merged with the record's
 * previous one; a message without an entry (published by an older worker)
 * is left as it is.
 */
final class QuarantinedRecordHandler
{
    public function __construct(private readonly Quarantine $quarantine)
    {
    }

    public function __invoke(QuarantinedRecord $message): void
    {
        if ($message->entry !== null) {
            $this->quarantine->store($message->entry);
        }
    }
}
