//! `incwo quarantine …`: what the flow quarantined, for an operator: list
//! (filters, table or `--json`), show one, replay after a fix (through the
//! normal flow, so never twice), drop with a reason. The rules (entries,
//! filters, retention, selection, settling) are the core's
//! ([`incwo_core::flow::quarantine`]); this file reads flags, the store and prints.

use crate::store::Store;
use crate::{input, sync};
use incwo_core::flow::quarantine::{self, Entry, Filter, State};
use incwo_core::flow::Action;
use std::path::PathBuf;
use std::process::ExitCode;

/// The quarantine commands.
#[derive(clap::Subcommand, Debug)]
pub enum QuarantineCommand {
    /// List quarantined records (open ones unless --status says otherwise), oldest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print the entries as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one entry: the record (redacted), the violations or incwo's answer,
    /// the runbook line of its code and the requests already made.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        /// The entry's id (`q-…`, from `list`).
        id: String,
        /// Print the entry as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replay entries after a fix, through the normal flow (ledger,
    /// reconcile-before-create: never created twice); counts
    /// replay_total{reason="manual"}.
    Replay(Box<ReplayArgs>),
    /// Drop entries: they are kept, closed, with the reason.
    Drop {
        #[command(flatten)]
        store: StoreArgs,
        /// The entries' ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Why (kept with the entry, redacted like a log line).
        #[arg(long)]
        reason: String,
    },
}

/// Where the entries are.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// The state store of `incwo sync`.
    #[arg(long)]
    state: PathBuf,
    /// The business file id.
    #[arg(long)]
    business_file: String,
    /// Days an entry is kept after its last change; older ones are deleted.
    #[arg(long, default_value_t = quarantine::RETENTION_DAYS)]
    retention_days: u64,
}

/// What to list or replay.
#[derive(clap::Args, Debug, Default)]
pub struct FilterArgs {
    /// Error code (`contract.invalid`), or a prefix ending in `.` (`business.`).
    #[arg(long)]
    code: Option<String>,
    /// Error class: contract, business, technical, usage.
    #[arg(long)]
    class: Option<String>,
    /// The record's kind: customer, product, quote, order, invoice, stock-movement, cancellation.
    #[arg(long)]
    resource: Option<String>,
    /// First quarantined at least this long ago: 90s, 15m, 2h, 7d.
    #[arg(long, value_parser = parse_age)]
    older_than: Option<u64>,
    /// open (default), replayed, dropped or all.
    #[arg(long)]
    status: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> Filter {
        Filter {
            code: self.code.clone(),
            class: self.class.clone(),
            resource: self.resource.clone(),
            older_than_seconds: self.older_than,
            state: self.status.clone(),
        }
    }
}

/// Arguments of `incwo quarantine replay`.
#[derive(clap::Args, Debug)]
#[command(
    mut_arg("profile", |a| a.help("Mapping profile (JSON), e.g. the fixed one; the shipped default when absent")),
    mut_arg("lookup_before_create", |a| a.help("Look documents up in incwo before creating them (see `incwo sync`)")),
    mut_arg("metrics_file", |a| a.help(
        "Add the replay's metrics (`replay_total{reason=\"manual\"}`…) to this textfile-collector file, \
         as `incwo sync --metrics-file` does"
    )),
)]
pub struct ReplayArgs {
    /// The entries' ids (or --all-matching).
    ids: Vec<String>,
    /// Replay every open entry matching the filters instead of ids.
    #[arg(long, conflicts_with = "ids")]
    all_matching: bool,
    #[command(flatten)]
    filter: FilterArgs,
    /// The fixed record: its JSON (with one id), or {"kind", "record"} lines.
    #[arg(long, conflicts_with = "batch", required_unless_present = "batch")]
    record: Option<String>,
    /// The original (or fixed) batch: the lines of the entries are taken from it.
    #[arg(long)]
    batch: Option<String>,
    #[command(flatten)]
    run: sync::RunArgs,
    /// Days an entry is kept after its last change.
    #[arg(long, default_value_t = quarantine::RETENTION_DAYS)]
    retention_days: u64,
}

fn parse_age(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an age; write 90s, 15m, 2h or 7d"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}; use s, m, h or d")),
    };
    Ok(n.saturating_mul(factor))
}

/// Runs a quarantine command.
pub fn run(command: QuarantineCommand) -> Result<ExitCode, String> {
    match command {
        QuarantineCommand::List { store, filter, json } => {
            let entries = listed(&store, &filter.filter())?;
            if json {
                print_json(&serde_json::json!({ "entries": entries }))?;
            } else {
                print!("{}", table(&entries));
            }
            Ok(ExitCode::SUCCESS)
        }
        QuarantineCommand::Show { store, id, json } => {
            let db = existing(&store.state)?;
            let entry = db
                .quarantine_entry(&store.business_file, &id)?
                .ok_or_else(|| not_found(&id, &store.business_file))?;
            if json {
                print_json(&serde_json::to_value(&entry).map_err(|e| e.to_string())?)?;
            } else {
                print!("{}", show(&entry));
            }
            Ok(ExitCode::SUCCESS)
        }
        QuarantineCommand::Drop { store, ids, reason } => {
            let mut db = existing(&store.state)?;
            for id in &ids {
                let entry = db
                    .quarantine_entry(&store.business_file, id)?
                    .ok_or_else(|| not_found(id, &store.business_file))?;
                let entry = quarantine::drop_entry(entry, &reason, crate::host::now_ms()).map_err(|e| e.to_string())?;
                db.write_quarantine(&store.business_file, &entry)?;
                println!(
                    "{}  dropped  {}",
                    entry.id,
                    entry.drop_reason.as_deref().unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        QuarantineCommand::Replay(args) => replay(*args),
    }
}

/// The state store of earlier `incwo sync` runs (never created here: a
/// mistyped path is an error, not an empty quarantine).
fn existing(path: &std::path::Path) -> Result<Store, String> {
    if !path.is_file() {
        return Err(format!(
            "no state store at {}; pass the --state of your `incwo sync`",
            path.display()
        ));
    }
    Store::open_existing(path)
}

fn not_found(id: &str, business_file: &str) -> String {
    format!(
        "no quarantine entry {id} for business file {business_file}; `incwo quarantine list --status all` lists them"
    )
}

fn print_json(value: &serde_json::Value) -> Result<(), String> {
    println!("{}", serde_json::to_string_pretty(value).map_err(|e| e.to_string())?);
    Ok(())
}

/// The entries matching `filter`, after deleting those past their retention.
fn listed(store: &StoreArgs, filter: &Filter) -> Result<Vec<Entry>, String> {
    let mut db = existing(&store.state)?;
    let all = db.quarantine_entries(&store.business_file)?;
    let (entries, expired) = quarantine::list(&all, filter, crate::host::now_ms(), store.retention_days);
    db.delete_quarantine(&store.business_file, &expired)?;
    Ok(entries)
}

fn time(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Open => "open",
        State::Replayed => "replayed",
        State::Dropped => "dropped",
    }
}

/// The list as an aligned table.
fn table(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "no quarantined record matches\n".into();
    }
    let mut rows = vec![[
        "ID",
        "STATE",
        "CODE",
        "CLASS",
        "KIND",
        "EXTERNAL ID",
        "FIRST SEEN",
        "ATTEMPTS",
    ]
    .map(String::from)];
    for e in entries {
        rows.push([
            e.id.clone(),
            state_name(e.state).into(),
            e.error.code.clone(),
            e.error.class.clone(),
            e.kind.clone().unwrap_or_else(|| "-".into()),
            e.external_id.clone().unwrap_or_else(|| format!("(line {})", e.line)),
            time(e.first_seen),
            e.attempts.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} record(s)\n", entries.len()));
    out
}

/// One entry, for a person.
fn show(e: &Entry) -> String {
    let mut out = format!(
        "{}  {} {}  (line {} of batch {})\nstate: {}, quarantined {} time(s), first {}, last {}\n",
        e.id,
        e.kind.as_deref().unwrap_or("-"),
        e.external_id.as_deref().unwrap_or("(no external id)"),
        e.line,
        e.batch,
        state_name(e.state),
        e.attempts,
        time(e.first_seen),
        time(e.last_seen),
    );
    if let Some(reason) = &e.drop_reason {
        out.push_str(&format!("dropped because: {reason}\n"));
    }
    out.push_str(&format!(
        "error: {} {}: {}\n",
        e.error.class, e.error.code, e.error.message
    ));
    for v in &e.error.violations {
        out.push_str(&format!("  {}  {}  {} (hint: {})\n", v.path, v.code, v.message, v.hint));
    }
    if let Some(details) = &e.error.details {
        out.push_str(&format!("incwo answered: {details}\n"));
    }
    out.push_str(&format!("runbook: {}\n", e.runbook));
    out.push_str("requests already made:");
    if e.requests.is_empty() {
        out.push_str(" none\n");
    } else {
        out.push('\n');
        for r in &e.requests {
            let answer = match (r.status, &r.failure) {
                (Some(status), _) => status.to_string(),
                (None, Some(failure)) => failure.clone(),
                (None, None) => "no answer".into(),
            };
            out.push_str(&format!("  {} {} → {}\n", r.method, r.url, answer));
        }
    }
    let record = serde_json::to_string_pretty(&e.record).unwrap_or_default();
    out.push_str(&format!("record (redacted):\n{record}\n"));
    if e.state == State::Open {
        out.push_str(&format!(
            "replay after the fix: incwo quarantine replay {} --record FIXED.json (or --batch ORIGINAL.jsonl) …\n",
            e.id
        ));
    }
    out
}

/// The batch that replays `entries`: the fixed record(s) of `--record`, or
/// their lines in `--batch` (the core's rules: only open entries, a bare
/// record takes its entry's kind, the batch must hold each entry's line).
fn replay_batch(args: &ReplayArgs, entries: &[Entry]) -> Result<String, String> {
    let (text, from_record) = match (&args.record, &args.batch) {
        (Some(path), _) => (input::text(path)?, true),
        (None, Some(path)) => (input::text(path)?, false),
        (None, None) => return Err("give --record FIXED.json or --batch FILE".into()),
    };
    let fix = if from_record {
        quarantine::Fix::Record(&text)
    } else {
        quarantine::Fix::Batch(&text)
    };
    quarantine::replay_batch(entries, fix).map_err(|e| e.to_string())
}

fn replay(args: ReplayArgs) -> Result<ExitCode, String> {
    let business_file = args.run.account.business_file.clone();
    let store = StoreArgs {
        state: args.run.state.state.clone(),
        business_file: business_file.clone(),
        retention_days: args.retention_days,
    };
    let entries: Vec<Entry> = if args.all_matching {
        let mut filter = args.filter.filter();
        filter.state = Some("open".into());
        listed(&store, &filter)?
    } else if args.ids.is_empty() {
        return Err(
            "name the entries to replay (ids from `incwo quarantine list`), or --all-matching with filters".into(),
        );
    } else {
        let db = existing(&store.state)?;
        let mut entries = Vec::new();
        for id in &args.ids {
            let entry = db
                .quarantine_entry(&business_file, id)?
                .ok_or_else(|| not_found(id, &business_file))?;
            entries.push(entry);
        }
        entries
    };
    if entries.is_empty() {
        println!("no open quarantined record matches; nothing replayed");
        return Ok(ExitCode::SUCCESS);
    }
    let mut run = args
        .run
        .run(replay_batch(&args, &entries)?, "incwo quarantine replay".into());
    run.options.manual_replay = true;
    let done = sync::execute(&run)?;
    if done.report.is_null() {
        return Ok(done.exit);
    }
    let mut db = existing(&store.state)?;
    let now = crate::host::now_ms();
    let mut replayed = Vec::new();
    for action in &done.records {
        let Action::RecordDone {
            kind,
            external_id,
            outcome,
            ..
        } = action
        else {
            continue;
        };
        let Some(entry) = quarantine::settled_entry(&entries, kind.map(|k| k.as_str()), external_id.as_deref()) else {
            continue;
        };
        let Some(current) = db.quarantine_entry(&business_file, &entry.id)? else {
            continue;
        };
        let settled = quarantine::settle(current, outcome, now);
        if settled.state == State::Replayed {
            replayed.push(settled.id.clone());
            db.write_quarantine(&business_file, &settled)?;
        }
    }
    let open: Vec<&str> = entries
        .iter()
        .map(|e| e.id.as_str())
        .filter(|id| !replayed.iter().any(|r| r == id))
        .collect();
    let replays: Vec<&str> = done
        .metrics
        .lines()
        .filter(|l| l.starts_with("replay_total{"))
        .collect();
    print_json(&serde_json::json!({
        "replayed": replayed,
        "stillOpen": open,
        "summary": done.report["summary"],
        "problems": done.report["problems"],
        "requests": done.report["requests"],
        "metrics": replays,
    }))?;
    Ok(if open.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_take_a_unit_and_refuse_others() {
        assert_eq!(parse_age("90"), Ok(90));
        assert_eq!(parse_age("15m"), Ok(900));
        assert_eq!(parse_age("2h"), Ok(7200));
        assert_eq!(parse_age("7d"), Ok(604_800));
        assert!(parse_age("2w").unwrap_err().contains("unknown unit"));
        assert!(parse_age("soon").unwrap_err().contains("not an age"));
    }
}
