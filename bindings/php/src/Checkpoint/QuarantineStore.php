<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Where a state store keeps quarantine entries (the core's `quarantine`
 * entries of `recordDone` actions), one per entry id, stored as given: the
 * core redacted them already. Every rule about them (merge, filters,
 * retention, settle, drop) is the core's, called by
 * {@see \Incwo\Connector\Quarantine\Quarantine}; a store only reads and
 * writes them.
 */
interface QuarantineStore
{
    /**
     * Every stored entry, oldest first.
     *
     * @return list<array<string, mixed>>
     */
    public function quarantineEntries(): array;

    /**
     * One entry by id, or null.
     *
     * @return array<string, mixed>|null
     */
    public function quarantineEntry(string $id): ?array;

    /**
     * Replaces entry `$id` by `$change(previous or null)`, atomically (under
     * the store's lock or in a transaction), and returns what was written.
     *
     * @param callable(array<string, mixed>|null): array<string, mixed> $change
     *
     * @return array<string, mixed>
     */
    public function updateQuarantine(string $id, callable $change): array;

    /**
     * Deletes entries (the ids `quarantine.list` reports as expired).
     *
     * @param list<string> $ids
     */
    public function deleteQuarantine(array $ids): void;
}
