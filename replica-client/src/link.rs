//! The state of the replication link, for status lines and monitors: up (to which
//! node), or being re-established (since when, after how many attempts, why).

use std::fmt;
use std::time::Instant;

/// Where the link to the master stands; see [`crate::Replica::link_state`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkState {
    /// Streaming from `master`.
    Up {
        /// The node streamed from, as `host:port` (no credentials).
        master: String,
    },
    /// The link is down and being re-established.
    Reconnecting(Reconnecting),
}

impl LinkState {
    /// The reconnection under way, if the link is down.
    pub fn reconnecting(&self) -> Option<&Reconnecting> {
        match self {
            LinkState::Reconnecting(r) => Some(r),
            LinkState::Up { .. } => None,
        }
    }
}

/// A link being re-established. Its `Display` reads
/// `reconnecting to HOST:PORT for 12s (attempt 5): <error>`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnecting {
    /// The node tried last (or about to be), as `host:port`.
    pub master: String,
    /// When the link was lost.
    pub since: Instant,
    /// Attempts made so far (0 before the first).
    pub attempts: u32,
    /// Why the link was lost, or why the last attempt failed (errors never hold
    /// a password).
    pub last_error: String,
}

impl fmt::Display for Reconnecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reconnecting to {} for {}s (attempt {}): {}",
            self.master,
            self.since.elapsed().as_secs(),
            self.attempts,
            self.last_error
        )
    }
}
