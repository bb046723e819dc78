//! The order in which list pages return a resource's objects, kept as two
//! id vectors per resource so that a page is a slice (O(page), whatever the
//! size of the account) in either order mode.

use std::fmt;

/// How list pages order objects. incwo does not document its list order
/// (REFERENCE.md 1.6–1.7), so the simulator models both cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Ascending id: page 1 holds the oldest objects, the last page the
    /// newest (the default).
    #[default]
    Ascending,
    /// A deterministic but non-monotonic permutation (sorted by a hash of
    /// the id and the simulator seed): stable between requests while nothing
    /// is created or deleted; a new object lands at an arbitrary position.
    Unknown,
}

impl ListOrder {
    /// Reads `ascending` or `unknown`.
    pub fn parse(text: &str) -> Option<ListOrder> {
        match text {
            "ascending" => Some(ListOrder::Ascending),
            "unknown" => Some(ListOrder::Unknown),
            _ => None,
        }
    }

    /// `ascending` or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            ListOrder::Ascending => "ascending",
            ListOrder::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ListOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SplitMix64's finaliser: a cheap, well-spread 64-bit hash.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The ids of one resource in both list orders.
#[derive(Debug, Clone, Default)]
pub struct Orders {
    /// Ids ascending.
    asc: Vec<u64>,
    /// `(hash key, id)` ascending: the `unknown` order.
    shuffled: Vec<(u64, u64)>,
}

impl Orders {
    fn key(salt: u64, id: u64) -> (u64, u64) {
        (splitmix(id ^ salt), id)
    }

    /// The salt of the `unknown` order for a simulator seed.
    pub fn salt(seed: u64) -> u64 {
        splitmix(seed ^ 0x0DE5_1157_0BDE_5EED)
    }

    /// Adds one id (O(n) memmove at worst, no sort).
    pub fn insert(&mut self, salt: u64, id: u64) {
        match self.asc.last() {
            Some(last) if *last >= id => {
                if let Err(pos) = self.asc.binary_search(&id) {
                    self.asc.insert(pos, id);
                }
            }
            _ => self.asc.push(id),
        }
        let key = Self::key(salt, id);
        if let Err(pos) = self.shuffled.binary_search(&key) {
            self.shuffled.insert(pos, key);
        }
    }

    /// Adds many ids, all greater than any present, at once (one sort).
    pub fn extend(&mut self, salt: u64, ids: impl Iterator<Item = u64> + Clone) {
        self.asc.extend(ids.clone());
        self.shuffled.extend(ids.map(|id| Self::key(salt, id)));
        self.shuffled.sort_unstable();
    }

    /// Removes an id.
    pub fn remove(&mut self, salt: u64, id: u64) {
        if let Ok(pos) = self.asc.binary_search(&id) {
            self.asc.remove(pos);
        }
        if let Ok(pos) = self.shuffled.binary_search(&Self::key(salt, id)) {
            self.shuffled.remove(pos);
        }
    }

    /// The ids at positions `start..start + len` in that order (fewer, or
    /// none, past the end).
    pub fn slice(&self, order: ListOrder, start: usize, len: usize) -> Vec<u64> {
        let end = |n: usize| start.saturating_add(len).min(n);
        match order {
            ListOrder::Ascending if start < self.asc.len() => self.asc[start..end(self.asc.len())].to_vec(),
            ListOrder::Unknown if start < self.shuffled.len() => self.shuffled[start..end(self.shuffled.len())]
                .iter()
                .map(|(_, id)| *id)
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_orders_hold_every_id_once() {
        let salt = Orders::salt(0);
        let mut o = Orders::default();
        o.extend(salt, 1..=1000u64);
        o.insert(salt, 1001);
        o.remove(salt, 500);
        for order in [ListOrder::Ascending, ListOrder::Unknown] {
            let mut all: Vec<u64> = (0..11).flat_map(|p| o.slice(order, p * 100, 100)).collect();
            if order == ListOrder::Unknown {
                assert_ne!(all, (1..=1001).filter(|i| *i != 500).collect::<Vec<_>>());
            }
            all.sort_unstable();
            assert_eq!(all, (1..=1001).filter(|i| *i != 500).collect::<Vec<_>>());
        }
        assert!(o.slice(ListOrder::Unknown, 5000, 10).is_empty());
    }

    #[test]
    fn the_unknown_order_is_not_monotonic_and_depends_on_the_seed() {
        let mut a = Orders::default();
        let mut b = Orders::default();
        a.extend(Orders::salt(0), 1..=50u64);
        b.extend(Orders::salt(1), 1..=50u64);
        let (pa, pb) = (a.slice(ListOrder::Unknown, 0, 50), b.slice(ListOrder::Unknown, 0, 50));
        assert_ne!(pa, pb);
        assert!(pa.windows(2).any(|w| w[0] > w[1]) && pa.windows(2).any(|w| w[0] < w[1]));
        assert_eq!(ListOrder::parse("unknown"), Some(ListOrder::Unknown));
        assert_eq!(ListOrder::parse("random"), None);
        assert_eq!(ListOrder::Ascending.to_string(), "ascending");
    }
}
