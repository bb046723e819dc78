//! `incwo doctor`: checks the connection to an incwo account, read-only
//! (GET only), one line per check with its verdict and the fix. Exits 1 when
//! a check fails.

use crate::account::AccountArgs;
use crate::discover::{correlation_id, explain_status};
use incwo_core::discover::{account_listing_request, parse_business_files, BusinessFile};
use incwo_core::errors::{TransportFailure, TransportKind};
use incwo_core::http::{BaseUrl, ConnectionConfig, Method, Response};
use incwo_core::views::{parse_resource, Resource};
use serde::Serialize;
use std::process::ExitCode;

/// Arguments of `incwo doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// Print the checks as JSON.
    #[arg(long)]
    json: bool,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Passed.
    Ok,
    /// Passed with a caveat.
    Warn,
    /// Failed: the fix says what to do.
    Fail,
    /// Not run because an earlier check failed.
    Skip,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Check name.
    pub check: String,
    /// Verdict.
    pub verdict: Verdict,
    /// What was seen.
    pub detail: String,
    /// What to do (empty when nothing).
    pub fix: String,
}

fn check(name: &str, verdict: Verdict, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check: name.into(),
        verdict,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of an HTTP `Date` (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if *zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// The clock check from a `Date` header and the local time (seconds).
pub fn clock_check(date: Option<&str>, local_secs: i64) -> Check {
    let Some(server) = date.and_then(parse_http_date) else {
        return check("clock", Verdict::Skip, "the server sent no readable Date header", "");
    };
    let skew = local_secs - server;
    let detail = format!("local clock {skew:+} s from the server's Date");
    match skew.abs() {
        0..=60 => check("clock", Verdict::Ok, detail, ""),
        61..=300 => check(
            "clock",
            Verdict::Warn,
            detail,
            "synchronise the host's clock (NTP): retry times and logs use it",
        ),
        _ => check(
            "clock",
            Verdict::Fail,
            detail,
            "synchronise the host's clock (NTP): a clock this far off breaks TLS certificate checks and retry scheduling",
        ),
    }
}

fn transport_fix(failure: &TransportFailure) -> (String, String) {
    match failure.kind {
        TransportKind::ConnectRefused => (
            "nothing answers at this address (connection refused)".into(),
            "check the server address (incwo's APIs panel shows it) and that the server is up".into(),
        ),
        TransportKind::Dns => (
            "the host name does not resolve".into(),
            "check the server address for typos and the host's DNS".into(),
        ),
        TransportKind::Timeout => (
            "no answer in time".into(),
            "check the network and firewalls; raise --timeout-ms if incwo is slow".into(),
        ),
        TransportKind::Tls => (
            "TLS failed".into(),
            "check the system clock, CA certificates and any TLS-intercepting proxy; a server whose \
             certificate a private CA signed needs --ca-file with that CA"
                .into(),
        ),
        TransportKind::Reset => (
            "the connection was closed without an answer".into(),
            "check proxies and firewalls between this host and incwo".into(),
        ),
    }
}

/// Runs every check; stops early only where later checks cannot mean anything.
pub fn checks(args: &AccountArgs) -> Result<Vec<Check>, String> {
    let mut out = Vec::new();
    let auth = args.auth()?;
    let base = match BaseUrl::parse(&args.server) {
        Ok(b) => b,
        Err(e) => {
            out.push(check("server", Verdict::Fail, e.to_string(), e.hint()));
            return Ok(out);
        }
    };
    let config = match ConnectionConfig::new(
        &args.server,
        &args.business_file,
        auth.clone(),
        args.allow_insecure_http,
    ) {
        Ok(c) => c,
        Err(e) => {
            out.push(check("server", Verdict::Fail, e.to_string(), e.hint()));
            return Ok(out);
        }
    };
    let transport = args.transport()?;
    let listing = account_listing_request(&args.server, auth, &correlation_id()).map_err(|e| e.to_string())?;
    let listing_answer = transport.send(&listing);
    let remaining = [
        "tls",
        "credentials",
        "business file",
        "api access",
        "resources",
        "clock",
    ];
    let listing_answer: Response = match listing_answer {
        Ok(r) => r,
        Err(failure) => {
            let (detail, fix) = transport_fix(&failure);
            if failure.kind == TransportKind::Tls {
                out.push(check("server", Verdict::Skip, "no answer: TLS failed first", ""));
                out.push(check("tls", Verdict::Fail, detail, fix));
            } else {
                out.push(check("server", Verdict::Fail, format!("{base}: {detail}"), fix));
                out.push(check("tls", Verdict::Skip, "no connection", ""));
            }
            for name in &remaining[1..] {
                out.push(check(name, Verdict::Skip, "the server did not answer", ""));
            }
            return Ok(out);
        }
    };
    out.push(check(
        "server",
        Verdict::Ok,
        format!("{base} answers (HTTP {})", listing_answer.status),
        "",
    ));
    out.push(if base.is_https() {
        check("tls", Verdict::Ok, "https: certificate verified", "")
    } else if base.is_loopback() {
        check(
            "tls",
            Verdict::Ok,
            "plain http on loopback (simulator or local proxy)",
            "",
        )
    } else {
        check(
            "tls",
            Verdict::Warn,
            "plain http: the password crosses the network in clear",
            "use the https address shown in incwo's APIs panel",
        )
    });
    let date = listing_answer.header("Date").map(str::to_string);

    // Credentials and the business files they reach.
    let mut files: Option<Vec<BusinessFile>> = None;
    match listing_answer.status {
        200 => match parse_business_files(&listing_answer.body) {
            Ok(list) => {
                out.push(check(
                    "credentials",
                    Verdict::Ok,
                    format!("login {} accepted (account listing)", args.login),
                    "",
                ));
                files = Some(list);
            }
            Err(e) => out.push(check(
                "credentials",
                Verdict::Warn,
                format!("the account listing answered but cannot be read ({})", e.code()),
                "checked again with the business file below",
            )),
        },
        401 => {
            out.push(check(
                "credentials",
                Verdict::Fail,
                "wrong login or password (HTTP 401)",
                format!(
                    "check --login and the password in ${}; the API user is chosen in incwo's Settings / Users / APIs",
                    args.password_env
                ),
            ));
            for name in &remaining[2..5] {
                out.push(check(name, Verdict::Skip, "the credentials were refused", ""));
            }
            out.push(clock_check(date.as_deref(), crate::host::now_ms() as i64 / 1000));
            return Ok(out);
        }
        status => out.push(check(
            "credentials",
            Verdict::Skip,
            format!("the account listing is not available here (HTTP {status}); checked with the business file below"),
            "",
        )),
    }

    // The business file and API access, from the first resource.
    let first = config
        .request(
            Method::Get,
            "firms",
            None,
            &[("page", "1")],
            Vec::new(),
            &correlation_id(),
        )
        .map_err(|e| e.to_string())?;
    let first_answer = transport.send(&first);
    let reachable = |files: &Option<Vec<BusinessFile>>| match files {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|f| format!("{} ({})", f.id, f.name.as_deref().unwrap_or("no name")))
            .collect::<Vec<_>>()
            .join(", "),
        Some(_) => "none".into(),
        None => "unknown (no account listing)".into(),
    };
    let listed = files
        .as_ref()
        .map(|list| list.iter().any(|f| f.id == args.business_file));
    let status = first_answer.as_ref().map(|r| r.status).ok();
    let (bf_ok, api_ok) = match (status, listed) {
        (Some(404), _) | (_, Some(false)) => {
            out.push(check(
                "business file",
                Verdict::Fail,
                format!(
                    "business file {} is not one this user can reach; reachable: {}",
                    args.business_file,
                    reachable(&files)
                ),
                "use one of the reachable ids with --business-file (incwo's APIs panel shows the server address and id)",
            ));
            (false, false)
        }
        (Some(401), _) => {
            out.push(check(
                "business file",
                Verdict::Fail,
                "wrong login or password for this business file (HTTP 401)",
                format!("check --login and the password in ${}", args.password_env),
            ));
            (false, false)
        }
        _ => {
            out.push(check(
                "business file",
                Verdict::Ok,
                format!("{} (reachable: {})", args.business_file, reachable(&files)),
                "",
            ));
            (true, true)
        }
    };
    if bf_ok {
        match &first_answer {
            Ok(r) if r.status == 403 => out.push(check(
                "api access",
                Verdict::Fail,
                "API access is switched off for this business file (HTTP 403)",
                "switch it on in incwo: Settings / Users / APIs (the subscription plan must include the API)",
            )),
            Ok(r) if r.is_success() => out.push(check("api access", Verdict::Ok, "switched on", "")),
            Ok(r) => out.push(check("api access", Verdict::Fail, explain_status(r.status), "")),
            Err(f) => {
                let (detail, fix) = transport_fix(f);
                out.push(check("api access", Verdict::Fail, detail, fix));
            }
        }
    } else {
        out.push(check(
            "api access",
            Verdict::Skip,
            "the business file is not reachable",
            "",
        ));
    }
    let api_ok = api_ok && out.last().is_some_and(|c| c.verdict == Verdict::Ok);

    // Each resource.
    for resource in Resource::ALL {
        let name = format!("list {}", resource.as_str());
        if !api_ok {
            out.push(check(&name, Verdict::Skip, "no API access", ""));
            continue;
        }
        let request = config
            .request(
                Method::Get,
                resource.as_str(),
                None,
                &[("page", "1")],
                Vec::new(),
                &correlation_id(),
            )
            .map_err(|e| e.to_string())?;
        out.push(match transport.send(&request) {
            Ok(r) if r.is_success() => match parse_resource(resource, &r.body) {
                Ok(incwo_core::views::Parsed::Page(page)) => {
                    let v = serde_json::to_value(&page).unwrap_or_default();
                    let inner = v
                        .as_object()
                        .and_then(|m| m.values().next())
                        .cloned()
                        .unwrap_or_default();
                    check(
                        &name,
                        Verdict::Ok,
                        format!(
                            "{} item(s) on page 1 of {}",
                            inner["items"].as_array().map_or(0, Vec::len),
                            inner["pagination"]["totalPages"]
                        ),
                        "",
                    )
                }
                Ok(_) => check(
                    &name,
                    Verdict::Fail,
                    "a single object instead of a list",
                    "check the server address",
                ),
                Err(e) => check(
                    &name,
                    Verdict::Fail,
                    format!("the list cannot be read: {e} ({})", e.code()),
                    "check the server address; report the element path if it persists",
                ),
            },
            Ok(r) => check(&name, Verdict::Fail, explain_status(r.status), ""),
            Err(f) => {
                let (detail, fix) = transport_fix(&f);
                check(&name, Verdict::Fail, detail, fix)
            }
        });
    }
    out.push(clock_check(date.as_deref(), crate::host::now_ms() as i64 / 1000));
    Ok(out)
}

/// Runs `incwo doctor`.
pub fn run(args: DoctorArgs) -> Result<ExitCode, String> {
    let results = checks(&args.account)?;
    let failed = results.iter().any(|c| c.verdict == Verdict::Fail);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"ok": !failed, "checks": results})).unwrap_or_default()
        );
    } else {
        for c in &results {
            let verdict = match c.verdict {
                Verdict::Ok => "ok",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
                Verdict::Skip => "skip",
            };
            let fix = if c.fix.is_empty() {
                String::new()
            } else {
                format!(" — fix: {}", c.fix)
            };
            println!("{verdict:<5} {:<26} {}{fix}", c.check, c.detail);
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_and_clock_verdicts() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"), None);
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(clock_check(Some(date), 784_111_777 + 5).verdict, Verdict::Ok);
        assert_eq!(clock_check(Some(date), 784_111_777 - 200).verdict, Verdict::Warn);
        assert_eq!(clock_check(Some(date), 784_111_777 + 3600).verdict, Verdict::Fail);
        assert_eq!(clock_check(None, 0).verdict, Verdict::Skip);
    }
}
