//! The table of every stable code the core can emit (its class, meaning,
//! retry, action and metric). It is vocabulary: telemetry bounds its `code`
//! labels with it, and [`crate::codes`] renders it as docs/RUNBOOK.md.

/// One stable code and what an operator needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeInfo {
    /// The code, e.g. `auth.unauthorized`, or a family such as `http.5xx`.
    pub code: &'static str,
    /// `technical`, `contract`, `business`, `usage`, `deferred` or `inbound`
    /// (a webhook refusal answered to its caller).
    pub class: &'static str,
    /// What happened.
    pub meaning: &'static str,
    /// Whether and how the core retries it.
    pub retry: &'static str,
    /// What the operator does.
    pub action: &'static str,
    /// The metric (and label) that shows it.
    pub metric: &'static str,
}

const fn c(
    code: &'static str,
    class: &'static str,
    meaning: &'static str,
    retry: &'static str,
    action: &'static str,
    metric: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        class,
        meaning,
        retry,
        action,
        metric,
    }
}

const API_TECH: &str = "api_error_total{class=\"technical\"}";
const API_CONTRACT: &str = "api_error_total{class=\"contract\"}";
const API_BUSINESS: &str = "api_error_total{class=\"business\"}";
const BACKOFF: &str = "yes: up to 4 attempts, backoff 1 s × 2^n (max 30 s) with jitter, within the retry budget and circuit breaker; a create whose outcome is unknown is reconciled first";
const NO_RETRY: &str = "no";
const QUARANTINE: &str = "no: the record is quarantined (`….quarantine` queue)";
const QUARANTINE_METRIC: &str =
    "the quarantine queue (`integration_backlog_size{queue=\"….quarantine\"}`); the sync report's `problems`";
const LOCAL: &str = "none (exit code 2 and the message on stderr)";
const INBOUND_LOG: &str = "the host's log line for the refused webhook (status, code, peer address; never the secret)";

/// Every stable code the core can emit.
pub const CODES: &[CodeInfo] = &[
    // Transport.
    c("transport.connect_refused", "technical", "The connection to the incwo server was refused; nothing was sent.", BACKOFF, "Check the server address (`incwo doctor`), the network and incwo's status page.", API_TECH),
    c("transport.dns", "technical", "The server's host name did not resolve; nothing was sent.", BACKOFF, "Check the server address for typos and the host's DNS.", API_TECH),
    c("transport.tls", "technical", "The TLS handshake or stream failed (certificate, protocol, proxy).", BACKOFF, "Check the system clock, the CA certificates and any TLS-intercepting proxy (`incwo doctor` checks TLS).", API_TECH),
    c("transport.timeout", "technical", "No complete answer in time; a write may have been applied.", "yes, as `http.5xx`, but a timeout costs twice the retry budget; an unknown create is reconciled (looked up by marker) before any resend", "If frequent, raise the timeout or lower the batch size; check incwo's latency in `api_call_duration_ms`.", API_TECH),
    c("transport.reset", "technical", "The connection closed early; a write may have been applied.", "yes, as `transport.timeout` (reconciled before any resend of a create)", "Usually transient; if persistent, check proxies and load balancers between the host and incwo.", API_TECH),
    // HTTP statuses.
    c("http.redirect", "technical", "incwo answered a 3xx redirect (usually the login page: wrong server address or business file).", NO_RETRY, "Use the server address shown in incwo's APIs panel (`incwo doctor`).", API_TECH),
    c("http.408", "technical", "Request timeout at incwo.", BACKOFF, "Transient; watch `api_call_duration_ms`.", API_TECH),
    c("http.425", "technical", "Too early: incwo refused a replayed request.", BACKOFF, "Transient.", API_TECH),
    c("http.429", "technical", "Rate limited by incwo.", "yes: `Retry-After` honoured as a minimum (over 60 s the record is deferred)", "Lower the sync's concurrency or spread batches; incwo documents no rate limit.", API_TECH),
    c("http.4xx", "contract", "Another 4xx status (405, 406, 413…): incwo refused the request as sent.", NO_RETRY, "Read the raw body in the error; fix the record or report a connector bug.", API_CONTRACT),
    c("http.501", "technical", "incwo does not implement this call.", NO_RETRY, "Report it: the endpoint is not available on this incwo server.", API_TECH),
    c("http.505", "technical", "HTTP version not supported.", NO_RETRY, "Check proxies between the host and incwo.", API_TECH),
    c("http.5xx", "technical", "incwo failed (500, 502, 503, 504…); a write may have been applied.", BACKOFF, "Transient; if it lasts, check incwo's status page. Records still failing are deferred and retried on the next run.", API_TECH),
    c("http.unexpected_status", "technical", "A status outside 300–599 that is not a success.", NO_RETRY, "Check for a proxy answering instead of incwo.", API_TECH),
    // Authentication.
    c("auth.unauthorized", "technical", "401: wrong login or password for the API user.", "no: the run stops (needs an operator)", "Check the login and the password variable; see *Rotating credentials*. `incwo doctor` checks them.", API_TECH),
    c("auth.forbidden", "technical", "403: API access is switched off for the business file, or the plan does not include it.", "no: the run stops (needs an operator)", "Switch API access on in incwo (Settings / Users / APIs) for this business file; `incwo doctor` checks it.", API_TECH),
    // Contract.
    c("contract.invalid", "contract", "The record breaks the canonical contract; each violation has a JSON pointer, a code (`required`, `format`, `range`, `type`…) and a hint. Nothing was sent.", "no: rejected before any request", "Fix the record at its source and replay it (see *Replaying a quarantined record*).", "the sync report's `problems`"),
    c("contract.overflow", "contract", "Inbound detection: the line quantities (per product) or line amounts (per tax) of a document read from incwo sum beyond the exact decimal range; `path` names the line (`/lines/N/quantity`, `total` or `vat`). Nothing is compared and the ledger is unchanged; a poll run stops there, its cursor kept.", "no: the same object is refused again until it is fixed", "Open the document in incwo (resource and id are in the message) and fix the line's quantity or amount; the next webhook or poll compares it.", "the host's log line for the inbound detection or poll (`stopped`)"),
    c("contract.rejected", "contract", "incwo refused the payload (400/422) with its messages.", NO_RETRY, "Read incwo's messages in the error; fix the record or the mapping profile, then replay.", API_CONTRACT),
    // Business.
    c("business.not_found", "business", "404/410 on a record the call referenced: it was deleted in incwo, or the business file is wrong.", QUARANTINE, "Check the object in incwo; if the business file is wrong, `incwo doctor` lists the files you can reach.", API_BUSINESS),
    c("business.conflict", "business", "409: incwo refused the change in the document's current state.", QUARANTINE, "Look at the document in incwo and replay once its state allows the change.", API_BUSINESS),
    c("business.invalid_transition", "business", "The status change is not in the transition tables (docs/STATUSES.md).", QUARANTINE, "Check the status sequence sent by the source system.", QUARANTINE_METRIC),
    c("business.already_cancelled", "business", "The document is already cancelled.", QUARANTINE, "Nothing to do in incwo; drop the record or fix the source.", QUARANTINE_METRIC),
    c("business.order_cancelled", "business", "An invoice or a delivery refers to a cancelled order.", QUARANTINE, "Check the order's status; invoice another order or reopen it at the source.", QUARANTINE_METRIC),
    c("business.currency_mismatch", "business", "The invoice's currency differs from its order's.", QUARANTINE, "Fix the currency at the source and replay.", QUARANTINE_METRIC),
    c("business.line_not_on_order", "business", "An invoice or delivery line names a product that is not on the order.", QUARANTINE, "Fix the lines at the source and replay.", QUARANTINE_METRIC),
    c("business.over_invoicing", "business", "Invoicing this quantity would exceed the ordered quantity.", QUARANTINE, "Check earlier invoices of the order; fix quantities at the source and replay.", QUARANTINE_METRIC),
    c("business.over_delivery", "business", "Delivering this quantity would exceed the ordered quantity.", QUARANTINE, "Check earlier deliveries of the order; fix quantities at the source and replay.", QUARANTINE_METRIC),
    c("business.unknown_customer", "business", "The customer is neither in the ledger nor in incwo.", QUARANTINE, "Sync the customer first, then replay the record.", QUARANTINE_METRIC),
    c("business.unknown_product", "business", "The product is neither in the ledger nor in incwo.", QUARANTINE, "Sync the product first, then replay the record.", QUARANTINE_METRIC),
    c("business.unknown_quote", "business", "The source quote is neither in the ledger nor in incwo.", QUARANTINE, "Sync the quote first, then replay the record.", QUARANTINE_METRIC),
    c("business.unknown_order", "business", "The source order is neither in the ledger nor in incwo.", QUARANTINE, "Sync the order first, then replay the record.", QUARANTINE_METRIC),
    c("business.unknown_invoice", "business", "The invoice to cancel or credit is not in the ledger (or has no recorded totals).", QUARANTINE, "Sync the invoice first; a ledger restored from an old checkpoint may miss it.", QUARANTINE_METRIC),
    c("business.unknown_document", "business", "The document whose status changes is not in the ledger.", QUARANTINE, "Sync the document first, then replay the status change.", QUARANTINE_METRIC),
    c("business.unknown_id", "business", "The ledger has the record but no incwo id for it.", QUARANTINE, "Restore the ledger from a later checkpoint, or find the object in incwo by its marker.", QUARANTINE_METRIC),
    c("business.unknown_status", "business", "The mapping profile's statuses do not name this status: one the flow sets has no `progress_id`, or a document found in incwo (not in the ledger) holds a `progress_id` they do not list.", QUARANTINE, "Add the status id to the profile (`incwo profile discover` proposes them), or set the document's status in incwo; then replay.", QUARANTINE_METRIC),
    c("business.changed_after_write", "business", "The record was already written with other content and its state forbids changing it (e.g. a final invoice).", QUARANTINE, "Correct it in incwo by hand (e.g. a credit note), or send a cancellation.", QUARANTINE_METRIC),
    c("business.reconciliation_gap", "business", "The read-back after a write differs from what was written (status, totals or ids).", QUARANTINE, "Compare the object in incwo with the record (VAT rounding, tax ids in the profile); fix and replay.", "reconciliation_gap_total{domain}"),
    // Deferred.
    c("deferred.index_budget", "deferred", "A run read its budget of list pages (maxLookupPages) while building or refreshing the marker index; this record and the remaining ones wait.", "yes: the next run continues the index where this one stopped", "Run again (a first sync of a large account takes a few runs), or raise maxLookupPages.", "integration_backlog_size{queue}"),
    c("deferred.status_in_flight", "deferred", "Another run's status change of this document was sent and its answer is not recorded yet (its `pendingStatus` mark in the ledger, younger than a minute): sending this one now could land first and be undone by the older one.", "yes: on the next run, once that run recorded its answer or the mark is a minute old", "Nothing, unless two runs of the same documents keep overlapping: give each business file one writer at a time.", "integration_backlog_size{queue}"),
    c("deferred.customer_waiting", "deferred", "An earlier record of the same customer is deferred; this one keeps its place behind it.", "yes: on the next run, after the record it waits for", "Nothing, unless the earlier record stays deferred: look at its code.", "integration_backlog_size{queue}"),
    // Mapping.
    c("mapping.unknown_tax_code", "contract", "A tax code is not in the mapping profile.", "no: rejected before any request", "Add the tax code with its `vatValueId` to the profile, or fix the record.", "the sync report's `problems`"),
    c("mapping.unknown_currency", "contract", "A currency is not in the mapping profile.", "no: rejected before any request", "Add the currency with its incwo id to the profile.", "the sync report's `problems`"),
    c("mapping.unknown_warehouse", "contract", "A warehouse code is not in the mapping profile.", "no: rejected before any request", "Add the warehouse with its incwo id to the profile (`incwo profile discover` lists the ids seen).", "the sync report's `problems`"),
    c("mapping.unknown_status", "contract", "A status name has no `progress_id` in the mapping profile.", "no: rejected before any request", "Add the status id to the profile.", "the sync report's `problems`"),
    c("mapping.unknown_version", "usage", "The profile names a mapper version this core does not have.", NO_RETRY, "Set `mapperVersion` to 1.", LOCAL),
    c("mapping.overflow", "contract", "Amounts are too large to compute exactly.", "no: rejected before any request", "Check the record's quantities and prices.", "the sync report's `problems`"),
    // XML.
    c("xml.too_large", "usage", "An incwo answer is over the size limit.", NO_RETRY, "Report it with the endpoint; a proxy may be answering.", LOCAL),
    c("xml.too_deep", "usage", "An incwo answer nests too deeply.", NO_RETRY, "Report it with the endpoint.", LOCAL),
    c("xml.doctype", "usage", "An answer carries a DOCTYPE (refused for safety): often an HTML page from a proxy or a login page.", NO_RETRY, "Check the server address with `incwo doctor`.", LOCAL),
    c("xml.not_utf8", "usage", "An answer is not UTF-8.", NO_RETRY, "Report it with the endpoint.", LOCAL),
    c("xml.empty", "usage", "An answer body is empty where XML was expected.", NO_RETRY, "Check proxies; report it with the endpoint.", LOCAL),
    c("xml.malformed", "usage", "An answer is not well-formed XML.", NO_RETRY, "Check the server address (an HTML page?) with `incwo doctor`.", LOCAL),
    c("xml.wrong_root", "usage", "An answer's root element is not the resource expected.", NO_RETRY, "Check the server address and business file with `incwo doctor`.", LOCAL),
    c("xml.value_format", "usage", "A value in an answer does not have its expected form (date, decimal…).", NO_RETRY, "Report it with the element path: incwo's format may have changed.", LOCAL),
    c("xml.missing_element", "usage", "An object in an answer has no id.", NO_RETRY, "Report it with the element path.", LOCAL),
    c("xml.unknown_resource", "usage", "A host asked to parse an unknown resource name.", NO_RETRY, "Use one of the resource names listed in the message.", LOCAL),
    // Inbound: webhook refusals, answered to the caller with the status given.
    c("inbound.no_secret", "inbound", "503: the webhook endpoint has no secret set, so it refuses every call (secure default; a host flag for a local trial may opt out).", "incwo retries the webhook later", "Set a long random webhook secret (CLI `--secret-env NAME`, Symfony and edge `INCWO_WEBHOOK_SECRET`, Python `settings['secret']`) and register the URL with it in incwo (Webhooks app).", INBOUND_LOG),
    c("inbound.bad_secret", "inbound", "403: the call did not present the webhook secret; counts as a failed authentication of its address.", "no: 10 failures a minute from one address close it (`inbound.too_many_failures`)", "If it is incwo, register the URL with the current secret; otherwise someone is guessing (see the address in the log).", INBOUND_LOG),
    c("inbound.too_many_failures", "inbound", "429: 10 failed authentications within a minute from this address; refused until the window ends (`Retry-After`).", "the caller may retry after `Retry-After`", "If it is incwo's network, fix the secret registered in incwo; otherwise block the address upstream.", INBOUND_LOG),
    c("inbound.forbidden_source", "inbound", "403: the peer address is not in the allow-list of networks (or unknown while one is set).", NO_RETRY, "Check the allow-list and any proxy in front of the host (incwo calls from 185.16.44.0/24).", INBOUND_LOG),
    c("inbound.bad_body", "inbound", "400: the body is not an incwo ping (JSON or form with zname and zid).", NO_RETRY, "Check what is posting to the webhook URL.", INBOUND_LOG),
    c("inbound.too_large", "inbound", "413: the webhook body is over the core's limit (64 KiB; hosts cap reads at 1 MiB).", NO_RETRY, "Check what is posting to the webhook URL.", INBOUND_LOG),
    c("inbound.other_business_file", "inbound", "403: the body names another business file than the one served.", NO_RETRY, "Register each business file's webhook on its own connector.", INBOUND_LOG),
    c("inbound.bad_settings", "inbound", "500: the host's intake settings are wrong (an allow-list entry that is not a network).", NO_RETRY, "Fix the setting named in the message.", INBOUND_LOG),
    // Usage.
    c("usage.malformed_json", "usage", "Input JSON is malformed (line and column given).", NO_RETRY, "Fix the JSON.", LOCAL),
    c("usage.malformed_line", "usage", "A batch line is not a `{\"kind\", \"record\"}` object.", NO_RETRY, "Fix the batch file at the line given.", LOCAL),
    c("usage.invalid_json", "usage", "JSON handed to the core does not have the documented shape.", NO_RETRY, "Send the documented shape.", LOCAL),
    c("usage.unknown_kind", "usage", "Unknown record kind.", NO_RETRY, "Use customer, product, quote, order, invoice, stock-movement or cancellation.", LOCAL),
    c("usage.invalid_profile", "usage", "The mapping profile is invalid or has unknown values; every problem is listed with its path.", NO_RETRY, "Fix each path named (see *Onboarding a real account*).", LOCAL),
    c("usage.no_record", "usage", "The input holds no record.", NO_RETRY, "Send a record.", LOCAL),
    c("usage.bad_arguments", "usage", "A façade call got bad arguments.", NO_RETRY, "Fix the call (host bug).", LOCAL),
    c("usage.quarantine_not_open", "usage", "A replay named a quarantined entry that is already replayed or dropped.", NO_RETRY, "List entries with `--status all`; a replayed or dropped entry is final.", LOCAL),
    c("usage.quarantine_bare_record", "usage", "A replay was given a bare fixed record for more than one entry.", NO_RETRY, "Give one id, or `{\"kind\", \"record\"}` lines.", LOCAL),
    c("usage.quarantine_no_kind", "usage", "A bare fixed record was given for an entry whose line named no kind.", NO_RETRY, "Give the fixed record as `{\"kind\": …, \"record\": {…}}`.", LOCAL),
    c("usage.quarantine_not_in_batch", "usage", "A replay's batch holds no line for a named entry (by kind and external id).", NO_RETRY, "Fix the batch, or give the fixed record of each entry.", LOCAL),
    c("usage.unknown_call", "usage", "A façade call name is unknown.", NO_RETRY, "Fix the call (host bug).", LOCAL),
    c("usage.request", "usage", "A request could not be built (bad id or header).", QUARANTINE, "Report it: the record carries a value the request cannot hold.", QUARANTINE_METRIC),
    c("usage.unknown_request", "usage", "The host answered a request id the flow did not send.", NO_RETRY, "Host bug: answer the request id from the last Send.", LOCAL),
    c("usage.awaiting_response", "usage", "The host polled while a request still waits for its answer (with maxInFlight 1).", NO_RETRY, "Host bug: answer the pending request first.", LOCAL),
    c("usage.bad_checkpoint", "usage", "The checkpoint cannot be read.", NO_RETRY, "Restore the checkpoint from a backup (see *Restoring from a checkpoint*).", LOCAL),
    c("usage.bad_index", "usage", "The marker index a host saved cannot be read.", NO_RETRY, "Delete the store's index rows (or its `.index.jsonl` file): the next run rebuilds it by a sweep of the list pages.", LOCAL),
    c("usage.checkpoint_version", "usage", "The checkpoint was written by another core version.", NO_RETRY, "Resume with the connector version that wrote it.", LOCAL),
    c("usage.bad_poll_state", "usage", "The inbound poll state handed back is not one this core wrote.", NO_RETRY, "Pass the state returned by the last poll unedited, or null to start over.", LOCAL),
    c("usage.no_pending_page", "usage", "A poll answer was given while no page request was pending.", NO_RETRY, "Host bug: poll without a response first; it returns the request to send.", LOCAL),
    c("usage.internal", "usage", "An internal error was caught at the boundary.", NO_RETRY, "Report it with the input that caused it.", LOCAL),
    c("usage.internal_panic", "usage", "The core panicked (a bug; or the `debug.panic` self-test) and the binding caught it: the host process goes on. In JavaScript the WebAssembly instance is unusable afterwards.", NO_RETRY, "Report it with the input that caused it. Resume a flow that panicked from its last checkpoint; in JavaScript, reload the module (a new process or worker).", LOCAL),
    c("usage.invalid_handle", "usage", "A core or flow handle was used after it was released (bindings: PHP `free()`, JS `flow.free()`; C status `INCWO_STATUS_INVALID_HANDLE`).", NO_RETRY, "Host bug: start a new flow (or resume it from its checkpoint) instead of reusing a released one.", LOCAL),
    c("usage.invalid_base_url", "usage", "The server address cannot be parsed.", NO_RETRY, "Give the address shown in incwo's APIs panel, e.g. https://www.incwo.com.", LOCAL),
    c("usage.insecure_base_url", "usage", "Plain http to a non-loopback server.", NO_RETRY, "Use https.", LOCAL),
    c("usage.invalid_business_file_id", "usage", "The business file id is not 1–20 digits.", NO_RETRY, "Give the numeric id (`incwo doctor` lists them).", LOCAL),
    c("usage.base_url_includes_business_file", "usage", "The server address ends with the business file id.", NO_RETRY, "Give the host as server and the id separately.", LOCAL),
    c("usage.invalid_credentials", "usage", "The credentials are unusable (empty login, colon in the login…).", NO_RETRY, "Fix the login and password settings.", LOCAL),
    c("usage.invalid_resource", "usage", "A resource segment is invalid.", NO_RETRY, "Host bug.", LOCAL),
    c("usage.invalid_id", "usage", "A record id is invalid.", NO_RETRY, "Host bug: ids come from incwo.", LOCAL),
    c("usage.invalid_query", "usage", "A query parameter is invalid.", NO_RETRY, "Host bug.", LOCAL),
    c("usage.invalid_header", "usage", "A header name or value is invalid.", NO_RETRY, "Remove control characters from configured header values.", LOCAL),
    c("usage.invalid_correlation_id", "usage", "The correlation id is not a UUID.", NO_RETRY, "Pass a UUID.", LOCAL),
];

/// The entry of a code: exact, else its `http.4xx` / `http.5xx` family.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code).or_else(|| {
        let status: u16 = code.strip_prefix("http.")?.parse().ok()?;
        let family = match status {
            400..=499 => "http.4xx",
            500..=599 => "http.5xx",
            _ => return None,
        };
        CODES.iter().find(|c| c.code == family)
    })
}
