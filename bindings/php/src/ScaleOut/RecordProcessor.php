<?php

declare(strict_types=1);

namespace Incwo\Connector\ScaleOut;

use Incwo\Connector\Checkpoint\LedgerStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Flow;
use Incwo\Connector\Json;
use Psr\Log\LoggerInterface;
use Psr\Log\NullLogger;

/**
 * Processes one record against a shared ledger (docs/DESIGN.md#11-scale-out), the
 * unit of work of a scale-out worker:
 *
 * 1. `partition.route` names the record's partition key and the ledger
 *    entries it needs; they are fetched from the {@see LedgerStore} (a second
 *    round adds what follows from them: an order's customer and invoices);
 * 2. `partition.gate` decides, from the customer's waiting queue, whether
 *    the record runs now or waits behind an earlier record of its customer;
 * 3. a one-record flow starts with the fetched entries and the marker index
 *    every worker shares ({@see LedgerStore::loadIndex()}: the rows of the
 *    markers the core names, `indexRefs`, and every coverage; a lookup reads
 *    only the list pages newer than it; the first message on a large
 *    account pays the sweep); before each request leaves, the entries the
 *    core reports as changed (the `pending` entry of a create) are written
 *    back with the index's changes, in one transaction; when the flow ends
 *    or must wait, the rest;
 * 4. `partition.settle` updates the customer's waiting queue, and the
 *    record's outcome is stored.
 *
 * A Wait of the flow never sleeps here: the record ends as `waiting` with
 * its retry time, for the host to requeue (a Messenger DelayStamp); on its
 * next run the pending entries are reconciled before anything is created.
 */
final class RecordProcessor
{
    private readonly LoggerInterface $logger;

    /**
     * @param int    $shards       shard count (the same for producers and workers)
     * @param string $tenant       tenant prefix of partition keys (the flow option `tenant`)
     * @param int    $staleAfterMs how long a lost head of a customer's queue blocks the customer
     */
    public function __construct(
        private readonly Connector $connector,
        private readonly LedgerStore $ledger,
        private readonly int $shards = 4,
        private readonly string $tenant = '',
        ?LoggerInterface $logger = null,
        private readonly int $staleAfterMs = 900_000,
    ) {
        $this->logger = $logger ?? new NullLogger();
    }

    /**
     * The same processor with more flow options, e.g. `['manualReplay' => true]`
     * for an operator's replay of quarantined records.
     *
     * @param array<string, mixed> $options
     */
    public function withOptions(array $options): self
    {
        return new self($this->connector->withOptions($options), $this->ledger, $this->shards, $this->tenant, $this->logger, $this->staleAfterMs);
    }

    /**
     * Where a record goes: `{customer, partitionKey, shard, shards, recordKey, ledgerRefs, headers}`.
     *
     * @param array{kind: string, record: mixed} $record
     *
     * @return array<string, mixed>
     */
    public function route(array $record, ?string $orderCustomer = null, ?string $entries = null): array
    {
        $args = ['record' => $record, 'shards' => $this->shards, 'tenant' => $this->tenant];
        if ($orderCustomer !== null && $orderCustomer !== '') {
            $args['orderCustomer'] = $orderCustomer;
        }
        if ($entries !== null) {
            $args['entries'] = $entries;
        }

        return $this->connector->core()->call('partition.route', $args);
    }

    /** The next number of a customer's sequence (see `partition.gate`'s `sequence`), for the producer. */
    public function nextSequence(string $partitionKey): int
    {
        return $this->ledger->nextSequence($partitionKey);
    }

    /**
     * Processes one record envelope `{kind, record}`; `$sequence` is its
     * number in its customer's sequence, when the producer numbered it.
     *
     * @param array{kind: string, record: mixed}                    $record
     * @param (callable(string, array<string, mixed>): void)|null $publish publishes a confirmation event on a queue
     */
    public function process(array $record, ?string $orderCustomer = null, ?callable $publish = null, ?int $sequence = null): RecordResult
    {
        $core = $this->connector->core();
        $route = $this->route($record, $orderCustomer);
        $entries = $this->ledger->fetch($route['ledgerRefs']);
        $indexRefs = $route['indexRefs'] ?? [];
        if ($entries !== []) {
            $known = self::refKeys($route['ledgerRefs']);
            $again = $this->route($record, $orderCustomer, '[' . implode(',', $entries) . ']');
            $indexRefs = $again['indexRefs'] ?? $indexRefs;
            $more = array_values(array_filter(
                $again['ledgerRefs'],
                static fn (array $ref): bool => !isset($known[self::refKey($ref)]),
            ));
            if ($more !== []) {
                $entries = array_merge($entries, $this->ledger->fetch($more));
            }
        }
        $partitionKey = (string) $route['partitionKey'];
        $recordKey = (string) $route['recordKey'];

        $state = $this->ledger->loadQueue($partitionKey);
        $gateArgs = ['state' => $state, 'recordKey' => $recordKey, 'now' => $this->connector->now(), 'staleAfterMs' => $this->staleAfterMs];
        if ($sequence !== null) {
            $gateArgs['sequence'] = $sequence;
        }
        $gate = $core->call('partition.gate', $gateArgs);
        $state = $this->saveQueue($partitionKey, $state, $gate);
        if (($gate['decision'] ?? '') === 'defer') {
            $this->ledger->saveOutcome($recordKey, 'deferred', 'deferred.' . (string) ($gate['reason'] ?? 'customer_waiting'));

            return new RecordResult('deferred', $route, (int) $gate['notBefore'], null, (string) ($gate['reason'] ?? 'customer_waiting'));
        }

        $flow = $this->connector->start([$record], null, random_int(0, PHP_INT_MAX), '[' . implode(',', $entries) . ']');
        try {
            $index = $this->ledger->loadIndex($indexRefs);
            if ($index !== null) {
                $flow->loadIndex($index);
            }
            [$outcome, $waitUntil, $waitReason, $requests, $done] = $this->drive($flow, $publish);
            $metrics = $flow->metrics();
        } finally {
            $this->writeBack($flow);
            $flow->free();
        }

        $status = (string) ($outcome['outcome'] ?? 'waiting');
        $notBefore = null;
        $reason = null;
        $error = isset($outcome['error']) ? (array) $outcome['error'] : null;
        if ($waitUntil !== null && $outcome === null) {
            [$status, $notBefore, $reason] = ['waiting', $waitUntil, $waitReason];
        } elseif ($status === 'deferred') {
            $notBefore = (int) ($outcome['notBefore'] ?? $this->connector->now());
            $reason = (string) ($error['code'] ?? 'deferred');
        }
        $settled = $core->call('partition.settle', ['state' => $state, 'recordKey' => $recordKey, 'outcome' => $status, 'notBefore' => $notBefore ?? 0]);
        $this->saveQueue($partitionKey, $state, $settled);
        $this->ledger->saveOutcome($recordKey, $status, $error['code'] ?? $reason);
        $this->logger->info('incwo record {record} {status}', ['record' => $recordKey, 'status' => $status, 'code' => $error['code'] ?? $reason, 'shard' => $route['shard'] ?? null]);

        $quarantine = isset($done['quarantine']) ? (array) $done['quarantine'] : null;

        return new RecordResult($status, $route, $notBefore, $error, $reason, $requests, $metrics, $quarantine, $done);
    }

    /**
     * Drives the one-record flow until done or a wait.
     *
     * @return array{0: array<string, mixed>|null, 1: int|null, 2: string|null, 3: int, 4: array<string, mixed>|null} the last element: the `recordDone` action
     */
    private function drive(Flow $flow, ?callable $publish): array
    {
        $outcome = null;
        $done = null;
        $requests = 0;
        while (true) {
            $action = $flow->poll($this->connector->now());
            switch ((string) ($action['action'] ?? '')) {
                case 'send':
                    $this->writeBack($flow);
                    $requests++;
                    $answer = $this->connector->send($action['request']);
                    if (isset($answer['failure'])) {
                        $flow->onTransportError((int) $action['requestId'], $answer['failure'], $this->connector->now());
                    } else {
                        $flow->onResponse((int) $action['requestId'], $answer['response'], $this->connector->now());
                    }
                    break;
                case 'wait':
                    return [$outcome, (int) $action['until'], (string) ($action['reason'] ?? ''), $requests, $done];
                case 'publish':
                    if ($publish !== null) {
                        $publish((string) $action['queue'], (array) $action['event']);
                    }
                    break;
                case 'recordDone':
                    $outcome = (array) $action['outcome'];
                    $done = $action;
                    break;
                case 'done':
                    return [$outcome, null, null, $requests, $done];
                default:
                    throw new \Incwo\Connector\Exception\UsageException(['class' => 'usage', 'code' => 'usage.unknown_action', 'message' => 'unknown action ' . (string) ($action['action'] ?? '')]);
            }
        }
    }

    /** Writes the entries and the index changes of the flow since the last call to the ledger store, in one transaction. */
    private function writeBack(Flow $flow): void
    {
        $changed = json_decode($flow->takeChangedEntries(), false, 512, JSON_THROW_ON_ERROR);
        $entries = $changed->entries ?? [];
        $index = json_decode($flow->takeIndexChanges(), false, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        $indexed = ($index->entries ?? []) !== [] || (array) ($index->coverage ?? []) !== [];
        if ($entries !== [] || $indexed) {
            $this->ledger->write($entries, $indexed ? $index : null);
        }
    }

    /** Saves the waiting queue when it changed; returns it as text (null when empty). */
    /** @param array<string, mixed> $result a `partition.gate` or `partition.settle` result */
    private function saveQueue(string $partitionKey, ?string $before, array $result): ?string
    {
        // The core says when the customer's row may go (`empty`).
        $text = ($result['empty'] ?? false) === true ? null : Json::text($result['state']);
        if ($text !== $before) {
            $this->ledger->saveQueue($partitionKey, $text);
        }

        return $text;
    }

    /** @param list<array<string, string>> $refs @return array<string, true> */
    private static function refKeys(array $refs): array
    {
        $keys = [];
        foreach ($refs as $ref) {
            $keys[self::refKey($ref)] = true;
        }

        return $keys;
    }

    /** @param array<string, string> $ref */
    private static function refKey(array $ref): string
    {
        return $ref['domain'] . "\x1f" . $ref['externalId'] . "\x1f" . $ref['step'];
    }
}
