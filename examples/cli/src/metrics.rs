//! Where operators scrape the connector's metrics: `incwo sync
//! --metrics-file` keeps running totals in a node_exporter textfile-collector
//! file (counters add up across runs, written atomically), and `incwo listen
//! --metrics-bind` serves `GET /metrics` in the Prometheus text format.

use incwo_core::telemetry::Registry;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The content type of the Prometheus text exposition format 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Checks a `--metrics-file` before a run, so a typo fails at once rather
/// than after the batch: node_exporter reads only `*.prom` files, from an
/// existing directory.
pub fn check_textfile_path(path: &Path) -> Result<(), String> {
    if path.extension().and_then(|e| e.to_str()) != Some("prom") {
        return Err(format!(
            "--metrics-file {}: the name must end in .prom (node_exporter's textfile collector reads only *.prom files)",
            path.display()
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "--metrics-file {}: the directory {} does not exist (point it at node_exporter's --collector.textfile.directory)",
            path.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// Adds `run` to the totals kept in `path` and rewrites it atomically (a
/// temporary file in the same directory, then a rename: the collector never
/// reads half a file). A file this connector did not write is set aside as
/// `<path>.unreadable` (said on stderr) and the totals start again.
pub fn write_textfile(path: &Path, run: &Registry) -> Result<(), String> {
    let mut total = match std::fs::read_to_string(path) {
        Ok(text) => match Registry::from_prometheus(&text) {
            Ok(total) => total,
            Err(e) => {
                let aside = PathBuf::from(format!("{}.unreadable", path.display()));
                std::fs::rename(path, &aside).map_err(|err| format!("cannot set {} aside: {err}", path.display()))?;
                eprintln!(
                    "incwo: {} is not a metrics file this connector wrote (line {}: {}); moved to {} and the totals start again",
                    path.display(),
                    e.line,
                    e.message,
                    aside.display()
                );
                Registry::default()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Registry::default(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    total.merge(run);
    crate::host::write_atomic(path, &total.render_prometheus())?;
    // No secret in it, and node_exporter runs as its own user: world-readable.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| format!("cannot make {} readable: {e}", path.display()))?;
    }
    Ok(())
}

/// `GET /metrics` for `incwo listen`, on its own address (keep it off the
/// public webhook port): the webhook backlog, plus the totals of `incwo sync`
/// runs when they are kept in a textfile.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Webhook targets waiting to be re-read (set by the listen loop).
    pub backlog: Arc<AtomicU64>,
}

impl MetricsServer {
    /// Listens on `bind`; `textfile` is a `--metrics-file` of `incwo sync` to serve too.
    pub fn start(bind: &str, textfile: Option<PathBuf>) -> Result<MetricsServer, String> {
        let server =
            Arc::new(tiny_http::Server::http(bind).map_err(|e| format!("--metrics-bind {bind}: cannot listen: {e}"))?);
        let backlog = Arc::new(AtomicU64::new(0));
        let (s, b) = (server.clone(), backlog.clone());
        let thread = std::thread::Builder::new()
            .name("incwo-metrics".into())
            .spawn(move || {
                for request in s.incoming_requests() {
                    let (status, body) = answer(request.method(), request.url(), &b, textfile.as_deref());
                    let header = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE).expect("static header");
                    let _ = request.respond(
                        tiny_http::Response::from_string(body)
                            .with_status_code(status)
                            .with_header(header),
                    );
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(MetricsServer {
            server,
            thread: Some(thread),
            backlog,
        })
    }

    /// The address it listens on (the port, when `:0` was asked).
    pub fn addr(&self) -> String {
        self.server
            .server_addr()
            .to_ip()
            .map_or_else(|| "?".into(), |a| a.to_string())
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(method: &tiny_http::Method, url: &str, backlog: &AtomicU64, textfile: Option<&Path>) -> (u16, String) {
    if url.split('?').next() != Some("/metrics") {
        return (404, "not found: the metrics are at /metrics\n".into());
    }
    if *method != tiny_http::Method::Get && *method != tiny_http::Method::Head {
        return (405, "GET only\n".into());
    }
    let mut registry = Registry::default();
    if let Some(path) = textfile {
        match std::fs::read_to_string(path).map(|t| Registry::from_prometheus(&t)) {
            Ok(Ok(totals)) => registry.merge(&totals),
            Ok(Err(e)) => eprintln!(
                "incwo: {} cannot be served (line {}: {}); serving the listener's metrics only",
                path.display(),
                e.line,
                e.message
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("incwo: cannot read {}: {e}", path.display()),
        }
    }
    registry.record(
        &incwo_core::telemetry::operations::OperationsEvent::WebhookBacklog {
            size: backlog.load(Ordering::SeqCst),
        }
        .into(),
    );
    (200, registry.render_prometheus())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_textfile_path_must_end_in_prom_in_an_existing_directory() {
        assert!(check_textfile_path(Path::new("/tmp/incwo.prom")).is_ok());
        let e = check_textfile_path(Path::new("/tmp/incwo.txt")).unwrap_err();
        assert!(e.contains(".prom"), "{e}");
        let e = check_textfile_path(Path::new("/no/such/dir/incwo.prom")).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
    }
}
