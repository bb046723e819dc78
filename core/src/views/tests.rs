use super::*;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn fixture(rel: &str) -> Vec<u8> {
    let path = vectors_dir().join("fixtures/pydici").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            xml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

#[test]
fn every_fixture_parses_as_the_resource_of_its_root() {
    let mut files = Vec::new();
    xml_files(&vectors_dir().join("fixtures"), &mut files);
    assert!(files.len() >= 22, "found {} fixtures", files.len());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let root = parse_document(&bytes, XmlLimits::default()).unwrap();
        let resource =
            Resource::from_singular(&root.name).unwrap_or_else(|| panic!("{}: root {}", path.display(), root.name));
        let parsed = parse_resource(resource, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(matches!(parsed, Parsed::One(_)), "{}", path.display());
    }
}

#[test]
fn accepted_quote_with_totals_lines_and_schedule() {
    let q: ProposalSheet = parse_one(&fixture("proposals/proposal_sheets/3.xml")).unwrap();
    assert_eq!(q.id, 3);
    assert_eq!(q.progress_id, Some(557));
    assert_eq!(q.sheet_type.as_deref(), Some("proposal"));
    assert_eq!(q.reference.as_deref(), Some("D1234-56789"));
    assert_eq!(q.billing_date, Some(date(2014, 12, 22)));
    assert_eq!(q.firm_id, Some(1));
    assert_eq!(q.contact_id, None, "0 means no link");
    assert_eq!(q.bank_account_id, None, "-1 means no link");
    assert_eq!(q.vat_exl_total, Some(dec("49750.0")));
    assert_eq!(q.vat_cost, Some(dec("9950.0")));
    assert_eq!(q.vat_inc_total, Some(dec("59700.0")));
    assert_eq!(q.validity_date, Some(date(2015, 3, 14).and_hms_opt(0, 0, 0).unwrap()));
    assert_eq!(q.billing_add_name.as_deref(), Some("1234, Avenue du Général de Gaulle"));
    assert_eq!(q.lines.len(), 2);
    let line = &q.lines[0];
    assert_eq!(line.id, Some(123));
    assert_eq!(line.customer_product_id, Some(789));
    assert_eq!(line.customer_product_category_id, None);
    assert_eq!(line.content_kind, ContentKind::Normal);
    assert_eq!(line.quantity, Some(dec("5.0")));
    assert_eq!(line.unit_price, Some(dec("800.0")));
    assert_eq!(line.vat_value_id, Some(607));
    assert_eq!(line.total_price_with_taxes, Some(dec("4800.0")));
    assert_eq!(line.ordering, Some(100));
    assert_eq!(q.cash_deposits.len(), 2);
    let plan = &q.cash_deposits[0];
    assert_eq!(plan.id, 11497502);
    assert_eq!(plan.kind, Some(CashDepositKind::Plan));
    assert_eq!(plan.amount_ttc, Some(dec("29850.0")));
    assert_eq!(plan.amount_ttc.unwrap().to_string(), "29850.0");
    assert_eq!(plan.deposit_date_estimation, Some(date(2013, 9, 19)));
    assert_eq!(plan.payer_staff_id, None);
}

#[test]
fn the_four_content_kinds() {
    let q: ProposalSheet = parse_one(&fixture("proposal-lines/proposal_sheets/3.xml")).unwrap();
    let kinds: Vec<_> = q.lines.iter().map(|l| l.content_kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            ContentKind::Comment,
            ContentKind::Normal,
            ContentKind::Option,
            ContentKind::Total
        ]
    );
    assert_eq!(q.lines[0].id, Some(0));
    assert_eq!(q.lines[2].total_price, Some(Decimal::ZERO));
    assert_eq!(q.lines[1].unit.as_deref(), Some("M/D"));
}

#[test]
fn quote_without_firm_and_lines_without_kind() {
    let q: ProposalSheet = parse_one(&fixture("proposals/proposal_sheets/4.xml")).unwrap();
    assert_eq!(q.progress_id, Some(620105));
    assert_eq!(q.firm_id, None);
    assert_eq!(q.contact_id, Some(12));
    assert!(q.lines.iter().all(|l| l.content_kind == ContentKind::Normal));
    assert_eq!(q.lines[1].total_price_with_taxes, Some(dec("24")));
}

#[test]
fn contacts_firms_and_embedded_items() {
    let c: Contact = parse_one(&fixture("contact-items/12.xml")).unwrap();
    assert_eq!(c.id, 12);
    assert_eq!(c.first_name.as_deref(), Some("Valérie"));
    assert_eq!(c.last_name.as_deref(), Some("Ramè"));
    assert_eq!(c.firm_id, None);
    assert_eq!(c.contact_type2, None, "empty element reads as None");
    let types: Vec<_> = c.contact_items.iter().map(|i| i.type_id).collect();
    assert_eq!(types, [Some(23), Some(88), Some(554), Some(26), Some(27)]);
    let address = &c.contact_addresses[0];
    assert_eq!(address.address_type, Some(21));
    assert_eq!(address.country_iso_3166_a3.as_deref(), Some("FRA"));
    assert_eq!(
        address.created_at,
        Some(date(2012, 1, 17).and_hms_opt(15, 14, 0).unwrap())
    );

    let c: Contact = parse_one(&fixture("contacts/contacts/34.xml")).unwrap();
    assert_eq!(c.firm_id, Some(1));
    assert_eq!(c.contact_items[0].normalized_phone.as_deref(), Some("0123456789"));

    let f: Firm = parse_one(&fixture("duplicate-firms/3.xml")).unwrap();
    assert_eq!((f.id, f.name.as_deref()), (3, Some("ACME")));
    assert_eq!(f.tva.as_deref(), Some("12"));
    assert_eq!(f.siren, None);
}

#[test]
fn contact_item_debug_hides_personal_values() {
    let c: Contact = parse_one(&fixture("contact-items/12.xml")).unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("valerie.rame@acme.com"));
    assert!(!debug.contains("01 23 45 67 89"));
    assert!(debug.contains("<redacted>"));
}

const PAGE_FIRST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<firms type="array">
  <pagination><current_page>1</current_page><total_pages>4</total_pages><current_page_items_count>2</current_page_items_count></pagination>
  <firm><id>101</id><name>ACME</name></firm>
  <firm><id>102</id><name>Globex</name></firm>
</firms>"#;

const PAGE_LAST: &str = r#"<firms type="array">
  <firm><id>103</id></firm>
  <pagination><current_page>4</current_page><total_pages>4</total_pages><current_page_items_count>1</current_page_items_count></pagination>
</firms>"#;

#[test]
fn list_pages_with_pagination_first_last_or_absent() {
    let page: ListPage<Firm> = parse_page(PAGE_FIRST.as_bytes()).unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[1].name.as_deref(), Some("Globex"));
    assert_eq!(page.pagination.total_pages, 4);
    assert_eq!(page.pagination.next_page(), Some(2));

    let page: ListPage<Firm> = parse_page(PAGE_LAST.as_bytes()).unwrap();
    assert_eq!(page.items[0].id, 103);
    assert_eq!(page.pagination.current_page, 4);
    assert_eq!(page.pagination.next_page(), None);

    let page: ListPage<Firm> = parse_page(b"<firms type=\"array\"><firm><id>1</id></firm></firms>").unwrap();
    assert_eq!(
        page.pagination,
        Pagination {
            current_page: 1,
            total_pages: 1,
            current_page_items_count: 1
        }
    );

    let page: ListPage<Firm> = parse_page(b"<nil-classes type=\"array\"/>").unwrap();
    assert!(page.items.is_empty());

    match parse_resource(Resource::Firms, PAGE_FIRST.as_bytes()).unwrap() {
        Parsed::Page(Page::Firms(p)) => assert_eq!(p.items.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn resource_names() {
    for r in Resource::ALL {
        assert_eq!(r.as_str().parse::<Resource>(), Ok(r));
        assert_eq!(r.to_string(), r.as_str());
        assert_eq!(Resource::from_singular(r.singular()), Some(r));
    }
    assert_eq!(Resource::BillSheets.singular(), "bill_sheet");
    let err = "invoices".parse::<Resource>().unwrap_err();
    assert_eq!(err.code(), "xml.unknown_resource");
    assert!(err.to_string().contains("customer_products"));
    assert!(err.to_string().contains("invoices"));
}

#[test]
fn error_cases() {
    let doctype = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><firm><id>1</id></firm>"#;
    let e = parse_resource(Resource::Firms, doctype).unwrap_err();
    assert_eq!(e.code(), "xml.doctype");

    let bad_decimal = b"<proposal_sheet><id>3</id><proposal_lines>\
        <proposal_line><quantity>1</quantity></proposal_line>\
        <proposal_line><quantity>12,5</quantity></proposal_line>\
        </proposal_lines></proposal_sheet>";
    let e = parse_resource(Resource::ProposalSheets, bad_decimal).unwrap_err();
    assert_eq!(e.code(), "xml.value_format");
    assert_eq!(
        e.path(),
        Some("/proposal_sheet/proposal_lines/proposal_line[2]/quantity")
    );
    assert!(e.to_string().contains("a decimal number"));
    assert!(!e.to_string().contains("12,5"));

    let bad_date = b"<bill_sheet><id>1</id><billing_date>2014-12-22</billing_date></bill_sheet>";
    let e = parse_one::<BillSheet>(bad_date).unwrap_err();
    assert_eq!(e.path(), Some("/bill_sheet/billing_date"));
    assert!(e.to_string().contains("DD-MM-YYYY"));
    assert!(!e.to_string().contains("2014-12-22"));

    let e = parse_resource(Resource::Firms, b"<contact><id>1</id></contact>").unwrap_err();
    assert_eq!(e.code(), "xml.wrong_root");
    assert!(e.to_string().contains("`firm` or `firms`"));
    assert!(e.to_string().contains("`contact`"));
    assert_eq!(
        parse_one::<Firm>(PAGE_FIRST.as_bytes()).unwrap_err().code(),
        "xml.wrong_root"
    );
    assert_eq!(
        parse_page::<Firm>(b"<firm><id>1</id></firm>").unwrap_err().code(),
        "xml.wrong_root"
    );

    let e = parse_one::<Firm>(b"<firm><name>x</name></firm>").unwrap_err();
    assert_eq!(e.code(), "xml.missing_element");
    assert_eq!(e.path(), Some("/firm/id"));

    let tiny = XmlLimits {
        max_bytes: 8,
        ..XmlLimits::default()
    };
    let e = parse_resource_with_limits(Resource::Firms, b"<firm><id>1</id></firm>", tiny);
    assert_eq!(e.unwrap_err().code(), "xml.too_large");
    let e = parse_resource(Resource::Firms, &[b'<', 0xff, b'>']).unwrap_err();
    assert_eq!(e.code(), "xml.not_utf8");
}

#[test]
fn json_rendering() {
    let v = parse_resource_json("firms", &fixture("duplicate-firms/3.xml"));
    assert_eq!(v["one"]["firm"]["id"], serde_json::json!(3));
    assert_eq!(v["one"]["firm"]["tva"], "12");
    assert!(v["one"]["firm"]["siren"].is_null());
    let v = parse_resource_json("proposal_sheets", &fixture("proposals/proposal_sheets/3.xml"));
    let sheet = &v["one"]["proposal_sheet"];
    assert_eq!(sheet["billingDate"], "2014-12-22");
    assert_eq!(sheet["cashDeposits"][0]["amountTtc"], "29850.0");
    assert_eq!(sheet["lines"][0]["contentKind"], "normal");
    let v = parse_resource_json("firms", b"<firm><id>x</id></firm>");
    assert_eq!(
        v,
        serde_json::json!({"error": {"class": "usage", "code": "xml.value_format",
            "message": "/firm/id: expected an id (a non-negative integer)", "path": "/firm/id"}})
    );
    let v = parse_resource_json("nope", b"");
    assert_eq!(v["error"]["code"], "xml.unknown_resource");
    assert!(v["error"].get("path").is_none());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for r in Resource::ALL {
                let _ = parse_resource(r, &bytes);
            }
        }

        #[test]
        fn errors_never_quote_the_value(s in "[a-zA-Z0-9 ,:@+.-]{0,20}", field in 0usize..6) {
            let value = format!("zq{s}");
            let name = ["quantity", "billing_date", "created_at", "firm_id", "is_repeat", "id"][field];
            let xml = format!(
                "<bill_sheet><id>1</id><bill_lines><bill_line><{name}>{value}</{name}></bill_line></bill_lines>\
                 <{name}>{value}</{name}></bill_sheet>"
            );
            if let Err(e) = parse_resource(Resource::BillSheets, xml.as_bytes()) {
                prop_assert!(!e.to_string().contains(&value));
                prop_assert!(!e.to_json().to_string().contains(&value));
            }
        }

        #[test]
        fn any_text_field_round_trips(s in "\\PC{0,40}") {
            let escaped = s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let xml = format!("<firm><id>7</id><name>{escaped}</name></firm>");
            let firm: Firm = parse_one(xml.as_bytes()).unwrap();
            let trimmed = s.trim();
            prop_assert_eq!(firm.name.as_deref(), (!trimmed.is_empty()).then_some(trimmed));
        }
    }
}

// ---- golden vectors: tests/vectors/parse/*.json ----

/// The runners' matching rule: objects in `expected` are subsets, arrays have
/// the same length and match element-wise, scalars are equal.
fn subset_match(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| format!("{at}.{k}: missing in actual"))?;
                subset_match(ev, av, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{at}: length {} != {}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset_match(ev, av, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{at}: expected {e}, got {a}")),
    }
}

#[test]
fn subset_rule_itself() {
    let actual = serde_json::json!({"a": 1, "b": [1, {"c": 2, "d": 3}]});
    assert!(subset_match(&serde_json::json!({"b": [1, {"c": 2}]}), &actual, "$").is_ok());
    assert!(subset_match(&serde_json::json!({"b": [1]}), &actual, "$").is_err());
    assert!(subset_match(&serde_json::json!({"a": "1"}), &actual, "$").is_err());
    assert!(subset_match(&serde_json::json!({"z": null}), &actual, "$").is_err());
}

#[test]
fn golden_parse_vectors() {
    let dir = vectors_dir().join("parse");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} vectors", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let vector: Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(vector["call"], "parse", "{name}");
        assert!(vector["description"].is_string(), "{name}: description");
        let resource = vector["args"]["resource"].as_str().expect("args.resource");
        let input = match (vector.get("inputFile"), vector.get("inputText")) {
            (Some(Value::String(f)), None) => {
                std::fs::read(vectors_dir().join(f)).unwrap_or_else(|e| panic!("{name}: {f}: {e}"))
            }
            (None, Some(Value::String(t))) => t.clone().into_bytes(),
            _ => panic!("{name}: exactly one of inputFile / inputText"),
        };
        let actual = parse_resource_json(resource, &input);
        if let Err(e) = subset_match(&vector["expected"], &actual, "$") {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
