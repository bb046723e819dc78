//! The account flags shared by the commands that talk to incwo.

use incwo_core::http::{Auth, ConnectionConfig};

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
