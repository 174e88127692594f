//! Two deployments kept in sync with each other, both taking writes: a sync from
//! A to B and one from B to A, each dropping the other's writes when they come
//! back in its source's stream, so that nothing goes round in a loop.

use std::future::Future;
use std::io::{self, Write};

use endpoint::Endpoint;
use key_writer::{Conflict, Crossings, Hook, PeerOptions, Side};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::json::write_bytes;
use crate::shard::{OnFullResync, stopped};
use crate::sync::{Sync, SyncOptions, SyncReport, SyncStatus};

/// Keeps deployments A and B in sync in both directions at once, both taking
/// writes: a [`Sync`] from A to B and one from B to A.
///
/// # How writes are kept from coming back
/// Each direction writes its batches as `MULTI`/`EXEC` with its checkpoint (see
/// [`Sync`]), under its own name: `<checkpoint name>:a-to-b` on B,
/// `<checkpoint name>:b-to-a` on A. The other direction reads that side's
/// replication stream and drops every transaction (and command) that writes a
/// key under the first direction's name: it is that direction's batch, whose
/// writes came from the side it is going to. So each write crosses once.
/// - A client's transactions, scripts (replicated as their effects) and commands
///   never write those keys: nothing of theirs is dropped.
/// - A batch is atomic, so none of its commands reaches the stream outside it.
/// - On a cluster, each slot's batch carries that slot's checkpoint, and the
///   floor key is a checkpoint too.
/// - A direction's checkpoint written alone (its stream passed only returning
///   batches) is one for the other direction, which writes its own at most once
///   a second and only at a flush that follows a command: the two die out after
///   a bounce or two. When no client writes, neither stream carries anything but
///   the servers' own `PING`s.
///
/// # Starting
/// The first full sync goes one way, A to B. Once every shard of A streams, the
/// sync from B to A starts: its first full resync's RDB (B's keys, A's own) is
/// read but not loaded, and it forwards what clients write to B from there. So B
/// must be empty at the start (a B holding keys but none of the sync's
/// checkpoints is refused), and take writes once both directions stream (the
/// [`status`](TwoWay::status) says so). Started again, both directions
/// resume from their checkpoints. A later full resync of either direction is
/// refused: its snapshot could undo the other side's recent writes.
///
/// # Conflicts
/// A key written on both sides before either write crossed is a conflict: each
/// side would end with the other's write. The policy ([`TwoWay::winner`], A by
/// default) says whose write both keep; the conflict is settled by applying the
/// winner's commands on the winner's side once more, after the loser's (see
/// `key_writer`'s `Crossings`), counted in each shard's
/// [`conflicts`](crate::ShardStatus::conflicts) and sent to
/// [`TwoWay::conflicts`]. After the writes stop, both sides hold the winner's
/// value for every key written with commands that overwrite (`SET`, `DEL`,
/// `HSET` of a field, `MSET`, `EXPIRE`...). What the policy cannot guarantee:
/// - commands whose effect depends on the value they find (`INCR`, `APPEND`,
///   `LPUSH`, `SADD` of other members...) written on both sides at once: applied
///   again, they count twice;
/// - conflicts between writes that take more than a minute to cross (beyond a
///   million keys written meanwhile), or whose crossing a restart split.
///
/// # Other limits
/// The options and hooks serve both directions, so they must mean the same
/// both ways: filters do, database maps and renames do not. A key expiring on
/// both sides is deleted by each: written again on one side right after it
/// expired there, it can be deleted by the other side's expiry coming across
/// (keep writes to expiring keys on one side). Commands without a key sent to
/// every master of a cluster target (`FLUSHALL`, `FUNCTION LOAD`...) are not in
/// a checkpointed batch and come back once.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use migrate::TwoWay;
///
/// let a = "redis://10.0.0.5:6379".parse()?;
/// let b = "redis://10.0.1.7:6379".parse()?;
/// let two_way = TwoWay::new(a, b);
/// let mut status = two_way.status();
/// tokio::spawn(async move {
///     while status.changed().await.is_ok() {
///         for shard in &status.borrow().shards {
///             eprintln!("{shard}");
///         }
///     }
/// });
/// let report = two_way.run(async { tokio::signal::ctrl_c().await.ok(); }).await?;
/// print!("{report}");
/// # Ok(()) }
/// ```
pub struct TwoWay {
    a: Endpoint,
    b: Endpoint,
    options: SyncOptions,
    /// The side whose writes win conflicts.
    winner: Side,
    /// Where conflicts go, once asked for.
    report: Option<mpsc::UnboundedSender<Conflict>>,
    /// A to B's shards, then B to A's.
    status: watch::Sender<SyncStatus>,
}

impl std::fmt::Debug for TwoWay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoWay")
            .field("a", &self.a)
            .field("b", &self.b)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl TwoWay {
    /// A two-way sync of `a` and `b` with default options.
    pub fn new(a: Endpoint, b: Endpoint) -> TwoWay {
        TwoWay {
            a,
            b,
            options: SyncOptions::default(),
            winner: Side::A,
            report: None,
            status: watch::channel(SyncStatus::default()).0,
        }
    }

    /// The side whose writes win conflicts (default [`Side::A`]).
    pub fn winner(mut self, winner: Side) -> TwoWay {
        self.winner = winner;
        self
    }

    /// The conflicts found, as they are settled (without it they are counted in
    /// the status, and logged).
    pub fn conflicts(&mut self) -> mpsc::UnboundedReceiver<Conflict> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.report = Some(tx);
        rx
    }

    /// Replaces the options of both directions (hooks added before are replaced
    /// too: add them after). The checkpoint name is each direction's prefix.
    pub fn options(mut self, options: SyncOptions) -> TwoWay {
        self.options = options;
        self
    }

    /// Adds a hook to both directions.
    pub fn hook(mut self, hook: impl Hook + 'static) -> TwoWay {
        self.options.writer.hooks.push(hook);
        self
    }

    /// Live status: the shards of A (syncing to B), then those of B (syncing to
    /// A), each named by its source. A to B's are there from the start; B to A's
    /// once A streams. Both directions stream when every shard does.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// The options of the direction from `side`: its checkpoints under
    /// `<name>:<side>-to-<other>`, the other's batches dropped, conflicts noted
    /// in `crossings`.
    fn direction(&self, side: Side, crossings: &Crossings) -> Result<SyncOptions> {
        let mut options = self.options.clone();
        let Some(name) = &self.options.checkpoint_name else {
            return Err(Error::Options(
                "a two-way sync needs checkpoints: they tell each direction's writes apart".into(),
            ));
        };
        if self.options.on_full_resync != OnFullResync::Refuse {
            return Err(Error::Options(
                "a two-way sync refuses a later full resync: its snapshot could undo the \
                 other side's recent writes"
                    .into(),
            ));
        }
        let direction =
            |from: Side| format!("{name}:{}-to-{}", from.as_str(), from.other().as_str());
        options.checkpoint_name = Some(direction(side));
        options.writer.peer = Some(PeerOptions::new(
            side,
            direction(side.other()),
            crossings.clone(),
        ));
        Ok(options)
    }

    /// Runs both directions until `shutdown` completes (then each finishes its
    /// writes in flight) or one fails (then the other stops the same way).
    ///
    /// # Errors
    /// As [`Sync::run`], from either direction; [`Error::Options`] without
    /// checkpoints, with a full resync policy other than refusing, or when B
    /// holds keys at the first start.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<SyncReport> {
        let crossings = Crossings::new(self.winner, self.report.clone());
        let a_to_b = Sync::new([self.a.clone()], self.b.clone())
            .options(self.direction(Side::A, &crossings)?);
        let mut b_to_a = Sync::new([self.b.clone()], self.a.clone())
            .options(self.direction(Side::B, &crossings)?);
        b_to_a.skip_first_rdb = true;
        // B's keys would never reach A: the first full sync goes one way.
        if let Some(held) = a_to_b.target_foreign_keys().await? {
            return Err(Error::Options(format!(
                "B holds keys but no checkpoint of this two-way sync ({held}): the first \
                 full sync goes from A to B, and B's keys would never reach A; start \
                 with B empty"
            )));
        }
        let (mut forward, backward) = (a_to_b.status(), b_to_a.status());
        let merged = tokio::spawn(merge(
            forward.clone(),
            backward.clone(),
            self.status.clone(),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop = |mut rx: watch::Receiver<bool>| async move { stopped(&mut rx).await };
        let mut tasks = JoinSet::new();
        tasks.spawn(a_to_b.run(stop(stop_rx.clone())));
        tokio::pin!(shutdown);
        let mut failed = None;
        // A to B's first full sync, then B to A.
        let streaming = tokio::select! {
            _ = &mut shutdown => false,
            Some(ended) = tasks.join_next() => {
                failed = Some(ended_early(ended));
                false
            }
            Ok(_) = forward.wait_for(|s| !s.shards.is_empty() && s.shards.iter().all(|s| s.streaming)) => true,
        };
        if streaming {
            tracing::info!(a = %self.a, b = %self.b, "A streams to B: starting B to A");
            tasks.spawn(b_to_a.run(stop(stop_rx)));
            tokio::select! {
                _ = &mut shutdown => {}
                Some(ended) = tasks.join_next() => failed = Some(ended_early(ended)),
            }
        }
        let _ = stop_tx.send(true);
        while let Some(ended) = tasks.join_next().await {
            if let Err(e) = ended.map_err(|e| Error::joined("sync", e)).and_then(|r| r) {
                failed.get_or_insert(e);
            }
        }
        merged.abort();
        publish(&forward, &backward, &self.status);
        match failed {
            Some(e) => Err(e),
            None => Ok(SyncReport::from(&*self.status.borrow())),
        }
    }
}

/// A direction that ended before the shutdown: its error (a sync ends on its own
/// only by one).
fn ended_early(ended: std::result::Result<Result<SyncReport>, tokio::task::JoinError>) -> Error {
    match ended.map_err(|e| Error::joined("sync", e)).and_then(|r| r) {
        Err(e) => e,
        Ok(_) => Error::Options("a direction of the two-way sync stopped by itself".into()),
    }
}

/// Shows both directions' shards as one status, as they change.
async fn merge(
    mut forward: watch::Receiver<SyncStatus>,
    mut backward: watch::Receiver<SyncStatus>,
    status: watch::Sender<SyncStatus>,
) {
    loop {
        publish(&forward, &backward, &status);
        tokio::select! {
            changed = forward.changed() => if changed.is_err() { break },
            changed = backward.changed() => if changed.is_err() { break },
        }
    }
}

/// A to B's shards, then B to A's.
fn publish(
    forward: &watch::Receiver<SyncStatus>,
    backward: &watch::Receiver<SyncStatus>,
    status: &watch::Sender<SyncStatus>,
) {
    let mut shards = forward.borrow().shards.clone();
    shards.extend(backward.borrow().shards.iter().cloned());
    status.send_replace(SyncStatus { shards });
}

/// Writes `conflict` as a JSON line, as `verify` writes differences:
/// `{"db":0,"key":"...","kind":"conflict","winner":"a"}` (a key that is not UTF-8
/// as `{"base64":"..."}`).
///
/// # Errors
/// I/O errors of `out`.
pub fn write_conflict(out: &mut impl Write, conflict: &Conflict) -> io::Result<()> {
    write!(out, "{{\"db\":{},\"key\":", conflict.db)?;
    write_bytes(out, &conflict.key, false)?;
    writeln!(
        out,
        ",\"kind\":\"conflict\",\"winner\":\"{}\"}}",
        conflict.winner.as_str()
    )
}
