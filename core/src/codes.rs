//! The table of every stable code the core can emit, for operators: its
//! class, what it means, whether and how it is retried, what to do, and
//! which metric shows it. `docs/RUNBOOK.md` is generated from it
//! ([`runbook_markdown`], `incwo runbook`), and a test checks that every
//! code literal in the core's sources is in the table, so neither goes stale.
//!
//! Codes built from a number or a name are listed by family: `http.4xx` and
//! `http.5xx` stand for the `http.{status}` codes without an entry of their
//! own ([`lookup`] falls back to them).

pub use crate::base::codes::{lookup, CodeInfo, CODES};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

const PROCEDURES: &str = r#"## Procedures

### Onboarding a real account

1. `incwo doctor --server https://www.incwo.com --business-file ID --login L --password-env VAR`
   checks, one line each: the server answers, TLS, the credentials (401 → wrong
   login or password), the business file exists (and lists the files this user
   can reach), API access is switched on (403 → Settings / Users / APIs), each
   resource the connector uses can be listed, and the clock skew. It only reads.
   Fix every `FAIL` line with the fix it prints; it exits non-zero until all pass.
2. `incwo profile discover --server … --business-file ID --login L --password-env VAR --out profile.json`
   reads (read-only, within `--max-pages` per resource) products, documents and
   stock movements and writes a proposed profile; stdout shows the evidence for
   each value. Values it could not establish are `{"unknown": "hint"}`: follow
   each hint, then run `incwo validate … --profile profile.json`; a profile with
   unknowns is refused by every command with the list of paths to fill in.
3. Sync a small batch with `--profile profile.json` and compare the documents in incwo.

### Replaying a quarantined record after a fix

1. Find the record: `incwo quarantine list --state PATH --business-file ID`
   (or the sync report's `problems`), then `incwo quarantine show Q-ID …` for
   its violations or incwo's answer and the runbook line of its code. Apply the
   fix from the table above (the record at its source, the mapping profile, or
   the object in incwo).
2. `incwo quarantine replay Q-ID --record FIXED.json` (or `--batch FIXED.jsonl`)
   with the account flags and **the same `--state` file**: the ledger in it
   makes every record already written a no-op
   (`replay_total{reason="already_applied"}`), and a create whose outcome was
   unknown is reconciled by its marker before anything is sent again. Each
   replayed record counts in `replay_total{reason="manual"}`.
3. Check the report: the entry is in `replayed` and the record `synced`;
   `duplicates` in incwo stay empty. A record that cannot be fixed is dropped
   with `incwo quarantine drop Q-ID --reason "…"`.

### Rotating credentials

1. Create or choose the new API user's password in incwo (Settings / Users / APIs).
2. Put it in the secret store that feeds the password variable (`--password-env`);
   the password is never passed on the command line and never printed.
3. Run `incwo doctor` with the new variable: the credentials line must be `ok`.
4. Stop the running sync (Ctrl-C saves its state), switch the variable, rerun
   the same command: it resumes from its state file. Runs that hit
   `auth.unauthorized` during the switch stopped without retrying; rerun them.
5. Revoke the old password in incwo.

### Restoring from a checkpoint

The `--state` path is the state store (SQLite): per business file, the
ledger (idempotency key → incwo id, payload hash, state) and the batch
progress, saved incrementally before every request and after every action.
`incwo state export --state PATH` prints it as a version-1 JSON checkpoint:
keep that as the backup after every run.

1. Stop the sync. Keep the damaged store aside (with its `-wal` file); copy
   the last good JSON backup to a new `--state` path: the next run imports
   it once (and keeps the JSON beside it as `<state>.v1-backup.json`).
2. Rerun the same `incwo sync` command **with `--lookup-before-create`**: it
   resumes at the saved cursor; a create that was in flight (`pending` in the
   ledger) is reconciled by its marker before it is sent again.
3. Records written after the backup are not in the restored ledger: with
   `--lookup-before-create` every document and stock movement is looked up by
   its marker before it is created, found and linked with the status incwo
   holds (`replay_total{reason="reconciled"}`), not recreated (customers and
   products always are). Without the flag, documents written after the
   backup would be created again. With no backup at all, start from an empty
   state with the flag. A checkpoint from another connector version is refused with
   `usage.checkpoint_version`.

A run that finds the state busy (another `incwo sync` or `incwo listen` on
the same business file, exit status 75) names the holder: let it finish, or
stop it, then rerun; a killed holder's lock is already gone.

### Reading the five metrics

| metric | type | labels | read it as |
|---|---|---|---|
| `api_call_duration_ms` | histogram | `endpoint` (template, never an id), `operation` | incwo's latency per call; a rising p95 precedes `transport.timeout`. |
| `api_error_total` | counter | `class` (technical, contract, business), `endpoint` | failed calls; technical errors are retried, contract and business ones need a fix (see the table). |
| `integration_backlog_size` | gauge (set by the host) | `queue` | messages waiting per queue; a growing `….quarantine` queue needs an operator. |
| `replay_total` | counter | `reason` (`already_applied`, `reconciled`, `manual`) | records replayed and found already written: expected after a crash, a redelivery or a restore; `manual`: records an operator replayed from the quarantine. |
| `reconciliation_gap_total` | counter | `domain` | read-backs that differed from what was written (`business.reconciliation_gap`); should stay 0. |
"#;

/// The text of `docs/RUNBOOK.md`: the code table and the procedures.
pub fn runbook_markdown() -> String {
    let mut out = String::from(
        "# Runbook\n\n\
         Generated by `incwo runbook > docs/RUNBOOK.md` from the core's code table\n\
         (`core/src/codes.rs`); the test suite fails when this file is stale.\n\n\
         Every error carries a stable code. Classes: **technical** (transport, throttling,\n\
         server errors, authentication), **contract** (the payload breaks the contract),\n\
         **business** (the business state forbids it), **usage** (the host or its\n\
         configuration is wrong), **deferred** (waiting, retried on the next run),\n\
         **inbound** (a webhook refused, answered to its caller with the status given).\n\
         `http.4xx` and `http.5xx` stand for the `http.{status}` codes without a row of their own.\n\n\
         ## Codes\n\n\
         | code | class | meaning | retried | operator action | metric |\n\
         |---|---|---|---|---|---|\n",
    );
    for info in CODES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            info.code,
            info.class,
            cell(info.meaning),
            cell(info.retry),
            cell(info.action),
            cell(info.metric)
        ));
    }
    out.push('\n');
    out.push_str(&crate::flow::quarantine::runbook::section());
    out.push_str(PROCEDURES);
    out.push_str(crate::telemetry::operations::RUNBOOK_SECTION);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const PREFIXES: &[&str] = &[
        "http.",
        "auth.",
        "transport.",
        "contract.",
        "business.",
        "usage.",
        "xml.",
        "mapping.",
        "deferred.",
        "inbound.",
    ];

    /// Every `"prefix.code"` string literal of a source text.
    fn code_literals(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in text.match_indices('"') {
            let rest = &text[i + 1..];
            if !PREFIXES.iter().any(|p| rest.starts_with(p)) {
                continue;
            }
            let end = rest
                .find(|ch: char| !(ch.is_ascii_lowercase() || ch.is_ascii_digit() || "_.{}".contains(ch)))
                .unwrap_or(rest.len());
            // `"usage."` alone is a prefix test, not a code.
            if rest[end..].starts_with('"') && !rest[..end].ends_with('.') {
                out.push(rest[..end].to_string());
            }
        }
        out
    }

    /// A façade call name (`inbound.webhook`) is not a code.
    fn is_call(name: &str) -> bool {
        crate::api::call(name, &serde_json::Value::Null)["error"]["code"] != "usage.unknown_call"
    }

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("codes.rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    /// The concrete codes a template literal stands for.
    fn expand(template: &str) -> Vec<String> {
        let list: &[&str] = match template {
            "http.{status}" => &[
                "http.408", "http.425", "http.429", "http.413", "http.500", "http.501", "http.503", "http.505",
            ],
            "transport.{}" => &[
                "transport.connect_refused",
                "transport.dns",
                "transport.tls",
                "transport.timeout",
                "transport.reset",
            ],
            "business.unknown_{what}" => &[
                "business.unknown_customer",
                "business.unknown_product",
                "business.unknown_quote",
                "business.unknown_order",
            ],
            other => panic!("a new code template {other:?}: list its expansions here and add them to CODES"),
        };
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_code_literal_of_the_core_is_in_the_table() {
        let mut files = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        assert!(files.len() > 30, "the core's sources were not found");
        let mut missing = Vec::new();
        let mut seen = 0;
        for (file, text) in &files {
            for literal in code_literals(text) {
                seen += 1;
                if is_call(&literal) {
                    continue;
                }
                let codes = if literal.contains('{') {
                    expand(&literal)
                } else {
                    vec![literal]
                };
                for code in codes {
                    if lookup(&code).is_none() {
                        missing.push(format!("{code} ({file})"));
                    }
                }
            }
        }
        assert!(seen > 100, "only {seen} code literals found");
        assert!(missing.is_empty(), "codes missing from core/src/codes.rs: {missing:#?}");
    }

    #[test]
    fn every_transport_kind_has_an_entry() {
        use crate::errors::TransportKind::*;
        for kind in [ConnectRefused, Dns, Tls, Timeout, Reset] {
            assert!(lookup(&format!("transport.{}", kind.as_str())).is_some());
        }
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut codes = std::collections::BTreeSet::new();
        for info in CODES {
            assert!(codes.insert(info.code), "{} twice", info.code);
            assert!(PREFIXES.iter().any(|p| info.code.starts_with(p)), "{}", info.code);
            assert!(
                ["technical", "contract", "business", "usage", "deferred", "inbound"].contains(&info.class),
                "{}",
                info.code
            );
            for text in [info.meaning, info.retry, info.action, info.metric] {
                assert!(!text.is_empty(), "{}", info.code);
            }
        }
        assert_eq!(lookup("http.503").unwrap().code, "http.5xx");
        assert_eq!(lookup("http.404").unwrap().code, "http.4xx");
        assert_eq!(lookup("http.429").unwrap().code, "http.429");
        assert!(lookup("http.200").is_none() && lookup("nope").is_none());
        let doc = runbook_markdown();
        for metric in [
            "api_call_duration_ms",
            "api_error_total",
            "integration_backlog_size",
            "replay_total",
            "reconciliation_gap_total",
        ] {
            assert!(doc.contains(metric), "{metric}");
        }
    }

    #[test]
    fn the_default_classification_agrees_with_the_table() {
        for status in [
            301u16, 400, 401, 403, 404, 405, 408, 409, 422, 429, 500, 501, 503, 599, 600,
        ] {
            let rule = crate::errors::default_rule(status);
            let code = rule.code.unwrap_or_else(|| format!("http.{status}"));
            let info = lookup(&code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(info.class, rule.class.as_str(), "{code}");
        }
    }
}
