<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * A state store cannot do what the run needs: held by another process
 * (`store.locked`), a write that failed (`store.io`), a legacy row that
 * cannot be imported (`store.legacy_unreadable`), a stored quarantine
 * entry that is not JSON (`store.quarantine_unreadable`). Decide from
 * {@see getErrorCode()}, never from the message.
 */
class StateStoreException extends \RuntimeException
{
    /** @param array<string, mixed> $details structured facts (path, key, holder…) */
    public function __construct(
        private readonly string $errorCode,
        string $message,
        private readonly string $hint,
        private readonly array $details = [],
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, 0, $previous);
    }

    /** The stable code: `store.locked`, `store.conflict`, `store.io`, `store.legacy_unreadable`, `store.quarantine_unreadable`. */
    public function getErrorCode(): string
    {
        return $this->errorCode;
    }

    /** What to do about it. */
    public function getHint(): string
    {
        return $this->hint;
    }

    /**
     * Structured facts about the failure.
     *
     * @return array<string, mixed>
     */
    public function getDetails(): array
    {
        return $this->details;
    }
}
