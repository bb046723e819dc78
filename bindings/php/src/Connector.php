<?php

declare(strict_types=1);

namespace Incwo\Connector;

use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Checkpoint\QuarantineStore;
use Incwo\Connector\Checkpoint\StateConflictException;
use Incwo\Connector\Checkpoint\StateSession;
use Incwo\Connector\Checkpoint\StateStore;
use Psr\Log\LoggerInterface;
use Psr\Log\NullLogger;
use Symfony\Contracts\HttpClient\Exception\TransportExceptionInterface;
use Symfony\Contracts\HttpClient\HttpClientInterface;

/**
 * Drives the core's flow loop (docs/DESIGN.md#7-flows-replayable-steps) over any Symfony
 * HttpClientInterface: Send → HTTP (fresh connection, timeout) → answer or
 * transport failure; Wait → sleep (or hand over to a wait policy, e.g. a
 * Messenger requeue); Publish → the publisher. With a {@see StateStore}
 * (the file and PDO stores) a run opens its key's state, writes the ledger
 * entries its flow changed before every send and after every other action
 * (what an answer changed goes with the next action), and its progress when
 * a record ends, and the marker index beside the ledger (loaded before the
 * first poll, its changes saved with the entries); a plain {@see CheckpointStore} gets the
 * whole checkpoint before every send and after every action. A store that is
 * also a {@see QuarantineStore} (the file and PDO stores) keeps the
 * quarantine entry of each quarantined record (merged by the core).
 */
final class Connector
{
    private readonly LoggerInterface $logger;

    /** @var \Closure(): int */
    private readonly \Closure $clock;

    /**
     * @param array<string, mixed> $connection `{server, businessFileId, auth: {type, login, password}, allowInsecureHttp?}`
     * @param array<string, mixed> $options    the flow options (`company`, `tenant`, `retry`…)
     * @param float                $timeout    seconds allowed to each request (connect, idle and total)
     * @param (callable(): int)|null $clock    ms since the epoch (the real clock by default)
     */
    public function __construct(
        private readonly Core $core,
        private readonly HttpClientInterface $http,
        private readonly array $connection,
        private readonly array $options = [],
        private readonly ?CheckpointStore $checkpoints = null,
        ?LoggerInterface $logger = null,
        private readonly float $timeout = 30.0,
        ?callable $clock = null,
    ) {
        $this->logger = $logger ?? new NullLogger();
        $this->clock = $clock !== null ? \Closure::fromCallable($clock) : static fn (): int => (int) floor(microtime(true) * 1000);
    }

    /** The core this connector drives. */
    public function core(): Core
    {
        return $this->core;
    }

    /**
     * The same connector with more flow options, e.g. `['manualReplay' => true]`
     * for an operator's replay of quarantined records.
     *
     * @param array<string, mixed> $options
     */
    public function withOptions(array $options): self
    {
        return new self($this->core, $this->http, $this->connection, $options + $this->options, $this->checkpoints, $this->logger, $this->timeout, $this->clock);
    }

    /** The quarantine of the checkpoint store, when it keeps one. */
    public function quarantine(): ?Quarantine\Quarantine
    {
        return $this->checkpoints instanceof QuarantineStore ? new Quarantine\Quarantine($this->core, $this->checkpoints, $this->clock) : null;
    }

    /** ms since the epoch. */
    public function now(): int
    {
        return ($this->clock)();
    }

    /**
     * Starts the flow of a batch, resuming from `$checkpoint` when given.
     *
     * @param list<array{kind: string, record: mixed}>|string $records the records, or JSON Lines text
     * @param int|null $seed the run's randomness (retry jitter, the run id that marks its status changes);
     *                       random when null, so that two runs started together differ
     * @param string|null $ledger ledger entries fetched from a shared table (a JSON list), without a checkpoint
     */
    public function start(array|string $records, ?string $checkpoint = null, ?int $seed = null, ?string $ledger = null): Flow
    {
        $args = [
            'config' => $this->connection,
            'now' => $this->now(),
            'seed' => $seed ?? random_int(0, 2 ** 53 - 1),
        ];
        if ($this->options !== []) {
            $args['options'] = $this->options;
        }
        if (is_string($records)) {
            $args['jsonl'] = $records;
        } else {
            $args['records'] = $records;
        }
        if ($checkpoint !== null) {
            $args['checkpoint'] = $checkpoint;
        }
        if ($ledger !== null) {
            $args['ledger'] = $ledger;
        }

        return $this->core->startFlow($args);
    }

    /**
     * Syncs a batch to the end: resumes from the store's state of
     * `$checkpointKey` when there is one, drives the loop, returns the log.
     *
     * On a {@see StateStore}, the run holds the key's state until it
     * returns (a file store's lock). When another writer of a shared store
     * changed an entry this run was about to write ({@see StateConflictException}:
     * nothing was sent for it), the run starts again from the store, at most
     * `$maxRestarts` times.
     *
     * @param list<array{kind: string, record: mixed}>|string $records
     * @param (callable(array<string, mixed>): void)|null    $onAction  sees every action (progress)
     * @param (callable(int, string, int): bool)|null        $onWait    `(until, reason, now)`: true to go on (after waiting), false to stop the run
     * @param (callable(string, array<string, mixed>): void)|null $publish publishes an event on a queue
     * @param (callable(list<array{resource: string, pagesRead: int, totalPages: int}>): void)|null $onIndexProgress
     *        sees the marker index passes in progress after each answer (a sweep of a large account reads
     *        many list pages: show a progress bar)
     */
    public function sync(
        array|string $records,
        ?string $checkpointKey = null,
        ?callable $onAction = null,
        ?callable $onWait = null,
        ?callable $publish = null,
        ?int $seed = null,
        int $maxRestarts = 1000,
        ?callable $onIndexProgress = null,
    ): SyncResult {
        $log = new RunLog();
        $onAction = self::withIndexProgress($onAction, $onIndexProgress);
        if ($checkpointKey === null || !$this->checkpoints instanceof StateStore) {
            $checkpoint = $checkpointKey !== null ? $this->checkpoints?->load($checkpointKey) : null;
            $flow = $this->start($records, $checkpoint, $seed);
            $this->drive($flow, $log, $checkpointKey, $onAction($flow), $onWait, $publish);

            return new SyncResult($log, $flow->summary(), $flow->metrics());
        }
        $session = $this->checkpoints->open($checkpointKey);
        try {
            for ($restarts = 0; ; $restarts++) {
                $from = $session->startArgs();
                $flow = $this->start($records, $from['checkpoint'] ?? null, $seed, $from['ledger'] ?? null);
                if (isset($from['index'])) {
                    $flow->loadIndex($from['index']);
                }
                try {
                    $this->drive($flow, $log, null, $onAction($flow), $onWait, $publish, null, $session);

                    return new SyncResult($log, $flow->summary(), $flow->metrics());
                } catch (StateConflictException $conflict) {
                    $flow->free();
                    if ($restarts >= $maxRestarts) {
                        throw $conflict;
                    }
                    $log->restarts++;
                    $this->logger->info('incwo: {domain} {externalId} was written by another run; starting again from the store', ['domain' => $conflict->domain, 'externalId' => $conflict->externalId, 'key' => $conflict->entryKey]);
                }
            }
        } finally {
            $session->close();
        }
    }

    /**
     * Drives `$flow` until Done, a declined Wait, or the simulated crash at
     * action `$crashAt` (1-based: a Send is sent and its answer lost, any
     * other action dropped). Returns true when the batch is over.
     *
     * @param (callable(array<string, mixed>): void)|null $onAction
     * @param (callable(int, string, int): bool)|null $onWait
     * @param (callable(string, array<string, mixed>): void)|null $publish
     * @param StateSession|null $state a run's state (instead of `$checkpointKey`): changed entries saved before
     *                                 every send and after every other action (what an answer changed goes
     *                                 with the next action), progress when a record ends
     */
    public function drive(
        Flow $flow,
        RunLog $log,
        ?string $checkpointKey = null,
        ?callable $onAction = null,
        ?callable $onWait = null,
        ?callable $publish = null,
        ?int $crashAt = null,
        ?StateSession $state = null,
    ): bool {
        $save = function (bool $progress = true, bool $final = true) use ($flow, $checkpointKey, $state): void {
            if ($state !== null) {
                $state->save($flow, $progress, $final);
            } elseif ($checkpointKey !== null && $this->checkpoints !== null) {
                $this->checkpoints->save($checkpointKey, $flow->checkpoint());
            }
        };
        while (true) {
            $action = $flow->poll($this->now());
            if ($onAction !== null) {
                $onAction($action);
            }
            $type = (string) ($action['action'] ?? '');
            if ($crashAt !== null && $log->actions + 1 === $crashAt) {
                if ($type === 'send') {
                    $save(false, false);
                    $this->count($log, $action['request']);
                    $this->send($action['request']);
                }

                return false;
            }
            switch ($type) {
                case 'send':
                    $save(false, false);
                    $this->count($log, $action['request']);
                    $answer = $this->send($action['request']);
                    if (isset($answer['failure'])) {
                        $flow->onTransportError((int) $action['requestId'], $answer['failure'], $this->now());
                    } else {
                        $flow->onResponse((int) $action['requestId'], $answer['response'], $this->now());
                    }
                    break;
                case 'wait':
                    $until = (int) $action['until'];
                    $reason = (string) ($action['reason'] ?? '');
                    $now = $this->now();
                    $goOn = $onWait !== null ? (bool) $onWait($until, $reason, $now) : $this->sleepUntil($until);
                    if (!$goOn) {
                        $save();
                        $log->waitUntil = $until;
                        $log->waitReason = $reason;

                        return false;
                    }
                    break;
                case 'publish':
                    $log->published[] = ['queue' => (string) $action['queue'], 'event' => (array) $action['event']];
                    if ($publish !== null) {
                        $publish((string) $action['queue'], (array) $action['event']);
                    }
                    break;
                case 'recordDone':
                    $log->outcomes[(int) $action['index']] = (array) $action['outcome'];
                    $this->logger->info('incwo record {outcome}', [
                        'outcome' => $action['outcome']['outcome'] ?? '?',
                        'kind' => $action['kind'] ?? null,
                        'line' => $action['line'] ?? null,
                        'code' => $action['outcome']['error']['code'] ?? null,
                    ]);
                    if (isset($action['quarantine'])) {
                        $this->quarantine()?->store((array) $action['quarantine']);
                    }
                    break;
                case 'done':
                    $save();
                    $log->actions++;
                    $log->summary = (array) $action['summary'];

                    return true;
                default:
                    throw new Exception\UsageException(['class' => 'usage', 'code' => 'usage.unknown_action', 'message' => "unknown action {$type}"]);
            }
            if ($state === null || $type !== 'send') {
                // A state session writes what an answer changed with the next
                // action: before the next send, or after the next other action.
                $save($type === 'recordDone', false);
            }
            $log->actions++;
        }
    }

    /**
     * Sends one request of the core. Returns `['response' => {status, headers, body|bodyBase64}]`
     * or `['failure' => {kind, phase}]` (see {@see TransportFailure}).
     *
     * @param array<string, mixed> $request the `request` of a Send action
     *
     * @return array{response?: array<string, mixed>, failure?: array{kind: string, phase: string}}
     */
    public function send(array $request): array
    {
        $headers = ['Connection' => 'close'];
        foreach ($request['headers'] ?? [] as $header) {
            $headers[(string) $header['name']] = (string) $header['value'];
        }
        $body = (string) ($request['body'] ?? '');
        if (($request['bodyEncoding'] ?? 'utf8') === 'base64') {
            $body = (string) base64_decode($body, true);
        }
        $options = ['headers' => $headers, 'timeout' => $this->timeout, 'max_duration' => $this->timeout, 'max_redirects' => 0];
        if ($body !== '') {
            $options['body'] = $body;
        }
        $context = [
            'method' => $request['method'] ?? '?',
            'endpoint' => $request['endpoint'] ?? '?',
            'operation' => $request['operation'] ?? '?',
            'correlationId' => $request['correlationId'] ?? null,
        ];
        $started = microtime(true);
        $response = null;
        try {
            $response = $this->http->request((string) $request['method'], (string) $request['url'], $options);
            $status = $response->getStatusCode();
            $list = [];
            foreach ($response->getHeaders(false) as $name => $values) {
                foreach ($values as $value) {
                    $list[] = ['name' => $name, 'value' => $value];
                }
            }
            $content = $response->getContent(false);
        } catch (TransportExceptionInterface $e) {
            // The phase comes from the response's info kept at the failure, never from the message.
            $failure = TransportFailure::of($e, $response?->getInfo() ?? []);
            $this->logger->warning('incwo {method} {endpoint} failed: {kind}', $context + $failure + ['ms' => (int) ((microtime(true) - $started) * 1000)]);

            return ['failure' => $failure];
        }
        $this->logger->info('incwo {method} {endpoint} → {status}', $context + ['status' => $status, 'ms' => (int) ((microtime(true) - $started) * 1000)]);
        $answer = ['status' => $status, 'headers' => $list];
        if (mb_check_encoding($content, 'UTF-8')) {
            $answer['body'] = $content;
        } else {
            $answer['bodyBase64'] = base64_encode($content);
        }

        return ['response' => $answer];
    }

    /**
     * The `$onAction` of a flow: the caller's, then (after each action) the
     * index passes in progress to `$onIndexProgress`, when given.
     *
     * @return \Closure(Flow): ((callable(array<string, mixed>): void)|null)
     */
    private static function withIndexProgress(?callable $onAction, ?callable $onIndexProgress): \Closure
    {
        if ($onIndexProgress === null) {
            return static fn (Flow $flow): ?callable => $onAction;
        }

        return static fn (Flow $flow): callable => static function (array $action) use ($flow, $onAction, $onIndexProgress): void {
            if ($onAction !== null) {
                $onAction($action);
            }
            $onIndexProgress($flow->indexProgress());
        };
    }

    private function count(RunLog $log, array $request): void
    {
        $method = (string) ($request['method'] ?? '?');
        $log->requests[$method] = ($log->requests[$method] ?? 0) + 1;
    }

    private function sleepUntil(int $until): bool
    {
        $delay = $until - $this->now();
        if ($delay > 0) {
            usleep(min($delay, 120_000) * 1000);
        }

        return true;
    }
}
