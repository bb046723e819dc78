//! `incwo postman`: the nominal scenario (customer → product → quote →
//! acceptance → order → invoice → read-back) as a Postman collection v2.1,
//! with the bodies the core's mappers produce and assertions on status and
//! XML fields. Credentials are collection variables, never inline: pass
//! `password` at run time (`newman run … --env-var password=…`).

use incwo_core::mapping::{v1, Links, Profile};
use incwo_core::model::Record;
use serde_json::{json, Value};

/// Placeholder ids replaced by Postman variables in the bodies.
const FIRM: u64 = 987_654_321_001;
const PRODUCT: u64 = 987_654_321_002;

fn record(kind: &str, text: &str, profile: &Profile) -> Result<Record, String> {
    let kind = kind
        .parse()
        .map_err(|e: incwo_core::model::UnknownKind| e.to_string())?;
    let report = incwo_core::contract::validate(kind, text, profile).map_err(|e| e.to_string())?;
    report
        .record
        .ok_or_else(|| format!("the example {kind} is invalid: {:?}", report.violations))
}

fn body(record: &Record, profile: &Profile) -> Result<String, String> {
    let links = Links {
        firm_id: Some(FIRM),
        product_ids: [("KIT-API-01".to_string(), PRODUCT)].into_iter().collect(),
    };
    let mapped = v1::map_record(record, profile, &links).map_err(|e| e.to_string())?;
    Ok(mapped
        .xml
        .replace(&FIRM.to_string(), "{{firm_id}}")
        .replace(&PRODUCT.to_string(), "{{product_id}}"))
}

fn test_script(lines: &[String]) -> Value {
    json!([{"listen": "test", "script": {"type": "text/javascript", "exec": lines}}])
}

fn item(name: &str, method: &str, path: &str, body: Option<String>, tests: Vec<String>) -> Value {
    let mut request = json!({
        "method": method,
        "header": [
            {"key": "Content-Type", "value": "application/xml"},
            {"key": "Accept", "value": "application/xml"}
        ],
        "url": {
            "raw": format!("{{{{server}}}}/{{{{business_file}}}}/{path}"),
            "host": ["{{server}}"],
            "path": std::iter::once("{{business_file}}".to_string()).chain(path.split('/').map(str::to_string)).collect::<Vec<_>>(),
        },
    });
    if let Some(body) = body {
        request["body"] = json!({"mode": "raw", "raw": body, "options": {"raw": {"language": "xml"}}});
    }
    json!({"name": name, "request": request, "event": test_script(&tests)})
}

fn created(root: &str, variable: &str, checks: &[(&str, &str)]) -> Vec<String> {
    let mut lines = vec![
        "pm.test('created (200 or 201)', () => pm.expect(pm.response.code).to.be.oneOf([200, 201]));".to_string(),
        format!("let doc; require('xml2js').parseString(pm.response.text(), {{explicitArray: false}}, (e, r) => {{ doc = r && r.{root}; }});"),
        format!("pm.test('has an id', () => pm.expect(Number(doc.id)).to.be.above(0));"),
        format!("pm.collectionVariables.set('{variable}', doc.id);"),
    ];
    lines.extend(checks.iter().map(|(field, value)| {
        format!("pm.test('{field} is {value}', () => pm.expect(String(doc.{field})).to.eql('{value}'));")
    }));
    lines
}

/// The collection for the nominal scenario against `server` / `business_file`.
pub fn collection(server: &str, business_file: &str) -> Result<Value, String> {
    let profile = Profile::default();
    let data = |name: &str| -> Result<String, String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data");
        std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))
    };
    let customer = record("customer", &data("customer.json")?, &profile)?;
    let product = record("product", &data("product.json")?, &profile)?;
    let quote = record("quote", &data("quote.json")?, &profile)?;
    let order = record("order", &data("order.json")?, &profile)?;
    let invoice = record("invoice", &data("invoice.json")?, &profile)?;
    let accepted = profile.statuses.quote["accepted"];
    let totals = [
        ("vat_exl_total", "499.00"),
        ("vat_cost", "99.80"),
        ("vat_inc_total", "598.80"),
    ];
    let with_totals = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        extra.iter().chain(totals.iter()).copied().collect()
    };
    let items = vec![
        item("customer → firm", "POST", "firms.xml", Some(body(&customer, &profile)?), created("firm", "firm_id", &[("accounting_ref", "CLI-INC-8872")])),
        item(
            "product → customer_product",
            "POST",
            "customer_products.xml",
            Some(body(&product, &profile)?),
            created("customer_product", "product_id", &[("reference", "KIT-API-01"), ("price", "49.90")]),
        ),
        item(
            "quote → proposal_sheet",
            "POST",
            "proposal_sheets.xml",
            Some(body(&quote, &profile)?),
            created("proposal_sheet", "quote_id", &with_totals(&[("title", "DEV-INC-2026-0107"), ("sheet_type", "proposal")])),
        ),
        item(
            "accept the quote",
            "PUT",
            "proposal_sheets/{{quote_id}}.xml",
            Some(format!("<proposal_sheet><progress_id>{accepted}</progress_id></proposal_sheet>")),
            vec![
                "pm.test('updated', () => pm.expect(pm.response.code).to.eql(200));".into(),
                "let doc; require('xml2js').parseString(pm.response.text(), {explicitArray: false}, (e, r) => { doc = r && r.proposal_sheet; });".into(),
                format!("pm.test('accepted', () => pm.expect(String(doc.progress_id)).to.eql('{accepted}'));"),
            ],
        ),
        item(
            "order → proposal_sheet",
            "POST",
            "proposal_sheets.xml",
            Some(body(&order, &profile)?),
            created("proposal_sheet", "order_id", &with_totals(&[("title", "CMD-INC-2026-0411"), ("sheet_type", "order")])),
        ),
        item(
            "invoice → draft bill_sheet",
            "POST",
            "bill_sheets.xml",
            Some(body(&invoice, &profile)?),
            created("bill_sheet", "invoice_id", &with_totals(&[("title", "FAC-INC-2026-0198"), ("sheet_type", "invoice_maybe")])),
        ),
        item(
            "read the invoice back",
            "GET",
            "bill_sheets/{{invoice_id}}.xml",
            None,
            vec![
                "pm.test('found', () => pm.expect(pm.response.code).to.eql(200));".into(),
                "let doc; require('xml2js').parseString(pm.response.text(), {explicitArray: false}, (e, r) => { doc = r && r.bill_sheet; });".into(),
                "pm.test('same invoice', () => pm.expect(String(doc.title)).to.eql('FAC-INC-2026-0198'));".into(),
                "pm.test('totals kept', () => pm.expect(String(doc.vat_inc_total)).to.eql('598.80'));".into(),
            ],
        ),
    ];
    Ok(json!({
        "info": {
            "name": "incwo connector — nominal scenario",
            "description": "customer → product → quote → acceptance → order → draft invoice → read-back, with the bodies the connector's mappers produce. Set `password` at run time; it is never stored in the collection.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
        },
        "auth": {"type": "basic", "basic": [
            {"key": "username", "value": "{{login}}", "type": "string"},
            {"key": "password", "value": "{{password}}", "type": "string"}
        ]},
        "variable": [
            {"key": "server", "value": server},
            {"key": "business_file", "value": business_file},
            {"key": "login", "value": "api@example.fr"},
            {"key": "password", "value": ""},
            {"key": "firm_id", "value": ""},
            {"key": "product_id", "value": ""},
            {"key": "quote_id", "value": ""},
            {"key": "order_id", "value": ""},
            {"key": "invoice_id", "value": ""}
        ],
        "item": items,
    }))
}
