use super::*;

/// One sample of the exposition text: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: u64,
}

/// A tiny parser for the text format as this module writes it: `# HELP`,
/// `# TYPE` and `name{k="v",...} value` lines, with escaped label values.
fn parse_exposition(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "unexpected line {line:?}");
        let (series, value) = line.rsplit_once(' ').expect("value");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                (name.to_owned(), parse_labels(body))
            }
        };
        samples.push(Sample {
            name,
            labels,
            value: value.parse().expect("integer value"),
        });
    }
    (types, samples)
}

fn parse_labels(body: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        loop {
            match chars.next().expect("unterminated label value") {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

fn call(endpoint: &str, operation: &str, ms: u64) -> MetricEvent {
    MetricEvent::ApiCall {
        endpoint: endpoint.into(),
        operation: operation.into(),
        duration_ms: ms,
    }
}

#[test]
fn render_after_a_sequence_and_parse_back() {
    let mut r = Registry::default();
    for ms in [3, 5, 7, 120, 120, 2600, 20000] {
        r.record(&call("/bill_sheets/{id}.xml", "GET", ms));
    }
    r.record(&call("/firms.xml", "list", 40));
    for _ in 0..3 {
        r.record(&MetricEvent::ApiError {
            class: "technical".into(),
            endpoint: "/bill_sheets/9001.xml".into(),
        });
    }
    r.record(&MetricEvent::BacklogSize {
        queue: "erp.incwo.billing.acme".into(),
        size: 12,
    });
    r.record(&MetricEvent::BacklogSize {
        queue: "erp.incwo.billing.acme".into(),
        size: 4,
    });
    r.record(&MetricEvent::Replay {
        reason: "resume".into(),
    });
    r.record(&MetricEvent::Replay {
        reason: "resume".into(),
    });
    r.record(&MetricEvent::ReconciliationGap {
        domain: "invoice".into(),
    });
    let text = r.render_prometheus();
    assert_eq!(text, r.render_prometheus(), "deterministic");
    let (types, samples) = parse_exposition(&text);
    assert_eq!(types["api_call_duration_ms"], "histogram");
    assert_eq!(types["api_error_total"], "counter");
    assert_eq!(types["integration_backlog_size"], "gauge");
    assert_eq!(types["replay_total"], "counter");
    assert_eq!(types["reconciliation_gap_total"], "counter");

    let get = |name: &str, pairs: &[(&str, &str)]| -> u64 {
        let found: Vec<_> = samples
            .iter()
            .filter(|s| {
                s.name == name
                    && s.labels.len() == pairs.len()
                    && pairs
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {pairs:?}");
        found[0].value
    };
    let bill = [("endpoint", "/bill_sheets/{id}.xml"), ("operation", "GET")];
    let buckets: Vec<(String, u64)> = samples
        .iter()
        .filter(|s| s.name == "api_call_duration_ms_bucket" && s.labels["endpoint"] == "/bill_sheets/{id}.xml")
        .map(|s| (s.labels["le"].clone(), s.value))
        .collect();
    assert_eq!(buckets.len(), 12);
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative");
    let le = |bound: &str| buckets.iter().find(|(l, _)| l == bound).unwrap().1;
    assert_eq!(le("5"), 2);
    assert_eq!(le("10"), 3);
    assert_eq!(le("100"), 3);
    assert_eq!(le("250"), 5);
    assert_eq!(le("5000"), 6);
    assert_eq!(le("10000"), 6);
    assert_eq!(le("+Inf"), 7);
    assert_eq!(get("api_call_duration_ms_count", &bill), 7);
    assert_eq!(
        get("api_call_duration_ms_sum", &bill),
        3 + 5 + 7 + 120 + 120 + 2600 + 20000
    );
    assert_eq!(
        get(
            "api_call_duration_ms_count",
            &[("endpoint", "/firms.xml"), ("operation", "list")]
        ),
        1
    );
    assert_eq!(
        get(
            "api_error_total",
            &[("class", "technical"), ("endpoint", "/bill_sheets/{id}.xml")]
        ),
        3
    );
    assert_eq!(
        get("integration_backlog_size", &[("queue", "erp.incwo.billing.acme")]),
        4,
        "a gauge is set, not added"
    );
    assert_eq!(get("replay_total", &[("reason", "resume")]), 2);
    assert_eq!(get("reconciliation_gap_total", &[("domain", "invoice")]), 1);
}

#[test]
fn empty_registry_still_declares_every_family_sorted() {
    let text = Registry::default().render_prometheus();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    // The five the product names, then the operations families, each part sorted.
    assert_eq!(names.len(), 12);
    for part in [&names[..5], &names[5..]] {
        let mut sorted = part.to_vec();
        sorted.sort();
        assert_eq!(part, sorted);
    }
    assert_eq!(names[..5].last(), Some(&"replay_total"));
    assert_eq!(text.lines().filter(|l| l.starts_with("# HELP ")).count(), 12);
}

#[test]
fn endpoints_become_templates() {
    assert_eq!(normalize_endpoint("/bill_sheets/123.xml"), "/bill_sheets/{id}.xml");
    assert_eq!(normalize_endpoint("/bill_sheets/{id}.xml"), "/bill_sheets/{id}.xml");
    assert_eq!(normalize_endpoint("/firms.xml?page=3"), "/firms.xml");
    assert_eq!(
        normalize_endpoint("https://www.incwo.com/178768/proposal_sheets/11497502.xml"),
        "/{id}/proposal_sheets/{id}.xml"
    );
    assert_eq!(
        normalize_endpoint("/customer_products/show/178768/42.xml"),
        "/customer_products/show/{id}/{id}.xml"
    );
    assert_eq!(
        normalize_endpoint("/contacts/ann.smith@acme.com"),
        "/contacts/{redacted}"
    );
    assert_eq!(
        normalize_endpoint("/contacts/ann.smith%40acme.com"),
        "/contacts/{redacted}"
    );
    assert_eq!(normalize_endpoint("/search/0123456789"), "/search/{redacted}");
    assert_eq!(normalize_endpoint("/refs/D1234-56789.xml"), "/refs/{redacted}");
    assert_eq!(normalize_endpoint("/x/3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "/x/{id}");
    assert_eq!(normalize_endpoint(""), "/");
}

#[test]
fn labels_never_carry_personal_data_or_credentials() {
    let mut r = Registry::default();
    r.record(&MetricEvent::BacklogSize {
        queue: "erp.incwo.quote.ann.smith@acme.com".into(),
        size: 1,
    });
    r.record(&MetricEvent::Replay {
        reason: "call 06 78 90 12 34".into(),
    });
    r.record(&MetricEvent::ApiError {
        class: "Basic dXNlcjpwYXNz".into(),
        endpoint: "/firms/1.xml".into(),
    });
    r.record(&MetricEvent::ReconciliationGap {
        domain: "in\"voice\\\nx".into(),
    });
    let text = r.render_prometheus();
    for secret in ["ann.smith", "acme.com", "06 78", "dXNlcjpwYXNz"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    let (_, samples) = parse_exposition(&text);
    let gap = samples.iter().find(|s| s.name == "reconciliation_gap_total").unwrap();
    assert_eq!(gap.labels["domain"], "in\"voice\\\nx", "escaping round-trips");
    assert!(text.contains(r#"domain="in\"voice\\\nx""#));
}

#[test]
fn log_events_are_redacted_and_carry_the_correlation_id() {
    let event = LogEvent::new(Level::Warn, "retrying for ann.smith@acme.com")
        .with_correlation_id("c-42")
        .with_field("endpoint", "/bill_sheets/{id}.xml")
        .with_field("authorization", "Basic dXNlcjpwYXNz")
        .with_field("login", "ann.smith@acme.com")
        .with_field("note", "call 01 23 45 67 89");
    let v = event.to_json();
    assert_eq!(v["level"], "warn");
    assert_eq!(v["message"], "retrying for [email]");
    assert_eq!(v["correlationId"], "c-42");
    assert_eq!(v["fields"]["authorization"], "[redacted]");
    assert_eq!(v["fields"]["login"], "[redacted]");
    assert_eq!(v["fields"]["note"], "call [phone]");
    assert_eq!(v["fields"]["endpoint"], "/bill_sheets/{id}.xml");
    let leaky = LogEvent {
        level: Level::Info,
        message: "to 0612345678".into(),
        correlation_id: None,
        fields: BTreeMap::from([("password".to_owned(), "x".to_owned())]),
    };
    let text = leaky.to_json().to_string();
    assert!(!text.contains("0612345678") && !text.contains("\"x\""), "{text}");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_label_renders_to_parsable_text(label in "\\PC{0,30}", ms in 0u64..50_000) {
            let mut r = Registry::default();
            r.record(&call(&label, &label, ms));
            r.record(&MetricEvent::Replay { reason: label.clone() });
            let (_, samples) = parse_exposition(&r.render_prometheus());
            prop_assert_eq!(samples.iter().filter(|s| s.name == "replay_total").count(), 1);
            let inf = samples.iter().find(|s| s.labels.get("le").map(String::as_str) == Some("+Inf")).unwrap();
            prop_assert_eq!(inf.value, 1);
        }

        #[test]
        fn emails_never_survive(user in "[a-z][a-z0-9.]{0,10}", host in "[a-z]{1,10}", pre in "[a-z ]{0,10}") {
            let text = format!("{pre} {user}@{host}.com x");
            let out = redact(&text);
            let needle = format!("@{host}.com");
            prop_assert!(!out.contains(&needle));
            prop_assert!(!sanitize_label(&text).contains('@'));
        }

        #[test]
        fn plain_words_need_no_redaction(word in "[a-z_.-]{0,128}") {
            // `sanitize_label`'s fast path returns these as they are: the slow
            // path must agree.
            prop_assert_eq!(redact(&word), word.clone());
            prop_assert_eq!(sanitize_label(&word), word);
        }

        #[test]
        fn redact_never_panics(s in "\\PC{0,60}") {
            let _ = redact(&s);
            let _ = normalize_endpoint(&s);
            let _ = sanitize_label(&s);
        }
    }
}
