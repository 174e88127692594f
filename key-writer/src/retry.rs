//! How a target in trouble is retried: unreachable nodes, lost connections, and
//! refusals that pass (`TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN`). Rounds
//! that fail are spaced out by a growing pause; the writer gives up once the
//! trouble has lasted longer than [`WriterOptions::retry_for`], and says meanwhile
//! what is being retried and since when.
//!
//! [`WriterOptions::retry_for`]: crate::WriterOptions::retry_for

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep};

use crate::error::{Error, Result};

/// The first pause after a failed round.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between rounds: how late a target back from an outage is
/// noticed.
const LONGEST_PAUSE: Duration = Duration::from_secs(10);

/// What a writer is retrying, for status lines and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retrying {
    /// The last failure (a node's address and what went wrong; never a password).
    pub what: String,
    /// How long the trouble has lasted.
    pub since: Duration,
    /// Rounds that failed so far.
    pub attempts: u32,
}

/// Failed rounds since the last one that went through.
#[derive(Debug)]
pub(crate) struct Retry {
    limit: Duration,
    since: Option<Instant>,
    attempts: u32,
    what: String,
    /// [`Retry::state`] for watchers in other tasks (the writer's own task is busy
    /// retrying).
    shown: watch::Sender<Option<Retrying>>,
}

impl Retry {
    pub(crate) fn new(limit: Duration) -> Retry {
        Retry {
            limit,
            since: None,
            attempts: 0,
            what: String::new(),
            shown: watch::channel(None).0,
        }
    }

    /// Follows [`Retry::state`] from another task.
    pub(crate) fn watch(&self) -> watch::Receiver<Option<Retrying>> {
        self.shown.subscribe()
    }

    /// A round failed for `what`: an error once the trouble has lasted longer than
    /// the limit, else a pause that grows with each failed round.
    pub(crate) async fn failed(&mut self, what: impl Into<String>) -> Result<()> {
        let pause = self.record(what)?;
        sleep(pause).await;
        Ok(())
    }

    /// As [`Retry::failed`], without the pause: how long to wait before the next
    /// round.
    pub(crate) fn record(&mut self, what: impl Into<String>) -> Result<Duration> {
        let since = *self.since.get_or_insert_with(Instant::now);
        self.attempts += 1;
        self.what = what.into();
        self.shown.send_replace(self.state());
        if since.elapsed() > self.limit {
            return Err(Error::GaveUp {
                what: self.what.clone(),
                after: self.limit,
            });
        }
        let pause = FIRST_PAUSE
            .saturating_mul(1 << self.attempts.saturating_sub(1).min(16))
            .min(LONGEST_PAUSE);
        tracing::warn!(
            what = %self.what,
            attempts = self.attempts,
            for_secs = since.elapsed().as_secs(),
            retry_in_ms = pause.as_millis() as u64,
            "retrying the target"
        );
        Ok(pause)
    }

    /// A round went through: the trouble, if any, is over.
    pub(crate) fn succeeded(&mut self) {
        if self.since.take().is_some() {
            tracing::info!(attempts = self.attempts, "the target answers again");
            self.shown.send_replace(None);
        }
        self.attempts = 0;
    }

    /// What is being retried, if anything.
    pub(crate) fn state(&self) -> Option<Retrying> {
        self.since.map(|since| Retrying {
            what: self.what.clone(),
            since: since.elapsed(),
            attempts: self.attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_grow_and_the_limit_ends_the_trouble() {
        let mut retry = Retry::new(Duration::from_secs(60));
        let started = Instant::now();
        for _ in 0..5 {
            retry.failed("node down").await.unwrap();
        }
        // 100 + 200 + 400 + 800 + 1600 ms.
        assert_eq!(started.elapsed(), Duration::from_millis(3100));
        let state = retry.state().unwrap();
        assert_eq!((state.attempts, state.what.as_str()), (5, "node down"));
        while retry.failed("node down").await.is_ok() {}
        assert!(started.elapsed() > Duration::from_secs(60));
        assert!(
            started.elapsed() < Duration::from_secs(71),
            "pauses are capped"
        );
        retry.succeeded();
        assert_eq!(retry.state(), None);
        retry.failed("again").await.unwrap();
        assert_eq!(retry.state().unwrap().attempts, 1, "a new trouble");
    }
}
