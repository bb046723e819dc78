//! The runbook's quarantine section (docs/RUNBOOK.md): each code a record
//! can be quarantined with, and the commands that inspect and replay it.

use crate::base::codes::{CodeInfo, CODES};

/// Whether a record can end quarantined with this code: contract and
/// business errors, the technical answers that are never retried (retried
/// ones that keep failing defer the record; credentials and API access stop
/// the run), and the usage errors of a single record. `contract.overflow`
/// is inbound detection's (an object read from incwo): no record to replay.
pub fn quarantinable(info: &CodeInfo) -> bool {
    match info.class {
        "contract" | "business" => info.code != "contract.overflow",
        "technical" => matches!(
            info.code,
            "http.redirect" | "http.501" | "http.505" | "http.unexpected_status"
        ),
        _ => matches!(info.code, "usage.request" | "usage.malformed_line"),
    }
}

/// The section: how to inspect, replay and drop, then one row per code.
pub fn section() -> String {
    let mut out = String::from(
        "## Quarantined records: inspect and replay\n\n\
         Every quarantined record is kept in the host's state store with its record\n\
         (redacted like a log line: e-mails, phone numbers and sensitive fields hidden;\n\
         references kept), its error (code, class, violations with their paths, incwo's\n\
         answer), the runbook line of its code and the requests already made. Entries are\n\
         deleted 30 days after their last change (`--retention-days`; edge Worker:\n\
         `INCWO_QUARANTINE_RETENTION_DAYS`). A replay goes\n\
         through the normal flow (ledger, reconcile-before-create), so it never creates a\n\
         record twice, and counts in `replay_total{reason=\"manual\"}`.\n\n\
         The same four steps in every host:\n\n\
         | step | CLI (`--state PATH --business-file ID`) | Symfony (`bin/console`, the bundle's state store) | edge Worker (`Authorization: Bearer <INCWO_ADMIN_SECRET>`) | Python (`python -m incwo_connector.quarantine … --state STATE`, or `Quarantine(store)`) |\n\
         |---|---|---|---|---|\n\
         | list | `incwo quarantine list [--code C] [--class C] [--resource KIND] [--older-than 2h] [--status open\\|replayed\\|dropped\\|all] [--json]` | `incwo:quarantine:list` with the same filters and `--json` | `GET /admin/quarantine?code=C&class=C&resource=KIND&olderThanSeconds=N&status=…` | `list` with the same filters and `--json`; `.list({…})` |\n\
         | show | `incwo quarantine show ID [--json]`: the record, the violations or incwo's answer, the runbook line, the requests made | `incwo:quarantine:show ID [--json]` | `GET /admin/quarantine/ID` | `show ID [--json]`; `.show(id)` |\n\
         | replay | `incwo quarantine replay ID… --record FIXED.json` or `--batch FIXED.jsonl`, or `--all-matching --code C --batch FIXED.jsonl`, with the account flags and `--profile` (a fixed profile) | `incwo:quarantine:replay ID… --record FIXED.json` or `--batch FIXED.jsonl` or `--all-matching …`; `--checkpoint-key KEY` with the file store | `POST /admin/quarantine/replay` `{\"ids\": [\"ID\"], \"record\": {…}}` or `{\"ids\": […], \"jsonl\": \"…\"}` | `replay ID… --record FIXED.json` or `--batch FIXED.jsonl` or `--all-matching …`, with the account flags; `.replay(connector, ids, record=…)` |\n\
         | drop | `incwo quarantine drop ID… --reason \"why\"` (kept with the entry) | `incwo:quarantine:drop ID… --reason \"why\"` | `POST /admin/quarantine/ID/drop` `{\"reason\": \"why\"}` | `drop ID… --reason \"why\"`; `.drop(ids, reason)` |\n\n\
         Other hosts call the same core rules through the JSON façade (`quarantine.list`,\n\
         `quarantine.merge`, `quarantine.select`, `quarantine.replay_batch`, `quarantine.settle`,\n\
         `quarantine.drop`,\n\
         `quarantine.runbook`; the entry comes with the flow's `recordDone` action as\n\
         `quarantine`), and replay with the flow option `manualReplay`.\n\n\
         | code | class | list them | then |\n\
         |---|---|---|---|\n",
    );
    for info in CODES.iter().filter(|i| quarantinable(i)) {
        let then = match info.class {
            "business" => {
                "fix the source or the object in incwo, then `replay ID --batch FIXED.jsonl`; or `drop ID --reason`"
            }
            "technical" => {
                "fix the server address or the proxy (`incwo doctor`), then `replay ID --batch ORIGINAL.jsonl`"
            }
            _ if info.code.starts_with("mapping.") => {
                "fix the profile, then `replay ID --batch ORIGINAL.jsonl --profile FIXED.json`"
            }
            _ => "fix the record, then `replay ID --record FIXED.json`",
        };
        out.push_str(&format!(
            "| `{0}` | {1} | `incwo quarantine list --code {0}` | {2} |\n",
            info.code, info.class, then
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_names_quarantinable_codes_only() {
        let text = section();
        assert!(text.contains("| `contract.invalid` | contract | `incwo quarantine list --code contract.invalid` |"));
        assert!(text.contains("| `business.unknown_customer` |"));
        assert!(text.contains("| `mapping.unknown_tax_code` | contract |"));
        assert!(text.contains("| `http.redirect` | technical |"));
        assert!(!text.contains("| `http.5xx` |"), "retried, then deferred");
        assert!(!text.contains("| `auth.unauthorized` |"));
        assert!(!text.contains("| `inbound.bad_secret` |"));
        assert!(!text.contains("| `deferred.customer_waiting` |"));
    }
}
