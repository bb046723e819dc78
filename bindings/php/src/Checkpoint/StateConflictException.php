<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * `store.conflict`: another writer changed a ledger entry since this run
 * read it, so this run's write was refused instead of overwriting it.
 * Nothing was sent for it; {@see \Incwo\Connector\Connector::sync()} starts
 * again from the store, which now holds the other writer's entry.
 */
final class StateConflictException extends StateStoreException
{
    public function __construct(
        public readonly string $entryKey,
        public readonly string $domain,
        public readonly string $externalId,
        public readonly string $step,
        public readonly int $expectedVersion,
        public readonly int $foundVersion,
        public readonly ?string $foundState,
        public readonly int $foundUpdatedAt,
    ) {
        parent::__construct(
            'store.conflict',
            "ledger entry {$domain} {$externalId} {$step} ({$entryKey}) was changed by another writer: this run read version {$expectedVersion}, the store holds version {$foundVersion}",
            'start again from the store (Connector::sync does it); the other writer\'s entry is kept',
            ['key' => $entryKey, 'domain' => $domain, 'externalId' => $externalId, 'step' => $step, 'expectedVersion' => $expectedVersion, 'foundVersion' => $foundVersion, 'foundState' => $foundState],
        );
    }
}
