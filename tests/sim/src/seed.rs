//! Bulk seeding: tens of thousands of firms, products and documents in one
//! call, stored exactly as if created through the API, with predictable
//! markers (`{prefix}-F{n}`, `{prefix}-P{n}`, `{prefix}-Q{n}` / `{prefix}-O{n}`,
//! `{prefix}-I{n}`), so a test can build an account of a real SME's size in
//! seconds and know which markers exist.
//!
//! The first object of each kind is created through [`Store::create`] from
//! an XML body (the API's own validation and computations); the others are
//! copies of it that differ only in name, marker, sheet type and links
//! ([`Store::create_copies`]), which keeps 160,000 objects well under a
//! few seconds.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value as Json};

use crate::schema::Resource;
use crate::store::{Rec, Store, Val, WriteError};
use crate::xml::escape;

/// Most objects of one resource a single seed may create.
pub const MAX_PER_RESOURCE: u64 = 1_000_000;

/// What to seed: numbers of objects and the marker prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkSeed {
    /// Firms (`{prefix}-F{n}` in `accounting_ref`).
    pub firms: u64,
    /// Products (`{prefix}-P{n}` in `reference`).
    pub products: u64,
    /// Proposal sheets (`title`): odd n a quote `{prefix}-Q{n}`, even n an
    /// order `{prefix}-O{n}`.
    pub proposal_sheets: u64,
    /// Draft invoices (`{prefix}-I{n}` in `title`).
    pub bill_sheets: u64,
    /// Marker prefix (default `SEED`): 1–32 of `A-Z a-z 0-9 _ -`.
    pub prefix: String,
}

impl Default for BulkSeed {
    fn default() -> Self {
        BulkSeed {
            firms: 0,
            products: 0,
            proposal_sheets: 0,
            bill_sheets: 0,
            prefix: "SEED".into(),
        }
    }
}

impl BulkSeed {
    /// Reads `{"firms": N, "products": N, "proposalSheets": N,
    /// "billSheets": N, "prefix": "SEED"}` (every key optional); an unknown
    /// key, a count that is not an integer in 0..=1,000,000 or a bad prefix
    /// is an error naming it.
    pub fn from_json(v: &Json) -> Result<BulkSeed, String> {
        let o = v.as_object().ok_or("the seed must be a JSON object")?;
        let mut seed = BulkSeed::default();
        for (k, value) in o {
            let count = || {
                value
                    .as_u64()
                    .filter(|n| *n <= MAX_PER_RESOURCE)
                    .ok_or_else(|| format!("`{k}` must be an integer from 0 to {MAX_PER_RESOURCE}"))
            };
            match k.as_str() {
                "firms" => seed.firms = count()?,
                "products" => seed.products = count()?,
                "proposalSheets" => seed.proposal_sheets = count()?,
                "billSheets" => seed.bill_sheets = count()?,
                "prefix" => {
                    let p = value.as_str().ok_or("`prefix` must be a string")?;
                    let ok = (1..=32).contains(&p.len())
                        && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if !ok {
                        return Err("`prefix` must be 1 to 32 characters among A-Z a-z 0-9 _ -".into());
                    }
                    seed.prefix = p.to_string();
                }
                other => {
                    return Err(format!(
                        "unknown key `{other}` (firms, products, proposalSheets, billSheets, prefix)"
                    ))
                }
            }
        }
        Ok(seed)
    }

    /// Whether it creates documents but no firm for them to point at
    /// (fine only on an account that already has firms).
    pub fn needs_firms(&self) -> bool {
        (self.proposal_sheets > 0 || self.bill_sheets > 0) && self.firms == 0
    }
}

/// Creates the objects of `seed` in `store`. Answers the id range created
/// per resource: `{"firms": {"first", "last", "count"} | null, "products",
/// "proposalSheets", "billSheets", "prefix"}`. Nothing is created on an
/// error (documents without any firm to point at).
pub fn apply(store: &mut Store, seed: &BulkSeed, now: NaiveDateTime) -> Result<Json, String> {
    if seed.needs_firms() && store.count(Resource::Firms) == 0 {
        return Err("documents need a firm: seed `firms` in the same call or create firms first".into());
    }
    let p = &seed.prefix;
    let vat = store.account().vat.first().map(|(id, _)| *id);
    let vat_el = |name: &str| vat.map_or(String::new(), |v| format!("<{name}>{v}</{name}>"));
    let mut out = Map::new();

    let firm_body = format!(
        "<firm><name>{p} firm 1</name><firm_type>client</firm_type><accounting_ref>{p}-F1</accounting_ref></firm>"
    );
    let firms = seed_one(store, Resource::Firms, &firm_body, seed.firms, now, |n, rec| {
        rec.set_text("name", format!("{p} firm {n}"));
        rec.set_text("accounting_ref", format!("{p}-F{n}"));
    })?;
    out.insert("firms".into(), range_json(firms));

    let product_body = format!(
        "<customer_product><reference>{p}-P1</reference><name>{p} product 1</name><price>10.00</price>{}</customer_product>",
        vat_el("vat_id")
    );
    let products = seed_one(
        store,
        Resource::CustomerProducts,
        &product_body,
        seed.products,
        now,
        |n, rec| {
            rec.set_text("reference", format!("{p}-P{n}"));
            rec.set_text("name", format!("{p} product {n}"));
        },
    )?;
    out.insert("products".into(), range_json(products));

    // Documents point at this call's firms and products, else at any.
    let firm_ids: Vec<u64> = match firms {
        Some((a, b)) => (a..=b).collect(),
        None => store.all(Resource::Firms).map(|r| r.id).collect(),
    };
    let product_ids: Vec<u64> = match products {
        Some((a, b)) => (a..=b).collect(),
        None => store.all(Resource::CustomerProducts).map(|r| r.id).collect(),
    };
    let firm_of = |n: u64| firm_ids[usize::try_from(n - 1).unwrap_or(0) % firm_ids.len().max(1)];
    let product_of = |n: u64| {
        (!product_ids.is_empty()).then(|| product_ids[usize::try_from(n - 1).unwrap_or(0) % product_ids.len()])
    };
    let line = |item: &str| {
        let link = product_of(1).map_or(String::new(), |id| {
            format!("<customer_product_id>{id}</customer_product_id>")
        });
        format!(
            "<{item}>{link}<description>{p} item</description><quantity>1</quantity><unit_price>10.00</unit_price>{}</{item}>",
            vat_el("vat_value_id")
        )
    };

    let (quote, order) = {
        let a = store.account();
        (a.quote_type.clone(), a.order_type.clone())
    };
    let proposal_body = format!(
        "<proposal_sheet><sheet_type>{}</sheet_type><firm_id>{}</firm_id><title>{p}-Q1</title><proposal_lines>{}</proposal_lines></proposal_sheet>",
        escape(&quote),
        firm_ids.first().copied().unwrap_or(0),
        line("proposal_line")
    );
    let proposals = seed_one(
        store,
        Resource::ProposalSheets,
        &proposal_body,
        seed.proposal_sheets,
        now,
        |n, rec| {
            let (kind, letter) = if n % 2 == 1 { (&quote, 'Q') } else { (&order, 'O') };
            rec.set_text("sheet_type", kind.clone());
            rec.set_text("title", format!("{p}-{letter}{n}"));
            link(rec, firm_of(n), product_of(n), "proposal_lines");
        },
    )?;
    out.insert("proposalSheets".into(), range_json(proposals));

    let bill_body = format!(
        "<bill_sheet><firm_id>{}</firm_id><title>{p}-I1</title><bill_lines>{}</bill_lines></bill_sheet>",
        firm_ids.first().copied().unwrap_or(0),
        line("bill_line")
    );
    let bills = seed_one(
        store,
        Resource::BillSheets,
        &bill_body,
        seed.bill_sheets,
        now,
        |n, rec| {
            rec.set_text("title", format!("{p}-I{n}"));
            link(rec, firm_of(n), product_of(n), "bill_lines");
        },
    )?;
    out.insert("billSheets".into(), range_json(bills));
    out.insert("prefix".into(), json!(p));
    Ok(Json::Object(out))
}

/// Points a document copy at its firm and its lines at its product.
fn link(rec: &mut Rec, firm: u64, product: Option<u64>, wrapper: &str) {
    rec.set("firm_id", Val::Int(i64::try_from(firm).unwrap_or(0)));
    if let (Some(product), Some(lines)) = (product, rec.lists.get_mut(wrapper)) {
        for l in lines {
            l.set("customer_product_id", Val::Int(i64::try_from(product).unwrap_or(0)));
        }
    }
}

/// Creates `count` objects of one resource: the first from `body` through
/// the API's create, the others as copies changed by `vary(n, copy)` (n
/// from 2). Returns the id range.
fn seed_one(
    store: &mut Store,
    res: Resource,
    body: &str,
    count: u64,
    now: NaiveDateTime,
    mut vary: impl FnMut(u64, &mut Rec),
) -> Result<Option<(u64, u64)>, String> {
    if count == 0 {
        return Ok(None);
    }
    let root = crate::xml::parse(body.as_bytes())?;
    let first = store.create(res, &root, now).map_err(|e| match e {
        WriteError::NotFound => format!("seeding {}: not found", res.name()),
        WriteError::Invalid(errors) => format!("seeding {}: {errors:?}", res.name()),
    })?;
    let copies = usize::try_from(count - 1).map_err(|_| "too many objects")?;
    let last = store
        .create_copies(res, &first, copies, now, |i, rec| vary(i as u64 + 2, rec))
        .map_or(first.id, |(_, last)| last);
    Ok(Some((first.id, last)))
}

fn range_json(range: Option<(u64, u64)>) -> Json {
    match range {
        Some((first, last)) => json!({"first": first, "last": last, "count": last - first + 1}),
        None => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;
    use chrono::NaiveDate;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 5)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    /// An object's JSON without what differs between two creations of the
    /// same body (ids, parent ids, timestamps).
    fn shape(store: &Store, res: Resource, id: u64) -> Json {
        let mut v = store.render_json(res, store.get(res, id).unwrap());
        fn strip(v: &mut Json) {
            if let Some(o) = v.as_object_mut() {
                for k in [
                    "id",
                    "proposal_sheet_id",
                    "bill_sheet_id",
                    "created_at",
                    "modified_at",
                    "updated_at",
                ] {
                    o.remove(k);
                }
                o.values_mut().for_each(strip);
            } else if let Some(a) = v.as_array_mut() {
                a.iter_mut().for_each(strip);
            }
        }
        strip(&mut v);
        v
    }

    fn api_create(store: &mut Store, res: Resource, xml: &str) -> u64 {
        let root = crate::xml::parse(xml.as_bytes()).unwrap();
        match store.create(res, &root, now()) {
            Ok(r) => r.id,
            Err(e) => panic!("{xml}: {e:?}"),
        }
    }

    #[test]
    fn seeded_objects_are_what_the_api_would_have_created() {
        let mut s = Store::with_account(Account::default(), 0);
        api_create(&mut s, Resource::Firms, "<firm><name>Before</name></firm>");
        let spec = BulkSeed {
            firms: 3,
            products: 2,
            proposal_sheets: 4,
            bill_sheets: 3,
            prefix: "T".into(),
        };
        let ranges = apply(&mut s, &spec, now()).unwrap();
        assert_eq!(ranges["firms"], json!({"first": 100_002, "last": 100_004, "count": 3}));
        assert_eq!(
            ranges["products"],
            json!({"first": 300_001, "last": 300_002, "count": 2})
        );
        assert_eq!(ranges["proposalSheets"]["last"], 400_004);
        assert_eq!(ranges["billSheets"]["first"], 500_001);
        // The same objects through the API, with the markers of the third
        // firm, the second product, the fourth proposal sheet (an order)
        // and the third invoice, point at the same firm and product.
        let f3 = api_create(
            &mut s,
            Resource::Firms,
            "<firm><name>T firm 3</name><firm_type>client</firm_type><accounting_ref>T-F3</accounting_ref></firm>",
        );
        assert_eq!(shape(&s, Resource::Firms, 100_004), shape(&s, Resource::Firms, f3));
        let p2 = api_create(
            &mut s,
            Resource::CustomerProducts,
            "<customer_product><reference>T-P2</reference><name>T product 2</name><price>10.00</price><vat_id>607</vat_id></customer_product>",
        );
        assert_eq!(
            shape(&s, Resource::CustomerProducts, 300_002),
            shape(&s, Resource::CustomerProducts, p2)
        );
        let line = |item: &str| {
            format!("<{item}><customer_product_id>300002</customer_product_id><description>T item</description><quantity>1</quantity><unit_price>10.00</unit_price><vat_value_id>607</vat_value_id></{item}>")
        };
        let o4 = api_create(
            &mut s,
            Resource::ProposalSheets,
            &format!("<proposal_sheet><sheet_type>order</sheet_type><firm_id>100002</firm_id><title>T-O4</title><proposal_lines>{}</proposal_lines></proposal_sheet>", line("proposal_line")),
        );
        let (mut seeded, api) = (
            shape(&s, Resource::ProposalSheets, 400_004),
            shape(&s, Resource::ProposalSheets, o4),
        );
        // Numbering goes on: the seeded order is C00002, the API's C00003.
        assert_eq!(
            (seeded["reference"].as_str(), api["reference"].as_str()),
            (Some("C00002"), Some("C00003"))
        );
        seeded["reference"] = api["reference"].clone();
        seeded["reference_index"] = api["reference_index"].clone();
        assert_eq!(seeded, api);
        assert_eq!(s.get(Resource::ProposalSheets, 400_003).unwrap().str("title"), "T-Q3");
        assert_eq!(
            s.get(Resource::ProposalSheets, 400_003).unwrap().str("reference"),
            "D00002"
        );
        let i3 = api_create(
            &mut s,
            Resource::BillSheets,
            &format!(
                "<bill_sheet><firm_id>100004</firm_id><title>T-I3</title><bill_lines>{}</bill_lines></bill_sheet>",
                line("bill_line").replace("300002", "300001")
            ),
        );
        assert_eq!(
            shape(&s, Resource::BillSheets, 500_003),
            shape(&s, Resource::BillSheets, i3)
        );
        // Every seeded item got its own id.
        let items: Vec<u64> = (400_001..=400_004)
            .flat_map(|id| {
                s.get(Resource::ProposalSheets, id).unwrap().lists["proposal_lines"]
                    .iter()
                    .map(|l| l.id)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(items.len(), 4);
        assert!(items.windows(2).all(|w| w[0] < w[1]));
        // The API's duplicates above are counted; the seed alone had none.
        assert_eq!(s.duplicate_count(Resource::Firms), 1);
        assert_eq!(s.duplicate_count(Resource::ProposalSheets), 1);
    }

    #[test]
    fn bad_seeds_are_refused_and_create_nothing() {
        for (v, needle) in [
            (json!({"firms": -1}), "`firms`"),
            (json!({"firms": 1.5}), "`firms`"),
            (json!({"firms": 2_000_000}), "`firms`"),
            (json!({"prefix": "a b"}), "`prefix`"),
            (json!({"prefix": ""}), "`prefix`"),
            (json!({"customers": 3}), "unknown key `customers`"),
            (json!([1]), "JSON object"),
        ] {
            let e = BulkSeed::from_json(&v).unwrap_err();
            assert!(e.contains(needle), "{v}: {e}");
        }
        let mut s = Store::with_account(Account::default(), 0);
        let spec = BulkSeed::from_json(&json!({"products": 2, "billSheets": 1})).unwrap();
        assert!(apply(&mut s, &spec, now()).unwrap_err().contains("firm"));
        assert_eq!(s.count(Resource::CustomerProducts), 0);
    }
}
