//! The marker index: what the connector knows of the objects in incwo, by
//! marker, per resource, and how far that knowledge is proven complete.
//!
//! incwo has no search (docs/INCWO-API.md 1.7), so proving that an object
//! with a marker does *not* exist means reading list pages. The index keeps
//! every marker read (and every object the connector created), so that a
//! lookup costs nothing when the object is known and, when it is not, only
//! the pages newer than what the index already covers:
//!
//! - **Ascending id order** (what incwo's lists are believed to do, checked
//!   on every page read): the *watermark* is the highest id up to which the
//!   index holds every marked object. A pass reads the last page, then
//!   backwards, until a page reaches the watermark; then every object up to
//!   the pass's highest id is known. The first pass of an empty index reads
//!   every page (the sweep that builds it); later ones usually read one page.
//!   Reading backwards never misses an object: a deletion shifts objects
//!   towards pages already to be read, a creation lands on the last page.
//! - **Unknown order** (a page broke the ascending order): a pass reads every
//!   page, once per run; absence is then proven by the index plus that pass.
//!   A reconciliation of a lost create needs a pass *begun after* it (see
//!   [`MarkerIndex::tick`]): it waits until nothing else can go on, then one
//!   pass serves every reconciliation waiting by then.
//!
//! A pass survives a run that ends midway (its next page and bounds are part
//! of the resource's [`Coverage`]), so a sweep cut short by the run's page
//! budget resumes where it stopped. The index is a cache of incwo's state,
//! never a source of truth: losing it costs requests, not correctness.
//!
//! Hosts persist it beside the ledger: [`Flow::take_index_changes`] after each
//! answer, [`Flow::load_index`] before the first poll. Per entry that is the
//! marker plus a small [`Found`] (about 40 bytes of JSON for a firm, 110 for
//! a document).
//!
//! [`Flow::take_index_changes`]: crate::flow::Flow::take_index_changes
//! [`Flow::load_index`]: crate::flow::Flow::load_index

use crate::adapters::{Adapter, Found, Listing};
use crate::model::Domain;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub use crate::base::profile::ListOrder;

/// How far a resource's index is proven complete, and the pass in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Coverage {
    /// Every marked object with an id up to this one is in the index
    /// (ascending order only; 0: nothing proven yet).
    pub watermark: u64,
    /// The page count last announced by incwo.
    pub total_pages: u32,
    /// The list order observed.
    pub order: ListOrder,
    /// The pass in progress, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Pass>,
}

impl Coverage {
    /// The coverage a store shared by several writers keeps when `incoming`
    /// (a writer's, saved with the entries that justify it) lands on
    /// `stored` (another's, or an earlier one): the watermark never moves
    /// back (each writer's claim holds for the union of the entries saved,
    /// so the higher one does); the pass in progress is the latest writer's
    /// (any saved pass is a sound point to resume from: what it read is
    /// saved); an unknown order, once seen by anyone, stays, with no
    /// watermark and only a pass that reads every page.
    pub fn merge(stored: &Coverage, incoming: &Coverage) -> Coverage {
        if stored.order == ListOrder::Unknown || incoming.order == ListOrder::Unknown {
            let full = |c: &Coverage| c.pass.clone().filter(|p| p.full);
            return Coverage {
                watermark: 0,
                total_pages: incoming.total_pages,
                order: ListOrder::Unknown,
                pass: full(incoming).or_else(|| full(stored)),
            };
        }
        Coverage {
            watermark: stored.watermark.max(incoming.watermark),
            total_pages: incoming.total_pages,
            order: incoming.order,
            pass: incoming.pass.clone(),
        }
    }
}

/// A pass over a resource's list pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pass {
    /// Reads every page, forward (unknown order).
    pub full: bool,
    /// The next page to read.
    pub next_page: u32,
    /// Pages read by this pass so far.
    pub pages_read: u32,
    /// The page count the pass works against (0 until a page was read).
    pub total_pages: u32,
    /// Ascending pass: the highest id read (the new watermark once done).
    pub top: u64,
    /// Ascending pass: the lowest id read so far; a page read next must not
    /// hold a higher one, or the order is not ascending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<u64>,
    /// Ascending pass: whether the pass reads from incwo's last page (the
    /// first page it reads tells where that is).
    pub located: bool,
    /// When the pass began, on this run's clock ([`MarkerIndex::tick`]); 0
    /// for a pass begun by an earlier run, which proves nothing about what
    /// this run lost.
    #[serde(skip)]
    pub begun: u64,
    /// Full pass: the ids read so far in this run. One read twice means the
    /// list moved under the pass (reordered, or an object inserted before
    /// pages already read), so what it read is no snapshot: it starts again.
    #[serde(skip)]
    pub seen: BTreeSet<u64>,
}

/// One resource's markers and coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ResourceIndex {
    entries: BTreeMap<String, Vec<Found>>,
    coverage: Coverage,
}

/// A pass's progress, for a host's progress bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PassProgress {
    /// The resource (`firms`, `proposal_sheets`…).
    pub resource: String,
    /// Pages read by the pass.
    pub pages_read: u32,
    /// Pages the pass reads in all, as far as known (an ascending pass stops
    /// earlier when it reaches the watermark).
    pub total_pages: u32,
}

/// What changed in the index since the host last saved it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IndexChanges {
    /// Entries by resource and marker (the whole list of objects carrying it).
    pub entries: Vec<IndexEntry>,
    /// Coverage by resource.
    pub coverage: BTreeMap<String, Coverage>,
}

/// The objects of one resource carrying one marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    /// The resource.
    pub resource: String,
    /// The marker.
    pub marker: String,
    /// The objects carrying it, by ascending id.
    pub found: Vec<Found>,
}

/// The marker index of one business file (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct MarkerIndex {
    resources: BTreeMap<String, ResourceIndex>,
    changed: BTreeSet<(String, String)>,
    changed_coverage: BTreeSet<String>,
    /// Resources read whole in this run (unknown order), each with when the
    /// last pass that read it whole began.
    fresh: BTreeMap<String, u64>,
    /// This run's clock (see [`MarkerIndex::tick`]).
    clock: u64,
    /// Resources whose pass in progress (or last completed) read its first
    /// page in this run. Only such a pass proves absence: one resumed from
    /// an earlier run read pages before objects created since then were
    /// there (a newest page, read last run, has grown since).
    read_this_run: BTreeSet<String>,
    /// List pages read in this run.
    pages_read: u32,
}

impl MarkerIndex {
    /// Loads what a host saved ([`IndexChanges`] accumulated, or all of it).
    /// A marker's objects come by ascending id, whatever order a store keeps
    /// them in (one row per object, for stores that several writers share).
    pub fn load(&mut self, saved: IndexChanges) {
        for mut e in saved.entries {
            e.found.sort_by_key(|f| f.id);
            e.found.dedup_by_key(|f| f.id);
            self.resource_mut(&e.resource).entries.insert(e.marker, e.found);
        }
        for (resource, mut coverage) in saved.coverage {
            if let Some(pass) = coverage.pass.as_mut() {
                pass.begun = 0; // begun by an earlier run, on another clock
            }
            self.resource_mut(&resource).coverage = coverage;
        }
    }

    /// Everything the index holds, as one [`IndexChanges`] (an export).
    pub fn export(&self) -> IndexChanges {
        let mut all = IndexChanges::default();
        for (resource, r) in &self.resources {
            for (marker, found) in &r.entries {
                all.entries.push(IndexEntry {
                    resource: resource.clone(),
                    marker: marker.clone(),
                    found: found.clone(),
                });
            }
            all.coverage.insert(resource.clone(), r.coverage.clone());
        }
        all
    }

    /// Takes what changed since the last call.
    pub fn take_changes(&mut self) -> IndexChanges {
        let mut changes = IndexChanges::default();
        for (resource, marker) in std::mem::take(&mut self.changed) {
            if let Some(found) = self.resources.get(&resource).and_then(|r| r.entries.get(&marker)) {
                changes.entries.push(IndexEntry {
                    resource,
                    marker,
                    found: found.clone(),
                });
            }
        }
        for resource in std::mem::take(&mut self.changed_coverage) {
            if let Some(r) = self.resources.get(&resource) {
                changes.coverage.insert(resource, r.coverage.clone());
            }
        }
        changes
    }

    /// The object of `domain` carrying `marker`, if the index holds one (the
    /// oldest, should incwo hold several).
    pub fn lookup(&self, domain: Domain, marker: &str) -> Option<Found> {
        let adapter = Adapter::new(domain);
        self.resources
            .get(domain.resource())?
            .entries
            .get(marker)?
            .iter()
            .find(|f| adapter.accepts(f))
            .cloned()
    }

    /// Records an object the connector created or found.
    pub fn record(&mut self, domain: Domain, marker: &str, found: Found) {
        let resource = domain.resource();
        let list = self
            .resource_mut(resource)
            .entries
            .entry(marker.to_string())
            .or_default();
        match list.iter_mut().find(|f| f.id == found.id) {
            Some(known) if *known == found => return,
            Some(known) => *known = found,
            None => {
                list.push(found);
                list.sort_by_key(|f| f.id);
            }
        }
        self.changed.insert((resource.to_string(), marker.to_string()));
    }

    /// The coverage of a resource.
    pub fn coverage(&self, resource: &str) -> Coverage {
        self.resources
            .get(resource)
            .map(|r| r.coverage.clone())
            .unwrap_or_default()
    }

    /// Whether a pass of an unknown-order resource already read it whole in
    /// this run, so that absence from the index is proof enough.
    pub fn read_whole_this_run(&self, resource: &str) -> bool {
        self.coverage(resource).order == ListOrder::Unknown && self.fresh.contains_key(resource)
    }

    /// Moves this run's clock on and returns its new time. A reconciliation
    /// takes a time when it begins (after its create's answer was lost) and
    /// each pass one when it begins: a pass proves a lost create absent only
    /// if its time is later, as a pass begun before may have read the page
    /// where the object landed before it did.
    pub fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Whether a whole read of `resource` (unknown order) begun after time
    /// `mark` completed in this run: absence from the index is then proven
    /// for what was lost before `mark`.
    pub fn read_whole_since(&self, resource: &str, mark: u64) -> bool {
        self.read_whole_this_run(resource) && self.fresh.get(resource).is_some_and(|&begun| begun > mark)
    }

    /// When the pass in progress over `resource` began (see
    /// [`MarkerIndex::tick`]), if one is in progress.
    pub fn pass_begun(&self, resource: &str) -> Option<u64> {
        Some(self.resources.get(resource)?.coverage.pass.as_ref()?.begun)
    }

    /// Whether a reconciliation that took time `mark` can be served now: a
    /// pass begun after it is in progress, or completed.
    pub fn serves(&self, resource: &str, mark: u64) -> bool {
        self.pass_begun(resource).is_some_and(|begun| begun > mark) || self.read_whole_since(resource, mark)
    }

    /// Whether the pass over `resource` in progress, or the last one
    /// completed, read all its pages in this run: a pass resumed from an
    /// earlier run (cut short by its page budget) proves no absence, since
    /// objects may have been created since on pages it had read.
    pub fn passed_this_run(&self, resource: &str) -> bool {
        self.read_this_run.contains(resource)
    }

    /// Starts a pass over `resource` unless one is in progress (a pass cut
    /// short by an earlier run continues); returns whether it started one.
    /// `configured`: the profile's list order (`unknown` forces passes that
    /// read every page).
    pub fn begin_pass(&mut self, resource: &str, configured: ListOrder) -> bool {
        let r = self.resource_mut(resource);
        if r.coverage.pass.is_some() {
            return false;
        }
        if configured == ListOrder::Unknown {
            r.coverage.order = ListOrder::Unknown;
        }
        let full = r.coverage.order == ListOrder::Unknown;
        let next_page = if full { 1 } else { r.coverage.total_pages.max(1) };
        let begun = self.tick();
        self.resource_mut(resource).coverage.pass = Some(Pass {
            full,
            next_page,
            begun,
            ..Pass::default()
        });
        self.changed_coverage.insert(resource.to_string());
        self.read_this_run.remove(resource);
        true
    }

    /// Drops the pass in progress over `resource` (a whole read nobody needs
    /// any more; what it read stays in the index).
    pub fn abandon_pass(&mut self, resource: &str) {
        if let Some(r) = self.resources.get_mut(resource) {
            if r.coverage.pass.take().is_some() {
                self.changed_coverage.insert(resource.to_string());
            }
        }
    }

    /// The page the pass over `resource` reads next; `None` when no pass is
    /// in progress (the last one completed).
    pub fn next_page(&self, resource: &str) -> Option<u32> {
        self.resources
            .get(resource)?
            .coverage
            .pass
            .as_ref()
            .map(|p| p.next_page)
    }

    /// List pages read in this run beyond each pass's first page: what
    /// `maxLookupPages` bounds (sweeps and whole reads, not the one page an
    /// incremental lookup reads).
    pub fn pages_read_this_run(&self) -> u32 {
        self.pages_read
    }

    /// The passes in progress.
    pub fn progress(&self) -> Vec<PassProgress> {
        self.resources
            .iter()
            .filter_map(|(resource, r)| {
                let pass = r.coverage.pass.as_ref()?;
                Some(PassProgress {
                    resource: resource.clone(),
                    pages_read: pass.pages_read,
                    total_pages: pass.total_pages.max(pass.pages_read),
                })
            })
            .collect()
    }

    /// Feeds page `page` of `domain`'s resource, read for the pass in
    /// progress: records its markers and moves the pass on.
    pub fn feed(&mut self, domain: Domain, page: u32, listing: &Listing) {
        let resource = domain.resource();
        // The budget bounds sweeps and whole reads: a pass's first page (all
        // an incremental lookup usually reads) is not counted, so a long
        // import of new records is not cut by it.
        let first_of_pass = self
            .resources
            .get(resource)
            .and_then(|r| r.coverage.pass.as_ref())
            .is_some_and(|pass| pass.pages_read == 0);
        if !first_of_pass {
            self.pages_read = self.pages_read.saturating_add(1);
        }
        for (marker, found) in &listing.marked {
            self.record(domain, marker.trim(), found.clone());
        }
        self.changed_coverage.insert(resource.to_string());
        let now = self.tick();
        let r = self.resources.entry(resource.to_string()).or_default();
        r.coverage.total_pages = listing.total_pages;
        let Some(mut pass) = r.coverage.pass.take() else {
            return;
        };
        if pass.pages_read == 0 {
            self.read_this_run.insert(resource.to_string());
        }
        pass.pages_read = pass.pages_read.saturating_add(1);
        pass.total_pages = listing.total_pages;
        let step = if pass.full {
            full_step(&mut pass, page, listing)
        } else {
            ascending_step(&mut pass, r.coverage.watermark, page, listing)
        };
        match step {
            PassStep::Next(next) => {
                pass.next_page = next;
                r.coverage.pass = Some(pass);
            }
            PassStep::Complete => {
                if !pass.full {
                    r.coverage.watermark = r.coverage.watermark.max(pass.top);
                }
                if pass.full && self.read_this_run.contains(resource) {
                    self.fresh.insert(resource.to_string(), pass.begun);
                }
            }
            PassStep::Restart => {
                pass.next_page = 1;
                pass.seen.clear();
                pass.begun = now;
                r.coverage.pass = Some(pass);
            }
            PassStep::NotAscending => {
                self.read_this_run.remove(resource);
                r.coverage.order = ListOrder::Unknown;
                r.coverage.watermark = 0;
                // A whole read begins now, from the first page.
                r.coverage.pass = Some(Pass {
                    full: true,
                    next_page: 1,
                    begun: now,
                    ..Pass::default()
                });
            }
        }
    }

    fn resource_mut(&mut self, resource: &str) -> &mut ResourceIndex {
        self.resources.entry(resource.to_string()).or_default()
    }
}

/// The marker the connector wrote into incwo for an object: the external id,
/// except for a credit note, titled after the invoice it cancels.
pub fn marker(domain: Domain, external_id: &str) -> String {
    match domain {
        Domain::CreditNote => crate::mapping::v1::credit_note_title(external_id),
        _ => external_id.to_string(),
    }
}

impl crate::flow::Flow {
    /// Loads the marker index a host saved for this business file (before
    /// the first poll); without it the flow builds the index from incwo.
    pub fn load_index(&mut self, saved: IndexChanges) {
        self.index.load(saved);
    }

    /// What changed in the marker index since the last call, for the host to
    /// save beside the ledger (entries are upserts by resource and marker).
    pub fn take_index_changes(&mut self) -> IndexChanges {
        self.index.take_changes()
    }

    /// The whole marker index (an export).
    pub fn export_index(&self) -> IndexChanges {
        self.index.export()
    }

    /// The index passes in progress, for a progress bar.
    pub fn index_progress(&self) -> Vec<PassProgress> {
        self.index.progress()
    }
}

/// Where a pass goes after a page.
#[derive(Debug, PartialEq, Eq)]
enum PassStep {
    Next(u32),
    Complete,
    NotAscending,
    /// A full pass saw the list move: it reads again from page 1.
    Restart,
}

/// A full pass reads pages 1 to the last (as announced by the latest page);
/// an id it already read means the list moved meanwhile (see [`Pass::seen`]).
fn full_step(pass: &mut Pass, page: u32, listing: &Listing) -> PassStep {
    if listing.ids.iter().any(|id| !pass.seen.insert(*id)) {
        return PassStep::Restart;
    }
    if page >= listing.total_pages {
        PassStep::Complete
    } else {
        PassStep::Next(page + 1)
    }
}

/// An ascending pass reads the last page, then backwards, until a page
/// reaches the watermark (or page 1), checking the order on the way.
fn ascending_step(pass: &mut Pass, watermark: u64, page: u32, listing: &Listing) -> PassStep {
    let total = listing.total_pages;
    if total == 0 {
        return PassStep::Complete; // an empty list: nothing to know
    }
    if !pass.located {
        if page != total {
            return PassStep::Next(total); // the last page moved: start there
        }
        pass.located = true;
    }
    if listing.ids.windows(2).any(|w| w[0] >= w[1]) {
        return PassStep::NotAscending;
    }
    let (Some(&low), Some(&high)) = (listing.ids.first(), listing.ids.last()) else {
        // An empty page before the end: objects were deleted meanwhile;
        // the page count now says where the last page is.
        return if page > total {
            pass.located = false;
            PassStep::Next(total)
        } else if page <= 1 {
            PassStep::Complete
        } else {
            PassStep::Next(page - 1)
        };
    };
    // Read backwards, a page holds ids below the previous one's (equal at
    // the seam when a deletion shifted an object across it).
    if pass.floor.is_some_and(|floor| high > floor) {
        return PassStep::NotAscending;
    }
    pass.top = pass.top.max(high);
    pass.floor = Some(pass.floor.map_or(low, |f| f.min(low)));
    if low <= watermark || page <= 1 {
        PassStep::Complete
    } else {
        PassStep::Next(page - 1)
    }
}

#[cfg(test)]
mod tests;
