//! `incwo-sim` binary: runs the simulator on 127.0.0.1 for non-Rust test
//! suites. Its first stdout line is `listening on http://127.0.0.1:PORT`
//! (`https://` with `--tls-dir`, once `DIR/ca.pem` is written).

use std::io::Write;
use std::process::ExitCode;

use incwo_sim::SimConfig;

const USAGE: &str = "usage: incwo-sim [--port N] [--business-file-id N] [--login L] \
[--password P] [--page-size N] [--seed N] [--admin-token T] [--profile FILE]
[--api-access on|off] [--business-file-name NAME] [--tls-dir DIR]
[--list-order ascending|unknown] [--ignore-per-page] [--seed-json JSON]
  --port 0 (default) picks a free port; the first line printed is
  `listening on http://127.0.0.1:PORT`.
  --tls-dir DIR: serve HTTPS with a test CA generated at startup, written to
  DIR/ca.pem (clients trust it) before the first line, which then reads
  `listening on https://127.0.0.1:PORT`; enables the tls_* fault kinds.
  --profile FILE: an account with the VAT ids, sheet types, statuses, currency
  and warehouses of that connector mapping profile, seeded with products,
  documents in every status and stock movements that use them.
  --api-access off: every API call on the business file answers 403.
  --list-order unknown: list pages in a stable but non-monotonic order
  instead of ascending ids. --ignore-per-page: a list request's per_page is
  ignored (by default it is honoured up to 100).
  --seed-json '{\"firms\":50000,\"products\":10000,\"proposalSheets\":50000,
  \"billSheets\":50000,\"prefix\":\"SEED\"}': bulk-creates those objects at start
  and after each reset, as POST /_sim/seed does.
  The password and admin token may also come from INCWO_SIM_PASSWORD and
  INCWO_SIM_ADMIN_TOKEN.";

fn parse_args() -> Result<(u16, SimConfig), String> {
    let mut config = SimConfig::default();
    if let Ok(p) = std::env::var("INCWO_SIM_PASSWORD") {
        config.password = p;
    }
    if let Ok(t) = std::env::var("INCWO_SIM_ADMIN_TOKEN") {
        config.admin_token = Some(t);
    }
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        if flag == "--ignore-per-page" {
            config.honour_per_page = false;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--port" => port = u16::try_from(num(&value)?).map_err(|_| "--port: out of range".to_string())?,
            "--business-file-id" => config.business_file_id = num(&value)?,
            "--login" => config.login = value,
            "--password" => config.password = value,
            "--page-size" => {
                config.page_size = usize::try_from(num(&value)?)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--page-size: must be at least 1")?
            }
            "--seed" => config.seed = num(&value)?,
            "--admin-token" => config.admin_token = Some(value),
            "--profile" => {
                let text =
                    std::fs::read_to_string(&value).map_err(|e| format!("--profile: cannot read {value}: {e}"))?;
                let name = config.account.name.clone();
                config.account =
                    incwo_sim::Account::from_profile_json(&text).map_err(|e| format!("--profile {value}: {e}"))?;
                if config.account.name.is_empty() {
                    config.account.name = name;
                }
            }
            "--business-file-name" => config.account.name = value,
            "--tls-dir" => config.tls_dir = Some(value.into()),
            "--api-access" => {
                config.api_access = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err("--api-access: on or off".into()),
                }
            }
            "--list-order" => {
                config.list_order = incwo_sim::ListOrder::parse(&value).ok_or("--list-order: ascending or unknown")?
            }
            "--seed-json" => {
                let v = serde_json::from_str(&value).map_err(|e| format!("--seed-json: not JSON: {e}"))?;
                config.bulk_seed = Some(incwo_sim::BulkSeed::from_json(&v).map_err(|e| format!("--seed-json: {e}"))?);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if config.bulk_seed.as_ref().is_some_and(incwo_sim::BulkSeed::needs_firms) && !config.account.seed_data {
        return Err("--seed-json: documents need firms: add \"firms\"".into());
    }
    Ok((port, config))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (port, config) = match parse_args() {
        Ok(x) => x,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("incwo-sim: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let server = match incwo_sim::Server::new(config.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("incwo-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scheme = server.scheme();
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("incwo-sim: cannot bind 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("incwo-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {scheme}://{addr}");
        let _ = writeln!(
            out,
            "incwo API at {scheme}://{addr}/{} (login {}), admin API at {scheme}://{addr}/_sim/",
            config.business_file_id, config.login
        );
        if let Some(ca) = server.ca_file() {
            let _ = writeln!(out, "test CA (trust it) at {}", ca.display());
        }
        let _ = out.flush();
    }
    server.serve(listener, std::future::pending()).await;
    ExitCode::SUCCESS
}
