//! Running totals across runs: reads back the Prometheus text this core
//! rendered and adds one run's registry to another's, so a long-lived host
//! (a Messenger worker, a web process exposing `/metrics`) shows counters
//! that only grow instead of the last run's numbers.

use super::{Registry, DURATION_BUCKETS_MS};
use std::collections::BTreeMap;

/// Why a text is not an exposition this core wrote: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpositionError {
    /// 1-based line number; 0 when the problem spans a histogram's lines.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl Registry {
    /// Reads a registry back from the text [`Registry::render_prometheus`]
    /// wrote (HELP/TYPE lines and blank lines are skipped). Anything else is
    /// refused with its line, so a total is never silently wrong.
    pub fn from_prometheus(text: &str) -> Result<Registry, ExpositionError> {
        let mut registry = Registry::default();
        let mut cumulative: BTreeMap<(String, String), Vec<(String, u64)>> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |message: String| ExpositionError {
                line: index + 1,
                message,
            };
            let (name, labels, value) = series(line).map_err(fail)?;
            let label = |key: &str| -> Result<String, ExpositionError> {
                labels
                    .get(key)
                    .cloned()
                    .ok_or_else(|| fail(format!("`{name}` needs the label `{key}`")))
            };
            match name {
                "api_call_duration_ms_bucket" => cumulative
                    .entry((label("endpoint")?, label("operation")?))
                    .or_default()
                    .push((label("le")?, value)),
                "api_call_duration_ms_sum" | "api_call_duration_ms_count" => {
                    let h = registry
                        .durations
                        .entry((label("endpoint")?, label("operation")?))
                        .or_default();
                    *if name.ends_with("_sum") {
                        &mut h.sum
                    } else {
                        &mut h.count
                    } = value;
                }
                "api_error_total" => {
                    registry.errors.insert((label("class")?, label("endpoint")?), value);
                }
                "integration_backlog_size" => {
                    registry.backlog.insert(label("queue")?, value);
                }
                "reconciliation_gap_total" => {
                    registry.gaps.insert(label("domain")?, value);
                }
                "replay_total" => {
                    registry.replays.insert(label("reason")?, value);
                }
                other if registry.ops.read(other, &labels, value).map_err(fail)? => {}
                other => return Err(fail(format!("`{other}` is not a metric this core renders"))),
            }
        }
        for (key, buckets) in cumulative {
            let histogram = registry.durations.entry(key.clone()).or_default();
            histogram.buckets = per_bucket(&buckets, histogram.count).map_err(|message| ExpositionError {
                line: 0,
                message: format!(
                    "api_call_duration_ms {{endpoint=\"{}\",operation=\"{}\"}}: {message}",
                    key.0, key.1
                ),
            })?;
        }
        Ok(registry)
    }

    /// Adds `run` to these totals: counters and histograms add up, a gauge
    /// takes the run's value.
    pub fn merge(&mut self, run: &Registry) {
        for (key, h) in &run.durations {
            let total = self.durations.entry(key.clone()).or_default();
            for (t, r) in total.buckets.iter_mut().zip(h.buckets) {
                *t = t.saturating_add(r);
            }
            total.count = total.count.saturating_add(h.count);
            total.sum = total.sum.saturating_add(h.sum);
        }
        for (key, n) in &run.errors {
            let t = self.errors.entry(key.clone()).or_insert(0);
            *t = t.saturating_add(*n);
        }
        for (totals, run) in [(&mut self.replays, &run.replays), (&mut self.gaps, &run.gaps)] {
            for (key, n) in run {
                let t = totals.entry(key.clone()).or_insert(0);
                *t = t.saturating_add(*n);
            }
        }
        for (queue, size) in &run.backlog {
            self.backlog.insert(queue.clone(), *size);
        }
        self.ops.merge(&run.ops);
    }
}

/// Turns the cumulative `le` buckets of one series back into per-bucket counts.
fn per_bucket(buckets: &[(String, u64)], count: u64) -> Result<[u64; DURATION_BUCKETS_MS.len() + 1], String> {
    let mut out = [0u64; DURATION_BUCKETS_MS.len() + 1];
    let mut previous = 0u64;
    for (i, le) in DURATION_BUCKETS_MS.iter().enumerate() {
        let le = le.to_string();
        let Some((_, cumulative)) = buckets.iter().find(|(l, _)| *l == le) else {
            return Err(format!("the bucket le=\"{le}\" is missing"));
        };
        out[i] = cumulative
            .checked_sub(previous)
            .ok_or_else(|| format!("the bucket le=\"{le}\" is below the one before"))?;
        previous = *cumulative;
    }
    if !buckets.iter().any(|(l, n)| l == "+Inf" && *n == count) {
        return Err("the le=\"+Inf\" bucket must equal _count".into());
    }
    out[DURATION_BUCKETS_MS.len()] = count
        .checked_sub(previous)
        .ok_or_else(|| "_count is below the last bucket".to_string())?;
    Ok(out)
}

/// Splits `name{k="v",…} value` into its parts, unescaping label values.
fn series(line: &str) -> Result<(&str, BTreeMap<String, String>, u64), String> {
    let (head, value) = line
        .rsplit_once(' ')
        .ok_or_else(|| "expected `name{labels} value`".to_string())?;
    let value: u64 = value.parse().map_err(|_| format!("`{value}` is not a whole number"))?;
    let Some((name, rest)) = head.split_once('{') else {
        return Ok((head, BTreeMap::new(), value));
    };
    let body = rest
        .strip_suffix('}')
        .ok_or_else(|| "the label set is not closed by `}`".to_string())?;
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if chars.next() != Some('"') {
            return Err(format!("the label `{key}` has no quoted value"));
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => return Err("a label value ends inside an escape".into()),
                },
                Some('"') => break,
                Some(c) => value.push(c),
                None => return Err(format!("the value of `{key}` is not closed")),
            }
        }
        labels.insert(key, value);
        match chars.next() {
            Some(',') | None => {}
            Some(c) => return Err(format!("unexpected `{c}` after a label value")),
        }
    }
    Ok((name, labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::MetricEvent;

    fn events(n: u64) -> Vec<MetricEvent> {
        vec![
            MetricEvent::ApiCall {
                endpoint: "/bill_sheets/9.xml".into(),
                operation: "GET".into(),
                duration_ms: 7 * n,
            },
            MetricEvent::ApiCall {
                endpoint: "/firms.xml".into(),
                operation: "create".into(),
                duration_ms: 20_000,
            },
            MetricEvent::ApiError {
                class: "technical".into(),
                endpoint: "/firms.xml".into(),
            },
            MetricEvent::BacklogSize {
                queue: "erp.incwo.order.\"acme\"\n".into(),
                size: n,
            },
            MetricEvent::Replay {
                reason: "reconciled".into(),
            },
            MetricEvent::ReconciliationGap {
                domain: "invoice".into(),
            },
        ]
    }

    fn registry(events: &[MetricEvent]) -> Registry {
        let mut r = Registry::default();
        events.iter().for_each(|e| r.record(e));
        r
    }

    #[test]
    fn a_rendered_registry_reads_back_identical() {
        let r = registry(&events(3));
        assert_eq!(Registry::from_prometheus(&r.render_prometheus()), Ok(r));
        assert_eq!(Registry::from_prometheus(""), Ok(Registry::default()));
    }

    #[test]
    fn totals_equal_one_registry_of_every_event_and_a_gauge_keeps_the_last_value() {
        let (a, b) = (events(1), events(40));
        let mut total = Registry::from_prometheus(&registry(&a).render_prometheus()).unwrap();
        total.merge(&registry(&b));
        let all: Vec<MetricEvent> = a.into_iter().chain(b).collect();
        assert_eq!(total.render_prometheus(), registry(&all).render_prometheus());
        assert!(
            total.render_prometheus().contains("} 40\n"),
            "the backlog gauge is the last run's"
        );
    }

    #[test]
    fn texts_this_core_did_not_write_are_refused_with_their_line() {
        let text = registry(&events(2)).render_prometheus();
        for (bad, line, what) in [
            ("cpu_seconds_total 3".to_string(), 1, "not a metric"),
            ("replay_total{reason=\"x\"} 1.5".to_string(), 1, "whole number"),
            ("replay_total{domain=\"x\"} 1".to_string(), 1, "label `reason`"),
            ("replay_total{reason=\"x} 1".to_string(), 1, "not closed"),
            (
                text.replacen("le=\"50\"} 1", "le=\"50\"} 0", 1),
                0,
                "below the one before",
            ),
            (text.replace("le=\"25\"}", "le=\"26\"}"), 0, "le=\"25\" is missing"),
        ] {
            let e = Registry::from_prometheus(&bad).unwrap_err();
            assert!(
                e.message.contains(what) && (line == 0 || e.line == line),
                "{bad}: {e:?}"
            );
        }
    }
}
