//! The simulated business file: objects per resource, validation of request
//! bodies, computed fields (totals, references, stock) and rendering to XML
//! and JSON.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value as Json};

use crate::account::Account;
use crate::order::{ListOrder, Orders};
use crate::schema::{Field, Kind, List, Resource};
use crate::wire::{format_date, format_ts, money, parse_bool, parse_date, parse_decimal, parse_int};
use crate::xml::{escape, Element};

/// Validation errors: `(field, message)`; an empty field is a base error.
pub type Errors = Vec<(String, String)>;

/// A stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Explicitly empty.
    Null,
    /// Text.
    Str(String),
    /// Integer (ids, links, codes).
    Int(i64),
    /// Exact decimal.
    Dec(Decimal),
    /// Date.
    Date(NaiveDate),
    /// Timestamp.
    Ts(NaiveDateTime),
    /// Boolean.
    Bool(bool),
}

/// One stored object or embedded item.
#[derive(Debug, Clone, Default)]
pub struct Rec {
    /// Object id (0 for an item that has none yet).
    pub id: u64,
    /// Scalar values by field name.
    pub vals: BTreeMap<&'static str, Val>,
    /// Embedded lists by wrapper name.
    pub lists: BTreeMap<&'static str, Vec<Rec>>,
}

impl Rec {
    fn get(&self, k: &str) -> Option<&Val> {
        self.vals.get(k)
    }
    /// Integer value of a field (0 when absent or empty).
    pub fn int(&self, k: &str) -> i64 {
        match self.get(k) {
            Some(Val::Int(i)) => *i,
            Some(Val::Bool(b)) => i64::from(*b),
            _ => 0,
        }
    }
    /// Text value of a field ("" when absent).
    pub fn str(&self, k: &str) -> &str {
        match self.get(k) {
            Some(Val::Str(s)) => s,
            _ => "",
        }
    }
    /// Decimal value of a field.
    pub fn dec(&self, k: &str) -> Option<Decimal> {
        match self.get(k) {
            Some(Val::Dec(d)) => Some(*d),
            _ => None,
        }
    }
    /// Sets a field.
    pub(crate) fn set(&mut self, k: &'static str, v: Val) {
        self.vals.insert(k, v);
    }
    /// Sets a text field.
    pub(crate) fn set_text(&mut self, k: &'static str, v: String) {
        self.vals.insert(k, Val::Str(v));
    }
}

/// A parsed request body, before it is merged into an object.
#[derive(Debug, Default)]
struct Input {
    vals: BTreeMap<&'static str, Val>,
    lists: BTreeMap<&'static str, Vec<Rec>>,
}

/// What a failed write returns.
#[derive(Debug)]
pub enum WriteError {
    /// No such object (404).
    NotFound,
    /// Validation errors (422).
    Invalid(Errors),
}

/// All objects of the business file and the bookkeeping around them.
#[derive(Debug, Default)]
pub struct Store {
    tables: BTreeMap<Resource, BTreeMap<u64, Rec>>,
    next_ids: BTreeMap<Resource, u64>,
    next_item_id: u64,
    numbering: BTreeMap<&'static str, i64>,
    /// Marker value → ids created with it, per resource.
    markers: BTreeMap<Resource, BTreeMap<String, Vec<u64>>>,
    /// Stock per (product id, warehouse id).
    warehouse_stock: BTreeMap<(u64, i64), Decimal>,
    /// Number of marker values created more than once, per resource.
    duplicate_markers: BTreeMap<Resource, usize>,
    /// Ids per resource in both list orders.
    orders: BTreeMap<Resource, Orders>,
    /// Salt of the `unknown` list order (from the simulator seed).
    order_salt: u64,
    /// The account-specific tables (VAT ids, sheet types, statuses, currency).
    account: Account,
}

fn blank(v: Option<&Val>) -> bool {
    match v {
        None | Some(Val::Null) => true,
        Some(Val::Str(s)) => s.trim().is_empty(),
        Some(Val::Int(0)) => true,
        _ => false,
    }
}

fn is_final_bill(sheet_type: &str) -> bool {
    matches!(sheet_type, "invoice" | "credit")
}

impl Store {
    /// An empty business file with the documented account tables.
    #[cfg(test)]
    pub fn new() -> Store {
        Store::with_account(Account::default(), 0)
    }

    /// An empty business file with these account tables (not seeded);
    /// `seed` shapes the `unknown` list order.
    pub fn with_account(account: Account, seed: u64) -> Store {
        Store {
            next_item_id: 900_001,
            account,
            order_salt: Orders::salt(seed),
            ..Store::default()
        }
    }

    /// The business file at start: empty, or seeded with the account's
    /// products, documents in every status and stock movements when
    /// `account.seed_data` is set.
    pub fn initial(account: &Account, seed: u64, now: NaiveDateTime) -> Result<Store, String> {
        let mut store = Store::with_account(account.clone(), seed);
        if !account.seed_data {
            return Ok(store);
        }
        let mut firm = 0;
        let mut products: Vec<u64> = Vec::new();
        for (resource, body) in account.seed_bodies() {
            let mut body = body.replace("{firm}", &firm.to_string());
            for (n, id) in products.iter().enumerate() {
                body = body.replace(&format!("{{product:{n}}}"), &id.to_string());
            }
            let res = Resource::from_name(resource).ok_or("unknown seed resource")?;
            let root = crate::xml::parse(body.as_bytes())?;
            let rec = store.create(res, &root, now).map_err(|e| match e {
                WriteError::NotFound => format!("seeding {resource}: not found"),
                WriteError::Invalid(errors) => format!("seeding {resource}: {errors:?}"),
            })?;
            match res {
                Resource::Firms => firm = rec.id,
                Resource::CustomerProducts => products.push(rec.id),
                _ => {}
            }
        }
        Ok(store)
    }

    /// The account-specific tables.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// One object.
    pub fn get(&self, res: Resource, id: u64) -> Option<&Rec> {
        self.tables.get(&res).and_then(|t| t.get(&id))
    }

    fn exists(&self, res: Resource, id: i64) -> bool {
        u64::try_from(id).is_ok_and(|id| self.get(res, id).is_some())
    }

    /// Objects of a resource, by id.
    pub fn all(&self, res: Resource) -> impl Iterator<Item = &Rec> {
        self.tables.get(&res).into_iter().flat_map(|t| t.values())
    }

    /// Number of objects of a resource.
    pub fn count(&self, res: Resource) -> usize {
        self.tables.get(&res).map_or(0, |t| t.len())
    }

    /// The objects at positions `start..start + len` of a resource's list in
    /// that order: O(len), whatever the number of objects.
    pub fn page(&self, res: Resource, order: ListOrder, start: usize, len: usize) -> Vec<&Rec> {
        let ids = self
            .orders
            .get(&res)
            .map(|o| o.slice(order, start, len))
            .unwrap_or_default();
        ids.into_iter().filter_map(|id| self.get(res, id)).collect()
    }

    /// The highest id of a resource's objects, if it has any.
    pub fn max_id(&self, res: Resource) -> Option<u64> {
        self.tables.get(&res).and_then(|t| t.keys().next_back().copied())
    }

    /// Number of marker values of a resource created more than once.
    pub fn duplicate_count(&self, res: Resource) -> usize {
        self.duplicate_markers.get(&res).copied().unwrap_or(0)
    }

    fn parse_value(&self, field: &Field, raw: &str) -> Result<Val, String> {
        let t = raw.trim();
        let v = match field.kind {
            Kind::Str => Val::Str(raw.to_string()),
            Kind::Ts => Val::Null,
            _ if t.is_empty() && !matches!(field.kind, Kind::Enum(l) if l.contains(&"")) => Val::Null,
            Kind::Int => Val::Int(parse_int(t).ok_or("is not an integer")?),
            Kind::Dec => Val::Dec(parse_decimal(t).ok_or("is not a number")?),
            Kind::Date => Val::Date(parse_date(t).ok_or("is not a valid date (DD-MM-YYYY)")?),
            Kind::Bool => Val::Bool(parse_bool(t).ok_or("must be 0 or 1")?),
            Kind::Enum(list) => {
                if list.contains(&t) {
                    Val::Str(t.to_string())
                } else {
                    return Err(format!("is not included in the list ({})", list.join(", ")));
                }
            }
            Kind::Fk(target) => {
                let id = parse_int(t).ok_or("is not an integer")?;
                if id <= 0 {
                    Val::Int(0)
                } else if self.exists(target, id) {
                    Val::Int(id)
                } else {
                    return Err(format!("does not exist ({} {id})", target.singular()));
                }
            }
            Kind::ProposalType => {
                let types = self.account.proposal_types();
                if types.contains(&t) {
                    Val::Str(t.to_string())
                } else {
                    return Err(format!("is not included in the list ({})", types.join(", ")));
                }
            }
            Kind::Vat => {
                let id = parse_int(t).ok_or("is not an integer")?;
                if self.account.vat_rate(id).is_some() {
                    Val::Int(id)
                } else {
                    return Err(format!("is not a known VAT rate id ({id})"));
                }
            }
        };
        Ok(v)
    }

    fn parse_fields(
        &self,
        fields: &'static [Field],
        el: &Element,
        path: &str,
        errors: &mut Errors,
    ) -> BTreeMap<&'static str, Val> {
        let mut out = BTreeMap::new();
        for child in &el.children {
            let Some(field) = fields.iter().find(|f| f.name == child.name && !f.read_only) else {
                continue; // unknown or read-only element: ignored
            };
            match self.parse_value(field, &child.text) {
                Ok(v) => {
                    out.insert(field.name, v);
                }
                Err(msg) => errors.push((format!("{path}{}", field.name), msg)),
            }
        }
        out
    }

    fn parse_input(&self, res: Resource, root: &Element, errors: &mut Errors) -> Input {
        let mut input = Input::default();
        if root.name != res.singular() {
            errors.push((
                String::new(),
                format!("the root element must be <{}>, not <{}>", res.singular(), root.name),
            ));
            return input;
        }
        let spec = res.spec();
        input.vals = self.parse_fields(spec.fields, root, "", errors);
        for list in spec.lists {
            // The last wrapper wins if a body repeats it.
            let Some(wrapper) = root.children.iter().rev().find(|c| c.name == list.wrapper) else {
                continue;
            };
            let mut items = Vec::new();
            for (i, item_el) in wrapper.children.iter().filter(|c| c.name == list.item).enumerate() {
                let path = format!("{}[{i}].", list.wrapper);
                let mut item = Rec {
                    vals: self.parse_fields(list.fields, item_el, &path, errors),
                    ..Rec::default()
                };
                item.id = item_el
                    .child("id")
                    .and_then(|e| parse_int(e.text.trim()))
                    .and_then(|i| u64::try_from(i).ok())
                    .unwrap_or(0);
                items.push(item);
            }
            input.lists.insert(list.wrapper, items);
        }
        input
    }

    fn defaults(&self, res: Resource, now: NaiveDateTime) -> Rec {
        let account = &self.account;
        let mut r = Rec::default();
        match res {
            Resource::CustomerProducts => {
                r.set("is_active", Val::Bool(true));
                r.set("currency_id", Val::Int(account.currency_id));
                r.set("total_stock", Val::Dec(Decimal::ZERO));
            }
            Resource::ProposalSheets => {
                r.set("progress_prev_id", Val::Int(0));
                r.set("sheet_type", Val::Str(account.quote_type.clone()));
                r.set("progress_id", Val::Int(account.default_proposal_progress()));
                r.set("currency_id", Val::Int(account.currency_id));
                r.set("language", Val::Str("fr".into()));
                r.set("billing_date", Val::Date(now.date()));
            }
            Resource::BillSheets => {
                r.set("progress_id", Val::Int(0));
                r.set("progress_prev_id", Val::Int(0));
                r.set("sheet_type", Val::Str("invoice_maybe".into()));
                r.set("currency_id", Val::Int(account.currency_id));
                r.set("language", Val::Str("fr".into()));
            }
            Resource::CashDeposits => {
                r.set("kind", Val::Str("deposit".into()));
            }
            _ => {}
        }
        for list in res.spec().lists {
            r.lists.insert(list.wrapper, Vec::new());
        }
        r
    }

    /// Merges a parsed body into an object (lists present are replaced).
    fn merge(rec: &mut Rec, input: &Input) {
        for (k, v) in &input.vals {
            rec.vals.insert(k, v.clone());
        }
        for (wrapper, items) in &input.lists {
            let old = rec.lists.remove(wrapper).unwrap_or_default();
            let merged = items
                .iter()
                .map(|item| {
                    // An item that names the id of an existing item keeps it
                    // (and its creation time); any other gets a new id later.
                    match old.iter().find(|o| item.id != 0 && o.id == item.id) {
                        Some(prev) => {
                            let mut m = item.clone();
                            if let Some(c) = prev.get("created_at") {
                                m.set("created_at", c.clone());
                            }
                            m
                        }
                        None => Rec { id: 0, ..item.clone() },
                    }
                })
                .collect();
            rec.lists.insert(wrapper, merged);
        }
    }

    fn check_required(fields: &[Field], rec: &Rec, path: &str, errors: &mut Errors) {
        for f in fields.iter().filter(|f| f.required) {
            if blank(rec.get(f.name)) {
                errors.push((format!("{path}{}", f.name), "can't be blank".into()));
            }
        }
    }

    /// Cross-field rules of each resource.
    fn check_rules(&self, res: Resource, rec: &Rec, old: Option<&Rec>, input: &Input, errors: &mut Errors) {
        match res {
            Resource::ProposalSheets | Resource::BillSheets => {
                if rec.int("firm_id") == 0 && rec.int("contact_id") == 0 {
                    errors.push((
                        "firm_id".into(),
                        "can't be blank (a document needs a firm or a contact)".into(),
                    ));
                }
                if let Some(old) = old {
                    let (from, to) = (old.str("sheet_type"), rec.str("sheet_type"));
                    if from != to {
                        let allowed = res == Resource::BillSheets
                            && matches!((from, to), ("invoice_maybe", "invoice") | ("credit_maybe", "credit"));
                        if !allowed {
                            errors.push(("sheet_type".into(), format!("can't be changed from {from} to {to}")));
                        }
                    }
                    if res == Resource::BillSheets && is_final_bill(from) && input.lists.contains_key("bill_lines") {
                        errors.push((
                            "bill_lines".into(),
                            "can't be changed on a final invoice or credit note".into(),
                        ));
                    }
                }
            }
            Resource::StockMovements => {
                if let Some(q) = rec.dec("quantity") {
                    if q <= Decimal::ZERO {
                        errors.push(("quantity".into(), "must be greater than 0".into()));
                    }
                }
                if !(-1..=1).contains(&rec.int("direction")) {
                    errors.push(("direction".into(), "must be 1 (in) or -1 (out)".into()));
                }
            }
            Resource::CashDeposits => {
                let target = match rec.str("sheet_name") {
                    "bill_sheets" => Some(Resource::BillSheets),
                    "proposal_sheets" => Some(Resource::ProposalSheets),
                    _ => None,
                };
                let sid = rec.int("sheet_id");
                if let Some(t) = target {
                    if sid > 0 && !self.exists(t, sid) {
                        errors.push(("sheet_id".into(), format!("does not exist ({} {sid})", t.singular())));
                    }
                }
            }
            _ => {}
        }
    }

    /// Fills line defaults and computes line and document totals.
    fn compute_totals(account: &Account, res: Resource, rec: &mut Rec, errors: &mut Errors) {
        let Some(list) = res.spec().lists.first() else {
            return;
        };
        let wrapper = list.wrapper;
        let mut by_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
        let mut exl = Decimal::ZERO;
        let mut overflow = false;
        let lines = rec.lists.entry(wrapper).or_default();
        for (i, line) in lines.iter_mut().enumerate() {
            let kind = line.str("content_kind").to_string();
            for k in ["total_price", "vat_value", "total_price_with_taxes"] {
                line.vals.remove(k);
            }
            if kind == "comment" || kind == "total" {
                continue;
            }
            let qty = line.dec("quantity").unwrap_or(Decimal::ONE);
            let price = line.dec("unit_price").unwrap_or(Decimal::ZERO);
            let vat_id = match line.int("vat_value_id") {
                0 => account.vat.first().map_or(607, |(id, _)| *id),
                v => v,
            };
            line.set("quantity", Val::Dec(qty));
            line.set("unit_price", Val::Dec(price));
            line.set("vat_value_id", Val::Int(vat_id));
            let rate = account.vat_rate(vat_id).unwrap_or(Decimal::ZERO);
            let Some(raw) = qty.checked_mul(price) else {
                errors.push((
                    format!("{wrapper}[{i}].quantity"),
                    "quantity × unit_price is too large".into(),
                ));
                overflow = true;
                continue;
            };
            let total = if kind == "option" {
                money(Decimal::ZERO)
            } else {
                money(raw)
            };
            let vat = money(total.checked_mul(rate).unwrap_or(Decimal::ZERO));
            line.set("total_price", Val::Dec(total));
            line.set("vat_value", Val::Dec(vat));
            line.set(
                "total_price_with_taxes",
                Val::Dec(total.checked_add(vat).unwrap_or(total)),
            );
            let slot = by_rate.entry(rate).or_insert(Decimal::ZERO);
            match (slot.checked_add(total), exl.checked_add(total)) {
                (Some(s), Some(e)) => {
                    *slot = s;
                    exl = e;
                }
                _ => overflow = true,
            }
        }
        let mut vat_cost = Decimal::ZERO;
        for (rate, base) in &by_rate {
            match base.checked_mul(*rate).and_then(|v| vat_cost.checked_add(money(v))) {
                Some(v) => vat_cost = v,
                None => overflow = true,
            }
        }
        let inc = exl.checked_add(vat_cost);
        if overflow || inc.is_none() {
            errors.push((wrapper.to_string(), "document totals are too large".into()));
            return;
        }
        rec.set("vat_exl_total", Val::Dec(money(exl)));
        rec.set("vat_cost", Val::Dec(money(vat_cost)));
        rec.set("vat_inc_total", Val::Dec(money(inc.unwrap_or_default())));
    }

    fn stock_effect(rec: &Rec) -> Option<(u64, i64, Decimal)> {
        let product = u64::try_from(rec.int("customer_product_id")).ok()?;
        let qty = rec.dec("quantity")?;
        let (delta, warehouse) = match rec.int("direction") {
            1 => (qty, rec.int("destination_warehouse_id")),
            -1 => (-qty, rec.int("origin_warehouse_id")),
            _ => return None,
        };
        Some((product, warehouse, delta))
    }

    fn apply_stock(&mut self, effect: Option<(u64, i64, Decimal)>, sign: Decimal) {
        let Some((product, warehouse, delta)) = effect else {
            return;
        };
        let delta = delta * sign;
        if let Some(p) = self
            .tables
            .get_mut(&Resource::CustomerProducts)
            .and_then(|t| t.get_mut(&product))
        {
            let cur = p.dec("total_stock").unwrap_or_default();
            p.set("total_stock", Val::Dec(cur.checked_add(delta).unwrap_or(cur)));
        }
        let slot = self
            .warehouse_stock
            .entry((product, warehouse))
            .or_insert(Decimal::ZERO);
        *slot = slot.checked_add(delta).unwrap_or(*slot);
    }

    /// Checks that applying a movement keeps the stock representable.
    fn check_stock(&self, rec: &Rec, old: Option<&Rec>, errors: &mut Errors) {
        let Some((product, _, delta)) = Self::stock_effect(rec) else {
            return;
        };
        let cur = self
            .get(Resource::CustomerProducts, product)
            .and_then(|p| p.dec("total_stock"))
            .unwrap_or_default();
        let back = old
            .and_then(Self::stock_effect)
            .filter(|(p, _, _)| *p == product)
            .map_or(Decimal::ZERO, |(_, _, d)| d);
        if cur.checked_sub(back).and_then(|c| c.checked_add(delta)).is_none() {
            errors.push(("quantity".into(), "is too large".into()));
        }
    }

    fn next_item_id(&mut self) -> u64 {
        let id = self.next_item_id;
        self.next_item_id += 1;
        id
    }

    /// Gives ids, ordering, parent links and timestamps to embedded items.
    fn finish_items(&mut self, res: Resource, rec: &mut Rec, now: NaiveDateTime) {
        let parent_field = match res {
            Resource::ProposalSheets => Some("proposal_sheet_id"),
            Resource::BillSheets => Some("bill_sheet_id"),
            _ => None,
        };
        let parent_id = i64::try_from(rec.id).unwrap_or(0);
        for list in res.spec().lists {
            let mut items = rec.lists.remove(list.wrapper).unwrap_or_default();
            for (i, item) in items.iter_mut().enumerate() {
                if item.id == 0 {
                    item.id = self.next_item_id();
                    item.set("created_at", Val::Ts(now));
                }
                if item.get("created_at").is_none() {
                    item.set("created_at", Val::Ts(now));
                }
                item.set("updated_at", Val::Ts(now));
                if let Some(pf) = parent_field {
                    item.set(pf, Val::Int(parent_id));
                    if matches!(item.get("ordering"), None | Some(Val::Null)) {
                        let n = i64::try_from(i + 1).unwrap_or(i64::MAX / 100) * 100;
                        item.set("ordering", Val::Int(n));
                    }
                }
            }
            if parent_field.is_some() {
                items.sort_by_key(|it| it.int("ordering"));
            }
            rec.lists.insert(list.wrapper, items);
        }
    }

    /// Gives a document its number when its type is numbered and it has none.
    fn number(&mut self, rec: &mut Rec, now: NaiveDateTime) {
        let Some(prefix) = self.account.reference_prefix(rec.str("sheet_type")) else {
            rec.set("reference", Val::Str(String::new()));
            return;
        };
        if !rec.str("reference").is_empty() {
            return;
        }
        let n = self.numbering.entry(prefix).or_insert(0);
        *n += 1;
        let n = *n;
        rec.set("reference", Val::Str(format!("{prefix}{n:05}")));
        rec.set("reference_index", Val::Int(n));
        if matches!(rec.get("billing_date"), None | Some(Val::Null)) {
            rec.set("billing_date", Val::Date(now.date()));
        }
    }

    fn derived(res: Resource, rec: &mut Rec) {
        if res == Resource::Contacts {
            let name = format!("{} {}", rec.str("first_name"), rec.str("last_name"));
            rec.set("first_last_name", Val::Str(name.trim().to_string()));
        }
    }

    /// Validates a body and creates the object. `Ok` holds the new object.
    pub fn create(&mut self, res: Resource, root: &Element, now: NaiveDateTime) -> Result<Rec, WriteError> {
        let mut errors = Errors::new();
        let input = self.parse_input(res, root, &mut errors);
        if !errors.is_empty() {
            return Err(WriteError::Invalid(errors));
        }
        let mut rec = self.defaults(res, now);
        Self::merge(&mut rec, &input);
        Self::check_required(res.spec().fields, &rec, "", &mut errors);
        self.check_rules(res, &rec, None, &input, &mut errors);
        if res.is_sheet() {
            Self::compute_totals(&self.account, res, &mut rec, &mut errors);
        }
        if res == Resource::StockMovements {
            self.check_stock(&rec, None, &mut errors);
        }
        if !errors.is_empty() {
            return Err(WriteError::Invalid(errors));
        }
        let next = self.next_ids.entry(res).or_insert_with(|| res.id_base());
        rec.id = *next;
        *next += 1;
        rec.set("created_at", Val::Ts(now));
        rec.set("modified_at", Val::Ts(now));
        rec.set("updated_at", Val::Ts(now));
        self.finish_items(res, &mut rec, now);
        if res.is_sheet() {
            self.number(&mut rec, now);
        }
        Self::derived(res, &mut rec);
        if res == Resource::StockMovements {
            self.apply_stock(Self::stock_effect(&rec), Decimal::ONE);
        }
        self.record_marker(res, &rec);
        self.orders.entry(res).or_default().insert(self.order_salt, rec.id);
        self.tables.entry(res).or_default().insert(rec.id, rec.clone());
        Ok(rec)
    }

    /// Remembers the marker an object was created with (duplicates count).
    fn record_marker(&mut self, res: Resource, rec: &Rec) {
        let Some(m) = res.marker_field() else {
            return;
        };
        let value = rec.str(m).trim();
        if value.is_empty() {
            return;
        }
        let ids = self
            .markers
            .entry(res)
            .or_default()
            .entry(value.to_string())
            .or_default();
        ids.push(rec.id);
        if ids.len() == 2 {
            *self.duplicate_markers.entry(res).or_default() += 1;
        }
    }

    /// Creates `count` copies of `template` (an object just created through
    /// [`Store::create`]) as `create` would have created them from the same
    /// body with the fields `vary(n, copy)` changes (n from 0): new ids
    /// continuing the sequence, new item ids, the next document numbers,
    /// markers recorded. Returns the first and last id. What varies must
    /// not change totals or validity (names, markers, links to objects that
    /// exist); the caller guarantees it.
    pub fn create_copies(
        &mut self,
        res: Resource,
        template: &Rec,
        count: usize,
        now: NaiveDateTime,
        mut vary: impl FnMut(usize, &mut Rec),
    ) -> Option<(u64, u64)> {
        if count == 0 {
            return None;
        }
        let first = *self.next_ids.entry(res).or_insert_with(|| res.id_base());
        for n in 0..count {
            let mut rec = template.clone();
            rec.id = first + n as u64;
            for items in rec.lists.values_mut() {
                for item in items.iter_mut() {
                    item.id = 0;
                }
            }
            rec.vals.remove("reference");
            rec.vals.remove("reference_index");
            vary(n, &mut rec);
            for stamp in ["created_at", "modified_at", "updated_at"] {
                rec.set(stamp, Val::Ts(now));
            }
            self.finish_items(res, &mut rec, now);
            if res.is_sheet() {
                self.number(&mut rec, now);
            }
            Self::derived(res, &mut rec);
            self.record_marker(res, &rec);
            self.tables.entry(res).or_default().insert(rec.id, rec);
        }
        let last = first + count as u64 - 1;
        self.next_ids.insert(res, last + 1);
        let salt = self.order_salt;
        self.orders.entry(res).or_default().extend(salt, first..=last);
        Some((first, last))
    }

    /// Validates a partial body and updates the object.
    pub fn update(&mut self, res: Resource, id: u64, root: &Element, now: NaiveDateTime) -> Result<Rec, WriteError> {
        let old = self.get(res, id).cloned().ok_or(WriteError::NotFound)?;
        let mut errors = Errors::new();
        let input = self.parse_input(res, root, &mut errors);
        if !errors.is_empty() {
            return Err(WriteError::Invalid(errors));
        }
        let mut rec = old.clone();
        Self::merge(&mut rec, &input);
        Self::check_required(res.spec().fields, &rec, "", &mut errors);
        self.check_rules(res, &rec, Some(&old), &input, &mut errors);
        if res.is_sheet() {
            Self::compute_totals(&self.account, res, &mut rec, &mut errors);
        }
        if res == Resource::StockMovements {
            self.check_stock(&rec, Some(&old), &mut errors);
        }
        if !errors.is_empty() {
            return Err(WriteError::Invalid(errors));
        }
        self.finish_items(res, &mut rec, now);
        if res.is_sheet() {
            self.number(&mut rec, now);
        }
        Self::derived(res, &mut rec);
        self.record_progress(&old, &mut rec);
        rec.set("modified_at", Val::Ts(now));
        rec.set("updated_at", Val::Ts(now));
        if res == Resource::StockMovements {
            self.apply_stock(Self::stock_effect(&old), Decimal::NEGATIVE_ONE);
            self.apply_stock(Self::stock_effect(&rec), Decimal::ONE);
        }
        self.tables.entry(res).or_default().insert(id, rec.clone());
        Ok(rec)
    }

    fn record_progress(&self, old: &Rec, rec: &mut Rec) {
        if old.int("progress_id") != rec.int("progress_id") {
            rec.set("progress_prev_id", Val::Int(old.int("progress_id")));
        }
    }

    /// Changes a document's status as a user of the incwo UI would.
    pub fn set_progress(&mut self, res: Resource, id: u64, progress_id: i64, now: NaiveDateTime) -> Option<Rec> {
        let old = self.get(res, id)?.clone();
        let mut rec = old.clone();
        rec.set("progress_id", Val::Int(progress_id));
        self.record_progress(&old, &mut rec);
        rec.set("modified_at", Val::Ts(now));
        rec.set("updated_at", Val::Ts(now));
        self.tables.entry(res).or_default().insert(id, rec.clone());
        Some(rec)
    }

    /// Deletes an object.
    pub fn delete(&mut self, res: Resource, id: u64) -> Result<(), WriteError> {
        let rec = self.get(res, id).ok_or(WriteError::NotFound)?;
        if res == Resource::BillSheets && is_final_bill(rec.str("sheet_type")) {
            return Err(WriteError::Invalid(vec![(
                String::new(),
                "a final invoice or credit note can't be deleted".into(),
            )]));
        }
        if res == Resource::StockMovements {
            let effect = Self::stock_effect(rec);
            self.apply_stock(effect, Decimal::NEGATIVE_ONE);
        }
        if let Some(t) = self.tables.get_mut(&res) {
            t.remove(&id);
        }
        let salt = self.order_salt;
        if let Some(o) = self.orders.get_mut(&res) {
            o.remove(salt, id);
        }
        Ok(())
    }

    /// Markers created more than once, per resource.
    pub fn duplicates(&self) -> Vec<Json> {
        let mut out = Vec::new();
        for (res, markers) in &self.markers {
            for (marker, ids) in markers {
                if ids.len() > 1 {
                    out.push(json!({
                        "resource": res.name(),
                        "marker_field": res.marker_field(),
                        "marker": marker,
                        "count": ids.len(),
                        "ids": ids,
                    }));
                }
            }
        }
        out
    }

    /// Stock per product and warehouse, for the state dump.
    pub fn warehouse_stock(&self) -> Vec<Json> {
        self.warehouse_stock
            .iter()
            .map(|((p, w), q)| json!({"customer_product_id": p, "warehouse_id": w, "quantity": q.to_string()}))
            .collect()
    }

    /// Values computed at read time from other objects.
    fn live(&self, res: Resource, rec: &Rec) -> Rec {
        let mut r = rec.clone();
        match res {
            Resource::Contacts => {
                let name = u64::try_from(rec.int("firm_id"))
                    .ok()
                    .and_then(|f| self.get(Resource::Firms, f))
                    .map(|f| f.str("name").to_string())
                    .unwrap_or_default();
                r.set("firm_name", Val::Str(name));
            }
            Resource::BillSheets => {
                let id = i64::try_from(rec.id).unwrap_or(-1);
                let paid = self
                    .all(Resource::CashDeposits)
                    .filter(|d| {
                        d.str("kind") == "deposit" && d.str("sheet_name") == "bill_sheets" && d.int("sheet_id") == id
                    })
                    .filter_map(|d| d.dec("amount_ttc"))
                    .fold(Decimal::ZERO, |a, b| a.checked_add(b).unwrap_or(a));
                r.set("payed_amount", Val::Dec(paid));
            }
            _ => {}
        }
        r
    }

    /// Renders one object as an XML element (without the declaration).
    pub fn render_xml(&self, res: Resource, rec: &Rec, indent: usize, out: &mut String) {
        let rec = self.live(res, rec);
        let spec = res.spec();
        render_item(
            res.singular(),
            &rec,
            spec.fields,
            spec.lists,
            spec.timestamps,
            indent,
            out,
        );
    }

    /// Renders one object as JSON (decimals as strings, dates in wire form).
    pub fn render_json(&self, res: Resource, rec: &Rec) -> Json {
        let rec = self.live(res, rec);
        let spec = res.spec();
        item_json(&rec, spec.fields, spec.lists, spec.timestamps)
    }
}

fn xml_value(kind: Kind, v: Option<&Val>) -> String {
    match (v, kind) {
        (None | Some(Val::Null), Kind::Fk(_)) => "0".into(),
        (None | Some(Val::Null), _) => String::new(),
        (Some(Val::Str(s)), _) => escape(s),
        (Some(Val::Int(i)), _) => i.to_string(),
        (Some(Val::Dec(d)), _) => d.to_string(),
        (Some(Val::Date(d)), _) => format_date(*d),
        (Some(Val::Ts(t)), _) => format_ts(*t),
        (Some(Val::Bool(b)), _) => u8::from(*b).to_string(),
    }
}

fn json_value(kind: Kind, v: Option<&Val>) -> Json {
    match (v, kind) {
        (None | Some(Val::Null), Kind::Fk(_)) => json!(0),
        (None | Some(Val::Null), Kind::Str | Kind::Enum(_) | Kind::ProposalType) => json!(""),
        (None | Some(Val::Null), _) => Json::Null,
        (Some(Val::Str(s)), _) => json!(s),
        (Some(Val::Int(i)), _) => json!(i),
        (Some(Val::Dec(d)), _) => json!(d.to_string()),
        (Some(Val::Date(d)), _) => json!(format_date(*d)),
        (Some(Val::Ts(t)), _) => json!(format_ts(*t)),
        (Some(Val::Bool(b)), _) => json!(u8::from(*b)),
    }
}

fn render_item(
    name: &str,
    rec: &Rec,
    fields: &[Field],
    lists: &[List],
    timestamps: &[&str],
    indent: usize,
    out: &mut String,
) {
    let pad = "  ".repeat(indent);
    let inner = "  ".repeat(indent + 1);
    out.push_str(&format!("{pad}<{name}>\n{inner}<id>{}</id>\n", rec.id));
    let scalar = |out: &mut String, f: &str, kind: Kind| {
        out.push_str(&format!("{inner}<{f}>{}</{f}>\n", xml_value(kind, rec.vals.get(f))));
    };
    for f in fields.iter().filter(|f| f.kind != Kind::Ts) {
        scalar(out, f.name, f.kind);
    }
    for list in lists {
        out.push_str(&format!("{inner}<{}>\n", list.wrapper));
        for item in rec.lists.get(list.wrapper).into_iter().flatten() {
            let (ts, plain): (Vec<Field>, Vec<Field>) = list.fields.iter().partition(|f| f.kind == Kind::Ts);
            let ts: Vec<&str> = ts.iter().map(|f| f.name).collect();
            render_item(list.item, item, &plain, &[], &ts, indent + 2, out);
        }
        out.push_str(&format!("{inner}</{}>\n", list.wrapper));
    }
    for t in timestamps {
        scalar(out, t, Kind::Ts);
    }
    out.push_str(&format!("{pad}</{name}>\n"));
}

fn item_json(rec: &Rec, fields: &[Field], lists: &[List], timestamps: &[&str]) -> Json {
    let mut m = Map::new();
    m.insert("id".into(), json!(rec.id));
    for f in fields.iter().filter(|f| f.kind != Kind::Ts) {
        m.insert(f.name.into(), json_value(f.kind, rec.vals.get(f.name)));
    }
    for list in lists {
        let items: Vec<Json> = rec
            .lists
            .get(list.wrapper)
            .into_iter()
            .flatten()
            .map(|item| {
                let (ts, plain): (Vec<Field>, Vec<Field>) = list.fields.iter().partition(|f| f.kind == Kind::Ts);
                let ts: Vec<&str> = ts.iter().map(|f| f.name).collect();
                item_json(item, &plain, &[], &ts)
            })
            .collect();
        m.insert(list.wrapper.into(), Json::Array(items));
    }
    for t in timestamps {
        m.insert((*t).into(), json_value(Kind::Ts, rec.vals.get(t)));
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 5)
            .unwrap()
            .and_hms_opt(10, 30, 0)
            .unwrap()
    }

    fn create(s: &mut Store, res: Resource, xml: &str) -> Result<Rec, WriteError> {
        s.create(res, &parse(xml.as_bytes()).unwrap(), now())
    }

    #[test]
    fn order_totals() {
        let mut s = Store::new();
        let f = create(&mut s, Resource::Firms, "<firm><name>Atelier</name></firm>").unwrap();
        let p = create(
            &mut s,
            Resource::CustomerProducts,
            "<customer_product><reference>KIT</reference><name>Kit</name><price>49.90</price><vat_id>607</vat_id></customer_product>",
        )
        .unwrap();
        let xml = format!(
            "<proposal_sheet><sheet_type>order</sheet_type><firm_id>{}</firm_id><title>CMD</title><vat_cost>1</vat_cost><proposal_lines><proposal_line><customer_product_id>{}</customer_product_id><quantity>10</quantity><unit_price>49.90</unit_price><vat_value_id>607</vat_value_id><total_price>3</total_price></proposal_line></proposal_lines></proposal_sheet>",
            f.id, p.id
        );
        let o = create(&mut s, Resource::ProposalSheets, &xml).unwrap();
        assert_eq!(o.dec("vat_exl_total").unwrap().to_string(), "499.00");
        assert_eq!(o.dec("vat_cost").unwrap().to_string(), "99.80");
        assert_eq!(o.dec("vat_inc_total").unwrap().to_string(), "598.80");
        assert_eq!(o.str("reference"), "C00001");
        let line = &o.lists["proposal_lines"][0];
        assert_eq!(line.dec("total_price").unwrap().to_string(), "499.00");
        assert_eq!(line.int("ordering"), 100);
        let mut out = String::new();
        s.render_xml(Resource::ProposalSheets, &o, 0, &mut out);
        assert!(out.contains("<vat_inc_total>598.80</vat_inc_total>"), "{out}");
        assert!(out.contains("<billing_date>05-03-2026</billing_date>"), "{out}");
    }

    #[test]
    fn vat_is_rounded_per_rate() {
        let mut s = Store::new();
        let f = create(&mut s, Resource::Firms, "<firm><name>A</name></firm>").unwrap();
        // Two lines of 0.05 at 10 %: per-line VAT 0.01 each (0.005 rounded
        // away from zero) but per-rate VAT round(0.10 × 0.10) = 0.01.
        let line = "<bill_line><quantity>1</quantity><unit_price>0.05</unit_price><vat_value_id>552</vat_value_id></bill_line>";
        let xml = format!(
            "<bill_sheet><firm_id>{}</firm_id><bill_lines>{line}{line}</bill_lines></bill_sheet>",
            f.id
        );
        let b = create(&mut s, Resource::BillSheets, &xml).unwrap();
        assert_eq!(b.dec("vat_cost").unwrap().to_string(), "0.01");
        assert_eq!(b.str("reference"), "");
        assert_eq!(b.lists["bill_lines"][0].dec("vat_value").unwrap().to_string(), "0.01");
    }

    #[test]
    fn invalid_bodies() {
        let mut s = Store::new();
        let cases = [
            (Resource::Firms, "<contact><name>x</name></contact>", ""),
            (Resource::Firms, "<firm><tva>FR1</tva></firm>", "name"),
            (Resource::Firms, "<firm><name> </name></firm>", "name"),
            (
                Resource::Firms,
                "<firm><name>x</name><firm_type>alien</firm_type></firm>",
                "firm_type",
            ),
            (
                Resource::CustomerProducts,
                "<customer_product><name>x</name><price>1,5</price></customer_product>",
                "price",
            ),
            (
                Resource::CustomerProducts,
                "<customer_product><name>x</name><vat_id>999</vat_id></customer_product>",
                "vat_id",
            ),
            (
                Resource::ProposalSheets,
                "<proposal_sheet><title>x</title></proposal_sheet>",
                "firm_id",
            ),
            (
                Resource::ProposalSheets,
                "<proposal_sheet><firm_id>42</firm_id></proposal_sheet>",
                "firm_id",
            ),
            (
                Resource::StockMovements,
                "<stock_movement><customer_product_id>1</customer_product_id></stock_movement>",
                "customer_product_id",
            ),
        ];
        for (res, xml, field) in cases {
            match create(&mut s, res, xml) {
                Err(WriteError::Invalid(errs)) => {
                    assert!(errs.iter().any(|(f, _)| f == field), "{xml}: {errs:?}")
                }
                other => panic!("{xml}: {other:?}"),
            }
        }
        assert_eq!(s.count(Resource::Firms), 0);
    }

    #[test]
    fn line_errors_name_the_line() {
        let mut s = Store::new();
        let f = create(&mut s, Resource::Firms, "<firm><name>A</name></firm>").unwrap();
        let xml = format!("<bill_sheet><firm_id>{}</firm_id><bill_lines><bill_line><quantity>1</quantity></bill_line><bill_line><quantity>ten</quantity><vat_value_id>1</vat_value_id><customer_product_id>5</customer_product_id></bill_line></bill_lines></bill_sheet>", f.id);
        let Err(WriteError::Invalid(errs)) = create(&mut s, Resource::BillSheets, &xml) else {
            panic!()
        };
        let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "bill_lines[1].quantity",
                "bill_lines[1].vat_value_id",
                "bill_lines[1].customer_product_id"
            ]
        );
    }

    #[test]
    fn huge_amounts_are_rejected_not_panicking() {
        let mut s = Store::new();
        let f = create(&mut s, Resource::Firms, "<firm><name>A</name></firm>").unwrap();
        let big = "79228162514264337593543950335";
        let xml = format!("<bill_sheet><firm_id>{}</firm_id><bill_lines><bill_line><quantity>{big}</quantity><unit_price>{big}</unit_price></bill_line></bill_lines></bill_sheet>", f.id);
        assert!(matches!(
            create(&mut s, Resource::BillSheets, &xml),
            Err(WriteError::Invalid(_))
        ));
        let xml = format!("<bill_sheet><firm_id>{}</firm_id><bill_lines><bill_line><quantity>1</quantity><unit_price>{big}</unit_price></bill_line><bill_line><quantity>1</quantity><unit_price>{big}</unit_price></bill_line></bill_lines></bill_sheet>", f.id);
        assert!(matches!(
            create(&mut s, Resource::BillSheets, &xml),
            Err(WriteError::Invalid(_))
        ));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::xml::parse;
    use proptest::prelude::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    /// Field values that exercise every parser branch.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("0".to_string()),
            Just("-1".to_string()),
            Just("607".to_string()),
            Just("100001".to_string()),
            Just("300001".to_string()),
            Just("79228162514264337593543950335".to_string()),
            Just("05-03-2026".to_string()),
            Just("invoice".to_string()),
            Just("order".to_string()),
            "[ -~]{0,12}",
            "-?[0-9]{1,30}(\\.[0-9]{1,30})?",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_bodies_never_panic(
            res in 0usize..7,
            fields in proptest::collection::vec((0usize..40, value()), 0..12),
            lines in proptest::collection::vec(proptest::collection::vec((0usize..16, value()), 0..6), 0..4),
        ) {
            let mut s = Store::new();
            s.create(Resource::Firms, &parse(b"<firm><name>F</name></firm>").unwrap(), now()).unwrap();
            s.create(Resource::CustomerProducts, &parse(b"<customer_product><name>P</name></customer_product>").unwrap(), now()).unwrap();
            let res = Resource::ALL[res];
            let spec = res.spec();
            let mut xml = format!("<{}>", res.singular());
            for (i, v) in &fields {
                let f = spec.fields[i % spec.fields.len()].name;
                xml.push_str(&format!("<{f}>{}</{f}>", crate::xml::escape(v)));
            }
            if let Some(list) = spec.lists.first() {
                xml.push_str(&format!("<{}>", list.wrapper));
                for line in &lines {
                    xml.push_str(&format!("<{}>", list.item));
                    for (i, v) in line {
                        let f = list.fields[i % list.fields.len()].name;
                        xml.push_str(&format!("<{f}>{}</{f}>", crate::xml::escape(v)));
                    }
                    xml.push_str(&format!("</{}>", list.item));
                }
                xml.push_str(&format!("</{}>", list.wrapper));
            }
            xml.push_str(&format!("</{}>", res.singular()));
            let root = parse(xml.as_bytes()).unwrap();
            if let Ok(rec) = s.create(res, &root, now()) {
                let _ = s.update(res, rec.id, &root, now());
                let mut out = String::new();
                s.render_xml(res, &rec, 0, &mut out);
                let _ = s.render_json(res, &rec);
                let _ = s.delete(res, rec.id);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }
    }
}
