//! What a record holds while it runs in a lane: its customer, the documents
//! it is or names (written) and the product SKUs it is (written) or names
//! (read). Two records are independent when no key one writes is held by
//! the other.

use super::super::tasks::customer_of;
use crate::flow::Flow;
use crate::model::Record;
use std::collections::BTreeMap;

/// A key a record holds while it runs: what it is (`kind`, id).
pub(super) type Key = (&'static str, String);

/// The keys of record `index`, each with whether the record writes it.
pub(super) fn keys_of(flow: &Flow, index: usize) -> Vec<(Key, bool)> {
    let Ok(record) = flow.items[index].record.as_ref() else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    if let Some(customer) = customer_of(flow, index) {
        keys.push((("customer", customer), true));
    }
    let mut write = |kind: &'static str, id: &str| keys.push(((kind, id.to_string()), true));
    let read_lines = |lines: &[crate::model::Line]| -> Vec<(Key, bool)> {
        lines.iter().map(|l| (("sku", l.sku.clone()), false)).collect()
    };
    let lines = match record {
        Record::Customer(_) => Vec::new(),
        Record::Product(p) => {
            write("sku", &p.sku);
            Vec::new()
        }
        Record::Quote(q) => {
            write("quote", &q.quote_number);
            read_lines(&q.lines)
        }
        Record::Order(o) => {
            write("order", &o.order_number);
            if let Some(quote) = &o.source_quote {
                write("quote", quote);
            }
            read_lines(&o.lines)
        }
        Record::Invoice(i) => {
            write("invoice", &i.invoice_number);
            write("order", &i.source_order);
            read_lines(&i.lines)
        }
        Record::StockMovement(m) => {
            write("movement", &m.movement_id);
            if let Some(order) = &m.source_order {
                write("order", order);
            }
            vec![(("sku", m.sku.clone()), false)]
        }
        Record::Cancellation(c) => {
            write("order", &c.order_number);
            Vec::new()
        }
    };
    keys.extend(lines);
    keys
}

/// Keys held (true: written by one of their holders).
pub(super) type Held = BTreeMap<Key, bool>;

/// Whether `keys` clash with what is held (a key written on either side).
pub(super) fn conflicts(held: &Held, keys: &[(Key, bool)]) -> bool {
    keys.iter()
        .any(|(k, write)| held.get(k).is_some_and(|held_write| *write || *held_write))
}

/// Adds `keys` to what is held.
pub(super) fn hold(held: &mut Held, keys: Vec<(Key, bool)>) {
    for (k, write) in keys {
        *held.entry(k).or_default() |= write;
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use super::*;

    #[test]
    fn keys_say_what_a_record_writes_and_what_it_only_reads() {
        let flow = flow_of(&[invoice("F1", "O1", &[("P1", "1")]), product("P1")]);
        let keys = keys_of(&flow, 0);
        assert!(keys.contains(&(("order", "O1".into()), true)));
        assert!(keys.contains(&(("invoice", "F1".into()), true)));
        assert!(keys.contains(&(("sku", "P1".into()), false)));
        let mut held = Held::new();
        hold(&mut held, keys);
        assert!(conflicts(&held, &keys_of(&flow, 1)), "the product's record writes P1");
        assert!(!conflicts(&held, &[(("sku", "P1".into()), false)]), "two readers share");
    }

    #[test]
    fn records_of_one_customer_conflict_and_of_two_do_not() {
        let mut other = quote("Q3");
        other["record"]["customerExternalId"] = "C2".into();
        let flow = flow_of(&[quote("Q1"), quote("Q2"), other]);
        let mut held = Held::new();
        hold(&mut held, keys_of(&flow, 0));
        assert!(conflicts(&held, &keys_of(&flow, 1)), "Q2 is C1's too");
        assert!(
            !conflicts(&held, &keys_of(&flow, 2)),
            "Q3 is C2's and names P1 only to read it"
        );
    }
}
