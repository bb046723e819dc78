//! `incwo state`: what the state store holds, in the formats people and
//! earlier versions read.

use crate::store::{import, Store};
use std::path::PathBuf;
use std::process::ExitCode;

/// `incwo state` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum StateCommand {
    /// Print a business file's state as a version-1 JSON checkpoint (the
    /// format `--state` files had before the store): ledger, progress and
    /// outcomes, read in one consistent snapshot (no lock needed).
    Export {
        /// The state store (or a version-1 JSON checkpoint, printed as it is).
        #[arg(long)]
        state: PathBuf,
        /// The business file to export; optional when the store holds only one.
        #[arg(long)]
        business_file: Option<String>,
    },
}

/// Runs an `incwo state` subcommand.
pub fn run(command: StateCommand) -> Result<ExitCode, String> {
    let StateCommand::Export { state, business_file } = command;
    match import::kind(&state)? {
        import::Kind::Missing => return Err(format!("there is no state at {}", state.display())),
        import::Kind::V1Json => {
            let text = std::fs::read_to_string(&state).map_err(|e| format!("cannot read {}: {e}", state.display()))?;
            println!("{}", text.trim_end());
            return Ok(ExitCode::SUCCESS);
        }
        import::Kind::Store => {}
    }
    let mut store = Store::open_existing(&state)?;
    let held = store.business_files()?;
    let business_file = match (business_file, held.as_slice()) {
        (Some(b), _) => b,
        (None, [only]) => only.clone(),
        (None, _) => {
            return Err(format!(
                "{} holds the business files {held:?}; name one with --business-file",
                state.display()
            ))
        }
    };
    match store.checkpoint(&business_file)? {
        Some(checkpoint) => {
            println!("{checkpoint}");
            Ok(ExitCode::SUCCESS)
        }
        None => Err(format!(
            "{} holds no run of business file {business_file} (it holds {held:?})",
            state.display()
        )),
    }
}
