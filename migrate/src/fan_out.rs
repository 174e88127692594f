//! One source shard's stream written to several targets: one replica (one RDB
//! transfer, one stream from the source), and a bounded queue per target, each
//! target written by its own task with its own writer, checkpoints and policy.
//!
//! A target that falls behind (its queue full: the target slow, or down and
//! retried) does not hold the others back: the feed lets it go, and once it has
//! written what it holds it continues on a replication link of its own, from its
//! checkpoints (a partial resync, while the source's backlog holds the stream
//! from there). A target that fails stops with its error; the others go on.

use std::time::Duration;

use endpoint::Endpoint;
use replica_client::Event;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::shard::{
    FeedState, Prepared, Publish, Settings, ShardSync, Tap, Upstream, start_replica, stopped,
};

/// How long the feed waits, during an RDB, for a target whose queue is full
/// before it lets that target go (a streaming target is let go at once).
pub(crate) const RDB_PATIENCE: Duration = Duration::from_secs(30);

/// One target of a fan-out.
pub(crate) struct Outlet {
    pub(crate) target: Endpoint,
    pub(crate) settings: Settings,
    pub(crate) publish: Publish,
}

/// A target the feed writes to.
struct Fed {
    events: mpsc::Sender<Event>,
    durable: watch::Receiver<u64>,
    target: String,
}

/// Runs `source`'s stream into every outlet until `stop` turns true or the
/// source fails. A target's failure is logged and shown in its status; the first
/// is returned once the others have stopped.
///
/// # Errors
/// The source's failure, or the first target's.
pub(crate) async fn run(
    source: Endpoint,
    outlets: Vec<Outlet>,
    queue: usize,
    stop: watch::Receiver<bool>,
) -> Result<()> {
    let name = source.to_string();
    let mut prepared: Vec<Prepared> = Vec::with_capacity(outlets.len());
    for o in &outlets {
        let p = ShardSync::prepare(&source, &o.target, o.settings.clone(), o.publish.clone());
        // Stopped while it waits for a target not up yet.
        let mut stopping = stop.clone();
        tokio::select! {
            p = p => prepared.push(p?),
            _ = stopping.wait_for(|stop| *stop) => return Ok(()),
        }
    }
    // The feed starts where the first target's checkpoints say; a target whose
    // checkpoints say otherwise gets a link of its own from the start.
    let start = prepared[0].resume.clone();
    let mut replica = start_replica(&source, prepared[0].replica.clone()).await?;
    let (state, feed_state) = watch::channel(FeedState::default());
    let mut fed: Vec<Option<Fed>> = Vec::new();
    let mut tasks = JoinSet::new();
    for (p, o) in prepared.into_iter().zip(outlets) {
        let (source, stop) = (source.clone(), stop.clone());
        let shown = o.publish.clone();
        if p.resume != start {
            tasks.spawn(failing_shown(shown, async move {
                p.start(&source).await?.run(stop).await.map(|_| ())
            }));
            continue;
        }
        let (events, receiver) = mpsc::channel(queue.max(1));
        let (durable, held) = watch::channel(0);
        fed.push(Some(Fed {
            events,
            durable: held,
            target: o.target.to_string(),
        }));
        let tap = Tap {
            events: receiver,
            durable,
            feed: feed_state.clone(),
            last_command: 0,
        };
        tasks.spawn(failing_shown(shown, async move {
            let mut stop = stop;
            let (_, detached) = ShardSync::with(p, Upstream::Tap(tap)).drive(stop.clone()).await?;
            if detached && !*stop.borrow() {
                tracing::warn!(target = %o.target, "the target fell behind the others: it continues on a replication link of its own, from its checkpoints");
                if let Some(sync) = own_link(&source, o, &mut stop).await? {
                    sync.run(stop).await?;
                }
            }
            Ok(())
        }));
    }
    let mut failed = None;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut in_rdb = false;
    let mut stop_feed = stop.clone();
    let mut feeding = fed.iter().any(Option::is_some);
    loop {
        tokio::select! {
            _ = stopped(&mut stop_feed) => break,
            ended = tasks.join_next(), if !tasks.is_empty() => {
                if let Some(Err(e)) = ended.map(|r| r.map_err(|e| Error::joined("sync", e)).and_then(|r| r)) {
                    tracing::error!(source = %name, error = %e, "a target of the fan-out failed; the others go on");
                    failed.get_or_insert(e);
                }
            }
            _ = tick.tick() => {
                // The source hears of what every target it feeds holds.
                if let Some(held) = fed.iter().flatten().map(|f| *f.durable.borrow()).min() {
                    replica.ack(held);
                }
                state.send_replace(FeedState {
                    received: replica.received_offset(),
                    reconnecting: replica.link_state().reconnecting().cloned(),
                });
            }
            event = replica.next_event(), if feeding => {
                let event = match event {
                    Some(Ok(event)) => event,
                    Some(Err(error)) => return Err(Error::Replica { shard: name, error }),
                    None => return Err(Error::Source {
                        shard: name,
                        reason: "the replication stream ended unexpectedly".into(),
                    }),
                };
                match &event {
                    Event::FullResync { .. } => in_rdb = true,
                    Event::RdbEnd => in_rdb = false,
                    _ => {}
                }
                deliver(&mut fed, &event, in_rdb).await;
                feeding = fed.iter().any(Option::is_some);
            }
        }
    }
    while let Some(ended) = tasks.join_next().await {
        if let Err(e) = ended.map_err(|e| Error::joined("sync", e)).and_then(|r| r) {
            failed.get_or_insert(e);
        }
    }
    // The queues close only now: a target stopping must not take its queue's end
    // for being let go.
    drop(fed);
    failed.map_or(Ok(()), Err)
}

/// A target let go, on a link of its own from its checkpoints: reaching the
/// target is retried (it may just be coming back) as its writer retries it, 100
/// ms to 10 s apart; `None` when `stop` comes first.
///
/// # Errors
/// The target still unreachable after its retry time, or what else starting
/// failed with (a full resync refused...).
async fn own_link(
    source: &Endpoint,
    outlet: Outlet,
    stop: &mut watch::Receiver<bool>,
) -> Result<Option<ShardSync>> {
    let since = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let started = ShardSync::start(
            source,
            &outlet.target,
            outlet.settings.clone(),
            outlet.publish.clone(),
        )
        .await;
        match started {
            Ok(sync) => return Ok(Some(sync)),
            // Reaching the target (connecting, reading its checkpoints) failed.
            Err(e @ Error::Writer { .. }) if since.elapsed() < outlet.settings.writer.retry_for => {
                tracing::warn!(target = %outlet.target, error = %e, "the target let go cannot be reached yet; retrying");
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            _ = stopped(stop) => return Ok(None),
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// `work`, whose failure its target's status shows.
async fn failing_shown(
    shown: Publish,
    work: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    let ended = work.await;
    if let Err(e) = &ended {
        let why = e.to_string();
        shown(&|slot| slot.failed = Some(why.clone()));
    }
    ended
}

/// Gives `event` to every target still fed; a target whose queue is full is let
/// go (during an RDB, after [`RDB_PATIENCE`]), and so is one that ended.
async fn deliver(fed: &mut [Option<Fed>], event: &Event, in_rdb: bool) {
    for slot in fed.iter_mut() {
        let Some(f) = slot else { continue };
        let sent = if in_rdb {
            tokio::time::timeout(RDB_PATIENCE, f.events.send(event.clone()))
                .await
                .map_err(|_| "full")
                .and_then(|r| r.map_err(|_| "ended"))
        } else {
            f.events.try_send(event.clone()).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => "full",
                mpsc::error::TrySendError::Closed(_) => "ended",
            })
        };
        if let Err(why) = sent {
            if why == "full" {
                tracing::warn!(target = %f.target, "the target's queue is full: it is let go");
            }
            *slot = None;
        }
    }
}
