//! `incwo sync`: the flow loop over real HTTP, its state in the state store
//! (exclusive per business file, saved incrementally, durable before each send).

use crate::account::AccountArgs;
use crate::host::{self, RunLog, Stop};
use crate::input;
use crate::pool;
use crate::progress::IndexProgress;
use crate::store::{lock, StateArgs, Store};
use incwo_core::flow::ledger::Ledger;
use incwo_core::flow::{batch, Action, Flow, FlowOptions, Outcome};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Arguments of `incwo sync`.
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    /// The batch: one {"kind": …, "record": {…}} per line.
    file: String,
    #[command(flatten)]
    run: RunArgs,
}

/// The arguments of a run through the flow, shared by `incwo sync` and
/// `incwo quarantine replay` (which rewords some help lines, see there).
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// Mapping profile (JSON); the shipped default when absent.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateArgs,
    /// Company segment of queue names.
    #[arg(long, default_value = "default")]
    pub company: String,
    /// Look every document up in incwo before creating it (use when the
    /// state file was lost: what incwo already holds is linked, not created
    /// twice; costs list-page reads).
    #[arg(long)]
    pub lookup_before_create: bool,
    /// Most list pages this run reads to build or refresh the marker index
    /// beyond each pass's first page (a first sync of a large account; the
    /// next run continues).
    #[arg(long, default_value_t = FlowOptions::default().max_lookup_pages)]
    pub max_lookup_pages: u32,
    /// Most requests in flight at once: independent records (other
    /// customers, other products and documents) are synced side by side by
    /// a pool of this many connections; one customer's records keep their
    /// order. 1 sends one request at a time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_in_flight: u32,
    /// Most requests per second (all connections together); no limit when absent.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_requests_per_second: Option<u32>,
    /// Keep the metrics' running totals in this node_exporter textfile-collector
    /// file (`*.prom`), rewritten atomically at the end of each run.
    #[arg(long)]
    pub metrics_file: Option<PathBuf>,
}

impl RunArgs {
    /// The run of `jsonl` with these arguments; `command` is named to a
    /// second writer that finds the state store's lock busy.
    pub fn run(&self, jsonl: String, command: String) -> Run<'_> {
        Run {
            account: &self.account,
            profile: self.profile.as_deref(),
            state: &self.state,
            jsonl,
            command,
            metrics_file: self.metrics_file.as_deref(),
            options: FlowOptions {
                company: self.company.clone(),
                lookup_before_create: self.lookup_before_create,
                max_lookup_pages: self.max_lookup_pages,
                max_in_flight: self.max_in_flight,
                max_requests_per_second: self.max_requests_per_second,
                ..FlowOptions::default()
            },
        }
    }
}

/// Runs `incwo sync`.
pub fn run(args: SyncArgs) -> Result<ExitCode, String> {
    let run = args
        .run
        .run(input::text(&args.file)?, format!("incwo sync {}", args.file));
    let done = execute(&run)?;
    println!("{}", serde_json::to_string_pretty(&done.report).unwrap_or_default());
    Ok(done.exit)
}

/// A batch to run through the flow, with its state store (`sync`, and the
/// manual replays of `quarantine replay`).
pub struct Run<'a> {
    /// The account to reach.
    pub account: &'a AccountArgs,
    /// Mapping profile file.
    pub profile: Option<&'a std::path::Path>,
    /// The state store.
    pub state: &'a StateArgs,
    /// The batch (JSON Lines).
    pub jsonl: String,
    /// The command line, named to a second writer that finds the lock busy.
    pub command: String,
    /// The textfile-collector file whose running totals the run adds to.
    pub metrics_file: Option<&'a std::path::Path>,
    /// Flow options.
    pub options: FlowOptions,
}

/// How a run ended.
pub struct Done {
    /// The exit code `sync` answers.
    pub exit: ExitCode,
    /// The report (`summary`, `problems`, `requests`).
    pub report: serde_json::Value,
    /// Each record's end, in order (the `recordDone` actions).
    pub records: Vec<Action>,
    /// The run's metrics (Prometheus text).
    pub metrics: String,
}

/// Runs a batch: the flow loop over real HTTP, the state saved before each
/// send, each quarantined record's entry stored in the quarantine table.
/// An interrupted or busy run returns its exit code with an empty report.
pub fn execute(run: &Run<'_>) -> Result<Done, String> {
    run.metrics_file.map_or(Ok(()), crate::metrics::check_textfile_path)?;
    let profile_text = input::profile(run.profile)?;
    let profile = incwo_core::api::load_profile(profile_text.as_deref()).map_err(|e| e.to_string())?;
    let config = run.account.config()?;
    let items = batch::parse_jsonl(&run.jsonl, &profile);
    let total = items.len();
    let options = run.options.clone();
    let stopped = |exit: ExitCode| Done {
        exit,
        report: serde_json::Value::Null,
        records: Vec::new(),
        metrics: String::new(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let business_file = run.account.business_file.clone();
    let _writer = match run
        .state
        .lock("writer", &business_file, &run.command, &|| stop.load(Ordering::SeqCst))
    {
        Ok(guard) => guard,
        Err((lock::LockError::Busy(_), message)) => {
            eprintln!("incwo: {message}");
            return Ok(stopped(ExitCode::from(lock::EXIT_BUSY)));
        }
        Err((lock::LockError::Interrupted, _)) => return Ok(stopped(ExitCode::from(130))),
        Err((_, message)) => return Err(message),
    };
    let mut store = Store::open(&run.state.state, &business_file)?;
    let mut flow = match store.checkpoint(&business_file)? {
        Some(checkpoint) => {
            Flow::resume(&checkpoint, items, profile, config, options, host::now_ms()).map_err(|e| e.to_string())?
        }
        None => {
            let ledger = Ledger::from_entries(store.entries(&business_file)?);
            Flow::with_ledger(items, profile, config, options, ledger, host::now_ms(), host::now_ms())
        }
    };
    flow.load_index(store.index(&business_file)?);
    let mut start = flow.take_changes();
    start.outcomes = flow
        .outcomes()
        .iter()
        .enumerate()
        .filter_map(|(i, o)| Some((i, o.clone()?)))
        .collect();
    store.begin_run(&business_file, &start)?;
    let transport = run.account.transport()?;
    let mut log = RunLog::default();
    let terminal = std::io::stderr().is_terminal();
    let mut done = flow.outcomes().iter().filter(|o| o.is_some()).count();
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut records = Vec::new();
    let quarantined = std::cell::RefCell::new(Vec::new());
    let mut progress = IndexProgress::new(terminal);
    let workers = run.options.max_in_flight as usize;
    let drive = |flow: &mut Flow,
                 log: &mut RunLog,
                 save: &mut dyn FnMut(&mut Flow, bool) -> Result<(), String>,
                 on_action: &mut dyn FnMut(&Action),
                 should_stop: &mut dyn FnMut(usize) -> bool| {
        if workers > 1 {
            pool::drive(flow, &transport, workers, log, save, on_action, should_stop)
        } else {
            host::drive(flow, &transport, log, save, on_action, should_stop, None)
        }
    };
    let result = drive(
        &mut flow,
        &mut log,
        &mut |flow, durable| {
            for entry in quarantined.borrow_mut().drain(..) {
                store.put_quarantine(&business_file, &entry)?;
            }
            progress.show(flow);
            store.save(
                &business_file,
                &flow.take_changes(),
                &flow.take_index_changes(),
                durable,
            )
        },
        &mut |action| {
            if let Action::RecordDone {
                outcome, quarantine, ..
            } = action
            {
                records.push(action.clone());
                quarantined.borrow_mut().extend(quarantine.as_deref().cloned());
                done += 1;
                match outcome {
                    Outcome::Quarantined { error } | Outcome::Deferred { error, .. } => {
                        *by_class.entry(error.class.clone()).or_default() += 1
                    }
                    _ => {}
                }
                if terminal {
                    let errors: Vec<String> = by_class.iter().map(|(k, v)| format!("{k} {v}")).collect();
                    eprint!(
                        "\r\x1b[2K{done}/{total} records; errors: {}",
                        if errors.is_empty() {
                            "none".into()
                        } else {
                            errors.join(", ")
                        }
                    );
                }
            }
        },
        &mut |_| stop.load(Ordering::SeqCst),
    );
    if let Some(path) = run.metrics_file {
        crate::metrics::write_textfile(path, flow.metrics())?;
    }
    let result = result?;
    if terminal {
        eprintln!();
    }
    if result == Stop::Interrupted {
        eprintln!(
            "incwo: stopped after the current action; state saved in {}; rerun the same command to resume",
            run.state.state.display()
        );
        return Ok(stopped(ExitCode::from(130)));
    }
    for entry in quarantined.borrow_mut().drain(..) {
        store.put_quarantine(&business_file, &entry)?;
    }
    let summary = flow.summary();
    let problems: Vec<serde_json::Value> = flow
        .outcomes()
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Some(o @ (Outcome::Quarantined { .. } | Outcome::Deferred { .. })) => {
                Some(serde_json::json!({"index": i, "outcome": o}))
            }
            _ => None,
        })
        .collect();
    let report = serde_json::json!({"summary": summary, "problems": problems, "requests": log.requests});
    if let Some(stopped) = &summary.stopped {
        eprintln!("incwo: the run stopped: {} ({})", stopped.message, stopped.code);
    }
    let exit = if summary.quarantined == 0 && summary.deferred == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    Ok(Done {
        exit,
        report,
        records,
        metrics: flow.metrics().render_prometheus(),
    })
}
