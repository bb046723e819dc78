//! The marker index's progress on stderr: while a pass reads list pages (the
//! sweep of a first sync on a large account), the pages read, the share done
//! and an estimate of the time left.

use incwo_core::flow::index::PassProgress;
use incwo_core::flow::Flow;
use std::time::Instant;

/// How often a line is written when stderr is not a terminal (pages).
const LOG_EVERY: u32 = 100;

/// Pages a pass reads before it is shown: a pass of a synced account reads
/// one or two; a sweep reads many.
const SHOW_FROM: u32 = 5;

/// Prints the index passes' progress (one line per resource).
pub struct IndexProgress {
    terminal: bool,
    /// The pass being followed: its resource, when it started, its pages
    /// read then.
    current: Option<(String, Instant, u32)>,
    /// Whether a line of the current pass was written.
    shown: bool,
    last_pages: u32,
}

impl IndexProgress {
    /// A progress printer; `terminal`: stderr is a terminal (one line redrawn).
    pub fn new(terminal: bool) -> Self {
        IndexProgress {
            terminal,
            current: None,
            shown: false,
            last_pages: 0,
        }
    }

    /// Shows where the flow's index passes stand (call after each action).
    pub fn show(&mut self, flow: &Flow) {
        let passes = flow.index_progress();
        let Some(pass) = passes.into_iter().next() else {
            self.end();
            return;
        };
        if self.current.as_ref().is_none_or(|(r, ..)| *r != pass.resource) {
            self.end();
            self.current = Some((pass.resource.clone(), Instant::now(), pass.pages_read));
        }
        if pass.pages_read == self.last_pages || pass.pages_read < SHOW_FROM {
            return;
        }
        self.last_pages = pass.pages_read;
        if self.terminal || pass.pages_read % LOG_EVERY == 0 || !self.shown {
            self.shown = true;
            let line = self.line(&pass);
            if self.terminal {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
        }
    }

    fn line(&self, pass: &PassProgress) -> String {
        let (started, first) = self.current.as_ref().map_or((Instant::now(), 0), |(_, s, f)| (*s, *f));
        let done = pass.pages_read.saturating_sub(first);
        let left = pass.total_pages.saturating_sub(pass.pages_read);
        let eta = match done {
            0 => String::new(),
            _ => {
                let per_page = started.elapsed().as_secs_f64() / f64::from(done);
                format!(", about {:.0} s left", per_page * f64::from(left))
            }
        };
        format!(
            "incwo: indexing {}: page {}/{} ({}%){eta}",
            pass.resource,
            pass.pages_read,
            pass.total_pages,
            u64::from(pass.pages_read) * 100 / u64::from(pass.total_pages.max(1))
        )
    }

    /// Closes the pass followed, with a line when it was shown.
    fn end(&mut self) {
        let Some((resource, started, _)) = self.current.take() else {
            return;
        };
        if std::mem::take(&mut self.shown) {
            if self.terminal {
                eprint!("\r\x1b[2K");
            }
            eprintln!(
                "incwo: indexed {resource} ({} pages read) in {:.1} s",
                self.last_pages,
                started.elapsed().as_secs_f64()
            );
        }
        self.last_pages = 0;
    }
}
