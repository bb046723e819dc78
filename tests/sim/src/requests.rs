//! What clients asked: request counters by resource and method, and a
//! bounded log of requests in the order the simulator handled them, so a
//! benchmark can count requests per record and check that the requests of
//! one customer arrived in order.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use serde_json::{json, Map, Value as Json};

/// Most log entries kept; older ones are dropped (and counted).
pub const LOG_CAPACITY: usize = 200_000;
/// Default and largest `limit` of one log read.
pub const LOG_PAGE: (usize, usize) = (1_000, 10_000);

/// One request as the simulator saw it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// 1, 2, … in the order requests were handled (committed) or, for those
    /// a fault stopped, refused.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Resource name, or `-` when the path names none.
    pub resource: &'static str,
    /// Path and query.
    pub path: String,
    /// Status answered by the handler; `None` when a fault closed the
    /// connection before any handling.
    pub status: Option<u16>,
    /// The fault kind that struck the request, if any.
    pub fault: Option<&'static str>,
    /// The object read, created, updated or deleted.
    pub id: Option<u64>,
    /// Its marker after the request (none once deleted).
    pub marker: Option<String>,
    /// Its `firm_id` (documents, contacts) after the request.
    pub firm_id: Option<u64>,
    /// Microseconds since the simulator started when the request arrived
    /// (before any latency).
    pub arrived_us: u64,
    /// Microseconds since the simulator started when it was handled
    /// (committed) or, when a fault stopped it, answered; its response is
    /// never sent earlier.
    pub handled_us: u64,
}

impl Entry {
    fn to_json(&self) -> Json {
        json!({
            "seq": self.seq, "method": self.method, "resource": self.resource, "path": self.path,
            "status": self.status, "fault": self.fault, "id": self.id,
            "marker": self.marker, "firmId": self.firm_id,
            "arrivedUs": self.arrived_us, "handledUs": self.handled_us,
        })
    }
}

/// Counters and log of API requests (admin calls are not counted).
#[derive(Debug)]
pub struct Requests {
    /// Origin of the entries' times (kept by a reset).
    started: Instant,
    /// Resource → method → count, every API request at arrival (faults
    /// included).
    pub by_resource: BTreeMap<String, BTreeMap<String, u64>>,
    log: VecDeque<Entry>,
    next_seq: u64,
    dropped: u64,
}

impl Requests {
    /// Microseconds since the simulator started.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Counts a request at its arrival.
    pub fn count(&mut self, resource: &str, method: &str) {
        *self
            .by_resource
            .entry(resource.to_string())
            .or_default()
            .entry(method.to_string())
            .or_insert(0) += 1;
    }

    /// Appends an entry (its `seq` is given here).
    pub fn log(&mut self, mut entry: Entry) {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        entry.handled_us = self.now_us();
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
            self.dropped += 1;
        }
        self.log.push_back(entry);
    }

    /// `{"total", "byMethod", "byResource", "byResourceMethod"}`.
    pub fn summary_json(&self) -> Json {
        let mut by_method: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_resource = Map::new();
        let mut total = 0;
        for (res, methods) in &self.by_resource {
            let n: u64 = methods.values().sum();
            total += n;
            by_resource.insert(res.clone(), json!(n));
            for (m, c) in methods {
                *by_method.entry(m).or_insert(0) += c;
            }
        }
        json!({
            "total": total,
            "byMethod": by_method,
            "byResource": by_resource,
            "byResourceMethod": self.by_resource,
        })
    }

    /// Entries with `seq > after`, at most `limit`: `{"entries", "next",
    /// "dropped"}`; `next` is the `after` of the following read.
    pub fn log_json(&self, after: u64, limit: usize) -> Json {
        // Entries hold consecutive seqs, so the start is computed, not searched.
        let first_seq = self.log.front().map_or(self.next_seq + 1, |e| e.seq);
        let skip = usize::try_from(after.saturating_add(1).saturating_sub(first_seq)).unwrap_or(usize::MAX);
        let entries: Vec<Json> = self.log.iter().skip(skip).take(limit).map(Entry::to_json).collect();
        let next = entries
            .last()
            .and_then(|e| e["seq"].as_u64())
            .unwrap_or(after.max(first_seq.saturating_sub(1)).min(self.next_seq));
        json!({"entries": entries, "next": next, "dropped": self.dropped})
    }

    /// Forgets counters and log (sequence numbers start again at 1; times
    /// keep their origin).
    pub fn reset(&mut self) {
        *self = Requests {
            started: self.started,
            ..Requests::default()
        };
    }
}

impl Default for Requests {
    fn default() -> Self {
        Requests {
            started: Instant::now(),
            by_resource: BTreeMap::new(),
            log: VecDeque::new(),
            next_seq: 0,
            dropped: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str) -> Entry {
        Entry {
            method: method.into(),
            resource: "firms",
            ..Entry::default()
        }
    }

    #[test]
    fn summary_and_log_pages() {
        let mut r = Requests::default();
        r.count("firms", "GET");
        r.count("firms", "POST");
        r.count("-", "GET");
        let s = r.summary_json();
        assert_eq!(s["total"], 3);
        assert_eq!(s["byMethod"]["GET"], 2);
        assert_eq!(s["byResource"]["firms"], 2);
        assert_eq!(s["byResourceMethod"]["firms"]["POST"], 1);
        for _ in 0..5 {
            r.log(entry("GET"));
        }
        let page = r.log_json(0, 2);
        assert_eq!(page["entries"].as_array().unwrap().len(), 2);
        assert_eq!(page["next"], 2);
        let page = r.log_json(2, 10);
        assert_eq!(page["entries"][0]["seq"], 3);
        assert_eq!(page["next"], 5);
        let page = r.log_json(5, 10);
        assert!(page["entries"].as_array().unwrap().is_empty());
        assert_eq!(page["next"], 5);
        r.reset();
        assert_eq!(r.summary_json()["total"], 0);
        assert_eq!(r.log_json(0, 10)["next"], 0);
    }

    #[test]
    fn the_log_is_bounded() {
        let mut r = Requests::default();
        for _ in 0..LOG_CAPACITY + 3 {
            r.log(entry("GET"));
        }
        let page = r.log_json(0, 1);
        assert_eq!(page["dropped"], 3);
        assert_eq!(page["entries"][0]["seq"], 4);
    }
}
