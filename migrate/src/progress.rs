//! How far a copy has come: bytes and items done, out of a total when known, and
//! how fast. Its `Display` is the programs' progress line.

use std::fmt;
use std::time::Instant;

/// Work done on one file or source.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Progress {
    /// What is being worked on (a file name, a source; passwords never shown).
    pub what: String,
    /// Bytes to do, when known.
    pub total: Option<u64>,
    /// Bytes done.
    pub bytes: u64,
    /// Items (keys or commands) done.
    pub items: u64,
    /// When the work started.
    pub started: Instant,
    /// Whether the work is over.
    pub done: bool,
}

impl Progress {
    /// Nothing done yet on `what`, out of `total` bytes if known.
    pub fn new(what: impl Into<String>, total: Option<u64>) -> Self {
        Progress {
            what: what.into(),
            total,
            bytes: 0,
            items: 0,
            started: Instant::now(),
            done: false,
        }
    }
}

impl fmt::Display for Progress {
    /// `WHAT: P% of TOTAL bytes, N items (R/s)`, or without a total
    /// `WHAT: B bytes, N items (R/s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = (self.items as f64 / secs) as u64;
        match self.total {
            Some(total) if total > 0 => write!(
                f,
                "{}: {:.1}% of {} bytes, {} items ({rate}/s)",
                self.what,
                self.bytes as f64 * 100.0 / total as f64,
                total,
                self.items
            ),
            _ => write!(
                f,
                "{}: {} bytes, {} items ({rate}/s)",
                self.what, self.bytes, self.items
            ),
        }
    }
}
