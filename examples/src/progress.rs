//! Progress lines on stderr, about once a second: how far, how many, how fast.

use std::time::{Duration, Instant};

/// Counts work and reports it at most once a second.
#[derive(Debug)]
pub struct Progress {
    what: String,
    total: Option<u64>,
    started: Instant,
    next: Instant,
    /// Bytes done (of `total`).
    pub bytes: u64,
    /// Items (keys or commands) done.
    pub items: u64,
}

impl Progress {
    /// A reporter for `what` (e.g. a file name), out of `total` bytes if known.
    pub fn new(what: impl Into<String>, total: Option<u64>) -> Self {
        let now = Instant::now();
        Progress {
            what: what.into(),
            total,
            started: now,
            next: now + Duration::from_secs(1),
            bytes: 0,
            items: 0,
        }
    }

    /// Prints a line if a second has passed since the last.
    pub fn tick(&mut self) {
        if Instant::now() >= self.next {
            self.next = Instant::now() + Duration::from_secs(1);
            eprintln!("{}", self.line());
        }
    }

    /// The progress line.
    pub fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = (self.items as f64 / secs) as u64;
        match self.total {
            Some(total) if total > 0 => format!(
                "{}: {:.1}% of {} bytes, {} items ({rate}/s)",
                self.what,
                self.bytes as f64 * 100.0 / total as f64,
                total,
                self.items
            ),
            _ => format!(
                "{}: {} bytes, {} items ({rate}/s)",
                self.what, self.bytes, self.items
            ),
        }
    }
}
