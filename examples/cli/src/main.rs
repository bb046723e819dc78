//! `incwo`: the reference host of the incwo connector.
//!
//! Every command prints JSON (or the XML body for `map`) on stdout and exits
//! 0 on success, 1 when the input breaks the contract or incwo's rules, and
//! 2 on a usage error (bad JSON, unknown kind, unreadable file).

use clap::{Parser, Subcommand};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The allocator: glibc's slowed every record as a run's loaded history grew.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod account;
mod demo;
mod discover;
mod doctor;
mod host;
mod input;
mod inspect;
mod intake_server;
mod listen;
mod metrics;
mod pool;
mod postman;
mod progress;
mod quarantine;
mod scenario;
mod state;
mod store;
mod sync;
mod tls;

#[derive(Parser)]
#[command(
    name = "incwo",
    version,
    about = "Validate, map and parse incwo records (independent connector, not affiliated with incwo)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a canonical record against the contract; prints the report.
    Validate {
        /// customer, product, quote, order, invoice, stock-movement or cancellation.
        kind: String,
        /// The record's JSON file, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
        /// Mapping profile (JSON); the shipped default when absent.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Map a canonical record to the incwo XML body it becomes.
    Map {
        /// customer, product, quote, order, invoice, stock-movement or cancellation.
        kind: String,
        /// The record's JSON file, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
        /// Mapping profile (JSON); the shipped default when absent.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Print the JSON result (resource, xml, totals, warnings) instead of the bare XML.
        #[arg(long)]
        json: bool,
    },
    /// Read an incwo XML document (one object or a list page) into its typed view.
    Parse {
        /// incwo's plural resource name: firms, contacts, customer_products,
        /// proposal_sheets, bill_sheets, stock_movements, cash_deposits.
        resource: String,
        /// The XML file, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Print the steps and requests a JSON Lines batch would take against an
    /// empty incwo and an empty ledger, without sending anything.
    Plan {
        /// The batch: one {"kind": …, "record": {…}} per line, or - for standard input.
        file: String,
        /// Mapping profile (JSON); the shipped default when absent.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Print docs/STATUSES.md: the document status transition tables as Mermaid diagrams.
    Statuses,
    /// Run the incwo simulator on a loopback port (port 0: any free port, printed first).
    Sim {
        /// Port to listen on (127.0.0.1 only).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The business file id the simulator serves.
        #[arg(long, default_value_t = 123456)]
        business_file: u64,
        /// The API login.
        #[arg(long, default_value = "api@example.fr")]
        login: String,
        /// The API password.
        #[arg(long, default_value = "secret")]
        password: String,
        /// Serve an account with this mapping profile's ids (VAT, statuses,
        /// sheet types, warehouses, currency), seeded with data using them.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Answer API calls with 403, as an account whose API access is off.
        #[arg(long)]
        api_access_off: bool,
        /// Serve HTTPS with a test CA generated at startup and written to DIR/ca.pem
        /// (trust it, e.g. `--ca-file DIR/ca.pem`); enables the tls_* fault kinds.
        #[arg(long, value_name = "DIR")]
        tls_dir: Option<PathBuf>,
    },
    /// Print the request the core would send for a record (Authorization redacted).
    Request(inspect::RequestArgs),
    /// Classify an answer or a transport failure and print the retry decision for attempt 1.
    Classify(inspect::ClassifyArgs),
    /// Export the nominal scenario as a Postman collection v2.1 (credentials as variables).
    Postman {
        /// incwo server base URL.
        #[arg(long)]
        server: String,
        /// The business file id.
        #[arg(long)]
        business_file: String,
    },
    /// Sync a JSON Lines batch into incwo over HTTP; rerunning resumes and creates nothing twice.
    Sync(sync::SyncArgs),
    /// Quarantined records: list, show, replay after a fix (never twice), drop with a reason.
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCommand),
    /// The state store of `sync` and `listen` (export: print it as a version-1 JSON checkpoint).
    #[command(subcommand)]
    State(state::StateCommand),
    /// Bring changes made in incwo back: a webhook endpoint (answers at once, re-reads
    /// later) and optional polling; prints each change event as a JSON line.
    Listen(listen::ListenArgs),
    /// Start the simulator in-process, run every scenario of the test matrix against it
    /// over real HTTP, and print a table and the metrics. Exits 1 if any scenario fails.
    Demo {
        /// Folder of scenario files.
        #[arg(long)]
        scenarios: Option<PathBuf>,
        /// Run only scenarios whose file name contains this text.
        #[arg(long)]
        only: Option<String>,
        /// Print the results as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check the connection to an incwo account, read-only: server, TLS, credentials,
    /// business file, API access, each resource, clock skew; one line each with the fix.
    /// Exits 1 when a check fails.
    Doctor(doctor::DoctorArgs),
    /// Mapping profile tools (discover: propose a profile from the account's data).
    #[command(subcommand)]
    Profile(discover::ProfileCommand),
    /// Print docs/RUNBOOK.md: every error code with its class, retry, fix and metric, and the procedures.
    Runbook,
    /// Print the JSON Schema (draft 2020-12) of a kind.
    Schema {
        /// customer, product, quote, order, invoice, stock-movement or cancellation.
        kind: String,
        /// Mapping profile (JSON): tax codes, currencies and warehouses come from it.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("incwo: {message}");
            ExitCode::from(2)
        }
    }
}

/// The exit code a core result deserves: 2 for usage errors, 1 for records
/// that break the contract, 0 otherwise.
fn exit_code(result: &Value) -> ExitCode {
    match result["error"]["class"].as_str() {
        Some("usage") => ExitCode::from(2),
        Some(_) => ExitCode::from(1),
        None if result["valid"] == Value::Bool(false) => ExitCode::from(1),
        None => ExitCode::SUCCESS,
    }
}

fn print_json(value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| format!("cannot write to stdout: {e}"))
}

fn report_error(result: &Value) {
    if let Some(message) = result["error"]["message"].as_str() {
        eprintln!("incwo: {message}");
        if let Some(hint) = result["error"]["hint"].as_str() {
            eprintln!("hint: {hint}");
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    let result = match command {
        Command::Validate { kind, file, profile } => {
            let profile = input::profile(profile.as_deref())?;
            incwo_core::api::validate(&kind, &input::text(&file)?, profile.as_deref())
        }
        Command::Map {
            kind,
            file,
            profile,
            json,
        } => {
            let profile = input::profile(profile.as_deref())?;
            let result = incwo_core::api::map(&kind, &input::text(&file)?, profile.as_deref());
            if !json {
                if let Some(xml) = result["xml"].as_str() {
                    for warning in result["warnings"].as_array().into_iter().flatten() {
                        eprintln!(
                            "warning: {} {} ({})",
                            warning["path"].as_str().unwrap_or(""),
                            warning["message"].as_str().unwrap_or(""),
                            warning["code"].as_str().unwrap_or("")
                        );
                    }
                    println!("{xml}");
                    return Ok(ExitCode::SUCCESS);
                }
            }
            result
        }
        Command::Parse { resource, file } => incwo_core::api::parse(&resource, &input::bytes(&file)?),
        Command::Plan { file, profile } => {
            let profile_text = input::profile(profile.as_deref())?;
            let profile = incwo_core::api::load_profile(profile_text.as_deref()).map_err(|e| e.to_string())?;
            let items = incwo_core::flow::batch::parse_jsonl(&input::text(&file)?, &profile);
            let config = incwo_core::http::ConnectionConfig::new(
                "https://incwo.invalid",
                "0",
                incwo_core::http::Auth::bearer("plan"),
                false,
            )
            .map_err(|e| e.to_string())?;
            let plan = incwo_core::flow::plan(items, profile, config);
            serde_json::json!({ "records": plan })
        }
        Command::Sim {
            port,
            business_file,
            login,
            password,
            profile,
            api_access_off,
            tls_dir,
        } => {
            let mut config = incwo_sim::SimConfig {
                business_file_id: business_file,
                login,
                password,
                api_access: !api_access_off,
                tls_dir,
                ..Default::default()
            };
            if let Some(text) = input::profile(profile.as_deref())? {
                config.account = incwo_sim::Account::from_profile_json(&text)?;
            }
            return demo::run_sim(port, config);
        }
        Command::Sync(args) => return sync::run(args),
        Command::Listen(args) => return listen::run(args),
        Command::State(command) => return state::run(command),
        Command::Quarantine(command) => return quarantine::run(command),
        Command::Doctor(args) => return doctor::run(args),
        Command::Profile(command) => return discover::run(command),
        Command::Runbook => {
            print!("{}", incwo_core::codes::runbook_markdown());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Request(args) => inspect::request(args)?,
        Command::Classify(args) => inspect::classify(args)?,
        Command::Postman { server, business_file } => postman::collection(&server, &business_file)?,
        Command::Demo { scenarios, only, json } => return demo::run(scenarios, only.as_deref(), json),
        Command::Statuses => {
            print!("{}", statuses_doc());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Schema { kind, profile } => {
            let profile = input::profile(profile.as_deref())?;
            incwo_core::api::schema(&kind, profile.as_deref())
        }
    };
    report_error(&result);
    print_json(&result)?;
    Ok(exit_code(&result))
}

/// The text of docs/STATUSES.md, generated from the core's transition tables.
fn statuses_doc() -> String {
    format!(
        "# Document statuses\n\n\
         Generated by `incwo statuses` from the core's transition tables\n\
         (`core/src/flow/transitions.rs`); the test suite fails when this file is stale.\n\
         A transition that is not drawn here is refused before any request is built\n\
         (`business.invalid_transition`).\n\n{}",
        incwo_core::flow::transitions::mermaid()
    )
}
