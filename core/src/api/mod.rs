//! The JSON façade every binding exposes: each function takes text and
//! returns one JSON value, either the result or `{"error": {...}}` with a
//! class (`usage`, `contract`…), a stable code, a message and a hint.
//!
//! Bindings (C ABI, Python, WebAssembly) marshal these values and nothing
//! else, so every host gets the same behaviour; the golden vectors in
//! `tests/vectors/` pin these shapes.
//!
//! Every JSON handler lives here, one module per area (`request`,
//! `classify`, `retry`, `script`, `partition`, `inbound`, `telemetry`, the
//! `flow` session), all reading their arguments through one parser
//! (`args.rs`); the modules below keep typed Rust functions only. This is
//! the top layer (docs/ARCHITECTURE.md, "Layers").

mod args;
mod bytes;
mod classify;
pub use classify::classify;
pub mod flow;
mod inbound;
mod partition;
mod quarantine;
mod request;
mod retry;
mod script;
mod telemetry;
#[cfg(test)]
mod vector_tests;
mod xml;

pub use xml::{map_many_xml, map_parts, map_xml, ManyXml, MappedXml};

use crate::contract::{self, Violation};
use crate::mapping::Profile;
use crate::model::Kind;
use crate::usage::UsageError;
pub use bytes::{map_bytes, map_bytes_with, map_many};
use serde::Serialize;
use serde_json::{json, Value};

/// Renders a usage error as `{"error": {"class": "usage", ...}}`.
pub fn usage_error(error: &UsageError) -> Value {
    let mut body = serde_json::to_value(error).unwrap_or_else(|_| json!({}));
    body["class"] = json!("usage");
    json!({ "error": body })
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| {
        usage_error(&UsageError::new(
            "usage.internal",
            format!("could not render the result: {e}"),
            "report this to the connector's maintainers",
        ))
    })
}

/// Reads a profile's JSON text; `None` is the default profile.
pub fn load_profile(text: Option<&str>) -> Result<Profile, UsageError> {
    profile_ref(text).map(std::borrow::Cow::into_owned)
}

/// The profile of a call: the shipped one by reference (no parsing, no
/// copy) when `text` is `None`.
fn profile_ref(text: Option<&str>) -> Result<std::borrow::Cow<'static, Profile>, UsageError> {
    match text {
        None => Ok(std::borrow::Cow::Borrowed(Profile::shipped())),
        Some(text) => Profile::from_json(text).map(std::borrow::Cow::Owned).map_err(|e| {
            UsageError::new(
                "usage.invalid_profile",
                e.to_string(),
                "fix the mapping profile; profiles/default.json shows every field",
            )
        }),
    }
}

/// The kind and the profile of a mapping call, read once (a binding that
/// maps many records reads them before the first): an unknown kind or an
/// invalid profile is the usage error document [`map`] answers.
pub fn setup(kind_name: &str, profile: Option<&str>) -> Result<(Kind, std::borrow::Cow<'static, Profile>), Value> {
    let kind = kind(kind_name).map_err(|e| usage_error(&e))?;
    let profile = profile_ref(profile).map_err(|e| usage_error(&e))?;
    Ok((kind, profile))
}

fn kind(name: &str) -> Result<Kind, UsageError> {
    name.parse().map_err(|e: crate::model::UnknownKind| {
        UsageError::new("usage.unknown_kind", e.to_string(), "name one of the kinds listed")
    })
}

fn contract_error(violations: &[Violation]) -> Value {
    let errors = violations
        .iter()
        .filter(|v| v.severity == contract::Severity::Error)
        .count();
    json!({"error": {
        "class": "contract",
        "code": "contract.invalid",
        "message": format!("the record breaks {errors} rule(s) of the contract; nothing was mapped"),
        "hint": "fix each violation at its path and send the record again",
        "violations": violations,
    }})
}

/// `validate(kind, input, profile?)` → the validation report
/// `{kind, valid, violations, record?}`.
pub fn validate(kind_name: &str, input: &str, profile: Option<&str>) -> Value {
    let run = || -> Result<Value, UsageError> {
        let kind = kind(kind_name)?;
        let profile = profile_ref(profile)?;
        Ok(to_json(&contract::validate(kind, input, &profile)?))
    };
    run().unwrap_or_else(|e| usage_error(&e))
}

/// `map(kind, input, profile?)` → `{resource, xml, totals?, warnings}`;
/// an invalid record gives `{"error": {"class": "contract", "violations": [...]}}`.
/// Ids not known yet (firm, products) are left out of the body.
pub fn map(kind_name: &str, input: &str, profile: Option<&str>) -> Value {
    let run = || -> Result<Value, UsageError> {
        let kind = kind(kind_name)?;
        Ok(map_with(kind, input, &*profile_ref(profile)?))
    };
    run().unwrap_or_else(|e| usage_error(&e))
}

/// [`map`] with the kind and the profile already read (see
/// [`xml::map_parts`]: a valid quote, order or invoice takes the typed fast
/// path, anything else the walker, which reports every violation).
fn map_with(kind: Kind, input: &str, profile: &Profile) -> Value {
    match xml::map_parts(kind, input, profile) {
        Ok((mapped, warnings)) => {
            let mut out = to_json(&mapped);
            out["warnings"] = to_json(&warnings);
            out
        }
        Err(error) => error,
    }
}

/// `schema(kind, profile?)` → the JSON Schema of the kind.
pub fn schema(kind_name: &str, profile: Option<&str>) -> Value {
    let run =
        || -> Result<Value, UsageError> { Ok(contract::schema::schema(kind(kind_name)?, &*profile_ref(profile)?)) };
    run().unwrap_or_else(|e| usage_error(&e))
}

/// `parse(resource, xml)` → the typed view of an incwo XML document
/// (one object or a list page), or an `xml.*` usage error.
pub fn parse(resource: &str, xml: &[u8]) -> Value {
    crate::views::parse_resource_json(resource, xml)
}

/// Calls that take only JSON arguments, by name:
/// - `request`: build a request (see `tests/vectors/http/README.md`);
/// - `classify`: classify a response or a transport failure;
/// - `retry`: replay a sequence of failures through the retry policy;
/// - `retry.decide`: one retry decision;
/// - `telemetry.render`: render metric events in Prometheus text format;
/// - `telemetry.accumulate`: add a run's metrics (Prometheus text) to running
///   totals, so a long-lived host exposes counters that only grow;
/// - `telemetry.redact`: redact personal data and secrets from a text;
/// - `telemetry.normalize_endpoint`: turn a raw path into its endpoint template;
/// - `partition.route`, `partition.gate`, `partition.settle`: scale-out
///   routing by customer (see [`crate::partition`]);
/// - `index.merge_coverage`: the marker index coverage a store shared by
///   several writers keeps (see [`crate::flow::index::Coverage::merge`]);
/// - `telemetry.log`: build a redacted structured log event;
/// - `inbound.webhook`, `inbound.fetch`, `inbound.detect`, `inbound.poll`:
///   changes made in incwo brought back (see [`crate::inbound`]);
/// - `inbound.throttle`: the failed-authentication limit of a webhook
///   intake, per client address (see [`crate::inbound::throttle`]);
/// - `quarantine.list`, `quarantine.merge`, `quarantine.select`,
///   `quarantine.settle`, `quarantine.drop`, `quarantine.runbook`: the
///   quarantine workflow (see [`crate::flow::quarantine`]);
/// - `debug.panic` (`{"message": "..."}`): panics on purpose, with that
///   message. Self-test of the panic barrier of the bindings: the host sees a
///   typed internal error (`usage.internal_panic`, see [`panic_error`]) and
///   goes on; never use it in production. No other call panics on any input.
pub fn call(name: &str, args: &Value) -> Value {
    let result = match name {
        "request" => request::request(args),
        "classify" => classify::classify(args),
        "retry" => retry::replay(args),
        "retry.decide" => retry::decide_one(args),
        "flow.script" => script::run(args),
        "queue.name" => queue_name(args),
        "partition.route" => partition::route_call(args),
        "partition.gate" => partition::gate(args),
        "partition.settle" => partition::settle(args),
        "index.merge_coverage" => flow::merge_coverage_call(args),
        "inbound.webhook" => inbound::webhook(args),
        "inbound.fetch" => inbound::fetch(args),
        "inbound.detect" => inbound::detect(args),
        "inbound.poll" => inbound::poll(args),
        "inbound.throttle" => inbound::throttle_call(args),
        "telemetry.render" => Ok(telemetry::render(&args["events"])),
        "telemetry.log" => Ok(telemetry::log(&args["event"])),
        "telemetry.accumulate" => Ok(telemetry::accumulate(args)),
        "telemetry.redact" => telemetry::redact_call(args),
        "telemetry.normalize_endpoint" => telemetry::normalize_endpoint_call(args),
        name if name.starts_with("quarantine.") => quarantine::call(name, args),
        "debug.panic" => {
            let message = args["message"].as_str().unwrap_or("debug.panic");
            panic!("{message}")
        }
        other => Err(UsageError::new(
            "usage.unknown_call",
            format!("unknown call {other:?}"),
            "known calls: request, classify, retry, retry.decide, flow.script, queue.name, partition.route, partition.gate, partition.settle, index.merge_coverage, inbound.webhook, inbound.fetch, inbound.detect, inbound.poll, inbound.throttle, quarantine.list, quarantine.merge, quarantine.select, quarantine.settle, quarantine.drop, quarantine.runbook, telemetry.render, telemetry.accumulate, telemetry.redact, telemetry.normalize_endpoint, telemetry.log",
        )),
    };
    result.unwrap_or_else(|e| usage_error(&e))
}

/// The error document of a panic caught at a binding's boundary (the payload
/// `std::panic::catch_unwind` returns): class `usage`, code
/// `usage.internal_panic`, the panic's message (redacted like a log line).
/// The core panics on no input (a panic is a bug; `debug.panic` raises one on
/// purpose), so every binding turns one into this error instead of crashing.
pub fn panic_error(payload: &(dyn std::any::Any + Send)) -> Value {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    usage_error(&UsageError::new(
        "usage.internal_panic",
        format!("the connector core panicked: {}", crate::telemetry::redact(&message)),
        "a bug in the connector core: report it with the input that caused it; the host can go on \
         (a flow that panicked is unusable: resume it from its last checkpoint)",
    ))
}

/// The matching rule of golden vectors and scenario files: an object in
/// `expected` matches when every key it names matches in `actual`; an array
/// when it has the same length and each element matches; scalars (numbers by
/// value) when equal. The error names the JSON pointer of the first difference.
pub fn subset_match(expected: &Value, actual: &Value) -> Result<(), String> {
    fn walk(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => e.iter().try_for_each(|(k, v)| match a.get(k) {
                Some(av) => walk(v, av, &format!("{at}/{k}")),
                None => Err(format!("{at}/{k}: missing")),
            }),
            (Value::Array(e), Value::Array(a)) => {
                if e.len() != a.len() {
                    return Err(format!("{at}: expected {} items, got {}", e.len(), a.len()));
                }
                e.iter()
                    .zip(a)
                    .enumerate()
                    .try_for_each(|(i, (ev, av))| walk(ev, av, &format!("{at}/{i}")))
            }
            (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
            (e, a) if e == a => Ok(()),
            (e, a) => Err(format!("{at}: expected {e}, got {a}")),
        }
    }
    walk(expected, actual, "")
}

/// `queue.name`: `{"family": "quote" | "order" | "stock" | "billing" |
/// "referential", "company"?, "currency"?, "warehouse"?, "quarantine"?: bool}`
/// → `{"queue": "erp.incwo.order.acme.eur"}`.
fn queue_name(args: &Value) -> Result<Value, UsageError> {
    use crate::flow::queues::{queue_name, QueueFor};
    let args = args::Args::new(args);
    let text = |name: &str| args.str(name).unwrap_or("");
    let queue = match text("family") {
        "quote" => QueueFor::Quote {
            company: text("company"),
        },
        "order" => QueueFor::Order {
            company: text("company"),
            currency: text("currency"),
        },
        "stock" => QueueFor::Stock {
            warehouse: text("warehouse"),
        },
        "billing" => QueueFor::Billing {
            company: text("company"),
        },
        "referential" => QueueFor::Referential {
            company: text("company"),
        },
        other => {
            return Err(args::bad_args(
                format!("unknown queue family {other:?}"),
                "family is quote, order, stock, billing or referential",
            ))
        }
    };
    let quarantine = args.get("quarantine").as_bool().unwrap_or(false);
    queue_name(&queue, quarantine)
        .map(|name| json!({ "queue": name }))
        .map_err(|e| {
            args::bad_args(
                e.to_string(),
                "give a company, currency or warehouse with at least one letter or digit",
            )
        })
}

/// `profile(text)` → the checked profile with its defaults filled, or the
/// list of its problems.
pub fn check_profile(text: &str) -> Value {
    match Profile::from_json(text) {
        Ok(profile) => to_json(&profile),
        Err(e) => json!({"error": {
            "class": "usage",
            "code": "usage.invalid_profile",
            "message": e.to_string(),
            "hint": "fix each problem at its path",
            "problems": e.problems,
        }}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_and_map_the_brief_order() {
        let order = include_str!("../../../examples/data/order.json");
        assert_eq!(validate("order", order, None)["valid"], true);
        let mapped = map("order", order, None);
        assert_eq!(mapped["resource"], "proposal_sheets");
        assert_eq!(mapped["totals"]["inclTax"], "598.80");
        assert!(mapped["xml"]
            .as_str()
            .unwrap()
            .contains("<unit_price>49.90</unit_price>"));
    }

    #[test]
    fn errors_carry_a_class_and_a_code() {
        assert_eq!(validate("orders", "{}", None)["error"]["code"], "usage.unknown_kind");
        assert_eq!(validate("order", "{", None)["error"]["code"], "usage.malformed_json");
        assert_eq!(
            validate("order", "{}", Some("{}"))["error"]["code"],
            "usage.invalid_profile"
        );
        let invalid = map(
            "order",
            include_str!("../../../examples/data/order-missing-price.json"),
            None,
        );
        assert_eq!(invalid["error"]["class"], "contract");
        assert_eq!(invalid["error"]["violations"][0]["path"], "/lines/0/unitPriceExclTax");
        assert_eq!(check_profile("{}")["error"]["code"], "usage.invalid_profile");
        assert_eq!(schema("order", None)["required"][0], "orderNumber");
    }

    #[test]
    fn setup_reads_the_kind_then_the_profile_as_map_does() {
        let (kind, profile) = setup("order", None).expect("the shipped profile");
        assert_eq!(kind, Kind::Order);
        assert!(matches!(profile, std::borrow::Cow::Borrowed(_)));
        for (name, text) in [("orders", Some("{}")), ("order", Some("{}")), ("order", Some("{"))] {
            let error = setup(name, text).unwrap_err();
            assert_eq!(error, map(name, "{}", text), "{name} {text:?}");
        }
    }

    #[test]
    fn debug_panic_panics_and_the_payload_becomes_a_typed_error() {
        let payload = std::panic::catch_unwind(|| call("debug.panic", &json!({"message": "self-test"}))).unwrap_err();
        let error = &panic_error(&*payload)["error"];
        assert_eq!(error["class"], "usage");
        assert_eq!(error["code"], "usage.internal_panic");
        assert_eq!(error["message"], "the connector core panicked: self-test");
        let payload = std::panic::catch_unwind(|| panic!("{} {}", "formatted", 1)).unwrap_err();
        assert_eq!(
            panic_error(&*payload)["error"]["message"],
            "the connector core panicked: formatted 1"
        );
        let payload = std::panic::catch_unwind(|| std::panic::panic_any(7)).unwrap_err();
        assert_eq!(
            panic_error(&*payload)["error"]["message"],
            "the connector core panicked: no message"
        );
    }
}
