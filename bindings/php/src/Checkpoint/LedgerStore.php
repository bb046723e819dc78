<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * A ledger shared by workers (docs/DESIGN.md#11-scale-out): entries addressable one
 * by one by idempotency key, plus the per-customer waiting queues of the
 * partitioning rule and each record's last outcome.
 */
interface LedgerStore
{
    /**
     * The entries (JSON texts) matching `$refs` (`{domain, externalId, step}`
     * as `partition.route` names them), whatever mapper version wrote them.
     *
     * @param list<array{domain: string, externalId: string, step: string}> $refs
     *
     * @return list<string>
     */
    public function fetch(array $refs): array;

    /**
     * Inserts or replaces entries (objects as `json_decode($text, false)`
     * gives them), each under its `key`, and with `$index` (the flow's
     * `takeIndexChanges()`, decoded with objects) the marker index's changes,
     * merged with what other workers saved, in the same transaction; durable
     * when it returns.
     *
     * @param list<\stdClass> $entries
     */
    public function write(array $entries, ?\stdClass $index = null): void;

    /**
     * The marker index every worker saved, as `{"entries", "coverage"}` JSON
     * text for {@see \Incwo\Connector\Flow::loadIndex()}, or null when there
     * is none yet: every resource's coverage, read first, then the objects of
     * the markers `$refs` names (`partition.route`'s `indexRefs`: every
     * marker the record's flow may look up), or of every marker when null.
     *
     * @param list<array{resource: string, marker: string}>|null $refs
     */
    public function loadIndex(?array $refs = null): ?string;

    /** The waiting queue (JSON text) of a partition key, or null. */
    public function loadQueue(string $partitionKey): ?string;

    /** Saves (or with null, forgets) the waiting queue of a partition key. */
    public function saveQueue(string $partitionKey, ?string $state): void;

    /** The next number (1, 2, 3…) of a customer's sequence: the order in which its records were published, which the gate keeps. */
    public function nextSequence(string $partitionKey): int;

    /** Records how a record last ended (`synced`, `skipped`, `quarantined`, `deferred`, `waiting`). */
    public function saveOutcome(string $recordKey, string $outcome, ?string $code = null): void;

    /**
     * Records by last outcome.
     *
     * @return array<string, int>
     */
    public function outcomeCounts(): array;
}
