<?php

declare(strict_types=1);

namespace Incwo\Connector;

use Incwo\Connector\Exception\UsageException;

/**
 * A running flow: the core's sans-IO state machine. The host polls it for
 * the next action (send, wait, publish, recordDone, done), performs it and
 * reports answers back; see {@see Connector} for the loop. The shapes of
 * its messages are generated from the core's types: {@see FlowMessages}.
 *
 * @psalm-import-type Action from FlowMessages
 * @psalm-import-type FlowReport from FlowMessages
 * @psalm-import-type HttpResponse from FlowMessages
 * @psalm-import-type TransportFailure from FlowMessages as TransportFailureShape
 */
final class Flow
{
    private ?\FFI\CData $handle;

    /** @internal created by {@see Core::startFlow()} */
    public function __construct(private readonly Core $core, \FFI\CData $handle)
    {
        $this->handle = $handle;
    }

    public function __destruct()
    {
        $this->free();
    }

    /** Releases the native flow (idempotent). */
    public function free(): void
    {
        if ($this->handle !== null) {
            $this->core->ffi()->incwo_flow_free($this->handle);
            $this->handle = null;
        }
    }

    /**
     * The next action, e.g. `['action' => 'send', 'requestId' => 1, 'request' => [...]]`.
     *
     * @return Action
     */
    public function poll(int $now): array
    {
        return Json::decode($this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_poll($this->handle(), $now, $out)));
    }

    /**
     * The HTTP answer to request `$requestId`.
     *
     * @param string|HttpResponse $response
     */
    public function onResponse(int $requestId, string|array $response, int $now): void
    {
        $json = Json::text($response);
        $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_on_response($this->handle(), $requestId, $json, $now, $out));
    }

    /**
     * A transport failure of request `$requestId`: `kind` is timeout, reset,
     * connect_refused, dns or tls; `phase` how far the request got (connect, tls_handshake, sent or
     * unknown; absent: unknown, i.e. it may have been sent).
     *
     * @param string|TransportFailureShape $failure
     */
    public function onTransportError(int $requestId, string|array $failure, int $now): void
    {
        $json = Json::text($failure);
        $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_on_transport_error($this->handle(), $requestId, $json, $now, $out));
    }

    /** The checkpoint (versioned JSON) to store and pass back to resume. */
    public function checkpoint(): string
    {
        return $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_checkpoint($this->handle(), $out));
    }

    /**
     * `{"entries": [...]}` (JSON text of a `ChangedEntries`, entries
     * `LedgerEntry`: {@see FlowMessages}): the ledger entries changed since the
     * last call, for a shared ledger table; a create's `pending` entry is
     * there before its send is returned. Decode with objects
     * (`json_decode($text, false)`) to write each entry back unchanged.
     */
    public function takeChangedEntries(): string
    {
        return $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_take_changed_entries($this->handle(), $out));
    }

    /**
     * Loads the marker index the store saved beside the ledger (before the
     * first poll): what {@see takeIndexChanges()} returned, accumulated
     * (entries upserted by resource and marker, coverage by resource), as
     * `{"entries": [{"resource", "marker", "found"}], "coverage": {…}}`.
     *
     * @param string|array<string, mixed>|\stdClass $index JSON text or its value
     *
     * @throws UsageException `usage.bad_index` when it does not parse
     */
    public function loadIndex(string|array|\stdClass $index): void
    {
        if (is_array($index) && ($index['coverage'] ?? null) === []) {
            $index['coverage'] = new \stdClass(); // PHP's empty array is a JSON list
        }
        $json = Json::text($index);
        $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_load_index($this->handle(), $json, $out));
    }

    /**
     * `{"entries": [...], "coverage": {...}}` (JSON text): what changed in the
     * marker index since the last call, to save in the same transaction as
     * the ledger entries ({@see takeChangedEntries()}).
     */
    public function takeIndexChanges(): string
    {
        return $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_take_index_changes($this->handle(), $out));
    }

    /**
     * The marker index passes in progress, for a progress bar.
     *
     * @return list<array{resource: string, pagesRead: int, totalPages: int}>
     */
    public function indexProgress(): array
    {
        $progress = Json::decode($this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_index_progress($this->handle(), $out)));

        return $progress['passes'] ?? [];
    }

    /** The flow's metrics in Prometheus text format. */
    public function metrics(): string
    {
        return $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_metrics($this->handle(), $out));
    }

    /**
     * `['summary' => [...], 'outcomes' => [...]]` so far.
     *
     * @return FlowReport
     */
    public function summary(): array
    {
        return Json::decode($this->summaryJson());
    }

    /** {@see summary()} as JSON text. */
    public function summaryJson(): string
    {
        return $this->core->invoke(fn ($out) => $this->core->ffi()->incwo_flow_summary($this->handle(), $out));
    }

    private function handle(): \FFI\CData
    {
        if ($this->handle === null) {
            throw new UsageException(['class' => 'usage', 'code' => 'usage.invalid_handle', 'message' => 'this flow was released', 'hint' => 'start a new flow, or resume it from its checkpoint']);
        }

        return $this->handle;
    }
}
