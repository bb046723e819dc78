//! The `--state` and `--lock-wait-ms` flags, and taking a lock with them.

use super::lock;
use std::path::PathBuf;
use std::time::Duration;

/// The state flags `incwo sync` and `incwo listen` share.
#[derive(clap::Args, Debug, Clone)]
pub struct StateArgs {
    /// State store (SQLite, mode 0600): the ledger, the run's progress and the
    /// polling cursor of each business file. A version-1 JSON checkpoint found
    /// here is imported once (its backup is kept beside it).
    #[arg(long)]
    pub state: PathBuf,
    /// How long to wait, in ms, while another `incwo sync` or `incwo listen`
    /// writes this business file's state (0: stop at once). Still busy after
    /// it: exit 75, naming the holder.
    #[arg(long, default_value_t = 30_000)]
    pub lock_wait_ms: u64,
}

impl StateArgs {
    /// Takes the lock `role` (`writer`, `listen`) of `business_file` for
    /// `command`, waiting up to `--lock-wait-ms` (telling stderr once when it
    /// has to wait). A busy lock becomes the message naming its holder.
    pub fn lock(
        &self,
        role: &str,
        business_file: &str,
        command: &str,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<lock::Guard, (lock::LockError, String)> {
        let path = lock::path(&self.state, &lock::name(role, business_file));
        let wait = Duration::from_millis(self.lock_wait_ms);
        let what = format!(
            "the state {} of business file {business_file} ({role} lock)",
            self.state.display()
        );
        let result = lock::acquire(&path, &lock::Holder::me(command), wait, interrupted, &mut |holder| {
            if wait > Duration::ZERO {
                match holder {
                    Some(h) => eprintln!("incwo: waiting up to {} ms for {what}, held by {h}", self.lock_wait_ms),
                    None => eprintln!("incwo: waiting up to {} ms for {what}", self.lock_wait_ms),
                }
            }
        });
        result.map_err(|e| {
            let message = match &e {
                lock::LockError::Busy(Some(h)) => format!(
                    "{what} is in use by {h}; waited {} ms. Let it finish (or stop it), or wait longer with --lock-wait-ms",
                    self.lock_wait_ms
                ),
                lock::LockError::Busy(None) => format!(
                    "{what} is in use by another process (no holder record yet); waited {} ms",
                    self.lock_wait_ms
                ),
                lock::LockError::Interrupted => format!("interrupted while waiting for {what}"),
                lock::LockError::Io(m) => m.clone(),
            };
            (e, message)
        })
    }
}
