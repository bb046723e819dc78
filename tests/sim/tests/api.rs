//! The incwo API as the simulator serves it, over real loopback HTTP.

mod common;

use common::*;

#[test]
fn auth_is_required() {
    let sim = Sim::start();
    let path = sim.coll("firms");
    let r = Req::new("GET", &path).no_auth().send(sim.port()).unwrap();
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = Req::new("GET", &path).auth(LOGIN, "wrong").send(sim.port()).unwrap();
    assert_eq!(r.status, 401);
    assert!(!r.body.contains("wrong"));
    let r = Req::new("GET", &path)
        .no_auth()
        .header("Authorization", "Bearer abc")
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 401);
    let r = Req::new("GET", &path)
        .no_auth()
        .header("Authorization", "Basic !!!")
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(sim.get(&path).status, 200);
}

#[test]
fn unknown_business_file_resource_or_format() {
    let sim = Sim::start();
    let r = sim.get("/999999/firms.xml");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<errors>"));
    assert_eq!(sim.get("/123456/planets.xml").status, 404);
    assert_eq!(sim.get("/123456/firms/abc.xml").status, 404);
    assert_eq!(sim.get("/123456/firms/100001.xml").status, 404);
    assert_eq!(sim.get("/123456/firms.json").status, 406);
    assert_eq!(sim.get("/123456/firms").status, 406);
    assert_eq!(sim.get("/").status, 404);
    let r = Req::new("PATCH", &sim.coll("firms")).send(sim.port()).unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
}

#[test]
fn create_read_update_delete_a_firm() {
    let sim = Sim::start();
    let r = sim.post(
        &sim.coll("firms"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<firm><name>Atelier Horizon &amp; Fils</name><firm_type>client</firm_type><tva>FR40303265045</tva><siren>303265045</siren><accounting_ref>CLI-INC-8872</accounting_ref><unknown_element>x</unknown_element><id>7</id><created_at>01-01-2000-00-00</created_at><contact_addresses><contact_address><street_address>12 rue Exemple</street_address><street_address2></street_address2><zip_code>75001</zip_code><city>Paris</city><country>France</country><country_iso_3166_a3>FRA</country_iso_3166_a3></contact_address></contact_addresses><contact_items><contact_item><type_id>27</type_id><value>contact@atelier.fr</value></contact_item><contact_item><type_id>471</type_id><value>01 23 45 67 89</value></contact_item></contact_items></firm>",
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(r.header("content-type").unwrap().contains("xml"));
    let id = r.tag("id");
    assert_ne!(id, "7", "a client-sent id is ignored");
    assert_eq!(r.header("location"), Some(format!("/123456/firms/{id}.xml").as_str()));
    assert_eq!(r.tag("name"), "Atelier Horizon &amp; Fils");
    assert_eq!(r.tag("accounting_ref"), "CLI-INC-8872");
    assert_eq!(r.tag("city"), "Paris");
    assert_eq!(tags(&r.body, "value").len(), 2);
    assert!(!r.body.contains("unknown_element"));
    assert_ne!(r.tag("created_at"), "01-01-2000-00-00");
    let ts = r.tag("created_at");
    assert_eq!(ts.len(), 16, "DD-MM-YYYY-HH-MM: {ts}");
    assert_eq!(r.tag("modified_at"), ts);
    assert_eq!(r.tag("updated_at"), ts);

    let g = sim.get(&sim.one("firms", &id));
    assert_eq!(g.status, 200);
    assert_eq!(g.tag("tva"), "FR40303265045");

    // Partial update: only the fields sent change; lists not sent stay.
    let u = sim.put(&sim.one("firms", &id), "<firm><tva>FR1</tva></firm>");
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(u.tag("tva"), "FR1");
    assert_eq!(u.tag("siren"), "303265045");
    assert_eq!(u.tag("city"), "Paris");
    // A blank required field is refused on update too.
    let u = sim.put(&sim.one("firms", &id), "<firm><name></name></firm>");
    assert_eq!(u.status, 422);
    assert!(u.body.contains("field=\"name\""));

    let d = sim.delete(&sim.one("firms", &id));
    assert_eq!(d.status, 200);
    assert_eq!(sim.get(&sim.one("firms", &id)).status, 404);
    assert_eq!(sim.delete(&sim.one("firms", &id)).status, 404);
    assert_eq!(sim.put(&sim.one("firms", &id), "<firm><tva>x</tva></firm>").status, 404);
}

#[test]
fn lists_paginate_by_twenty() {
    let sim = Sim::start();
    for i in 0..45 {
        sim.create("firms", &format!("<firm><name>Firm {i:02}</name></firm>"));
    }
    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = sim.get(&format!("{}?page={page}", sim.coll("firms")));
        assert_eq!(r.status, 200);
        assert!(r.body.contains("<firms type=\"array\">"), "{}", r.body);
        assert_eq!(r.tag("current_page"), page.to_string());
        assert_eq!(r.tag("total_pages"), "3");
        let expected = if page < 3 { 20 } else { 5 };
        assert_eq!(r.tag("current_page_items_count"), expected.to_string());
        let names = tags(&r.body, "name");
        assert_eq!(names.len(), expected);
        seen.extend(names);
    }
    let want: Vec<String> = (0..45).map(|i| format!("Firm {i:02}")).collect();
    assert_eq!(seen, want, "every firm exactly once, in id order");
    // No page parameter = page 1; past the end = empty page.
    let r = sim.get(&sim.coll("firms"));
    assert_eq!(r.tag("current_page"), "1");
    let r = sim.get(&format!("{}?page=4", sim.coll("firms")));
    assert_eq!(r.tag("current_page_items_count"), "0");
    assert_eq!(r.tag("total_pages"), "3");
    // per_page is honoured up to 100 by default (unknown on the real API;
    // `--ignore-per-page` models a server that ignores it, see scale.rs).
    let r = sim.get(&format!("{}?per_page=250", sim.coll("firms")));
    assert_eq!(r.tag("current_page_items_count"), "45");
    assert_eq!(r.tag("total_pages"), "1");
    // An empty list still has its pagination.
    let r = sim.get(&sim.coll("contacts"));
    assert!(r.body.contains("<contacts type=\"array\">"));
    assert_eq!(r.tag("total_pages"), "1");
    assert_eq!(r.tag("current_page_items_count"), "0");
}

#[test]
fn page_size_is_configurable() {
    let sim = Sim::with(SimConfig {
        page_size: 2,
        ..SimConfig::default()
    });
    for i in 0..5 {
        sim.create("firms", &format!("<firm><name>F{i}</name></firm>"));
    }
    let r = sim.get(&format!("{}?page=3", sim.coll("firms")));
    assert_eq!(r.tag("total_pages"), "3");
    assert_eq!(r.tag("current_page_items_count"), "1");
}

#[test]
fn order_totals_are_computed_from_lines() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    // Client-sent totals are read-only and ignored.
    let body = order_xml(&firm, &product, "CMD-INC-2026-0411").replace(
        "<ordering>1</ordering>",
        "<ordering>1</ordering><total_price>1</total_price><vat_value>1</vat_value>",
    );
    let body = body.replace(
        "<currency_id>",
        "<vat_exl_total>5</vat_exl_total><vat_inc_total>6</vat_inc_total><currency_id>",
    );
    let r = sim.post(&sim.coll("proposal_sheets"), &body);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.tag("sheet_type"), "order");
    assert_eq!(r.tag("reference"), "C00001");
    assert_eq!(r.tag("vat_exl_total"), "499.00");
    assert_eq!(r.tag("vat_cost"), "99.80");
    assert_eq!(r.tag("vat_inc_total"), "598.80");
    assert_eq!(r.tag("total_price"), "499.00");
    assert_eq!(r.tag("vat_value"), "99.80");
    assert_eq!(r.tag("total_price_with_taxes"), "598.80");
    assert_eq!(r.tag("billing_date"), "05-03-2026");
    let id = r.tag("id");
    assert_eq!(r.tag("proposal_sheet_id"), id);
    let line_id = tags(&r.body, "id")[1].clone();
    assert_ne!(line_id, id);

    // A quote gets a D number, a delivery note BL.
    let q = sim.post(
        &sim.coll("proposal_sheets"),
        &order_xml(&firm, &product, "DEV-INC-2026-0107").replace("order", "proposal"),
    );
    assert_eq!(q.tag("reference"), "D00001");
    let d = sim.post(
        &sim.coll("proposal_sheets"),
        &order_xml(&firm, &product, "BL-1").replace(">order<", ">delivery<"),
    );
    assert_eq!(d.tag("reference"), "BL00001");
}

#[test]
fn mixed_rates_and_line_kinds() {
    let sim = Sim::start();
    let (firm, _) = sim.referentials();
    let body = format!(
        "<bill_sheet><sheet_type>invoice_maybe</sheet_type><firm_id>{firm}</firm_id><title>FAC-1</title><bill_lines>\
<bill_line><description>a</description><quantity>3</quantity><unit_price>0.335</unit_price><vat_value_id>552</vat_value_id></bill_line>\
<bill_line><description>b</description><quantity>1</quantity><unit_price>10</unit_price><vat_value_id>223</vat_value_id></bill_line>\
<bill_line><content_kind>comment</content_kind><description>note</description></bill_line>\
<bill_line><content_kind>option</content_kind><quantity>2</quantity><unit_price>450</unit_price><vat_value_id>607</vat_value_id></bill_line>\
<bill_line><description>c</description><quantity>2</quantity><unit_price>1.05</unit_price><vat_value_id>225</vat_value_id></bill_line>\
</bill_lines></bill_sheet>"
    );
    let r = sim.post(&sim.coll("bill_sheets"), &body);
    assert_eq!(r.status, 201, "{}", r.body);
    // 3 × 0.335 = 1.005 → 1.01; VAT 10 % of 1.01 = 0.101 → 0.10
    // 10 at 5.5 % → 0.55; option counts 0; 2.10 at 0 %.
    assert_eq!(r.tag("vat_exl_total"), "13.11");
    assert_eq!(r.tag("vat_cost"), "0.65");
    assert_eq!(r.tag("vat_inc_total"), "13.76");
    assert_eq!(tags(&r.body, "total_price"), ["1.01", "10.00", "", "0.00", "2.10"]);
    assert_eq!(tags(&r.body, "ordering"), ["100", "200", "300", "400", "500"]);
    // A draft invoice has no number and no date until it is final.
    assert_eq!(r.tag("reference"), "");
    assert_eq!(r.tag("billing_date"), "");
}

#[test]
fn invalid_bodies_get_422_with_errors() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    let cases: Vec<(&str, String, &str)> = vec![
        ("firms", "<firm><name>x</name>".into(), ""),
        ("firms", "not xml at all".into(), ""),
        ("firms", "".into(), ""),
        ("firms", "<contact><name>x</name></contact>".into(), ""),
        ("firms", "<firm><tva>FR1</tva></firm>".into(), "name"),
        (
            "firms",
            "<firm><name>x</name><firm_type>alien</firm_type></firm>".into(),
            "firm_type",
        ),
        (
            "customer_products",
            "<customer_product><name>x</name><price>49,90</price></customer_product>".into(),
            "price",
        ),
        (
            "customer_products",
            "<customer_product><name>x</name><is_active>yes</is_active></customer_product>".into(),
            "is_active",
        ),
        (
            "proposal_sheets",
            order_xml(&firm, &product, "T").replace("<quantity>10</quantity>", "<quantity>ten</quantity>"),
            "proposal_lines[0].quantity",
        ),
        (
            "proposal_sheets",
            order_xml(&firm, &product, "T").replace(
                &format!("<customer_product_id>{product}</customer_product_id>"),
                "<customer_product_id>999</customer_product_id>",
            ),
            "proposal_lines[0].customer_product_id",
        ),
        (
            "proposal_sheets",
            order_xml("424242", &product, "T"),
            "firm_id",
        ),
        (
            "proposal_sheets",
            order_xml(&firm, &product, "T").replace("<vat_value_id>607", "<vat_value_id>608"),
            "proposal_lines[0].vat_value_id",
        ),
        (
            "proposal_sheets",
            order_xml(&firm, &product, "T").replace("order", "commande"),
            "sheet_type",
        ),
        (
            "proposal_sheets",
            order_xml(&firm, &product, "T").replace("05-03-2026", "2026-03-05"),
            "billing_date",
        ),
        (
            "proposal_sheets",
            order_xml("0", &product, "T"),
            "firm_id",
        ),
        (
            "bill_sheets",
            format!("<bill_sheet><sheet_type>facture</sheet_type><firm_id>{firm}</firm_id></bill_sheet>"),
            "sheet_type",
        ),
        (
            "stock_movements",
            format!("<stock_movement><customer_product_id>{product}</customer_product_id><quantity>-2</quantity><direction>1</direction></stock_movement>"),
            "quantity",
        ),
        (
            "stock_movements",
            format!("<stock_movement><customer_product_id>{product}</customer_product_id><quantity>2</quantity><direction>2</direction></stock_movement>"),
            "direction",
        ),
        (
            "cash_deposits",
            "<cash_deposit><kind>deposit</kind><sheet_name>bill_sheets</sheet_name><sheet_id>5</sheet_id><amount_ttc>1</amount_ttc></cash_deposit>".into(),
            "sheet_id",
        ),
    ];
    for (res, body, field) in cases {
        let r = sim.post(&sim.coll(res), &body);
        assert_eq!(r.status, 422, "{res} {body}: {}", r.body);
        assert!(r.body.starts_with("<?xml"), "{}", r.body);
        assert!(r.body.contains("<errors>"), "{}", r.body);
        if field.is_empty() {
            assert!(r.body.contains("<error>"), "{}", r.body);
        } else {
            assert!(
                r.body.contains(&format!("<error field=\"{field}\">")),
                "{res} {body}: {}",
                r.body
            );
        }
    }
    let state = sim.state();
    assert_eq!(state["counts"]["proposal_sheets"], 0);
    assert_eq!(state["counts"]["firms"], 1);
    assert_eq!(state["counts"]["stock_movements"], 0);
}

#[test]
fn progress_changes_by_put() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    let id = sim.create(
        "proposal_sheets",
        &order_xml(&firm, &product, "DEV-1").replace("order", "proposal"),
    );
    let r = sim.get(&sim.one("proposal_sheets", &id));
    assert_eq!(r.tag("progress_id"), "555");
    let u = sim.put(
        &sim.one("proposal_sheets", &id),
        "<proposal_sheet><progress_id>557</progress_id></proposal_sheet>",
    );
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(u.tag("progress_id"), "557");
    assert_eq!(u.tag("progress_prev_id"), "555");
    assert_eq!(u.tag("vat_inc_total"), "598.80", "lines untouched");
    assert_eq!(u.tag("reference"), "D00001");
    // sheet_type of a proposal sheet is fixed.
    let u = sim.put(
        &sim.one("proposal_sheets", &id),
        "<proposal_sheet><sheet_type>order</sheet_type></proposal_sheet>",
    );
    assert_eq!(u.status, 422);
    // Lines sent in a PUT replace the lines.
    let u = sim.put(
        &sim.one("proposal_sheets", &id),
        "<proposal_sheet><proposal_lines><proposal_line><description>x</description><quantity>2</quantity><unit_price>10</unit_price><vat_value_id>552</vat_value_id></proposal_line></proposal_lines></proposal_sheet>",
    );
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(u.tag("vat_inc_total"), "22.00");
    assert_eq!(u.body.matches("<proposal_line>").count(), 1);

    // A status change "from the incwo UI" through the admin API.
    let r = Req::new("PUT", &format!("/_sim/documents/proposal_sheets/{id}/progress"))
        .no_auth()
        .body("{\"progress_id\": 558}")
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let g = sim.get(&sim.one("proposal_sheets", &id));
    assert_eq!(g.tag("progress_id"), "558");
    assert_eq!(g.tag("progress_prev_id"), "557");
    assert_eq!(sim.state()["counters"]["updates"]["proposal_sheets"], 2);
}

#[test]
fn invoices_drafts_finals_and_payments() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    let line = format!("<bill_line><customer_product_id>{product}</customer_product_id><description>Kit</description><quantity>10</quantity><unit_price>49.90</unit_price><vat_value_id>607</vat_value_id></bill_line>");
    let draft = sim.post(
        &sim.coll("bill_sheets"),
        &format!("<bill_sheet><sheet_type>invoice_maybe</sheet_type><firm_id>{firm}</firm_id><title>FAC-INC-2026-0198</title><bill_lines>{line}</bill_lines></bill_sheet>"),
    );
    assert_eq!(draft.status, 201, "{}", draft.body);
    assert_eq!(draft.tag("reference"), "");
    assert_eq!(draft.tag("vat_inc_total"), "598.80");
    let id = draft.tag("id");
    // Finalising numbers it and dates it.
    let fin = sim.put(
        &sim.one("bill_sheets", &id),
        "<bill_sheet><sheet_type>invoice</sheet_type></bill_sheet>",
    );
    assert_eq!(fin.status, 200, "{}", fin.body);
    assert_eq!(fin.tag("reference"), "F00001");
    assert_eq!(fin.tag("billing_date").len(), 10);
    // A final invoice can't go back, change lines or be deleted.
    for body in [
        "<bill_sheet><sheet_type>invoice_maybe</sheet_type></bill_sheet>".to_string(),
        format!("<bill_sheet><bill_lines>{line}</bill_lines></bill_sheet>"),
    ] {
        assert_eq!(sim.put(&sim.one("bill_sheets", &id), &body).status, 422);
    }
    assert_eq!(sim.delete(&sim.one("bill_sheets", &id)).status, 422);
    // A final created directly is numbered; a credit note gets A.
    let direct = sim.post(
        &sim.coll("bill_sheets"),
        &format!("<bill_sheet><sheet_type>invoice</sheet_type><firm_id>{firm}</firm_id><billing_date>06-03-2026</billing_date><bill_lines>{line}</bill_lines></bill_sheet>"),
    );
    assert_eq!(direct.tag("reference"), "F00002");
    assert_eq!(direct.tag("billing_date"), "06-03-2026");
    let credit = sim.post(
        &sim.coll("bill_sheets"),
        &format!(
            "<bill_sheet><sheet_type>credit</sheet_type><firm_id>{firm}</firm_id><bill_lines>{}</bill_lines></bill_sheet>",
            line.replace("<quantity>10", "<quantity>-10")
        ),
    );
    assert_eq!(credit.status, 201, "{}", credit.body);
    assert_eq!(credit.tag("reference"), "A00001");
    assert_eq!(credit.tag("vat_inc_total"), "-598.80");
    // Payments show in payed_amount.
    let pay = sim.post(
        &sim.coll("cash_deposits"),
        &format!("<cash_deposit><kind>deposit</kind><amount_ttc>100.5000</amount_ttc><deposit_date>07-03-2026</deposit_date><sheet_name>bill_sheets</sheet_name><sheet_id>{id}</sheet_id><payment_type_id>265</payment_type_id></cash_deposit>"),
    );
    assert_eq!(pay.status, 201, "{}", pay.body);
    assert_eq!(pay.tag("deposit_date"), "07-03-2026");
    sim.create(
        "cash_deposits",
        &format!("<cash_deposit><kind>plan</kind><amount_ttc>400</amount_ttc><sheet_name>bill_sheets</sheet_name><sheet_id>{id}</sheet_id></cash_deposit>"),
    );
    let g = sim.get(&sim.one("bill_sheets", &id));
    assert_eq!(g.tag("payed_amount"), "100.5000");
    // A draft can be deleted.
    let d = sim.create(
        "bill_sheets",
        &format!("<bill_sheet><firm_id>{firm}</firm_id></bill_sheet>"),
    );
    assert_eq!(sim.delete(&sim.one("bill_sheets", &d)).status, 200);
}

#[test]
fn stock_movements_update_total_stock() {
    let sim = Sim::start();
    let (_, product) = sim.referentials();
    let stock = || sim.get(&sim.one("customer_products", &product)).tag("total_stock");
    assert_eq!(stock(), "0");
    let mv = |q: &str, dir: &str, marker: &str| {
        format!("<stock_movement><customer_product_id>{product}</customer_product_id><origin_warehouse_id>700100</origin_warehouse_id><destination_warehouse_id>700100</destination_warehouse_id><quantity>{q}</quantity><direction>{dir}</direction><comment>{marker}</comment></stock_movement>")
    };
    let r = sim.post(&sim.coll("stock_movements"), &mv("25", "1", "MV-1"));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.tag("comment"), "MV-1");
    assert_eq!(stock(), "25");
    let out = sim.create("stock_movements", &mv("6", "-1", "MV-2"));
    assert_eq!(stock(), "19");
    sim.create("stock_movements", &mv("4.5", "-1", "MV-3"));
    assert_eq!(stock(), "14.5");
    // total_stock is read-only on the product.
    let u = sim.put(
        &sim.one("customer_products", &product),
        "<customer_product><total_stock>999</total_stock><price>50.00</price></customer_product>",
    );
    assert_eq!(u.tag("total_stock"), "14.5");
    assert_eq!(u.tag("price"), "50.00");
    // Updating or deleting a movement re-applies it.
    let u = sim.put(
        &sim.one("stock_movements", &out),
        "<stock_movement><quantity>10</quantity></stock_movement>",
    );
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(stock(), "10.5");
    assert_eq!(sim.delete(&sim.one("stock_movements", &out)).status, 200);
    assert_eq!(stock(), "20.5");
    let state = sim.state();
    assert_eq!(state["stock_by_warehouse"][0]["quantity"], "20.5");
    assert_eq!(state["objects"]["customer_products"][0]["total_stock"], "20.5");
}

#[test]
fn contacts_and_products_round_trip() {
    let sim = Sim::start();
    let (firm, product) = sim.referentials();
    let c = sim.post(
        &sim.coll("contacts"),
        &format!("<contact><first_name>Valérie</first_name><last_name>Ramè</last_name><firm_id>{firm}</firm_id><contact_items><contact_item><type_id>27</type_id><value>v@acme.fr</value></contact_item></contact_items></contact>"),
    );
    assert_eq!(c.status, 201, "{}", c.body);
    assert_eq!(c.tag("first_last_name"), "Valérie Ramè");
    assert_eq!(c.tag("firm_name"), "Atelier Horizon");
    let p = sim.get(&sim.one("customer_products", &product));
    assert_eq!(p.tag("reference"), "KIT-API-01");
    assert_eq!(p.tag("price"), "49.90");
    assert_eq!(p.tag("is_active"), "1");
    assert_eq!(p.tag("vat_id"), "607");
    let p = sim.put(
        &sim.one("customer_products", &product),
        "<customer_product><is_active>0</is_active></customer_product>",
    );
    assert_eq!(p.tag("is_active"), "0");
    let c = sim.post(&sim.coll("contacts"), "<contact><first_name>No</first_name></contact>");
    assert_eq!(c.status, 422);
}

#[test]
fn admin_token_guards_the_admin_api() {
    let sim = Sim::with(SimConfig {
        admin_token: Some("t0k".into()),
        ..SimConfig::default()
    });
    // incwo credentials do not open the admin API.
    let r = Req::new("GET", "/_sim/state").send(sim.port()).unwrap();
    assert_eq!(r.status, 403);
    let r = Req::new("GET", "/_sim/state")
        .no_auth()
        .header("x-sim-admin-token", "t0k")
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["business_file_id"], 123456);
    assert!(!r.body.contains("secret"), "no password in the state");
}

#[test]
fn seeded_objects_do_not_count_as_creates() {
    let sim = Sim::start();
    let r = Req::new("POST", "/_sim/objects/customer_products")
        .no_auth()
        .body("<customer_product><reference>OLD-1</reference><name>Old</name><price>1</price></customer_product>")
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let s = sim.state();
    assert_eq!(s["counts"]["customer_products"], 1);
    assert!(s["counters"]["creates"].get("customer_products").is_none());
    // But a later API create with the same marker is a duplicate.
    sim.create(
        "customer_products",
        "<customer_product><reference>OLD-1</reference><name>Again</name></customer_product>",
    );
    let s = sim.state();
    assert_eq!(s["duplicates"][0]["marker"], "OLD-1");
}

#[test]
fn fixtures_from_a_real_account_are_accepted_as_bodies() {
    // Real incwo XML (pydici test data) posted back: read-only fields and
    // unknown elements are ignored, comments are fine.
    let sim = Sim::start();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/fixtures/pydici");
    let firm = std::fs::read_to_string(format!("{dir}/duplicate-firms/1.xml")).unwrap();
    let r = sim.post(&sim.coll("firms"), &firm);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.tag("name"), "ACME");
    let contact = std::fs::read_to_string(format!("{dir}/contact-items/12.xml")).unwrap();
    let r = sim.post(&sim.coll("contacts"), &contact);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body.matches("<contact_item>").count(), 5);
}
