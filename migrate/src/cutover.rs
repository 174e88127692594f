//! The cutover check: whether a running sync's target holds everything its
//! sources have, so that clients can move to the target. For each source shard,
//! the source's `master_repl_offset` is compared with the offset the sync has
//! reached (its target holds every command up to it, and what follows is the
//! source's keepalives, which it has received): equal means nothing is in flight.

use std::fmt;
use std::sync::{Arc, Mutex};

use endpoint::{ConnectOptions, Connection, Endpoint};
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::sync::{Sync, SyncStatus};

/// A handle on a sync for checking, while it runs, whether its target holds all
/// its sources have ([`Cutover::check`]): the moment to move clients over, once
/// writes to the sources have stopped.
///
/// ```no_run
/// # async fn run(sync: migrate::Sync) -> Result<(), migrate::Error> {
/// use migrate::Cutover;
///
/// let cutover = Cutover::new(&sync);
/// let running = tokio::spawn(sync.run(std::future::pending()));
/// // ... stop the writes to the sources, then:
/// while !cutover.check().await?.ready() {
///     tokio::time::sleep(std::time::Duration::from_millis(100)).await;
/// }
/// # running.abort(); Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Cutover {
    shards: Arc<Mutex<Vec<Endpoint>>>,
    status: watch::Receiver<SyncStatus>,
    connect: ConnectOptions,
}

/// One source shard's side of a [`CutoverReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardCutover {
    /// The source shard (its `Display` hides the password).
    pub source: String,
    /// The source's `master_repl_offset` when asked.
    pub source_offset: u64,
    /// The offset the sync had reached then.
    pub reached: u64,
    /// Whether the shard streams (its RDB is loaded).
    pub streaming: bool,
}

impl ShardCutover {
    /// Whether the target holds everything this shard's source has.
    pub fn caught_up(&self) -> bool {
        self.streaming && self.reached >= self.source_offset
    }
}

/// What [`Cutover::check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CutoverReport {
    /// One entry per source shard.
    pub shards: Vec<ShardCutover>,
}

impl CutoverReport {
    /// Whether every shard has caught up: with writes to the sources stopped,
    /// clients may move to the target.
    pub fn ready(&self) -> bool {
        !self.shards.is_empty() && self.shards.iter().all(ShardCutover::caught_up)
    }
}

impl fmt::Display for CutoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.shards {
            let state = if s.caught_up() {
                "caught up".to_owned()
            } else if !s.streaming {
                "loading its RDB".to_owned()
            } else {
                format!("{} bytes behind", s.source_offset.saturating_sub(s.reached))
            };
            writeln!(
                f,
                "cutover: {}: source offset {}, reached {} ({state})",
                s.source, s.source_offset, s.reached
            )?;
        }
        Ok(())
    }
}

impl Cutover {
    /// A check of `sync` (before or while it runs).
    pub fn new(sync: &Sync) -> Cutover {
        let (shards, status, connect) = sync.cutover_parts();
        Cutover {
            shards,
            status,
            connect,
        }
    }

    /// Asks each source shard its `master_repl_offset` (after a failover, the
    /// promoted node's) and compares it with the offset the sync has reached. Works on an idle source (its keepalive `PING`s
    /// count on both sides). A source that still takes writes is rarely caught up,
    /// and a `PING` sent just before the check is acknowledged within
    /// [`SyncOptions::ack_every`](crate::SyncOptions::ack_every): check again
    /// until [`CutoverReport::ready`].
    ///
    /// # Errors
    /// A source shard that cannot be reached, or a sync whose shards are not known
    /// yet (it has not started).
    pub async fn check(&self) -> Result<CutoverReport> {
        let shards = self.shards.lock().expect("not poisoned").clone();
        if shards.is_empty() {
            return Err(Error::Options(
                "the sync has not found its source shards yet".into(),
            ));
        }
        let mut offsets = Vec::with_capacity(shards.len());
        for shard in &shards {
            offsets.push(self.master_offset(shard).await?);
        }
        // Read after the sources: what the sync reached can only have grown.
        let status = self.status.borrow().clone();
        let shards = shards
            .iter()
            .zip(offsets)
            .map(|(shard, source_offset)| {
                // Each target's entry for this shard (several with a fan-out):
                // the shard has reached what every target holds.
                let source = shard.to_string();
                let entries: Vec<_> = status
                    .shards
                    .iter()
                    .filter(|s| s.source == source)
                    .collect();
                ShardCutover {
                    reached: entries.iter().map(|s| s.reached).min().unwrap_or(0),
                    streaming: !entries.is_empty() && entries.iter().all(|s| s.streaming),
                    source,
                    source_offset,
                }
            })
            .collect();
        Ok(CutoverReport { shards })
    }

    /// The `master_repl_offset` of the master of `shard`'s node: the node's own,
    /// or, when a failover made it a replica, its master's (a few hops at most).
    async fn master_offset(&self, shard: &Endpoint) -> Result<u64> {
        let mut node = shard.clone();
        for _ in 0..4 {
            let failed = |e| Error::endpoint(&node, e);
            let mut con = Connection::connect(&node, &self.connect)
                .await
                .map_err(failed)?;
            let info = con.info("replication").await.map_err(failed)?;
            let field = |name: &str| {
                info.lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                    .map(str::trim)
            };
            if field("role") == Some("slave")
                && let (Some(host), Some(port)) = (
                    field("master_host"),
                    field("master_port").and_then(|p| p.parse().ok()),
                )
            {
                node = node.with_addr(host, port);
                continue;
            }
            return field("master_repl_offset")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::Source {
                    shard: shard.to_string(),
                    reason: "INFO replication has no master_repl_offset".into(),
                });
        }
        Err(Error::Source {
            shard: shard.to_string(),
            reason: "no master found within four replication hops".into(),
        })
    }
}
