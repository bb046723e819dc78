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
