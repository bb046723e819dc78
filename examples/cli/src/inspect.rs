//! `incwo request` and `incwo classify`: show what the core would send, and
//! how it would classify and retry an answer, without sending anything.

use crate::input;
use incwo_core::adapters::Adapter;
use incwo_core::flow::ledger::Domain;
use incwo_core::http::{Auth, ConnectionConfig};
use incwo_core::mapping::{self, Links};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Arguments of `incwo request`.
#[derive(clap::Args, Debug)]
pub struct RequestArgs {
    /// customer, product, quote, order, invoice or stock-movement.
    kind: String,
    /// create, read, update or list.
    op: String,
    /// The record's JSON file (create, update), or - for standard input.
    #[arg(default_value = "-")]
    file: String,
    /// incwo server base URL.
    #[arg(long)]
    server: String,
    /// The business file id.
    #[arg(long)]
    business_file: String,
    /// The API user's login.
    #[arg(long)]
    login: String,
    /// Name of the environment variable holding the password.
    #[arg(long)]
    password_env: String,
    /// Mapping profile (JSON); the shipped default when absent.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// incwo id, for read and update.
    #[arg(long)]
    id: Option<u64>,
    /// Page, for list.
    #[arg(long, default_value_t = 1)]
    page: u32,
}

fn domain(kind: &str) -> Result<Domain, String> {
    Ok(match kind {
        "customer" => Domain::Customer,
        "product" => Domain::Product,
        "quote" => Domain::Quote,
        "order" => Domain::Order,
        "invoice" => Domain::Invoice,
        "stock-movement" => Domain::StockMovement,
        other => {
            return Err(format!(
                "no request kind {other:?}: use customer, product, quote, order, invoice or stock-movement"
            ))
        }
    })
}

/// `incwo request`: the request, Authorization redacted.
pub fn request(args: RequestArgs) -> Result<Value, String> {
    let password = std::env::var(&args.password_env)
        .map_err(|_| format!("environment variable {} is not set", args.password_env))?;
    let config = ConnectionConfig::new(
        &args.server,
        &args.business_file,
        Auth::basic(args.login.clone(), password),
        false,
    )
    .map_err(|e| e.to_string())?;
    let adapter = Adapter::new(domain(&args.kind)?);
    let correlation_id = "00000000-0000-4000-8000-000000000000";
    let need_id = || args.id.ok_or_else(|| format!("{} needs --id", args.op));
    let body = || -> Result<Result<String, Value>, String> {
        let profile_text = input::profile(args.profile.as_deref())?;
        let profile = incwo_core::api::load_profile(profile_text.as_deref()).map_err(|e| e.to_string())?;
        let kind = args
            .kind
            .parse()
            .map_err(|e: incwo_core::model::UnknownKind| e.to_string())?;
        let report =
            incwo_core::contract::validate(kind, &input::text(&args.file)?, &profile).map_err(|e| e.to_string())?;
        Ok(match report.record {
            Some(record) => Ok(mapping::map_record(&record, &profile, &Links::default())
                .map_err(|e| e.to_string())?
                .xml),
            None => Err(json!({"valid": false, "violations": report.violations})),
        })
    };
    let request = match args.op.as_str() {
        "create" => match body()? {
            Ok(xml) => adapter.create(&config, &xml, correlation_id, None),
            Err(violations) => return Ok(violations),
        },
        "update" => match body()? {
            Ok(xml) => adapter.update(&config, need_id()?, &xml, correlation_id, None),
            Err(violations) => return Ok(violations),
        },
        "read" => adapter.read(&config, need_id()?, correlation_id),
        "list" => adapter.list_page(&config, args.page, None, correlation_id),
        other => return Err(format!("no operation {other:?}: use create, read, update or list")),
    }
    .map_err(|e| e.to_string())?;
    let mut shown = request.redacted_json();
    shown["body"] = json!(String::from_utf8_lossy(request.body()));
    Ok(shown)
}

/// Arguments of `incwo classify`.
#[derive(clap::Args, Debug)]
pub struct ClassifyArgs {
    /// HTTP status of the answer.
    #[arg(long, conflicts_with = "transport")]
    status: Option<u16>,
    /// File holding the answer's body.
    #[arg(long)]
    body: Option<PathBuf>,
    /// The answer's Retry-After header, in seconds.
    #[arg(long)]
    retry_after: Option<u64>,
    /// A transport failure instead of an answer: connect_refused, dns, tls, timeout or reset.
    #[arg(long)]
    transport: Option<String>,
    /// How far the request had got: connect, tls_handshake, sent or unknown
    /// (absent: unknown, i.e. it may have been sent).
    #[arg(long)]
    phase: Option<String>,
    /// Method of the call.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Endpoint template of the call.
    #[arg(long, default_value = "/proposal_sheets.xml")]
    endpoint: String,
}

/// `incwo classify`: the classified error and the retry decision for attempt 1.
pub fn classify(args: ClassifyArgs) -> Result<Value, String> {
    let now = crate::host::now_ms();
    let mut call = json!({"method": args.method.to_ascii_uppercase(), "endpoint": args.endpoint, "nowMs": now});
    match (args.status, &args.transport) {
        (Some(status), None) => {
            let body = match &args.body {
                Some(path) => {
                    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
                }
                None => String::new(),
            };
            let mut headers = serde_json::Map::new();
            if let Some(seconds) = args.retry_after {
                headers.insert("Retry-After".into(), json!(seconds.to_string()));
            }
            call["response"] = json!({"status": status, "headers": headers, "body": body});
        }
        (None, Some(kind)) => {
            call["transport"] = json!({"kind": kind});
            if let Some(phase) = &args.phase {
                call["transport"]["phase"] = json!(phase);
            }
        }
        _ => return Err("give --status N or --transport KIND".into()),
    }
    let error = incwo_core::api::call("classify", &call);
    if error.get("error").is_some() || error.is_null() {
        return Ok(if error.is_null() {
            json!({"classified": null, "note": "a 2xx answer is a success"})
        } else {
            error
        });
    }
    let decision = incwo_core::api::call(
        "retry.decide",
        &json!({"error": error, "attempt": 1, "nowMs": now, "seed": 0}),
    );
    Ok(json!({"classified": error, "decision": decision["decision"]}))
}
