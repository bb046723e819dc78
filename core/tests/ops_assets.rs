//! The operator assets query only what the connector exports: every metric
//! name and label that the Grafana dashboard (`ops/grafana/incwo.json`) and
//! the Prometheus rules (`ops/prometheus/incwo.rules.yml`) use must be in the
//! core's exposition, rendered here from one event of every kind (so every
//! family has samples and labels). Run by `./scripts/test ops`.

use incwo_core::telemetry::operations::{BreakerGauge, OperationsEvent};
use incwo_core::telemetry::{MetricEvent, Registry};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Labels Prometheus adds to every scraped series (the target's), not the exposition.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// One event of every kind: a new kind fails to compile here until it is added.
fn every_event() -> Vec<MetricEvent> {
    let events = vec![
        MetricEvent::ApiCall {
            endpoint: "/firms.xml".into(),
            operation: "create".into(),
            duration_ms: 120,
        },
        MetricEvent::ApiError {
            class: "technical".into(),
            endpoint: "/firms.xml".into(),
        },
        MetricEvent::BacklogSize {
            queue: "erp.incwo.order.acme.eur".into(),
            size: 2,
        },
        MetricEvent::Replay {
            reason: "manual".into(),
        },
        MetricEvent::ReconciliationGap {
            domain: "invoice".into(),
        },
        OperationsEvent::Quarantined {
            class: "contract".into(),
            code: "contract.invalid".into(),
            resource: "order".into(),
        }
        .into(),
        OperationsEvent::Retry {
            endpoint: "/firms.xml".into(),
        }
        .into(),
        OperationsEvent::RetryBudget {
            host: "www.incwo.com".into(),
            remaining: 480,
            capacity: 500,
        }
        .into(),
        OperationsEvent::BreakerState {
            host: "www.incwo.com".into(),
            state: BreakerGauge::Closed,
        }
        .into(),
        OperationsEvent::SyncSucceeded { at_seconds: 1 }.into(),
        OperationsEvent::WebhookBacklog { size: 0 }.into(),
    ];
    for event in &events {
        match event {
            MetricEvent::ApiCall { .. }
            | MetricEvent::ApiError { .. }
            | MetricEvent::BacklogSize { .. }
            | MetricEvent::Replay { .. }
            | MetricEvent::ReconciliationGap { .. } => {}
            MetricEvent::Operations(op) => match op {
                OperationsEvent::Quarantined { .. }
                | OperationsEvent::Retry { .. }
                | OperationsEvent::RetryBudget { .. }
                | OperationsEvent::BreakerState { .. }
                | OperationsEvent::SyncSucceeded { .. }
                | OperationsEvent::WebhookBacklog { .. } => {}
            },
        }
    }
    events
}

/// Sample name → label names, from the core's exposition of every kind of event.
fn exposition() -> BTreeMap<String, BTreeSet<String>> {
    let mut registry = Registry::default();
    every_event().iter().for_each(|e| registry.record(e));
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in registry.render_prometheus().lines().filter(|l| !l.starts_with('#')) {
        let series = line.rsplit_once(' ').expect("a sample").0;
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let names = labels
            .trim_end_matches('}')
            .split(',')
            .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string()));
        out.entry(name.to_string()).or_default().extend(names);
    }
    out
}

/// What a PromQL expression uses: selectors (metric, matcher labels) and grouping labels.
#[derive(Debug, Default)]
struct Uses {
    selectors: Vec<(String, Vec<String>)>,
    grouping: Vec<String>,
}

const KEYWORDS: [&str; 8] = ["bool", "and", "or", "unless", "offset", "inf", "nan", "group_right"];
const GROUPING: [&str; 5] = ["by", "without", "on", "ignoring", "group_left"];
/// Aggregation operators: `sum by (x) (…)` puts the clause between the name and `(`.
const AGGREGATIONS: [&str; 12] = [
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
];

/// A small PromQL tokenizer: identifiers followed by `(` are functions, or
/// grouping clauses whose list holds label names; other identifiers are
/// metric names, with the label names of their `{…}` matchers; strings,
/// numbers and `[…]` ranges are skipped.
fn uses(expr: &str) -> Uses {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Uses::default();
    let mut i = 0;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let skip_ws = |mut j: usize| {
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        j
    };
    let list = |from: usize, close: char| -> (Vec<String>, usize) {
        let end = (from..chars.len()).find(|&j| chars[j] == close).expect("closed");
        let body: String = chars[from + 1..end].iter().collect();
        (
            body.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            end + 1,
        )
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            i = (i + 1..chars.len())
                .find(|&j| chars[j] == c && chars[j - 1] != '\\')
                .expect("closed string")
                + 1;
        } else if c == '[' {
            i = (i..chars.len()).find(|&j| chars[j] == ']').expect("closed range") + 1;
        } else if c.is_ascii_digit() || (c == '.' && i + 1 < chars.len() && chars[i + 1].is_ascii_digit()) {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = skip_ws(i);
            if GROUPING.contains(&word.as_str()) {
                if chars.get(next) == Some(&'(') {
                    let (labels, end) = list(next, ')');
                    out.grouping.extend(labels);
                    i = end;
                }
            } else if KEYWORDS.contains(&word.as_str())
                || AGGREGATIONS.contains(&word.as_str())
                || chars.get(next) == Some(&'(')
            {
                // A keyword, or a function / aggregation call: its arguments are scanned next.
            } else if chars.get(next) == Some(&'{') {
                let end = (next..chars.len()).find(|&j| chars[j] == '}').expect("closed selector");
                let body: String = chars[next + 1..end].iter().collect();
                let labels = matchers(&body);
                out.selectors.push((word, labels));
                i = end + 1;
            } else {
                out.selectors.push((word, Vec::new()));
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The label names of `a="x", b=~"y"` (values may hold commas).
fn matchers(body: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let op = rest.find(['=', '!']).expect("a matcher operator");
        labels.push(rest[..op].trim().to_string());
        let quote = rest[op..].find('"').expect("a quoted value") + op;
        let close = rest[quote + 1..].find('"').expect("a closed value") + quote + 1;
        rest = rest[close + 1..].trim_start().trim_start_matches(',').trim_start();
    }
    labels
}

/// Grafana's variables replaced by what Prometheus would receive.
fn without_grafana_variables(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__range", "1h")
        .replace("$job", ".+")
}

/// The `expr:` and `record:` values of a rules file (one line each, as written there).
fn rules() -> (Vec<(String, String)>, usize) {
    let text = std::fs::read_to_string(format!("{ROOT}/ops/prometheus/incwo.rules.yml")).unwrap();
    let mut out = Vec::new();
    let mut name = String::new();
    let mut rules = 0;
    for line in text.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("- record:").or_else(|| line.strip_prefix("- alert:")) {
            name = n.trim().to_string();
            rules += 1;
        } else if let Some(expr) = line.strip_prefix("expr:") {
            let expr = expr.trim();
            assert!(
                !expr.is_empty() && !expr.starts_with(['|', '>']),
                "{name}: keep each expr on one line"
            );
            out.push((name.clone(), expr.to_string()));
        }
    }
    (out, rules)
}

/// The dashboard's queries: every panel target's `expr` and the variables' `label_values(...)`.
fn dashboard() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{ROOT}/ops/grafana/incwo.json")).unwrap();
    let dash: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a target with no expr", panel["title"]));
            out.push((
                panel["title"].as_str().unwrap().to_string(),
                without_grafana_variables(expr),
            ));
        }
    }
    for var in dash["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["query"]["query"].as_str() {
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|r| r.strip_suffix(')'))
                .expect("label_values");
            let (metric, label) = inner.split_once(',').unwrap();
            out.push((
                format!("variable {}", var["name"]),
                format!("{}{{{}=\"\"}}", metric.trim(), label.trim()),
            ));
        }
    }
    out
}

/// What is wrong with `queries` against `known` (sample name → labels), `records` naming
/// recording rules (usable as metrics, with the labels of their expression).
fn problems(queries: &[(String, String)], known: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut known = known.clone();
    let mut found = Vec::new();
    let (rules, _) = rules();
    for (name, expr) in &rules {
        if name.contains(':') {
            let u = uses(expr);
            let mut labels: BTreeSet<String> = u.grouping.into_iter().collect();
            for (metric, _) in &u.selectors {
                labels.extend(known.get(metric).cloned().unwrap_or_default());
            }
            known.insert(name.clone(), labels);
        }
    }
    for (place, expr) in queries {
        let u = uses(expr);
        if u.selectors.is_empty() {
            found.push(format!("{place}: `{expr}` queries no metric"));
        }
        let mut in_scope: BTreeSet<String> = TARGET_LABELS.iter().map(|s| s.to_string()).collect();
        for (metric, labels) in &u.selectors {
            match known.get(metric) {
                None => found.push(format!("{place}: the metric `{metric}` is not in the exposition")),
                Some(have) => {
                    in_scope.extend(have.iter().cloned());
                    for l in labels {
                        if !have.contains(l) && !TARGET_LABELS.contains(&l.as_str()) {
                            found.push(format!("{place}: `{metric}` has no label `{l}`"));
                        }
                    }
                }
            }
        }
        for l in &u.grouping {
            if !in_scope.contains(l) {
                found.push(format!("{place}: grouping by `{l}`, a label none of its metrics has"));
            }
        }
    }
    found
}

#[test]
fn the_dashboard_queries_only_metrics_and_labels_the_connector_exports() {
    let queries = dashboard();
    assert!(queries.len() >= 15, "{queries:?}");
    let problems = problems(&queries, &exposition());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_rules_query_only_metrics_and_labels_the_connector_exports() {
    let (queries, rules) = rules();
    assert_eq!(queries.len(), rules, "one expr per rule");
    assert!(rules >= 11, "{queries:?}");
    let problems = problems(&queries, &exposition());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_exported_family_is_on_the_dashboard() {
    let on_dashboard: BTreeSet<String> = dashboard()
        .iter()
        .flat_map(|(_, e)| uses(e).selectors.into_iter().map(|(m, _)| m))
        .collect();
    let families: BTreeSet<String> = exposition()
        .keys()
        .map(|n| {
            n.trim_end_matches("_bucket")
                .trim_end_matches("_count")
                .trim_end_matches("_sum")
                .to_string()
        })
        .collect();
    let missing: Vec<&String> = families
        .iter()
        .filter(|f| !on_dashboard.iter().any(|m| m.starts_with(f.as_str())))
        .collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
}

#[test]
fn the_checker_finds_an_unknown_metric_an_unknown_label_and_a_bad_grouping() {
    let known = exposition();
    let bad = [
        ("a".to_string(), "rate(api_calls_total[5m])".to_string()),
        ("b".to_string(), "sum(retry_total{host=\"x\"})".to_string()),
        (
            "c".to_string(),
            "sum by (queue) (api_error_total{class=\"technical\"})".to_string(),
        ),
        ("d".to_string(), "time() - 3".to_string()),
    ];
    let found = problems(&bad, &known);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(
        found[0].contains("`api_calls_total` is not in the exposition"),
        "{found:#?}"
    );
    assert!(found[1].contains("`retry_total` has no label `host`"), "{found:#?}");
    assert!(found[2].contains("grouping by `queue`"), "{found:#?}");
    assert!(found[3].contains("queries no metric"), "{found:#?}");
    let u = uses("histogram_quantile(0.95, sum by (endpoint, le) (rate(api_call_duration_ms_bucket{job=~\"a,b\", endpoint!=\"/x\"}[5m])))");
    assert_eq!(u.grouping, ["endpoint", "le"]);
    assert_eq!(
        u.selectors,
        [(
            "api_call_duration_ms_bucket".to_string(),
            vec!["job".to_string(), "endpoint".to_string()]
        )]
    );
}
