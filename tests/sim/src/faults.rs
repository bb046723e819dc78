//! Fault injection rules: which request gets which fault, reproducibly.
//!
//! A rule matches requests by method and resource; it lets `skip` matching
//! requests through, then fires at most `times` times (unlimited when
//! absent), each time with probability `probability` (1 when absent) drawn
//! from the rule's own seeded generator. All matching rules count the
//! request; latency rules add up, and the first other rule that fires wins.
//!
//! A `tls_handshake_refused` rule is the exception: it strikes TLS
//! handshakes, before any request exists, so it counts connections
//! ([`Faults::decide_handshake`]) and never sees requests.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::schema::Resource;

/// How a dropped connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropMode {
    /// `SO_LINGER` 0, then close: the client sees a connection reset.
    Reset,
    /// Plain close: the client sees an unexpected end of stream.
    Close,
}

/// How a refused TLS handshake ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeRefusal {
    /// A fatal `handshake_failure` alert after the ClientHello, then close.
    Alert,
    /// The TCP connection reset (`SO_LINGER` 0) after the ClientHello.
    Reset,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait `ms`, then handle the request normally.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Hold the request `ms` (longer than the client's timeout). With
    /// `commit` the write happens first and the normal response is sent
    /// after the hold; without it nothing is written and the connection is
    /// closed after the hold.
    Timeout {
        /// Hold in milliseconds.
        ms: u64,
        /// Whether the write is committed before the hold.
        commit: bool,
    },
    /// Answer with this status (5xx usually) instead of the real response.
    HttpError {
        /// HTTP status (400–599).
        status: u16,
        /// Optional `Retry-After` in seconds.
        retry_after: Option<u64>,
        /// Commit the write first, then answer with the error.
        after_commit: bool,
        /// Optional response body (default: a Rails-like HTML error page).
        body: Option<String>,
    },
    /// Answer 429 with `Retry-After`, nothing written.
    RateLimit {
        /// `Retry-After` in seconds.
        retry_after: u64,
    },
    /// Close the connection without handling the request.
    DropBeforeCommit {
        /// Reset or plain close.
        mode: DropMode,
    },
    /// Handle (commit) the request, then close the connection without
    /// writing the response.
    DropAfterCommit {
        /// Reset or plain close.
        mode: DropMode,
    },
    /// TLS mode only: the TLS handshake of a new connection fails; no
    /// request is read.
    TlsHandshakeRefused {
        /// Alert or reset.
        mode: HandshakeRefusal,
    },
    /// TLS mode only: the request is committed, then the TCP connection is
    /// reset, without a TLS close_notify and without any response byte.
    TlsResetAfterCommit,
    /// TLS mode only: the request is committed, then the server sends a TLS
    /// close_notify and closes, without any response byte.
    TlsCloseNotifyBeforeResponse,
    /// TLS mode only: the request is committed, the response head and half
    /// its body are sent, then the connection is closed without close_notify.
    TlsCutMidBody,
}

impl Fault {
    /// Short name, as in the rule's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Latency { .. } => "latency",
            Fault::Timeout { .. } => "timeout",
            Fault::HttpError { .. } => "http_error",
            Fault::RateLimit { .. } => "rate_limit",
            Fault::DropBeforeCommit { .. } => "drop_before_commit",
            Fault::DropAfterCommit { .. } => "drop_after_commit",
            Fault::TlsHandshakeRefused { .. } => "tls_handshake_refused",
            Fault::TlsResetAfterCommit => "tls_reset_after_commit",
            Fault::TlsCloseNotifyBeforeResponse => "tls_close_notify_before_response",
            Fault::TlsCutMidBody => "tls_cut_mid_body",
        }
    }

    /// Whether the fault only exists over TLS.
    fn needs_tls(&self) -> bool {
        matches!(
            self,
            Fault::TlsHandshakeRefused { .. }
                | Fault::TlsResetAfterCommit
                | Fault::TlsCloseNotifyBeforeResponse
                | Fault::TlsCutMidBody
        )
    }
}

/// SplitMix64: tiny, seedable, reproducible.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone)]
struct Rule {
    id: u64,
    method: Option<String>,
    resource: Option<String>,
    fault: Fault,
    times: Option<u64>,
    skip: u64,
    probability: Option<f64>,
    seed: u64,
    rng: Rng,
    spec: Json,
    seen: u64,
    fired: u64,
}

impl Rule {
    /// Counts one matching event and says whether the rule fires on it.
    fn fires(&mut self) -> bool {
        if self.seen <= self.skip || self.times.is_some_and(|t| self.fired >= t) {
            return false;
        }
        if let Some(p) = self.probability {
            if self.rng.unit() >= p {
                return false;
            }
        }
        self.fired += 1;
        true
    }

    fn strikes_handshakes(&self) -> bool {
        matches!(self.fault, Fault::TlsHandshakeRefused { .. })
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Total extra latency before handling.
    pub latency_ms: u64,
    /// The non-latency fault that fired, if any.
    pub fault: Option<Fault>,
}

/// The rule set and its counters.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    next_id: u64,
    seed: u64,
    tls: bool,
    fired: BTreeMap<&'static str, u64>,
}

fn opt_u64(o: &Map<String, Json>, k: &str) -> Result<Option<u64>, String> {
    match o.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{k}` must be a non-negative integer")),
    }
}

fn opt_bool(o: &Map<String, Json>, k: &str) -> Result<Option<bool>, String> {
    match o.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("`{k}` must be true or false")),
    }
}

fn opt_str<'a>(o: &'a Map<String, Json>, k: &str) -> Result<Option<&'a str>, String> {
    match o.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{k}` must be a string")),
    }
}

fn check_keys(o: &Map<String, Json>, allowed: &[&str], what: &str) -> Result<(), String> {
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!(
                "unknown field `{k}` in {what} (allowed: {})",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

fn parse_fault(v: &Json) -> Result<Fault, String> {
    let o = v.as_object().ok_or("`fault` must be an object")?;
    check_keys(
        o,
        &[
            "kind",
            "ms",
            "commit",
            "status",
            "retry_after",
            "after_commit",
            "body",
            "mode",
        ],
        "fault",
    )?;
    let kind = opt_str(o, "kind")?.ok_or("`fault.kind` is required")?;
    let mode = || match opt_str(o, "mode")? {
        None | Some("reset") => Ok(DropMode::Reset),
        Some("close") => Ok(DropMode::Close),
        Some(m) => Err(format!("unknown drop mode `{m}` (reset | close)")),
    };
    let ms = opt_u64(o, "ms")?;
    let fault = match kind {
        "latency" => Fault::Latency {
            ms: ms.ok_or("latency needs `ms`")?,
        },
        "timeout" => Fault::Timeout {
            ms: ms.unwrap_or(30_000),
            commit: opt_bool(o, "commit")?.unwrap_or(true),
        },
        "http_error" | "status" | "5xx" => {
            let status = opt_u64(o, "status")?.unwrap_or(503);
            let status = u16::try_from(status)
                .ok()
                .filter(|s| (400..=599).contains(s))
                .ok_or("`status` must be within 400..=599")?;
            Fault::HttpError {
                status,
                retry_after: opt_u64(o, "retry_after")?,
                after_commit: opt_bool(o, "after_commit")?.unwrap_or(false),
                body: opt_str(o, "body")?.map(str::to_string),
            }
        }
        "rate_limit" | "429" => Fault::RateLimit {
            retry_after: opt_u64(o, "retry_after")?.unwrap_or(1),
        },
        "drop_before_commit" | "drop" => Fault::DropBeforeCommit { mode: mode()? },
        "drop_after_commit" => Fault::DropAfterCommit { mode: mode()? },
        "tls_handshake_refused" => Fault::TlsHandshakeRefused {
            mode: match opt_str(o, "mode")? {
                None | Some("alert") => HandshakeRefusal::Alert,
                Some("reset") => HandshakeRefusal::Reset,
                Some(m) => return Err(format!("unknown handshake refusal mode `{m}` (alert | reset)")),
            },
        },
        "tls_reset_after_commit" => Fault::TlsResetAfterCommit,
        "tls_close_notify_before_response" => Fault::TlsCloseNotifyBeforeResponse,
        "tls_cut_mid_body" => Fault::TlsCutMidBody,
        other => {
            return Err(format!(
                "unknown fault kind `{other}` (latency | timeout | http_error | rate_limit | drop_before_commit | \
                 drop_after_commit | tls_handshake_refused | tls_reset_after_commit | \
                 tls_close_notify_before_response | tls_cut_mid_body)"
            ))
        }
    };
    Ok(fault)
}

/// Mixes a base seed with a rule number.
fn mix(seed: u64, n: u64) -> u64 {
    Rng(seed ^ n.wrapping_mul(0xA24B_AED4_963E_E407)).next()
}

impl Faults {
    /// An empty rule set whose probabilistic rules derive from `seed`;
    /// `tls` says whether the simulator serves HTTPS (the `tls_*` faults
    /// are refused otherwise).
    pub fn new(seed: u64, tls: bool) -> Faults {
        Faults {
            seed,
            tls,
            next_id: 1,
            ..Faults::default()
        }
    }

    /// Adds one rule from its JSON form; returns the rule's id.
    pub fn add(&mut self, v: &Json) -> Result<u64, String> {
        let o = v.as_object().ok_or("a rule must be a JSON object")?;
        check_keys(
            o,
            &["method", "resource", "fault", "times", "skip", "probability", "seed"],
            "rule",
        )?;
        let method = match opt_str(o, "method")? {
            None | Some("*") => None,
            Some(m) => {
                let m = m.to_ascii_uppercase();
                if !["GET", "POST", "PUT", "DELETE"].contains(&m.as_str()) {
                    return Err(format!("unknown method `{m}` (GET | POST | PUT | DELETE | *)"));
                }
                Some(m)
            }
        };
        let resource = match opt_str(o, "resource")? {
            None | Some("*") => None,
            Some(r) => {
                if Resource::from_name(r).is_none() {
                    return Err(format!("unknown resource `{r}`"));
                }
                Some(r.to_string())
            }
        };
        let fault = parse_fault(o.get("fault").ok_or("`fault` is required")?)?;
        if fault.needs_tls() && !self.tls {
            return Err(format!(
                "`{}` needs the simulator in TLS mode (--tls-dir DIR, SimConfig::tls_dir)",
                fault.kind()
            ));
        }
        if matches!(fault, Fault::TlsHandshakeRefused { .. }) && (method.is_some() || resource.is_some()) {
            return Err(
                "`tls_handshake_refused` strikes a TLS handshake, before any request is read: it \
                        cannot filter on `method` or `resource` (count connections with `skip`)"
                    .into(),
            );
        }
        let probability = match o.get("probability") {
            None | Some(Json::Null) => None,
            Some(p) => {
                let p = p
                    .as_f64()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or("`probability` must be a number within 0..=1")?;
                Some(p)
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let seed = opt_u64(o, "seed")?.unwrap_or_else(|| mix(self.seed, id));
        self.rules.push(Rule {
            id,
            method,
            resource,
            fault,
            times: opt_u64(o, "times")?,
            skip: opt_u64(o, "skip")?.unwrap_or(0),
            probability,
            seed,
            rng: Rng(seed),
            spec: v.clone(),
            seen: 0,
            fired: 0,
        });
        Ok(id)
    }

    /// Removes every rule (the fired counters stay until a reset).
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Decides the faults of one request.
    pub fn decide(&mut self, method: &str, resource: &str) -> Decision {
        let mut d = Decision::default();
        for rule in &mut self.rules {
            let matches = !rule.strikes_handshakes()
                && rule.method.as_deref().map_or(true, |m| m == method)
                && rule.resource.as_deref().map_or(true, |r| r == resource);
            if !matches {
                continue;
            }
            rule.seen += 1;
            let is_latency = matches!(rule.fault, Fault::Latency { .. });
            if !is_latency && d.fault.is_some() {
                continue;
            }
            if !rule.fires() {
                continue;
            }
            *self.fired.entry(rule.fault.kind()).or_insert(0) += 1;
            match &rule.fault {
                Fault::Latency { ms } => d.latency_ms = d.latency_ms.saturating_add(*ms),
                f => d.fault = Some(f.clone()),
            }
        }
        d
    }

    /// Decides whether the TLS handshake of a new connection is refused:
    /// every handshake rule counts it, the first that fires wins.
    pub fn decide_handshake(&mut self) -> Option<HandshakeRefusal> {
        let mut refusal = None;
        for rule in self.rules.iter_mut().filter(|r| r.strikes_handshakes()) {
            rule.seen += 1;
            if refusal.is_some() || !rule.fires() {
                continue;
            }
            *self.fired.entry(rule.fault.kind()).or_insert(0) += 1;
            if let Fault::TlsHandshakeRefused { mode } = rule.fault {
                refusal = Some(mode);
            }
        }
        refusal
    }

    /// The rules with their counters, as JSON.
    pub fn rules_json(&self) -> Json {
        Json::Array(
            self.rules
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "rule": r.spec,
                        "seed": r.seed,
                        "seen": r.seen,
                        "fired": r.fired,
                        "exhausted": r.times.is_some_and(|t| r.fired >= t),
                    })
                })
                .collect(),
        )
    }

    /// How many faults fired, by kind.
    pub fn fired_json(&self) -> Json {
        json!(self.fired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: Json) -> Faults {
        let mut f = Faults::new(7, false);
        f.add(&v).unwrap();
        f
    }

    #[test]
    fn skip_and_times() {
        let mut f = rule(
            json!({"method":"POST","resource":"bill_sheets","fault":{"kind":"http_error","status":503},"times":1,"skip":1}),
        );
        f.add(&json!({"method":"post","resource":"bill_sheets","fault":{"kind":"rate_limit","retry_after":2},"times":1,"skip":2})).unwrap();
        assert_eq!(f.decide("GET", "bill_sheets"), Decision::default());
        assert_eq!(f.decide("POST", "firms"), Decision::default());
        assert_eq!(f.decide("POST", "bill_sheets").fault, None);
        assert!(matches!(
            f.decide("POST", "bill_sheets").fault,
            Some(Fault::HttpError { status: 503, .. })
        ));
        assert!(matches!(
            f.decide("POST", "bill_sheets").fault,
            Some(Fault::RateLimit { retry_after: 2 })
        ));
        assert_eq!(f.decide("POST", "bill_sheets").fault, None);
    }

    #[test]
    fn latency_adds_up_with_a_fault() {
        let mut f = rule(json!({"fault":{"kind":"latency","ms":5}}));
        f.add(&json!({"fault":{"kind":"latency","ms":7}})).unwrap();
        f.add(&json!({"fault":{"kind":"drop_after_commit"}})).unwrap();
        let d = f.decide("PUT", "firms");
        assert_eq!(d.latency_ms, 12);
        assert_eq!(d.fault, Some(Fault::DropAfterCommit { mode: DropMode::Reset }));
    }

    #[test]
    fn probability_is_seeded() {
        let run = |seed: u64| {
            let mut f = Faults::new(seed, false);
            f.add(&json!({"fault":{"kind":"http_error"},"probability":0.5}))
                .unwrap();
            (0..64)
                .map(|_| f.decide("GET", "firms").fault.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let hits = run(1).iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits}");
    }

    #[test]
    fn bad_rules() {
        let mut f = Faults::new(0, false);
        for bad in [
            json!([]),
            json!({"fault":{"kind":"nope"}}),
            json!({"fault":{"kind":"latency"}}),
            json!({"fault":{"kind":"http_error","status":200}}),
            json!({"resource":"planets","fault":{"kind":"drop"}}),
            json!({"method":"PATCH","fault":{"kind":"drop"}}),
            json!({"fault":{"kind":"drop"},"probability":2}),
            json!({"fault":{"kind":"drop"},"times":-1}),
            json!({"fault":{"kind":"drop"},"tims":1}),
            json!({"fault":{"kind":"drop","mode":"explode"}}),
            json!({"fault":{"kind":"tls_cut_mid_body"}}),
        ] {
            assert!(f.add(&bad).is_err(), "{bad}");
        }
        let e = f.add(&json!({"fault":{"kind":"tls_reset_after_commit"}})).unwrap_err();
        assert!(e.contains("needs the simulator in TLS mode"), "{e}");
        let mut tls = Faults::new(0, true);
        for bad in [
            json!({"method":"POST","fault":{"kind":"tls_handshake_refused"}}),
            json!({"resource":"firms","fault":{"kind":"tls_handshake_refused"}}),
            json!({"fault":{"kind":"tls_handshake_refused","mode":"close"}}),
        ] {
            assert!(tls.add(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn handshake_rules_count_connections_not_requests() {
        let mut f = Faults::new(0, true);
        f.add(&json!({"fault":{"kind":"tls_handshake_refused","mode":"reset"},"skip":1,"times":1}))
            .unwrap();
        f.add(&json!({"method":"POST","fault":{"kind":"tls_cut_mid_body"},"times":1}))
            .unwrap();
        // Requests never see the handshake rule.
        assert_eq!(f.decide("GET", "firms"), Decision::default());
        assert_eq!(f.decide("POST", "firms").fault, Some(Fault::TlsCutMidBody));
        // Handshakes never see request rules: skip one, refuse one, then none.
        assert_eq!(f.decide_handshake(), None);
        assert_eq!(f.decide_handshake(), Some(HandshakeRefusal::Reset));
        assert_eq!(f.decide_handshake(), None);
        let rules = f.rules_json();
        assert_eq!(rules[0]["seen"], 3);
        assert_eq!(rules[0]["fired"], 1);
        assert_eq!(rules[1]["seen"], 1);
        assert_eq!(f.fired_json()["tls_handshake_refused"], 1);
        assert_eq!(f.fired_json()["tls_cut_mid_body"], 1);
    }
}
