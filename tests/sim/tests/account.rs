//! Account-specific tables: a business file started with other VAT ids,
//! sheet types, statuses, currency and warehouses (seeded with data using
//! them), the account listing, API access switched off, unknown business files.

mod common;
use common::*;

fn other_account() -> SimConfig {
    let text = include_str!("../../../profiles/sim-other-account.json");
    SimConfig {
        account: incwo_sim::Account::from_profile_json(text).expect("profile"),
        ..SimConfig::default()
    }
}

#[test]
fn a_profile_account_is_seeded_with_its_own_ids() {
    let sim = Sim::with(other_account());
    let state = sim.state();
    let counts = &state["counts"];
    assert_eq!(counts["firms"], 1);
    assert_eq!(counts["customer_products"], 5);
    // 5 quotes + 4 orders + 1 delivery note; 5 invoices; 2 movements per warehouse.
    assert_eq!(counts["proposal_sheets"], 10);
    assert_eq!(counts["bill_sheets"], 5);
    assert_eq!(counts["stock_movements"], 4);
    let proposals = state["objects"]["proposal_sheets"].as_array().unwrap();
    let types: std::collections::BTreeSet<&str> = proposals.iter().map(|p| p["sheet_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["bon_livraison", "commande", "proposal"].into_iter().collect());
    assert!(proposals.iter().any(|p| p["progress_id"] == 71003));
    assert!(proposals
        .iter()
        .all(|p| p["currency_id"] == 41 && p["vat_cost"] != "0.00"));
    let order = proposals.iter().find(|p| p["sheet_type"] == "commande").unwrap();
    assert!(order["reference"].as_str().unwrap().starts_with('C'), "{order}");
    // Seeded objects are not counted as API creates, and reset restores them.
    assert_eq!(state["counters"]["creates"], json!({}));
    sim.handle.reset();
    assert_eq!(sim.state()["counts"]["proposal_sheets"], 10);
}

#[test]
fn a_profile_account_refuses_the_documented_vat_ids_and_sheet_types() {
    let sim = Sim::with(other_account());
    let firm = sim.create("firms", "<firm><name>F</name></firm>");
    let r = sim.post(
        &sim.coll("proposal_sheets"),
        &format!("<proposal_sheet><sheet_type>order</sheet_type><firm_id>{firm}</firm_id><proposal_lines><proposal_line><unit_price>1</unit_price><vat_value_id>607</vat_value_id></proposal_line></proposal_lines></proposal_sheet>"),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("sheet_type") && r.body.contains("vat_value_id"),
        "{}",
        r.body
    );
    let r = sim.post(
        &sim.coll("proposal_sheets"),
        &format!("<proposal_sheet><sheet_type>commande</sheet_type><firm_id>{firm}</firm_id><proposal_lines><proposal_line><unit_price>10</unit_price><vat_value_id>9055</vat_value_id></proposal_line></proposal_lines></proposal_sheet>"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.tag("vat_cost"), "0.55");
    assert_eq!(r.tag("progress_id"), "71001");
}

#[test]
fn the_account_listing_names_the_business_file() {
    let sim = Sim::with(SimConfig {
        api_access: false,
        ..other_account()
    });
    let r = sim.get("/account/index/0.xml?target=incwo_erp");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<business_files type=\"array\">"));
    assert_eq!(r.tag("id"), "123456");
    assert_eq!(r.tag("name"), "other-account");
    let r = Req::new("GET", "/account/index/0.xml")
        .no_auth()
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 401);
    let r = Req::new("GET", "/account/index/0.xml")
        .auth(LOGIN, "wrong")
        .send(sim.port())
        .unwrap();
    assert_eq!(r.status, 401);
}

#[test]
fn api_access_off_answers_403_and_unknown_files_404() {
    let sim = Sim::with(SimConfig {
        api_access: false,
        ..SimConfig::default()
    });
    let r = sim.get(&sim.coll("firms"));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("API access"), "{}", r.body);
    assert_eq!(sim.get("/999999/firms.xml").status, 404);
    let sim = Sim::start();
    assert_eq!(sim.get("/999999/firms.xml").status, 404);
    assert_eq!(sim.get(&sim.coll("firms")).status, 200);
}
