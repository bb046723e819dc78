//! The dry run ([`plan`]): the flow against an in-memory stand-in of an
//! empty incwo, to show what a batch would send.

use crate::flow::batch::BatchItem;
use crate::flow::{Action, Flow, FlowOptions};
use crate::http::{ConnectionConfig, Response};
use crate::mapping::Profile;
use std::collections::BTreeMap;

/// Plans a batch against an empty incwo without sending anything: runs the
/// flow with an in-memory stand-in that answers lookups with empty pages and
/// echoes writes with new ids. Returns, per record, its steps as
/// `METHOD endpoint` and its outcome.
pub fn plan(items: Vec<BatchItem>, profile: Profile, config: ConnectionConfig) -> Vec<serde_json::Value> {
    let mut flow = Flow::start(items, profile, config, FlowOptions::default(), 0, 0);
    let mut steps: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut stored: BTreeMap<u64, String> = BTreeMap::new();
    let mut next_id = 1000u64;
    while let Ok(action) = flow.poll(0) {
        match action {
            Action::Send { request_id, request } => {
                steps.push(format!("{} {}", request.method().as_str(), request.endpoint()));
                let body = String::from_utf8_lossy(request.body()).to_string();
                let id = request
                    .url()
                    .rsplit('/')
                    .next()
                    .and_then(|last| last.strip_suffix(".xml"))
                    .and_then(|n| n.parse::<u64>().ok());
                let response = match (request.method().as_str(), id) {
                    ("POST", _) => {
                        next_id += 1;
                        stored.insert(next_id, insert_id(&body, next_id));
                        stored[&next_id].clone()
                    }
                    ("PUT", Some(id)) => {
                        let merged = merge_progress(stored.get(&id).map(String::as_str).unwrap_or(&body), &body, id);
                        stored.insert(id, merged.clone());
                        merged
                    }
                    ("GET", Some(id)) => stored.get(&id).cloned().unwrap_or_default(),
                    _ => {
                        let resource = request
                            .endpoint()
                            .trim_start_matches('/')
                            .trim_end_matches(".xml")
                            .to_string();
                        format!("<{resource} type=\"array\"><pagination><current_page>1</current_page><total_pages>1</total_pages><current_page_items_count>0</current_page_items_count></pagination></{resource}>")
                    }
                };
                if flow
                    .on_response(request_id, Response::new(200, vec![], response.into_bytes()), 0)
                    .is_err()
                {
                    break;
                }
            }
            Action::RecordDone {
                line,
                kind,
                external_id,
                outcome,
                ..
            } => {
                out.push(serde_json::json!({
                    "line": line, "kind": kind, "externalId": external_id,
                    "steps": std::mem::take(&mut steps), "outcome": outcome,
                }));
            }
            Action::Done { .. } => break,
            Action::Wait { .. } | Action::Publish { .. } => {}
        }
    }
    out
}

/// A created object's body with its new `<id>` first.
fn insert_id(body: &str, id: u64) -> String {
    match body.find('>') {
        Some(i) => format!("{}<id>{id}</id>{}", &body[..=i], &body[i + 1..]),
        None => body.to_string(),
    }
}

/// A stored body with the `progress_id` of an update applied (the only field
/// a status update sends); a full update replaces the body.
fn merge_progress(stored: &str, update: &str, id: u64) -> String {
    let value = |s: &str| {
        let start = s.find("<progress_id>")? + "<progress_id>".len();
        let end = s[start..].find("</progress_id>")? + start;
        Some((start, end))
    };
    if update.contains("<title>") {
        return insert_id(update, id);
    }
    match (value(stored), value(update)) {
        (Some((a, b)), Some((c, d))) => format!("{}{}{}", &stored[..a], &update[c..d], &stored[b..]),
        _ => stored.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn a_created_body_gets_its_id_first() {
        assert_eq!(
            insert_id("<firm><name>A</name></firm>", 7),
            "<firm><id>7</id><name>A</name></firm>"
        );
        assert_eq!(insert_id("not xml", 7), "not xml");
    }

    #[test]
    fn a_status_update_changes_only_the_progress_id_and_a_full_update_replaces() {
        let stored = "<proposal_sheet><id>5</id><title>O1</title><progress_id>1</progress_id></proposal_sheet>";
        assert_eq!(
            merge_progress(
                stored,
                "<proposal_sheet><progress_id>42</progress_id></proposal_sheet>",
                5
            ),
            "<proposal_sheet><id>5</id><title>O1</title><progress_id>42</progress_id></proposal_sheet>"
        );
        assert_eq!(
            merge_progress(stored, "<proposal_sheet><title>O2</title></proposal_sheet>", 5),
            "<proposal_sheet><id>5</id><title>O2</title></proposal_sheet>"
        );
        let without = "<proposal_sheet><id>5</id></proposal_sheet>";
        assert_eq!(
            merge_progress(
                without,
                "<proposal_sheet><progress_id>42</progress_id></proposal_sheet>",
                5
            ),
            without,
            "nothing to merge into"
        );
    }

    #[test]
    fn a_refused_line_is_planned_without_a_step() {
        let mut bad = product("P1");
        bad["record"]["taxCode"] = "NOPE".into();
        let text: String = [product("P2"), bad].iter().map(|e| format!("{e}\n")).collect();
        let profile = Profile::default();
        let items = crate::flow::batch::parse_jsonl(&text, &profile);
        let config = flow_of(&[]).config;
        let plan = plan(items, profile, config);
        assert_eq!(plan.len(), 2);
        assert_eq!(
            plan[0]["steps"],
            serde_json::json!(["GET /customer_products.xml", "POST /customer_products.xml"])
        );
        assert_eq!(plan[0]["outcome"]["outcome"], "synced");
        assert_eq!(plan[1]["steps"], serde_json::json!([]));
        assert_eq!(plan[1]["outcome"]["outcome"], "quarantined");
        assert_eq!(plan[1]["line"], 2);
    }
}
