use super::*;
use crate::contract::validate;
use crate::model::{Kind, Record};

fn record(kind: Kind, text: &str) -> Record {
    validate(kind, text, &Profile::default())
        .unwrap()
        .record
        .expect("valid example")
}

fn map(kind: Kind, text: &str, links: &Links) -> Mapped {
    map_record(&record(kind, text), &Profile::default(), links).unwrap()
}

fn links() -> Links {
    Links {
        firm_id: Some(1001),
        product_ids: [("KIT-API-01".to_string(), 789)].into_iter().collect(),
    }
}

#[test]
fn the_brief_order_maps_to_a_proposal_sheet_with_its_totals() {
    let mapped = map(
        Kind::Order,
        include_str!("../../../../examples/data/order.json"),
        &links(),
    );
    assert_eq!(mapped.resource, "proposal_sheets");
    assert_eq!(
        mapped.xml,
        "<proposal_sheet><sheet_type>order</sheet_type><firm_id>1001</firm_id><title>CMD-INC-2026-0411</title>\
         <billing_date>11-04-2026</billing_date><currency_id>58</currency_id><progress_id>600001</progress_id>\
         <vat_exl_total>499.00</vat_exl_total><vat_cost>99.80</vat_cost><vat_inc_total>598.80</vat_inc_total>\
         <proposal_lines><proposal_line><customer_product_id>789</customer_product_id>\
         <description>Kit d'intégration API</description><quantity>10</quantity><unit_price>49.90</unit_price>\
         <vat_value_id>607</vat_value_id><total_price>499.00</total_price><ordering>100</ordering>\
         </proposal_line></proposal_lines></proposal_sheet>"
    );
    let totals = mapped.totals.unwrap();
    assert_eq!(totals.incl_tax.to_string(), "598.80");
}

#[test]
fn links_not_yet_known_are_left_out() {
    let mapped = map(
        Kind::Order,
        include_str!("../../../../examples/data/order.json"),
        &Links::default(),
    );
    assert!(!mapped.xml.contains("firm_id"));
    assert!(!mapped.xml.contains("customer_product_id"));
}

#[test]
fn customer_maps_to_a_firm_with_address_and_items() {
    let mapped = map(
        Kind::Customer,
        include_str!("../../../../examples/data/customer.json"),
        &links(),
    );
    assert_eq!(mapped.resource, "firms");
    assert_eq!(
        mapped.xml,
        "<firm><name>Atelier Horizon</name><firm_type>client</firm_type><accounting_ref>CLI-INC-8872</accounting_ref>\
         <tva>FR53123456789</tva><siren>123456789</siren><contact_addresses><contact_address>\
         <street_address>18 rue des Tanneurs</street_address><zip_code>69002</zip_code><city>Lyon</city>\
         <country>France</country><country_iso_3166_a3>FRA</country_iso_3166_a3></contact_address></contact_addresses>\
         <contact_items><contact_item><type_id>27</type_id><value>compta@atelier-horizon.fr</value></contact_item>\
         <contact_item><type_id>24</type_id><value>+33183408815</value></contact_item></contact_items></firm>"
    );
}

#[test]
fn product_quote_invoice_movement_and_cancellation() {
    let product = map(
        Kind::Product,
        include_str!("../../../../examples/data/product.json"),
        &links(),
    );
    assert_eq!(
        product.xml,
        "<customer_product><reference>KIT-API-01</reference><name>Kit d'intégration API</name><price>49.90</price>\
         <vat_id>607</vat_id><unit>unit</unit><is_active>1</is_active><currency_id>58</currency_id></customer_product>"
    );
    let quote = map(
        Kind::Quote,
        include_str!("../../../../examples/data/quote.json"),
        &links(),
    );
    assert!(quote
        .xml
        .starts_with("<proposal_sheet><sheet_type>proposal</sheet_type>"));
    assert!(quote.xml.contains("<progress_id>555</progress_id>"));
    let invoice = map(
        Kind::Invoice,
        include_str!("../../../../examples/data/invoice.json"),
        &links(),
    );
    assert_eq!(invoice.resource, "bill_sheets");
    assert!(invoice
        .xml
        .starts_with("<bill_sheet><sheet_type>invoice_maybe</sheet_type>"));
    assert!(invoice.xml.contains("<bill_lines><bill_line>"));
    assert!(invoice.xml.contains("<vat_inc_total>598.80</vat_inc_total>"));
    let movement = map(
        Kind::StockMovement,
        include_str!("../../../../examples/data/stock-movement.json"),
        &links(),
    );
    assert_eq!(
        movement.xml,
        "<stock_movement><customer_product_id>789</customer_product_id><origin_warehouse_id>100001</origin_warehouse_id>\
         <destination_warehouse_id>100001</destination_warehouse_id><quantity>10</quantity><direction>-1</direction>\
         <comment>MVT-2026-0411-1</comment></stock_movement>"
    );
    let cancellation = map(
        Kind::Cancellation,
        include_str!("../../../../examples/data/cancellation.json"),
        &links(),
    );
    assert_eq!(
        cancellation.xml,
        "<proposal_sheet><progress_id>600004</progress_id></proposal_sheet>"
    );
}

#[test]
fn final_invoices_and_credit_notes() {
    let profile = Profile {
        invoice_mode: InvoiceMode::Final,
        ..Profile::default()
    };
    let Record::Invoice(invoice) = record(Kind::Invoice, include_str!("../../../../examples/data/invoice.json")) else {
        panic!()
    };
    let issued = map_invoice(&invoice, &profile, &links(), None).unwrap();
    assert!(issued.xml.contains("<sheet_type>invoice</sheet_type>"));
    let credit = map_credit_note(&invoice, invoice.issue_date, &profile, &links(), Some("EUR")).unwrap();
    assert!(credit.xml.contains("<sheet_type>credit</sheet_type>"));
    assert!(credit.xml.contains("<title>FAC-INC-2026-0198-credit</title>"));
    assert!(credit.xml.contains("<quantity>-10</quantity>"));
    let totals = credit.totals.unwrap();
    assert_eq!(totals.incl_tax.to_string(), "-598.80");
    let draft_credit = map_credit_note(&invoice, invoice.issue_date, &Profile::default(), &links(), None).unwrap();
    assert!(draft_credit.xml.contains("<sheet_type>credit_maybe</sheet_type>"));
}

#[test]
fn text_is_escaped() {
    let text = include_str!("../../../../examples/data/customer.json").replace("Atelier Horizon", "Dupont & <Fils>");
    let mapped = map(Kind::Customer, &text, &links());
    assert!(mapped.xml.contains("<name>Dupont &amp; &lt;Fils&gt;</name>"));
}

#[test]
fn an_unknown_mapper_version_is_refused() {
    let profile = Profile {
        mapper_version: 9,
        ..Profile::default()
    };
    let err = crate::mapping::map_record(
        &record(Kind::Product, include_str!("../../../../examples/data/product.json")),
        &profile,
        &links(),
    )
    .unwrap_err();
    assert_eq!(err.code, "mapping.unknown_version");
}
