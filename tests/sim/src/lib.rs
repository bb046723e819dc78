//! `incwo-sim`: a loopback HTTP server that behaves like the incwo API as far
//! as the public reference knows (HTTP Basic, business file in the path, XML
//! in and out, pagination, computed totals, 422 validation errors, status
//! changes, stock), with fault injection driven over an admin API under
//! `/_sim/`. See README.md for the routes and for which behaviours are
//! confirmed by the reference and which are our plausible choices.
//!
//! This crate deliberately does not depend on `incwo-core`: it is an
//! independent implementation, so the two never share a bug.
//!
//! ```no_run
//! let sim = incwo_sim::spawn(incwo_sim::SimConfig::default());
//! println!("incwo API at {}", sim.api_url());
//! // HTTPS: a test CA is generated and written to DIR/ca.pem.
//! let tls = incwo_sim::spawn(incwo_sim::SimConfig {
//!     tls_dir: Some(std::env::temp_dir().join("incwo-sim-tls")),
//!     ..Default::default()
//! });
//! println!("trust {} to reach {}", tls.ca_file().unwrap().display(), tls.api_url());
//! ```

#![forbid(unsafe_code)]

mod account;
mod app;
mod faults;
mod order;
mod requests;
mod schema;
mod seed;
mod server;
mod store;
mod tls;
mod webhooks;
mod wire;
mod xml;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use account::{Account, INVOICE_STATUS_NAMES, ORDER_STATUS_NAMES, QUOTE_STATUS_NAMES};
pub use app::{ADMIN_TOKEN_HEADER, MAX_PER_PAGE};
pub use order::ListOrder;
pub use requests::LOG_CAPACITY;
pub use schema::MARKERS;
pub use seed::BulkSeed;
pub use tls::CA_FILE_NAME;

/// Simulator settings.
#[derive(Clone)]
pub struct SimConfig {
    /// The only business file id served (default 123456); any other → 404.
    pub business_file_id: u64,
    /// HTTP Basic login (default `api@example.fr`).
    pub login: String,
    /// HTTP Basic password (default `secret`). Never printed.
    pub password: String,
    /// Items per list page (default 20) when a request asks no `per_page`
    /// (or it is ignored).
    pub page_size: usize,
    /// Order of list pages (default ascending id).
    pub list_order: ListOrder,
    /// Whether a list request's `per_page` is honoured, up to
    /// [`MAX_PER_PAGE`] (default true); false models a server that ignores it.
    pub honour_per_page: bool,
    /// Objects bulk-created at start and again after each reset (default
    /// none), as `POST /_sim/seed` creates them.
    pub bulk_seed: Option<BulkSeed>,
    /// Seed of the probabilistic fault rules (default 0).
    pub seed: u64,
    /// When set, the admin API requires this value in the
    /// `x-sim-admin-token` header; when `None` (default) it is open.
    pub admin_token: Option<String>,
    /// The account-specific tables (VAT ids, sheet types, statuses,
    /// currency, warehouses) and whether to seed data using them; the
    /// documented defaults, unseeded, by default.
    pub account: Account,
    /// Whether API access is switched on for the business file (default
    /// true); when off, every API call on it answers 403 (the account
    /// listing still answers).
    pub api_access: bool,
    /// When set, the simulator serves HTTPS: at startup it generates a test
    /// CA and a certificate for `127.0.0.1` / `localhost`, and writes the CA
    /// to `DIR/ca.pem` ([`CA_FILE_NAME`]) for clients to trust. The `tls_*`
    /// fault kinds need it. `None` (default): plain HTTP.
    pub tls_dir: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            business_file_id: 123_456,
            login: "api@example.fr".into(),
            password: "secret".into(),
            page_size: 20,
            list_order: ListOrder::Ascending,
            honour_per_page: true,
            bulk_seed: None,
            seed: 0,
            admin_token: None,
            account: Account::default(),
            api_access: true,
            tls_dir: None,
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("business_file_id", &self.business_file_id)
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("page_size", &self.page_size)
            .field("list_order", &self.list_order)
            .field("honour_per_page", &self.honour_per_page)
            .field("bulk_seed", &self.bulk_seed)
            .field("seed", &self.seed)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .field("account", &self.account)
            .field("api_access", &self.api_access)
            .field("tls_dir", &self.tls_dir)
            .finish()
    }
}

/// A simulator ready to serve: its state, and in TLS mode its generated
/// certificates (the CA already written, so a caller can announce the
/// address only once clients can trust it).
pub struct Server {
    app: app::App,
    tls: Option<tls::TlsIdentity>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("ca_file", &self.ca_file())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Prepares the simulator; with `config.tls_dir`, generates the CA and
    /// the server certificate and writes `DIR/ca.pem`. The error names the
    /// directory or file at fault.
    pub fn new(config: SimConfig) -> Result<Server, String> {
        let tls = config.tls_dir.as_deref().map(tls::generate).transpose()?;
        Ok(Server {
            app: app::App::new(config),
            tls,
        })
    }

    /// `https` in TLS mode, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The CA certificate clients must trust (TLS mode only).
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_file.as_path())
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) {
        let router = app::router(self.app.clone());
        let app = self.app;
        let tls = self.tls.map(|identity| server::TlsServe {
            identity,
            decide: Arc::new(move || app.decide_handshake()),
        });
        server::run(listener, router, tls, shutdown).await;
    }
}

/// Serves the simulator on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, config: SimConfig) {
    serve_with_shutdown(listener, config, std::future::pending()).await;
}

/// Serves the simulator on `listener` until `shutdown` completes. In TLS
/// mode the CA is written when serving starts; use [`Server::new`] first
/// to have it before announcing the address.
pub async fn serve_with_shutdown(listener: TcpListener, config: SimConfig, shutdown: impl Future<Output = ()> + Send) {
    match Server::new(config) {
        Ok(server) => server.serve(listener, shutdown).await,
        Err(e) => eprintln!("incwo-sim: {e}"),
    }
}

/// A simulator running on a background thread; shuts down on drop.
pub struct SimHandle {
    addr: SocketAddr,
    scheme: &'static str,
    ca_file: Option<PathBuf>,
    business_file_id: u64,
    app: app::App,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` (`https://` in TLS mode): the host part,
    /// where `/_sim/` lives.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// `http://127.0.0.1:PORT/{business_file_id}` (`https://` in TLS mode):
    /// the incwo "server address" a connector is configured with.
    pub fn api_url(&self) -> String {
        format!("{}://{}/{}", self.scheme, self.addr, self.business_file_id)
    }

    /// The generated CA certificate (PEM) clients must trust, in TLS mode.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The same JSON as `GET /_sim/state`, without going through HTTP.
    pub fn state(&self) -> serde_json::Value {
        self.app.state_json()
    }

    /// The same as `POST /_sim/reset`.
    pub fn reset(&self) {
        self.app.reset(None);
    }

    /// The same as `POST /_sim/faults` with one rule or an array of rules.
    pub fn add_faults(&self, rules: &serde_json::Value) -> Result<Vec<u64>, String> {
        self.app.add_faults(rules)
    }

    /// The same as `DELETE /_sim/faults`.
    pub fn clear_faults(&self) {
        self.app.clear_faults();
    }

    /// The same as `POST /_sim/seed`: bulk-creates firms, products and
    /// documents (`{"firms": N, "products": N, "proposalSheets": N,
    /// "billSheets": N, "prefix": "SEED"}`) and answers the id ranges.
    pub fn seed(&self, spec: &serde_json::Value) -> Result<serde_json::Value, String> {
        self.app.seed(spec)
    }

    /// The same as `GET /_sim/counts`: counts, duplicates and highest ids
    /// per resource, without the objects.
    pub fn counts(&self) -> serde_json::Value {
        self.app.counts_json()
    }

    /// The same as `GET /_sim/config`: the list settings.
    pub fn config(&self) -> serde_json::Value {
        self.app.config_json()
    }

    /// The same as `PUT /_sim/config`: changes some list settings
    /// (`listOrder`, `pageSize`, `honourPerPage`) and answers them all.
    pub fn configure(&self, settings: &serde_json::Value) -> Result<serde_json::Value, String> {
        self.app.configure(settings)
    }

    /// The same as `GET /_sim/requests`: request counters.
    pub fn requests(&self) -> serde_json::Value {
        self.app.requests_json()
    }

    /// The same as `GET /_sim/requests/log?after=..&limit=..`.
    pub fn request_log(&self, after: u64, limit: usize) -> serde_json::Value {
        self.app.request_log_json(after, limit)
    }

    /// The same as `POST /_sim/requests/reset`.
    pub fn reset_requests(&self) {
        self.app.reset_requests();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the simulator on 127.0.0.1 (a free port) in a background thread
/// with its own runtime. Panics if no loopback port can be bound; see
/// [`try_spawn`] for the fallible form.
pub fn spawn(config: SimConfig) -> SimHandle {
    match try_spawn(config) {
        Ok(h) => h,
        Err(e) => panic!("incwo-sim: cannot start: {e}"),
    }
}

/// Like [`spawn`], returning the error instead of panicking (an I/O error,
/// or `InvalidInput` when the TLS material cannot be made or written).
/// In TLS mode the CA file exists when this returns.
pub fn try_spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let business_file_id = config.business_file_id;
    let server = Server::new(config).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let (scheme, ca_file) = (server.scheme(), server.ca_file().map(Path::to_path_buf));
    let app = server.app.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("incwo-sim".into()).spawn(move || {
        runtime.block_on(async move {
            match TcpListener::from_std(std_listener) {
                Ok(listener) => {
                    server
                        .serve(listener, async {
                            let _ = rx.await;
                        })
                        .await;
                }
                Err(e) => eprintln!("incwo-sim: cannot listen: {e}"),
            }
        });
    })?;
    Ok(SimHandle {
        addr,
        scheme,
        ca_file,
        business_file_id,
        app,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}
