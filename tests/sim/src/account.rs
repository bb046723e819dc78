//! The account-specific tables of the simulated business file: VAT ids and
//! rates, the `sheet_type` literals of proposal sheets, status ids, the
//! currency id and warehouses. incwo does not list these through its API and
//! they differ between accounts, so the simulator can be started with other
//! values than the documented defaults (and seeded with documents that use
//! them) to prove that the connector discovers them instead of assuming them.
//!
//! [`Account::from_profile_json`] reads the connector's mapping-profile
//! format (`profiles/*.json`) with its own small reader: the simulator stays
//! independent of `incwo-core`.

use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::str::FromStr;

/// Names of the quote, order and invoice statuses, in the order a profile's
/// `statuses` tables list them.
pub const QUOTE_STATUS_NAMES: [&str; 5] = ["draft", "sent", "accepted", "refused", "expired"];
/// See [`QUOTE_STATUS_NAMES`].
pub const ORDER_STATUS_NAMES: [&str; 4] = ["confirmed", "partiallyDelivered", "delivered", "cancelled"];
/// See [`QUOTE_STATUS_NAMES`].
pub const INVOICE_STATUS_NAMES: [&str; 5] = ["draft", "issued", "partiallyPaid", "paid", "cancelled"];

/// The account-specific values of the simulated business file.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Business file name shown by the account listing.
    pub name: String,
    /// VAT ids (`vat_value_id` on lines, `vat_id` on products) and their
    /// rates as fractions; any other id is refused with 422.
    pub vat: Vec<(i64, Decimal)>,
    /// `sheet_type` of quotes (`proposal`).
    pub quote_type: String,
    /// `sheet_type` of sales orders (`order`).
    pub order_type: String,
    /// `sheet_type` of delivery notes (`delivery`).
    pub delivery_type: String,
    /// Quote status ids, in [`QUOTE_STATUS_NAMES`] order; the first is the
    /// default of a new proposal sheet.
    pub quote_statuses: Vec<i64>,
    /// Order status ids, in [`ORDER_STATUS_NAMES`] order.
    pub order_statuses: Vec<i64>,
    /// Invoice status ids, in [`INVOICE_STATUS_NAMES`] order.
    pub invoice_statuses: Vec<i64>,
    /// Currency id given to products and documents that name none.
    pub currency_id: i64,
    /// Warehouse ids the seeded stock movements use.
    pub warehouses: Vec<i64>,
    /// Whether the business file starts (and restarts on reset) with seeded
    /// products, documents in every status and stock movements, so that a
    /// discovery has data to read.
    pub seed_data: bool,
}

/// VAT ids known from the reference, with their rate (mantissa, scale).
/// The five the connector's default profile uses come first.
const DOCUMENTED_VAT: &[(i64, i64, u32)] = &[
    (607, 20, 2),
    (552, 10, 2),
    (223, 55, 3),
    (222, 21, 3),
    (225, 0, 0),
    (224, 196, 3),
    (529, 19, 2),
    (543, 85, 3),
    (544, 21, 2),
    (545, 76, 3),
    (546, 16, 2),
    (551, 15, 2),
    (553, 3, 2),
    (567, 18, 2),
    (569, 85, 3),
    (615, 6, 2),
];

impl Default for Account {
    /// The documented values: the reference's VAT table, `proposal` /
    /// `order` / `delivery`, quote statuses 555–559, currency 58, no seed.
    fn default() -> Self {
        Account {
            name: "Simulated business file".into(),
            vat: DOCUMENTED_VAT
                .iter()
                .map(|(id, m, s)| (*id, Decimal::new(*m, *s)))
                .collect(),
            quote_type: "proposal".into(),
            order_type: "order".into(),
            delivery_type: "delivery".into(),
            quote_statuses: vec![555, 556, 557, 558, 559],
            order_statuses: vec![600_001, 600_002, 600_003, 600_004],
            invoice_statuses: vec![600_011, 600_012, 600_013, 600_014, 600_015],
            currency_id: 58,
            warehouses: vec![100_001],
            seed_data: false,
        }
    }
}

impl Account {
    /// The rate of a VAT id, if the account has it.
    pub fn vat_rate(&self, id: i64) -> Option<Decimal> {
        self.vat.iter().find(|(v, _)| *v == id).map(|(_, r)| *r)
    }

    /// The `sheet_type` literals proposal sheets accept.
    pub fn proposal_types(&self) -> [&str; 3] {
        [&self.quote_type, &self.order_type, &self.delivery_type]
    }

    /// Default `progress_id` of a new proposal sheet (555 by default).
    pub fn default_proposal_progress(&self) -> i64 {
        self.quote_statuses.first().copied().unwrap_or(555)
    }

    /// Numbering prefix of a document type; `None` for drafts (no number).
    pub fn reference_prefix(&self, sheet_type: &str) -> Option<&'static str> {
        match sheet_type {
            t if t == self.quote_type => Some("D"),
            t if t == self.order_type => Some("C"),
            t if t == self.delivery_type => Some("BL"),
            "invoice" => Some("F"),
            "credit" => Some("A"),
            _ => None,
        }
    }

    /// Reads an account from a connector mapping profile (JSON): the VAT ids
    /// and rates of `taxes`, `sheetTypes`, the `statuses` tables, the id of
    /// `defaultCurrency` and the ids of `warehouses`. Seeding is switched on.
    pub fn from_profile_json(text: &str) -> Result<Account, String> {
        let v: Json = serde_json::from_str(text).map_err(|e| format!("the profile is not JSON: {e}"))?;
        let mut account = Account {
            seed_data: true,
            ..Account::default()
        };
        if let Some(name) = v.get("name").and_then(Json::as_str) {
            account.name = name.to_string();
        }
        let taxes = v
            .get("taxes")
            .and_then(Json::as_object)
            .ok_or("the profile has no `taxes` object")?;
        account.vat.clear();
        for (code, tax) in taxes {
            let id = tax
                .get("vatValueId")
                .and_then(Json::as_i64)
                .ok_or_else(|| format!("taxes/{code}/vatValueId: expected an integer"))?;
            let rate = match tax.get("rate") {
                Some(Json::String(s)) => Decimal::from_str(s).ok(),
                Some(Json::Number(n)) => Decimal::from_str(&n.to_string()).ok(),
                _ => None,
            }
            .ok_or_else(|| format!("taxes/{code}/rate: expected a decimal"))?;
            if account.vat.iter().all(|(v, _)| *v != id) {
                account.vat.push((id, rate));
            }
        }
        if let Some(types) = v.get("sheetTypes") {
            let get = |k: &str| types.get(k).and_then(Json::as_str).map(str::to_string);
            account.quote_type = get("quote").unwrap_or(account.quote_type);
            account.order_type = get("order").unwrap_or(account.order_type);
            account.delivery_type = get("delivery").unwrap_or(account.delivery_type);
        }
        let statuses = |table: &str, names: &[&str]| -> Result<Vec<i64>, String> {
            names
                .iter()
                .map(|n| {
                    v.pointer(&format!("/statuses/{table}/{n}"))
                        .and_then(Json::as_i64)
                        .ok_or_else(|| format!("statuses/{table}/{n}: expected an integer"))
                })
                .collect()
        };
        account.quote_statuses = statuses("quote", &QUOTE_STATUS_NAMES)?;
        account.order_statuses = statuses("order", &ORDER_STATUS_NAMES)?;
        account.invoice_statuses = statuses("invoice", &INVOICE_STATUS_NAMES)?;
        let currency = v.get("defaultCurrency").and_then(Json::as_str).unwrap_or("EUR");
        account.currency_id = v
            .pointer(&format!("/currencies/{currency}/id"))
            .and_then(Json::as_i64)
            .ok_or_else(|| format!("currencies/{currency}/id: expected an integer"))?;
        account.warehouses = v
            .get("warehouses")
            .and_then(Json::as_object)
            .map(|w| w.values().filter_map(Json::as_i64).collect())
            .unwrap_or_default();
        Ok(account)
    }

    /// The XML bodies of the seeded objects, in creation order, as
    /// `(resource, body)`; `{firm}` and `{product:N}` are replaced by the
    /// ids of the seeded firm and N-th product when created.
    pub(crate) fn seed_bodies(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![(
            "firms",
            "<firm><name>Client exemple (seed)</name><firm_type>client</firm_type>\
             <accounting_ref>SEED-FIRM-1</accounting_ref></firm>"
                .to_string(),
        )];
        for (n, (vat, _)) in self.vat.iter().enumerate() {
            out.push((
                "customer_products",
                format!(
                    "<customer_product><reference>SEED-P{n}</reference><name>Seed product {n}</name>\
                     <price>{}.50</price><vat_id>{vat}</vat_id><currency_id>{}</currency_id></customer_product>",
                    10 + n,
                    self.currency_id
                ),
            ));
        }
        let lines = |wrapper: &str, item: &str, doc: usize| {
            let mut s = format!("<{wrapper}>");
            for (n, (vat, _)) in self.vat.iter().enumerate() {
                // Varied amounts so the VAT of each line pins its rate down.
                s.push_str(&format!(
                    "<{item}><customer_product_id>{{product:{n}}}</customer_product_id>\
                     <description>Seed line {n}</description><quantity>{}</quantity>\
                     <unit_price>{}.{:02}</unit_price><vat_value_id>{vat}</vat_value_id></{item}>",
                    1 + (doc + n) % 4,
                    97 + 31 * doc + 7 * n,
                    (13 * doc + 29 * n) % 100
                ));
            }
            s.push_str(&format!("</{wrapper}>"));
            s
        };
        let mut doc = 0;
        let proposal = |sheet_type: &str, progress: i64, title: String, doc: usize| {
            (
                "proposal_sheets",
                format!(
                    "<proposal_sheet><sheet_type>{sheet_type}</sheet_type><progress_id>{progress}</progress_id>\
                     <firm_id>{{firm}}</firm_id><title>{title}</title><currency_id>{}</currency_id>{}</proposal_sheet>",
                    self.currency_id,
                    lines("proposal_lines", "proposal_line", doc)
                ),
            )
        };
        let mut bodies = Vec::new();
        for (i, p) in self.quote_statuses.iter().enumerate() {
            doc += 1;
            bodies.push(proposal(&self.quote_type, *p, format!("SEED-QUOTE-{i}"), doc));
        }
        for (i, p) in self.order_statuses.iter().enumerate() {
            doc += 1;
            bodies.push(proposal(&self.order_type, *p, format!("SEED-ORDER-{i}"), doc));
        }
        doc += 1;
        bodies.push(proposal(
            &self.delivery_type,
            self.default_proposal_progress(),
            "SEED-DELIVERY-0".into(),
            doc,
        ));
        out.extend(bodies);
        for (i, p) in self.invoice_statuses.iter().enumerate() {
            doc += 1;
            let sheet_type = if i == 0 { "invoice_maybe" } else { "invoice" };
            out.push((
                "bill_sheets",
                format!(
                    "<bill_sheet><sheet_type>{sheet_type}</sheet_type><progress_id>{p}</progress_id>\
                     <firm_id>{{firm}}</firm_id><title>SEED-INVOICE-{i}</title><currency_id>{}</currency_id>{}</bill_sheet>",
                    self.currency_id,
                    lines("bill_lines", "bill_line", doc)
                ),
            ));
        }
        for (i, w) in self.warehouses.iter().enumerate() {
            out.push((
                "stock_movements",
                format!(
                    "<stock_movement><customer_product_id>{{product:0}}</customer_product_id><quantity>{}</quantity>\
                     <direction>1</direction><destination_warehouse_id>{w}</destination_warehouse_id>\
                     <comment>SEED-MOVE-IN-{i}</comment></stock_movement>",
                    20 + i
                ),
            ));
            out.push((
                "stock_movements",
                format!(
                    "<stock_movement><customer_product_id>{{product:0}}</customer_product_id><quantity>3</quantity>\
                     <direction>-1</direction><origin_warehouse_id>{w}</origin_warehouse_id>\
                     <comment>SEED-MOVE-OUT-{i}</comment></stock_movement>"
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_connector_profile_format() {
        let a = Account::from_profile_json(include_str!("../../../profiles/default.json")).unwrap();
        assert_eq!(a.vat_rate(607), Some(Decimal::new(20, 2)));
        assert_eq!(a.vat_rate(224), None);
        assert_eq!(a.quote_statuses, vec![555, 556, 557, 558, 559]);
        assert_eq!(a.currency_id, 58);
        assert_eq!(a.warehouses, vec![100_001]);
        assert!(a.seed_data);
        assert!(Account::from_profile_json("{").is_err());
        assert!(Account::from_profile_json(r#"{"taxes": {"X": {"rate": "0.2"}}}"#).is_err());
    }

    #[test]
    fn documented_defaults() {
        let a = Account::default();
        assert_eq!(a.vat_rate(223).unwrap().to_string(), "0.055");
        assert_eq!(a.vat_rate(1), None);
        assert_eq!(a.reference_prefix("order"), Some("C"));
        assert_eq!(a.reference_prefix("invoice_maybe"), None);
        assert!(!a.seed_data);
    }
}
