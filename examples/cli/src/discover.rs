//! `incwo profile discover`: reads an account's products, documents and
//! stock movements (GET only, within a page budget) and writes the mapping
//! profile the core proposes from them. The reading of pages and the
//! proposal are the core's (`incwo_core::discover`); this is the HTTP.

use crate::account::AccountArgs;
use crate::host::{self, Transport};
use incwo_core::discover::{self, DiscoverOptions, Observations, DISCOVERY_RESOURCES};
use incwo_core::errors::{default_rule, TransportFailure};
use incwo_core::http::{Method, Request, Response};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

/// `incwo profile …` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ProfileCommand {
    /// Propose a mapping profile from the account's data (read-only): VAT ids
    /// and rates, status ids per document type, sheet types, warehouses,
    /// currency. Values it cannot establish are written as {"unknown": "hint"}.
    Discover(DiscoverArgs),
}

/// Arguments of `incwo profile discover`.
#[derive(clap::Args, Debug)]
pub struct DiscoverArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// Where to write the proposed profile (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Most list pages read per resource.
    #[arg(long, default_value_t = 20)]
    max_pages: u32,
    /// ISO 4217 code of the business file's currency.
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// Name written in the profile.
    #[arg(long, default_value = "discovered")]
    name: String,
}

/// A fresh UUID-shaped correlation id (time and a counter; unique per process run).
pub fn correlation_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 32) as u32,
        (t >> 16) as u16,
        t & 0xfff,
        n & 0xfff,
        (u64::from(std::process::id()) << 20) ^ n
    )
}

/// Sends a GET; a transport failure becomes its core form.
pub fn get(transport: &Transport, request: &Request) -> Result<Response, TransportFailure> {
    transport.send(request)
}

/// One line explaining a failed status, with the runbook's action.
pub fn explain_status(status: u16) -> String {
    let rule = default_rule(status);
    let code = rule.code.unwrap_or_else(|| format!("http.{status}"));
    match incwo_core::codes::lookup(&code) {
        Some(info) => format!("HTTP {status} ({code}): {} {}", info.meaning, info.action),
        None => format!("HTTP {status} ({code})"),
    }
}

/// Runs `incwo profile …`.
pub fn run(command: ProfileCommand) -> Result<ExitCode, String> {
    match command {
        ProfileCommand::Discover(args) => discover(args),
    }
}

fn discover(args: DiscoverArgs) -> Result<ExitCode, String> {
    let a = &args.account;
    let config = a.config()?;
    let transport = a.transport()?;
    let mut obs = Observations::new();
    for resource in DISCOVERY_RESOURCES {
        let mut page = 1u32;
        let mut read = 0u32;
        loop {
            if read >= args.max_pages {
                obs.note_truncated(resource);
                break;
            }
            let page_text = page.to_string();
            let request = config
                .request(
                    Method::Get,
                    resource.as_str(),
                    None,
                    &[("page", &page_text)],
                    Vec::new(),
                    &correlation_id(),
                )
                .map_err(|e| e.to_string())?;
            let response = get(&transport, &request).map_err(|f| {
                format!(
                    "GET {} page {page}: no answer ({}); run `incwo doctor` to check the connection",
                    request.endpoint(),
                    f.kind.as_str()
                )
            })?;
            if !response.is_success() {
                return Err(format!(
                    "GET {} page {page}: {}",
                    request.endpoint(),
                    explain_status(response.status)
                ));
            }
            read += 1;
            let next = obs.add_page(resource, &response.body).map_err(|e| {
                format!(
                    "GET {} page {page}: the answer cannot be read: {e} ({})",
                    request.endpoint(),
                    e.code()
                )
            })?;
            match next {
                Some(n) if n > page => page = n,
                _ => break,
            }
        }
    }
    let discovery = discover::propose(
        &obs,
        &DiscoverOptions {
            name: args.name.clone(),
            file_currency: args.currency.clone(),
        },
    );
    let text = serde_json::to_string_pretty(&discovery.profile).map_err(|e| e.to_string())?;
    host::write_atomic(&args.out, &(text + "\n"))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "out": args.out.display().to_string(),
            "complete": discovery.is_complete(),
            "report": discovery.report,
        }))
        .unwrap_or_default()
    );
    if discovery.unknowns.is_empty() {
        eprintln!(
            "incwo: profile written to {}; check the evidence above, then sync with --profile {}",
            args.out.display(),
            args.out.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "incwo: profile written to {} with {} unknown value(s) to fill in before it can run a sync:",
            args.out.display(),
            discovery.unknowns.len()
        );
        for u in &discovery.unknowns {
            eprintln!("  {}: {}", u.path, u.message);
        }
        Ok(ExitCode::from(1))
    }
}
