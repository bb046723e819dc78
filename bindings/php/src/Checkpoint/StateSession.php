<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

use Incwo\Connector\Flow;

/** The state of one key, opened by a run ({@see StateStore::open()}). */
interface StateSession
{
    /**
     * What to start the flow from: `['checkpoint' => text]` to resume,
     * `['ledger' => JSON list]` for entries without progress, `[]` for a
     * fresh start; with `index` (JSON text) the marker index saved beside
     * the ledger, to load into the flow before its first poll. Read again
     * after a conflict, it includes what other writers wrote since (a shared
     * store first waits, bounded, until no other writer has a request in
     * flight: no recent `pending` entry).
     *
     * @return array{checkpoint?: string, ledger?: string, index?: string}
     */
    public function startArgs(): array;

    /**
     * Makes durable the ledger entries the flow changed since the last call
     * (before a request leaves: the `pending` entry of a create), and saves
     * the marker index's changes with them (a cache: no durability of its
     * own beyond the store's write); with
     * `$progress` the flow's progress too, at most once a second unless
     * `$final` (the run stops: done, or a wait it does not sleep through).
     * Progress only saves work on a resume: the ledger alone keeps a replay
     * from creating anything twice.
     *
     * @throws StateConflictException when another writer changed an entry this run is about to write
     */
    public function save(Flow $flow, bool $progress, bool $final = false): void;

    /** Ends the run: releases the lock a file store holds (idempotent). */
    public function close(): void;
}
