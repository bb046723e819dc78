<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * A flow state store (ledger and progress) that a run opens for itself:
 * the one design behind every PHP store (docs/RELIABILITY.md, "State
 * stores"). A file store makes the run the only writer of its file (a
 * lock); a database store writes each ledger entry with a version check, so
 * runs on different customers go on together and a stale write is refused.
 */
interface StateStore
{
    /**
     * Opens the state of `$key` for one run; {@see StateSession::close()}
     * ends it.
     *
     * @throws StateStoreException `store.locked` when another process holds
     *                             the state longer than the store waits
     */
    public function open(string $key): StateSession;
}
