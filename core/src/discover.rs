//! Profile discovery: reads list pages of an account's products, documents
//! and stock movements and proposes a mapping profile from what they carry.
//!
//! incwo's VAT ids, status ids, warehouses, currency ids and the order
//! `sheet_type` are account-specific and no endpoint lists them, so the only
//! source is the data itself. This module is pure: the host fetches pages
//! (read-only, within a page budget) and hands their bytes to
//! [`Observations::add_page`]; [`propose`] turns what was seen into a profile
//! (JSON, the [`crate::mapping::Profile`] format) and a report with the
//! evidence. Every value it cannot establish is written as
//! `{"unknown": "hint"}` (see [`crate::mapping::UNKNOWN`]), which
//! [`crate::mapping::Profile::from_json`] refuses until it is filled in.
//!
//! How values are established:
//! - a VAT id's rate is the simplest decimal consistent with every line that
//!   uses it (`vat_value` / `total_price`, both rounded to cents); an id seen
//!   only on products takes the documented rate when incwo documents it;
//! - `proposal` is the documented quote type; the order and delivery types
//!   are recognised by their name (order, commande / deliver, livraison) or
//!   by their reference prefix (`C…` / `BL…`);
//! - status ids: the documented defaults when the ids seen are those; else,
//!   when exactly as many ids are seen as the profile has statuses for the
//!   type, ascending ids in the profile's order (incwo numbers a label list
//!   in its order: 555 draft … 559 postponed on quotes); else unknown;
//! - warehouses are the ids stock movements reference (one: `MAIN`);
//! - the most used currency id is the file's currency (EUR unless told).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::http::{Auth, ConnectionConfig, HttpError, Method, Request, RequestSpec};
use crate::mapping::{Profile, ProfileProblem};
use crate::views::{
    self, BillSheet, CustomerProduct, DocumentLine, ListPage, ProposalSheet, Resource, StockMovement, ViewError,
};
use crate::xml::{parse_document, XmlLimits};

/// The resources a discovery reads, in order.
pub const DISCOVERY_RESOURCES: [Resource; 4] = [
    Resource::CustomerProducts,
    Resource::ProposalSheets,
    Resource::BillSheets,
    Resource::StockMovements,
];

/// Examples kept per observed value.
const EXAMPLES: usize = 3;

/// Rates incwo documents for its VAT ids (REFERENCE.md §2.2), used only for
/// ids seen without amounts.
const DOCUMENTED_VAT: &[(u64, &str)] = &[
    (607, "0.20"),
    (552, "0.10"),
    (223, "0.055"),
    (222, "0.021"),
    (225, "0"),
    (224, "0.196"),
    (529, "0.19"),
    (543, "0.085"),
    (544, "0.21"),
    (545, "0.076"),
    (546, "0.16"),
    (551, "0.15"),
    (553, "0.03"),
    (567, "0.18"),
    (569, "0.085"),
    (615, "0.06"),
];

/// What was seen of one VAT id.
#[derive(Debug, Clone, Default)]
struct VatSeen {
    lines: usize,
    products: usize,
    /// Tightest bounds of the rate implied by lines with amounts.
    low: Option<Decimal>,
    high: Option<Decimal>,
    examples: Vec<String>,
}

/// What was seen of one value (a sheet type, a status id, a warehouse…).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    /// How many objects carry it.
    pub count: usize,
    /// Up to three references (or ids) of objects that carry it.
    pub examples: Vec<String>,
}

impl Seen {
    fn add(&mut self, example: String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES && !example.is_empty() && !self.examples.contains(&example) {
            self.examples.push(example);
        }
    }
}

/// Everything read so far, accumulated page by page.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pages: BTreeMap<&'static str, u32>,
    truncated: BTreeSet<&'static str>,
    vat: BTreeMap<u64, VatSeen>,
    proposal_types: BTreeMap<String, Seen>,
    proposal_prefixes: BTreeMap<String, BTreeMap<String, usize>>,
    bill_types: BTreeMap<String, Seen>,
    /// (resource, sheet type) → progress id → seen.
    progress: BTreeMap<(&'static str, String), BTreeMap<u64, Seen>>,
    warehouses: BTreeMap<u64, Seen>,
    currencies: BTreeMap<u64, Seen>,
}

fn example_of(reference: &Option<String>, title: &Option<String>, id: u64) -> String {
    reference
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .or(title.as_deref().filter(|t| !t.trim().is_empty()))
        .map_or_else(|| format!("id {id}"), str::to_string)
}

/// The letters a reference starts with (`C` of `C00012`, `BL` of `BL3-4`).
fn reference_prefix(reference: &str) -> String {
    reference.chars().take_while(char::is_ascii_alphabetic).collect()
}

impl Observations {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one list page of a [`DISCOVERY_RESOURCES`] resource and returns
    /// the next page to fetch, if any. Other resources are a usage error.
    pub fn add_page(&mut self, resource: Resource, xml: &[u8]) -> Result<Option<u32>, ViewError> {
        let next = match resource {
            Resource::CustomerProducts => {
                let page: ListPage<CustomerProduct> = views::parse_page(xml)?;
                self.add_products(&page.items);
                page.pagination.next_page()
            }
            Resource::ProposalSheets => {
                let page: ListPage<ProposalSheet> = views::parse_page(xml)?;
                self.add_proposals(&page.items);
                page.pagination.next_page()
            }
            Resource::BillSheets => {
                let page: ListPage<BillSheet> = views::parse_page(xml)?;
                self.add_bills(&page.items);
                page.pagination.next_page()
            }
            Resource::StockMovements => {
                let page: ListPage<StockMovement> = views::parse_page(xml)?;
                self.add_movements(&page.items);
                page.pagination.next_page()
            }
            other => {
                return Err(ViewError::UnknownResource {
                    name: format!(
                        "{} (discovery reads products, documents and stock movements)",
                        other.as_str()
                    ),
                })
            }
        };
        *self.pages.entry(resource.as_str()).or_default() += 1;
        Ok(next)
    }

    /// Records that the page budget stopped the reading of a resource early.
    pub fn note_truncated(&mut self, resource: Resource) {
        self.truncated.insert(resource.as_str());
    }

    /// Products: their `vat_id` and `currency_id`.
    pub fn add_products(&mut self, items: &[CustomerProduct]) {
        for p in items {
            let example = example_of(&p.reference, &p.name, p.id);
            if let Some(vat) = p.vat_id {
                let seen = self.vat.entry(vat).or_default();
                seen.products += 1;
                if seen.examples.len() < EXAMPLES {
                    seen.examples.push(example.clone());
                }
            }
            if let Some(c) = p.currency_id {
                self.currencies.entry(c).or_default().add(example);
            }
        }
    }

    /// Quotes, orders and delivery notes.
    pub fn add_proposals(&mut self, items: &[ProposalSheet]) {
        for d in items {
            let example = example_of(&d.reference, &d.title, d.id);
            let sheet_type = d.sheet_type.clone().unwrap_or_default();
            self.proposal_types
                .entry(sheet_type.clone())
                .or_default()
                .add(example.clone());
            if let Some(r) = d.reference.as_deref().filter(|r| !r.is_empty()) {
                *self
                    .proposal_prefixes
                    .entry(sheet_type.clone())
                    .or_default()
                    .entry(reference_prefix(r))
                    .or_default() += 1;
            }
            self.document(
                "proposal_sheets",
                sheet_type,
                d.progress_id,
                d.currency_id,
                &d.lines,
                example,
            );
        }
    }

    /// Invoices and credit notes.
    pub fn add_bills(&mut self, items: &[BillSheet]) {
        for d in items {
            let example = example_of(&d.reference, &d.title, d.id);
            let sheet_type = d.sheet_type.clone().unwrap_or_default();
            self.bill_types
                .entry(sheet_type.clone())
                .or_default()
                .add(example.clone());
            self.document(
                "bill_sheets",
                sheet_type,
                d.progress_id,
                d.currency_id,
                &d.lines,
                example,
            );
        }
    }

    /// Stock movements: the warehouses they reference.
    pub fn add_movements(&mut self, items: &[StockMovement]) {
        for m in items {
            let example = format!("movement {}", m.id);
            for w in [m.origin_warehouse_id, m.destination_warehouse_id]
                .into_iter()
                .flatten()
            {
                self.warehouses.entry(w).or_default().add(example.clone());
            }
        }
    }

    fn document(
        &mut self,
        resource: &'static str,
        sheet_type: String,
        progress: Option<u64>,
        currency: Option<u64>,
        lines: &[DocumentLine],
        example: String,
    ) {
        if let Some(p) = progress {
            self.progress
                .entry((resource, sheet_type))
                .or_default()
                .entry(p)
                .or_default()
                .add(example.clone());
        }
        if let Some(c) = currency {
            self.currencies.entry(c).or_default().add(example.clone());
        }
        for line in lines {
            let Some(vat) = line.vat_value_id else { continue };
            let seen = self.vat.entry(vat).or_default();
            seen.lines += 1;
            if seen.examples.len() < EXAMPLES && !seen.examples.contains(&example) {
                seen.examples.push(example.clone());
            }
            let (Some(total), Some(amount)) = (line.total_price, line.vat_value) else {
                continue;
            };
            if total <= Decimal::ZERO {
                continue;
            }
            let half_cent = Decimal::new(5, 3);
            let low = (amount - half_cent).max(Decimal::ZERO).checked_div(total);
            let high = (amount + half_cent).checked_div(total);
            if let (Some(low), Some(high)) = (low, high) {
                seen.low = Some(seen.low.map_or(low, |l| l.max(low)));
                seen.high = Some(seen.high.map_or(high, |h| h.min(high)));
            }
        }
    }
}

/// The simplest decimal (fewest decimal places, at most 6) in `[low, high]`.
fn simplest_in(low: Decimal, high: Decimal) -> Option<Decimal> {
    if low > high {
        return None;
    }
    (0..=6).find_map(|dp| {
        let candidate = low.round_dp_with_strategy(dp, RoundingStrategy::ToPositiveInfinity);
        (candidate <= high).then(|| candidate.normalize())
    })
}

/// The profile's tax code for a rate: `TVA20`, `TVA5_5`, `TVA0`.
fn tax_code(rate: Decimal) -> String {
    let percent = (rate * Decimal::ONE_HUNDRED).normalize();
    format!("TVA{}", percent.to_string().replace('.', "_"))
}

/// Options of a discovery: what the data cannot tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverOptions {
    /// The proposed profile's name.
    pub name: String,
    /// ISO 4217 code of the business file's currency (the most used currency id).
    pub file_currency: String,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            name: "discovered".into(),
            file_currency: "EUR".into(),
        }
    }
}

/// A proposed profile and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// The proposed profile (the [`Profile`] JSON format), unknowns marked.
    pub profile: Value,
    /// What was read and seen, value by value, with how each was established.
    pub report: Value,
    /// Every value left unknown: its JSON pointer and what to do.
    pub unknowns: Vec<ProfileProblem>,
}

impl Discovery {
    /// True when the profile has no unknown and passes [`Profile::from_json`].
    pub fn is_complete(&self) -> bool {
        self.unknowns.is_empty() && Profile::from_json(&self.profile.to_string()).is_ok()
    }
}

fn unknown(hint: impl Into<String>) -> Value {
    json!({ crate::mapping::UNKNOWN: hint.into() })
}

fn seen_list(values: &BTreeMap<u64, Seen>) -> String {
    values
        .iter()
        .map(|(id, s)| format!("{id} ({} seen, e.g. {})", s.count, s.examples.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

const QUOTE_STATUSES: &[&str] = &["draft", "sent", "accepted", "refused", "expired"];
const ORDER_STATUSES: &[&str] = &["confirmed", "partiallyDelivered", "delivered", "cancelled"];
const INVOICE_STATUSES: &[&str] = &["draft", "issued", "partiallyPaid", "paid", "cancelled"];

/// Proposes a profile from what was observed.
pub fn propose(obs: &Observations, options: &DiscoverOptions) -> Discovery {
    let defaults = Profile::default();
    let mut report = Map::new();
    report.insert("pagesRead".into(), json!(obs.pages));
    report.insert("truncated".into(), json!(obs.truncated));

    // Taxes.
    let mut taxes = Map::new();
    let mut vat_report = Vec::new();
    for (id, seen) in &obs.vat {
        let (rate, evidence) = match (seen.low, seen.high) {
            (Some(low), Some(high)) => match simplest_in(low, high) {
                Some(rate) => (Some(rate), format!("implied by the VAT of {} line(s)", seen.lines)),
                None => (None, "lines disagree on the rate".to_string()),
            },
            _ => match DOCUMENTED_VAT.iter().find(|(v, _)| v == id) {
                Some((_, r)) => (r.parse::<Decimal>().ok(), "documented rate of this id".to_string()),
                None => (None, "seen without amounts".to_string()),
            },
        };
        let mut code = match rate {
            Some(r) => tax_code(r),
            None => format!("VAT{id}"),
        };
        if taxes.contains_key(&code) {
            code = format!("{code}_{id}");
        }
        let rate_value = match rate {
            Some(r) => json!(r.to_string()),
            None => unknown(format!(
                "the rate of VAT id {id} could not be established ({evidence}; e.g. {}): read it in incwo, or remove this tax if you do not use it",
                seen.examples.join(", ")
            )),
        };
        taxes.insert(code.clone(), json!({"rate": rate_value, "vatValueId": id}));
        vat_report.push(json!({
            "vatValueId": id, "rate": rate.map(|r| r.to_string()), "taxCode": code,
            "lines": seen.lines, "products": seen.products, "examples": seen.examples, "evidence": evidence,
        }));
    }
    if taxes.is_empty() {
        taxes.insert(
            "TVA20".into(),
            json!({"rate": "0.20", "vatValueId": unknown("no product or document line carries a VAT id; create a quote with a 20 % line in incwo and run the discovery again")}),
        );
    }
    report.insert("vat".into(), Value::Array(vat_report));

    // Currencies.
    let mut currencies = Map::new();
    let mut by_use: Vec<(&u64, &Seen)> = obs.currencies.iter().collect();
    by_use.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    let file_currency = options.file_currency.to_ascii_uppercase();
    match by_use.first() {
        Some((id, _)) => {
            currencies.insert(file_currency.clone(), json!({"id": id, "minorDigits": 2}));
        }
        None => {
            currencies.insert(
                file_currency.clone(),
                json!({"id": unknown("no product or document carries a currency id; read one in incwo"), "minorDigits": 2}),
            );
        }
    }
    report.insert(
        "currencies".into(),
        Value::Array(
            by_use
                .iter()
                .enumerate()
                .map(|(i, (id, s))| {
                    json!({"id": id, "count": s.count, "examples": s.examples,
                        "proposedAs": if i == 0 { Some(file_currency.clone()) } else { None }})
                })
                .collect(),
        ),
    );

    // Warehouses.
    let mut warehouses = Map::new();
    match obs.warehouses.len() {
        0 => {
            warehouses.insert(
                "MAIN".into(),
                unknown("no stock movement references a warehouse; read the warehouse id in incwo, or remove this entry if you do not sync stock"),
            );
        }
        1 => {
            let id = obs.warehouses.keys().next().copied().unwrap_or_default();
            warehouses.insert("MAIN".into(), json!(id));
        }
        _ => {
            for id in obs.warehouses.keys() {
                warehouses.insert(format!("WH{id}"), json!(id));
            }
        }
    }
    report.insert(
        "warehouses".into(),
        Value::Array(
            obs.warehouses
                .iter()
                .map(|(id, s)| json!({"id": id, "movements": s.count, "examples": s.examples}))
                .collect(),
        ),
    );

    // Sheet types.
    let types = classify_sheet_types(obs);
    let type_value = |slot: &Option<String>, what: &str| {
        match slot {
        Some(t) => json!(t),
        None => unknown(format!(
            "no {what} sheet_type recognised among the proposal_sheets read ({}); open a {what} in incwo, list proposal_sheets and put its sheet_type here",
            obs.proposal_types.keys().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
        )),
    }
    };
    let sheet_types = json!({
        "quote": type_value(&types[0], "quote"),
        "order": type_value(&types[1], "order"),
        "delivery": type_value(&types[2], "delivery note"),
    });
    report.insert(
        "sheetTypes".into(),
        json!({
            "proposal_sheets": obs.proposal_types.iter().map(|(t, s)| json!({
                "sheetType": t, "count": s.count, "examples": s.examples,
                "proposedAs": slot_name(&types, t),
            })).collect::<Vec<_>>(),
            "bill_sheets": obs.bill_types.iter().map(|(t, s)| json!({"sheetType": t, "count": s.count, "examples": s.examples})).collect::<Vec<_>>(),
        }),
    );

    // Statuses.
    let mut statuses = Map::new();
    let mut status_report = Map::new();
    for (doc, names, default_table, sources) in [
        (
            "quote",
            QUOTE_STATUSES,
            &defaults.statuses.quote,
            types[0]
                .iter()
                .map(|t| ("proposal_sheets", t.clone()))
                .collect::<Vec<_>>(),
        ),
        (
            "order",
            ORDER_STATUSES,
            &defaults.statuses.order,
            types[1].iter().map(|t| ("proposal_sheets", t.clone())).collect(),
        ),
        (
            "invoice",
            INVOICE_STATUSES,
            &defaults.statuses.invoice,
            vec![
                ("bill_sheets", "invoice_maybe".to_string()),
                ("bill_sheets", "invoice".to_string()),
            ],
        ),
    ] {
        let mut seen: BTreeMap<u64, Seen> = BTreeMap::new();
        for key in &sources {
            for (id, s) in obs.progress.get(key).into_iter().flatten() {
                let slot = seen.entry(*id).or_default();
                slot.count += s.count;
                for e in &s.examples {
                    if slot.examples.len() < EXAMPLES {
                        slot.examples.push(e.clone());
                    }
                }
            }
        }
        let (table, evidence) = name_statuses(names, default_table, &seen);
        let mut out = Map::new();
        for name in names {
            let value = match table.get(*name) {
                Some(id) => json!(id),
                None if seen.is_empty() => unknown(format!(
                    "no {doc} was read, so no status id was seen; create one in incwo (or raise the page budget) and run the discovery again"
                )),
                None => unknown(format!(
                    "the {doc} status ids seen cannot be named: {}; open one example per id in incwo, read its status and put the id of the \"{name}\" status here",
                    seen_list(&seen)
                )),
            };
            out.insert((*name).to_string(), value);
        }
        statuses.insert(doc.into(), Value::Object(out));
        status_report.insert(
            doc.into(),
            json!({
                "evidence": evidence,
                "seen": seen.iter().map(|(id, s)| json!({
                    "progressId": id, "count": s.count, "examples": s.examples,
                    "proposedAs": table.iter().find(|(_, v)| **v == *id).map(|(k, _)| k.clone()),
                })).collect::<Vec<_>>(),
            }),
        );
    }
    report.insert("statuses".into(), Value::Object(status_report));

    let profile = json!({
        "profileVersion": crate::mapping::PROFILE_VERSION,
        "name": options.name,
        "mapperVersion": 1,
        "taxes": taxes,
        "currencies": currencies,
        "defaultCurrency": file_currency,
        "warehouses": warehouses,
        "sheetTypes": sheet_types,
        "invoiceMode": "draft",
        "vatRounding": "perRate",
        "strictVatNumbers": false,
        "statuses": statuses,
        "contactItemTypes": {"email": defaults.contact_item_types.email, "phone": defaults.contact_item_types.phone},
        "limits": {"maxInputBytes": defaults.limits.max_input_bytes},
    });
    let unknowns = crate::mapping::unknown_values(&profile);
    report.insert("unknowns".into(), json!(unknowns));
    Discovery {
        profile,
        report: Value::Object(report),
        unknowns,
    }
}

/// Names status ids: documented defaults, else ascending ids when there are
/// exactly as many as names, else nothing.
fn name_statuses(
    names: &[&str],
    defaults: &BTreeMap<String, u64>,
    seen: &BTreeMap<u64, Seen>,
) -> (BTreeMap<String, u64>, &'static str) {
    if seen.is_empty() {
        return (BTreeMap::new(), "no document of this type was read");
    }
    let documented: BTreeMap<String, u64> = defaults
        .iter()
        .filter(|(_, id)| seen.contains_key(id))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if documented.len() == seen.len() {
        return (documented, "the ids seen are the documented defaults");
    }
    if seen.len() == names.len() {
        let table = names.iter().map(|n| n.to_string()).zip(seen.keys().copied()).collect();
        return (
            table,
            "as many ids as statuses: named in ascending id order (incwo numbers a label list in order); check one example per id in incwo",
        );
    }
    (
        BTreeMap::new(),
        "the ids seen are neither the documented defaults nor one per status",
    )
}

/// Which slot (quote, order, delivery) a sheet type was proposed for.
fn slot_name(slots: &[Option<String>; 3], sheet_type: &str) -> Option<&'static str> {
    ["quote", "order", "delivery"]
        .into_iter()
        .zip(slots)
        .find(|(_, slot)| slot.as_deref() == Some(sheet_type))
        .map(|(name, _)| name)
}

/// The quote, order and delivery `sheet_type`s among the proposal sheets seen.
fn classify_sheet_types(obs: &Observations) -> [Option<String>; 3] {
    let mut slots: [Option<String>; 3] = [None, None, None];
    let prefix_of = |t: &str| {
        obs.proposal_prefixes
            .get(t)
            .and_then(|m| m.iter().max_by_key(|(_, n)| **n).map(|(p, _)| p.to_ascii_uppercase()))
            .unwrap_or_default()
    };
    for t in obs.proposal_types.keys().filter(|t| !t.is_empty()) {
        let lower = t.to_ascii_lowercase();
        let prefix = prefix_of(t);
        let slot = if lower == "proposal" || lower == "quote" || lower.contains("devis") {
            0
        } else if lower.contains("order") || lower.contains("command") {
            1
        } else if lower.contains("deliver") || lower.contains("livr") {
            2
        } else if prefix == "D" {
            0
        } else if prefix == "C" {
            1
        } else if prefix == "BL" {
            2
        } else {
            continue;
        };
        if slots[slot].is_none() {
            slots[slot] = Some(t.clone());
        }
    }
    slots
}

/// One business file the credentials can reach (account listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessFile {
    /// Its id (the number in API paths).
    pub id: String,
    /// Its name, when given.
    pub name: Option<String>,
}

/// `GET {server}/account/index/0.xml?target=incwo_erp`: the business files
/// these credentials reach.
pub fn account_listing_request(server: &str, auth: Auth, correlation_id: &str) -> Result<Request, HttpError> {
    let config = ConnectionConfig::new(server, "0", auth, true)?;
    config.build(
        RequestSpec::new(Method::Get, "account", correlation_id)
            .action("index")
            .query(&[("target", "incwo_erp")]),
    )
}

/// Reads the account listing (`<business_files><business_file><id/><name/>…`).
pub fn parse_business_files(xml: &[u8]) -> Result<Vec<BusinessFile>, ViewError> {
    let root = parse_document(xml, XmlLimits::default())?;
    if root.name != "business_files" {
        return Err(ViewError::WrongRoot {
            found: root.name.chars().take(64).collect(),
            expected: "`business_files`".into(),
        });
    }
    root.children_named("business_file")
        .enumerate()
        .map(|(i, el)| {
            let id = el
                .child_text("id")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ViewError::MissingElement {
                    path: format!("/business_files/business_file[{}]/id", i + 1),
                    expected: "an integer",
                })?;
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ViewError::ValueFormat {
                    path: format!("/business_files/business_file[{}]/id", i + 1),
                    expected: "an integer",
                });
            }
            Ok(BusinessFile {
                id: id.to_string(),
                name: el.child_text("name").map(str::to_string).filter(|n| !n.is_empty()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(resource: &str, items: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{resource} type=\"array\"><pagination><current_page>1</current_page><total_pages>1</total_pages><current_page_items_count>1</current_page_items_count></pagination>{items}</{resource}>"
        )
        .into_bytes()
    }

    fn line(vat: u64, total: &str, amount: &str) -> String {
        format!("<proposal_line><vat_value_id>{vat}</vat_value_id><total_price>{total}</total_price><vat_value>{amount}</vat_value></proposal_line>")
    }

    fn sheet(id: u64, sheet_type: &str, progress: u64, reference: &str, lines: &str) -> String {
        format!("<proposal_sheet><id>{id}</id><sheet_type>{sheet_type}</sheet_type><progress_id>{progress}</progress_id><reference>{reference}</reference><currency_id>41</currency_id><proposal_lines>{lines}</proposal_lines></proposal_sheet>")
    }

    #[test]
    fn rates_are_the_simplest_decimals_the_lines_allow() {
        assert_eq!(
            simplest_in("0.1999".parse().unwrap(), "0.2001".parse().unwrap())
                .unwrap()
                .to_string(),
            "0.2"
        );
        assert_eq!(
            simplest_in("0.05497".parse().unwrap(), "0.05502".parse().unwrap())
                .unwrap()
                .to_string(),
            "0.055"
        );
        assert_eq!(
            simplest_in(Decimal::ZERO, "0.0001".parse().unwrap())
                .unwrap()
                .to_string(),
            "0"
        );
        assert_eq!(simplest_in(Decimal::ONE, Decimal::ZERO), None);
        assert_eq!(tax_code("0.055".parse().unwrap()), "TVA5_5");
        assert_eq!(tax_code("0.2".parse().unwrap()), "TVA20");
        assert_eq!(tax_code(Decimal::ZERO), "TVA0");
    }

    #[test]
    fn a_partial_account_leaves_explicit_unknowns_with_hints() {
        let mut obs = Observations::new();
        let lines = format!("{}{}", line(9020, "99.99", "20.00"), line(9055, "33.33", "1.83"));
        let xml = page(
            "proposal_sheets",
            &format!(
                "{}{}",
                sheet(1, "proposal", 71001, "D00001", &lines),
                sheet(2, "commande", 72001, "C00001", &lines)
            ),
        );
        assert_eq!(obs.add_page(Resource::ProposalSheets, &xml).unwrap(), None);
        let d = propose(&obs, &DiscoverOptions::default());
        assert_eq!(d.profile["taxes"]["TVA20"], json!({"rate": "0.2", "vatValueId": 9020}));
        assert_eq!(d.profile["taxes"]["TVA5_5"]["vatValueId"], 9055);
        assert_eq!(d.profile["currencies"]["EUR"]["id"], 41);
        assert_eq!(d.profile["sheetTypes"]["order"], "commande");
        let paths: Vec<&str> = d.unknowns.iter().map(|u| u.path.as_str()).collect();
        assert!(paths.contains(&"/sheetTypes/delivery"), "{paths:?}");
        assert!(paths.contains(&"/warehouses/MAIN"), "{paths:?}");
        assert!(paths.contains(&"/statuses/quote/accepted"), "{paths:?}");
        assert!(paths.contains(&"/statuses/invoice/paid"), "{paths:?}");
        let hint = &d
            .unknowns
            .iter()
            .find(|u| u.path == "/statuses/quote/accepted")
            .unwrap()
            .message;
        assert!(hint.contains("71001 (1 seen, e.g. D00001)"), "{hint}");
        assert!(!d.is_complete());
        let err = Profile::from_json(&d.profile.to_string()).unwrap_err();
        assert_eq!(err.problems.len(), d.unknowns.len());
    }

    #[test]
    fn documented_ids_are_named_by_the_documented_defaults() {
        let mut obs = Observations::new();
        let lines = line(607, "10.00", "2.00");
        let items: String = [555u64, 556, 557, 558, 559]
            .iter()
            .enumerate()
            .map(|(i, p)| sheet(i as u64 + 1, "proposal", *p, &format!("D{i}"), &lines))
            .collect();
        obs.add_page(Resource::ProposalSheets, &page("proposal_sheets", &items))
            .unwrap();
        let d = propose(&obs, &DiscoverOptions::default());
        assert_eq!(d.profile["statuses"]["quote"]["accepted"], 557);
        assert_eq!(
            d.report["statuses"]["quote"]["evidence"],
            "the ids seen are the documented defaults"
        );
    }

    #[test]
    fn wrong_pages_and_listings_are_view_errors() {
        let mut obs = Observations::new();
        assert!(obs.add_page(Resource::Firms, &page("firms", "")).is_err());
        assert!(obs.add_page(Resource::BillSheets, b"<html>").is_err());
        let files = parse_business_files(
            b"<business_files type=\"array\"><business_file><id>123456</id><name>Demo</name></business_file><business_file><id>7</id><name/></business_file></business_files>",
        )
        .unwrap();
        assert_eq!(
            files[0],
            BusinessFile {
                id: "123456".into(),
                name: Some("Demo".into())
            }
        );
        assert_eq!(files[1].name, None);
        assert!(parse_business_files(b"<firms/>").is_err());
        assert!(
            parse_business_files(b"<business_files><business_file><id>x</id></business_file></business_files>")
                .is_err()
        );
        let r = account_listing_request(
            "https://www.incwo.com",
            Auth::basic("a", "b"),
            "0f8fad5b-d9cb-469f-a165-70867728950e",
        )
        .unwrap();
        assert_eq!(r.url(), "https://www.incwo.com/account/index/0.xml?target=incwo_erp");
    }
}
