//! Secrets stay secret: nothing the core renders for people or machines
//! other than the request it hands to the host for sending (its
//! `Authorization` header, flagged `sensitive`) carries a password or a
//! Basic token.

use serde_json::Value;
use std::path::Path;

/// `base64(login:password)` without padding, as it would appear in a header.
fn token(login: &str, password: &str) -> String {
    let token = incwo_core::http::encode::base64_encode(format!("{login}:{password}").as_bytes());
    token.trim_end_matches('=').to_string()
}

/// Removes the values of headers flagged sensitive (the host needs them to send).
fn strip_sensitive(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("sensitive") == Some(&Value::Bool(true)) {
                map.remove("value");
            }
            map.values_mut().for_each(strip_sensitive);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_sensitive),
        _ => {}
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn no_vector_output_carries_a_password_or_a_basic_token() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files = Vec::new();
    for folder in ["http", "classify", "retry", "telemetry", "flow"] {
        if base.join(folder).is_dir() {
            collect(&base.join(folder), &mut files);
        }
    }
    let mut checked = 0;
    for file in files {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let Some(call) = vector["call"].as_str() else { continue };
        let auth = &vector["args"]["config"]["auth"];
        let secrets: Vec<String> = match (
            auth["login"].as_str(),
            auth["password"].as_str(),
            auth["token"].as_str(),
        ) {
            (Some(login), Some(password), _) => vec![password.to_string(), token(login, password)],
            (_, _, Some(token)) => vec![token.to_string()],
            _ => vec!["s3cret-pass".to_string(), token("api@example.fr", "s3cret-pass")],
        };
        let mut result = incwo_core::api::call(call, &vector["args"]);
        strip_sensitive(&mut result);
        let text = result.to_string();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{}: a secret appears in {text}",
                file.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} vectors checked");
}

#[test]
fn debug_display_and_redacted_forms_of_requests_hide_the_secret() {
    let config = incwo_core::http::ConnectionConfig::new(
        "https://www.incwo.com",
        "123456",
        incwo_core::http::Auth::basic("api@example.fr", "s3cret-pass"),
        false,
    )
    .unwrap();
    let request = incwo_core::adapters::Adapter::new(incwo_core::flow::ledger::Domain::Invoice)
        .read(&config, 42, "2f1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
        .unwrap();
    let secret_token = token("api@example.fr", "s3cret-pass");
    for text in [
        format!("{config:?}"),
        format!("{request:?}"),
        format!("{request}"),
        request.redacted_json().to_string(),
    ] {
        assert!(!text.contains("s3cret-pass") && !text.contains(&secret_token), "{text}");
    }
    // The request handed to the host does carry it, flagged sensitive.
    let sent = serde_json::to_value(&request).unwrap().to_string();
    assert!(sent.contains(&secret_token));
}

#[test]
fn flow_checkpoints_metrics_and_actions_hide_the_secret() {
    let profile = incwo_core::mapping::Profile::default();
    let items = incwo_core::flow::batch::parse_jsonl(include_str!("../../examples/data/batch.jsonl"), &profile);
    let config = incwo_core::http::ConnectionConfig::new(
        "http://127.0.0.1:9",
        "123456",
        incwo_core::http::Auth::basic("api@example.fr", "s3cret-pass"),
        false,
    )
    .unwrap();
    let mut flow = incwo_core::flow::Flow::start(items, profile, config, Default::default(), 0, 1);
    let secret_token = token("api@example.fr", "s3cret-pass");
    // Every request fails before sending: the flow retries, waits, defers.
    for _ in 0..200 {
        match flow.poll(1_000_000).unwrap() {
            incwo_core::flow::Action::Send { request_id, request } => {
                assert!(!format!("{request:?}").contains(&secret_token));
                flow.on_transport_error(
                    request_id,
                    incwo_core::errors::TransportFailure {
                        kind: incwo_core::errors::TransportKind::ConnectRefused,
                        phase: incwo_core::errors::TransportPhase::Connect,
                    },
                    1_000_000,
                )
                .unwrap();
            }
            incwo_core::flow::Action::Done { summary } => {
                let text = serde_json::to_string(&summary).unwrap();
                assert!(!text.contains("s3cret-pass") && !text.contains(&secret_token));
                break;
            }
            other => {
                let text = serde_json::to_string(&other).unwrap();
                assert!(!text.contains("s3cret-pass") && !text.contains(&secret_token), "{text}");
            }
        }
    }
    for text in [
        flow.checkpoint(),
        flow.metrics().render_prometheus(),
        format!("{flow:?}"),
    ] {
        assert!(!text.contains("s3cret-pass") && !text.contains(&secret_token), "{text}");
    }
}
