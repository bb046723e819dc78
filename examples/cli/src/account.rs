//! The account flags shared by the commands that talk to incwo.

use crate::host::Transport;
use incwo_core::http::{Auth, ConnectionConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where and how to reach the account: the flags every command that talks to
/// incwo shares (`sync`, `listen`, `doctor`, `profile discover`).
#[derive(clap::Args, Debug, Clone)]
pub struct AccountArgs {
    /// incwo server base URL (https://www.incwo.com, or the simulator's http://127.0.0.1:PORT).
    #[arg(long)]
    pub server: String,
    /// The business file id.
    #[arg(long)]
    pub business_file: String,
    /// The API user's login.
    #[arg(long)]
    pub login: String,
    /// Name of the environment variable holding the password (never passed on the command line).
    #[arg(long)]
    pub password_env: String,
    /// Per-request timeout, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Allow a plain-http server that is not on loopback.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Also trust the CA certificates of this PEM file for https (besides the
    /// public web CAs), e.g. the simulator's DIR/ca.pem or a company proxy's CA.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

impl AccountArgs {
    /// The password from its environment variable.
    pub fn password(&self) -> Result<String, String> {
        std::env::var(&self.password_env).map_err(|_| {
            format!(
                "environment variable {} is not set; export the incwo password in it",
                self.password_env
            )
        })
    }

    /// HTTP Basic credentials.
    pub fn auth(&self) -> Result<Auth, String> {
        Ok(Auth::basic(self.login.clone(), self.password()?))
    }

    /// The TLS client configuration: the public web CAs plus `--ca-file`;
    /// the error names the file and what is wrong with it.
    pub fn tls(&self) -> Result<Arc<ureq::rustls::ClientConfig>, String> {
        crate::tls::client_config(self.ca_file.as_deref())
    }

    /// The transport for these flags (timeout, TLS trust).
    pub fn transport(&self) -> Result<Transport, String> {
        Ok(Transport::new(Duration::from_millis(self.timeout_ms), self.tls()?))
    }

    /// The connection settings the core checks (https unless loopback or
    /// `--allow-insecure-http`), or its error with the hint.
    pub fn config(&self) -> Result<ConnectionConfig, String> {
        ConnectionConfig::new(
            &self.server,
            &self.business_file,
            self.auth()?,
            self.allow_insecure_http,
        )
        .map_err(|e| format!("{e}; {}", e.hint()))
    }
}
