//! The per-customer queue of scale-out (see [`crate::partition`]): a
//! broker's delayed retry goes to the back of its queue, so while one record
//! of a customer waits for a retry, the customer's later records wait too.
//! [`CustomerQueue::gate`] before a record runs, [`CustomerQueue::settle`]
//! when it ends.

use serde::{Deserialize, Serialize};

/// How long (ms) past its `notBefore` a waiting record may stay at the head
/// of its customer's queue before a later record evicts it (its message was
/// lost, e.g. moved to a failure transport), unless the host says otherwise.
pub const DEFAULT_STALE_AFTER_MS: u64 = 15 * 60 * 1000;

/// A record waiting in its customer's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// The record key (see [`super::Route::record_key`]).
    pub record: String,
    /// Not before (ms since the epoch): its retry time, or for a record
    /// behind another, the time it was requeued to.
    #[serde(default)]
    pub not_before: u64,
    /// The record's place in its customer's sequence, when the producer
    /// numbered it (see [`CustomerQueue::gate_in_sequence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// The records of one customer that wait, in the order they must run. The
/// host stores it per customer (a row keyed by the partition key). Empty:
/// any record of the customer may run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerQueue {
    /// Waiting records, the first one ahead of the others.
    pub waiting: Vec<Waiting>,
    /// Numbered records: every number up to this one has ended.
    #[serde(skip_serializing_if = "is_zero")]
    pub done_through: u64,
    /// Numbered records: since when (ms) the next number is expected.
    #[serde(skip_serializing_if = "is_zero")]
    pub next_since: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Gate {
    /// Run the record now.
    Run,
    /// Requeue the record, not before `not_before` (ms since the epoch).
    Defer {
        /// ms since the epoch.
        not_before: u64,
        /// `retry_pending` (its own retry is not due) or `customer_waiting`.
        reason: String,
        /// The record this one waits behind, when another.
        behind: Option<String>,
    },
}

/// How a record ended, for [`CustomerQueue::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Settled {
    /// Synced, skipped or quarantined: the record leaves the queue.
    Ended,
    /// Deferred or waiting for a retry: it keeps (or takes) its place.
    Waiting,
}

/// Gap (ms) between the head's retry and the records behind it, per position,
/// so that redeliveries come back roughly in order (the gate enforces it).
const SPACING_MS: u64 = 200;

impl CustomerQueue {
    /// Nothing waits and no sequence is remembered: the host may delete the
    /// customer's row (a missing row reads as this empty state).
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.done_through == 0
    }

    /// Whether a record may run now. A record that runs takes the head of
    /// the queue until it settles, so that if its worker dies or throws
    /// (its message comes back later, perhaps behind the customer's next
    /// records) the records behind it wait for it. A record behind another
    /// takes its place at the end of the queue (once) and is deferred; the
    /// head runs when its retry is due. A head stale for longer than
    /// `stale_after_ms` past its retry time is dropped (its message was
    /// lost), so a customer is never blocked for ever.
    pub fn gate(&mut self, record: &str, now: u64, stale_after_ms: u64) -> Gate {
        while let Some(head) = self.waiting.first() {
            let stale = head.record != record && now > head.not_before.saturating_add(stale_after_ms);
            if !stale {
                break;
            }
            self.waiting.remove(0);
        }
        let Some(head) = self.waiting.first() else {
            self.waiting.push(Waiting {
                record: record.to_string(),
                not_before: now,
                seq: None,
            });
            return Gate::Run;
        };
        if head.record == record {
            return if now >= head.not_before {
                Gate::Run
            } else {
                Gate::Defer {
                    not_before: head.not_before,
                    reason: "retry_pending".into(),
                    behind: None,
                }
            };
        }
        let head_due = head.not_before.max(now);
        let behind = Some(head.record.clone());
        let position = match self.waiting.iter().position(|w| w.record == record) {
            Some(p) => p,
            None => {
                self.waiting.push(Waiting {
                    record: record.to_string(),
                    not_before: 0,
                    seq: None,
                });
                self.waiting.len() - 1
            }
        };
        let offset = SPACING_MS.saturating_mul(u64::try_from(position).unwrap_or(u64::MAX).min(50));
        let not_before = head_due.saturating_add(SPACING_MS).saturating_add(offset);
        // The record comes back then: once it is at the head, it runs from
        // that time, and is stale only long after it.
        if let Some(w) = self.waiting.get_mut(position) {
            w.not_before = not_before;
        }
        Gate::Defer {
            not_before,
            reason: "customer_waiting".into(),
            behind,
        }
    }

    /// [`CustomerQueue::gate`] for a record the producer numbered `seq`
    /// (1, 2, 3… per customer, in the order they must run): the record runs
    /// only when every smaller number has ended, so a message that comes
    /// back late (its worker died before the gate saw it, and the broker
    /// requeued it behind the customer's next records) still runs first.
    /// A number already ended runs (a redelivery: the ledger makes it a
    /// no-op). A missing number blocks the customer for at most
    /// `stale_after_ms`, then the records after it go on.
    pub fn gate_in_sequence(&mut self, record: &str, seq: u64, now: u64, stale_after_ms: u64) -> Gate {
        if seq <= self.done_through {
            return Gate::Run;
        }
        if self.next_since == 0 {
            self.next_since = now;
        }
        if seq > self.done_through.saturating_add(1) && now > self.next_since.saturating_add(stale_after_ms) {
            // The numbers before it never came (messages lost): go on.
            self.done_through = seq - 1;
            self.next_since = now;
            self.waiting.retain(|w| w.seq.map_or(true, |s| s >= seq));
        }
        let next = self.done_through.saturating_add(1);
        let own = self.waiting.iter().position(|w| w.record == record);
        if seq == next {
            match own {
                Some(i) if self.waiting[i].not_before > now => {
                    return Gate::Defer {
                        not_before: self.waiting[i].not_before,
                        reason: "retry_pending".into(),
                        behind: None,
                    }
                }
                Some(i) => {
                    let mine = self.waiting.remove(i);
                    self.waiting.insert(
                        0,
                        Waiting {
                            not_before: now,
                            ..mine
                        },
                    );
                }
                None => self.waiting.insert(
                    0,
                    Waiting {
                        record: record.to_string(),
                        not_before: now,
                        seq: Some(seq),
                    },
                ),
            }
            return Gate::Run;
        }
        let head = self.waiting.iter().find(|w| w.seq == Some(next));
        let head_due = head.map_or(now, |h| h.not_before.max(now));
        let behind = head.map(|h| h.record.clone());
        let offset = SPACING_MS.saturating_mul((seq - next).min(50));
        let not_before = head_due.saturating_add(SPACING_MS).saturating_add(offset);
        match own {
            Some(i) => self.waiting[i].not_before = not_before,
            None => self.waiting.push(Waiting {
                record: record.to_string(),
                not_before,
                seq: Some(seq),
            }),
        }
        Gate::Defer {
            not_before,
            reason: "customer_waiting".into(),
            behind,
        }
    }

    /// Records how a record that ran ended: `Ended` removes it (and, for a
    /// numbered record, lets the next number run), `Waiting` keeps its place
    /// (at the head, where a record that ran always is) with its new retry time.
    pub fn settle(&mut self, record: &str, settled: Settled, not_before: u64) {
        match settled {
            Settled::Ended => {
                if let Some(seq) = self.waiting.iter().find(|w| w.record == record).and_then(|w| w.seq) {
                    if seq == self.done_through.saturating_add(1) {
                        self.done_through = seq;
                        self.next_since = 0;
                    }
                }
                self.waiting.retain(|w| w.record != record)
            }
            Settled::Waiting => match self.waiting.iter_mut().find(|w| w.record == record) {
                Some(w) => w.not_before = not_before,
                None => self.waiting.insert(
                    0,
                    Waiting {
                        record: record.to_string(),
                        not_before,
                        seq: None,
                    },
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_keeps_a_customers_order_whatever_the_redelivery_order() {
        let mut q = CustomerQueue::default();
        assert_eq!(q.gate("a", 0, 1000), Gate::Run);
        q.settle("a", Settled::Waiting, 500);
        // b and c arrive while a waits: they queue behind it.
        assert!(matches!(q.gate("b", 10, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate("c", 20, 100_000), Gate::Defer { .. }));
        // c comes back first, then a before its time, then a in time.
        assert!(matches!(q.gate("c", 600, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate("a", 400, 100_000), Gate::Defer { ref reason, .. } if reason == "retry_pending"));
        assert_eq!(q.gate("a", 600, 100_000), Gate::Run);
        q.settle("a", Settled::Ended, 0);
        assert!(matches!(q.gate("c", 700, 100_000), Gate::Defer { .. }));
        // b comes back at the time it was requeued to (not before).
        assert!(matches!(q.gate("b", 800, 100_000), Gate::Defer { ref reason, .. } if reason == "retry_pending"));
        assert_eq!(q.gate("b", 900, 100_000), Gate::Run);
        q.settle("b", Settled::Ended, 0);
        assert_eq!(q.gate("c", 1300, 100_000), Gate::Run);
        q.settle("c", Settled::Ended, 0);
        assert!(q.waiting.is_empty());
    }

    #[test]
    fn a_record_promoted_to_the_head_is_not_stale() {
        let mut q = CustomerQueue::default();
        q.settle("a", Settled::Waiting, 100);
        let Gate::Defer { not_before, .. } = q.gate("b", 50, 1000) else {
            panic!("b waits behind a")
        };
        assert_eq!(q.gate("a", 100, 1000), Gate::Run);
        q.settle("a", Settled::Ended, 0);
        // c arrives long after b was queued, but before b's time is stale.
        assert!(matches!(q.gate("c", not_before + 500, 1000), Gate::Defer { .. }));
        assert_eq!(q.gate("b", not_before + 600, 1000), Gate::Run);
    }

    #[test]
    fn a_record_whose_worker_died_keeps_its_place() {
        let mut q = CustomerQueue::default();
        assert_eq!(q.gate("a", 0, 100_000), Gate::Run);
        // The worker dies before settling a; b arrives first, a comes back.
        assert!(matches!(q.gate("b", 10, 100_000), Gate::Defer { behind: Some(ref h), .. } if h == "a"));
        assert_eq!(q.gate("a", 20, 100_000), Gate::Run);
        q.settle("a", Settled::Ended, 0);
        assert_eq!(q.gate("b", 500, 100_000), Gate::Run);
        q.settle("b", Settled::Ended, 0);
        assert!(q.waiting.is_empty());
    }

    #[test]
    fn numbered_records_run_in_their_order_whatever_order_they_arrive_in() {
        let mut q = CustomerQueue::default();
        assert_eq!(q.gate_in_sequence("r1", 1, 0, 100_000), Gate::Run);
        q.settle("r1", Settled::Ended, 0);
        // r2's worker died before its gate; r3 and r4 arrive first.
        assert!(matches!(q.gate_in_sequence("r3", 3, 10, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate_in_sequence("r4", 4, 20, 100_000), Gate::Defer { .. }));
        assert!(matches!(q.gate_in_sequence("r4", 4, 900, 100_000), Gate::Defer { .. }));
        assert_eq!(q.gate_in_sequence("r2", 2, 1000, 100_000), Gate::Run);
        // A retry of r2 keeps r3 waiting.
        q.settle("r2", Settled::Waiting, 2000);
        assert!(
            matches!(q.gate_in_sequence("r3", 3, 1500, 100_000), Gate::Defer { behind: Some(ref h), .. } if h == "r2")
        );
        assert!(
            matches!(q.gate_in_sequence("r2", 2, 1500, 100_000), Gate::Defer { ref reason, .. } if reason == "retry_pending")
        );
        assert_eq!(q.gate_in_sequence("r2", 2, 2000, 100_000), Gate::Run);
        q.settle("r2", Settled::Ended, 0);
        assert!(matches!(q.gate_in_sequence("r4", 4, 2100, 100_000), Gate::Defer { .. }));
        // r3 comes back at the time it was requeued to, then r4.
        assert_eq!(q.gate_in_sequence("r3", 3, 2400, 100_000), Gate::Run);
        q.settle("r3", Settled::Ended, 0);
        assert_eq!(q.gate_in_sequence("r4", 4, 2800, 100_000), Gate::Run);
        q.settle("r4", Settled::Ended, 0);
        // A redelivered copy of an ended record runs (the ledger skips it).
        assert_eq!(q.gate_in_sequence("r2", 2, 2900, 100_000), Gate::Run);
        assert!(q.waiting.is_empty());
        assert_eq!(q.done_through, 4);
    }

    #[test]
    fn a_number_that_never_comes_blocks_its_customer_only_until_stale() {
        let mut q = CustomerQueue::default();
        assert!(matches!(q.gate_in_sequence("r2", 2, 1, 1000), Gate::Defer { .. }));
        assert!(matches!(q.gate_in_sequence("r2", 2, 900, 1000), Gate::Defer { .. }));
        assert_eq!(q.gate_in_sequence("r2", 2, 1500, 1000), Gate::Run);
        q.settle("r2", Settled::Ended, 0);
        assert_eq!(q.done_through, 2);
        // The JSON call reads the same state back: see api::partition's tests.
        let mut next = q.clone();
        assert_eq!(next.gate_in_sequence("r3", 3, 1600, DEFAULT_STALE_AFTER_MS), Gate::Run);
    }

    #[test]
    fn a_stale_head_is_dropped() {
        let mut q = CustomerQueue::default();
        q.settle("a", Settled::Waiting, 100);
        assert!(matches!(q.gate("b", 200, 1000), Gate::Defer { .. }));
        assert_eq!(q.gate("b", 2000, 1000), Gate::Run);
    }
}
