//! A target kept identical to live sources: one replica per source shard (a
//! standalone source, or each master of a cluster), each shard's RDB loaded as it
//! arrives and its commands forwarded until the shutdown future completes.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use endpoint::{ConnectOptions, Endpoint, Topology, discover};
use key_writer::{CheckpointOptions, DEFAULT_CHECKPOINT_NAME, Hook, Writer, WriterOptions};
use replica_client::{DEFAULT_GIVE_UP_AFTER, ReplicaOptions};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::fan_out::{self, Outlet};
use crate::shard::{OnFullResync, Publish, Settings, ShardStatus, ShardSync};

/// How long a sync retries a target in trouble by default (4 hours): a sync
/// outlives a target's maintenance, as managed services' replication does.
pub const DEFAULT_TARGET_RETRY_FOR: Duration = Duration::from_secs(4 * 3600);

/// Settings of a [`Sync`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SyncOptions {
    /// How to connect to the sources.
    pub source_connect: ConnectOptions,
    /// The writer's settings: target connection, existing-key policy, hooks
    /// (filters, database mapping, your own). The default keeps expired keys for
    /// 5 s ([`WriterOptions::expiry_grace`]), since a live source decides when its
    /// keys expire, retries a target in trouble for [`DEFAULT_TARGET_RETRY_FOR`],
    /// and sends batches of at most 2 MiB.
    ///
    /// Memory: with the defaults here, a sync's pipeline stays under 128 MiB
    /// whatever the sizes of the values (a 4-million-field hash and a
    /// 2-million-member sorted set peaked at 66 MiB resident, measured by
    /// `benches`' `sync-memory`): RDB records up to [`SyncOptions::max_record`]
    /// are read whole, larger ones in pieces; at most [`SyncOptions::queue`]
    /// events wait, the rest of an RDB is spooled to disk; each target node gets
    /// batches of `max_batch_bytes` (counted in argument bytes; held in memory
    /// they take about three times that), one being built while one is in
    /// flight.
    pub writer: WriterOptions,
    /// Longest RDB record read whole (default 8 MiB); longer values come in
    /// pieces.
    pub max_record: usize,
    /// How often written commands are flushed and acknowledged to the source
    /// (default 50 ms).
    pub ack_every: Duration,
    /// Events the replica decodes ahead of the writer (an RDB chunk is at most
    /// 64 KiB, so the default 128 holds at most 8 MiB); beyond that the RDB is
    /// spooled to a temporary file.
    pub queue: usize,
    /// The name the checkpoint keys on the target start with (default
    /// [`DEFAULT_CHECKPOINT_NAME`]); `None` keeps no checkpoints, and a sync
    /// started again always begins with a full resync. See [`Sync`] for what the
    /// checkpoints guarantee.
    pub checkpoint_name: Option<String>,
    /// What to do when the source sends a full resync onto a target that holds
    /// what this sync wrote before (default: refuse).
    pub on_full_resync: OnFullResync,
    /// The other nodes of a standalone source (its replicas), to follow a
    /// failover: when the link to the master is lost, the sync continues from
    /// whichever of them is master now, with a partial resync where its history
    /// allows (see `replica_client::ReplicaOptions::failover`). Only with a single
    /// standalone source; a cluster source's replicas are found by discovery.
    pub source_replicas: Vec<Endpoint>,
    /// How long a lost link to a source is retried (100 ms to 30 s apart) before
    /// the sync fails (default [`DEFAULT_GIVE_UP_AFTER`], 4 hours: managed services
    /// restart and fail over for maintenance). Meanwhile the shard's status says
    /// what is retried and since when.
    pub source_retry_for: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            source_connect: ConnectOptions::default(),
            writer: WriterOptions {
                expiry_grace: Some(Duration::from_secs(5)),
                retry_for: DEFAULT_TARGET_RETRY_FOR,
                // With 8 MiB of RDB records (below) and 128 events of at most
                // 64 KiB queued, this keeps a sync under 128 MiB whatever the
                // values' sizes (benches' sync-memory measures it).
                max_batch_bytes: 2 << 20,
                ..WriterOptions::default()
            },
            max_record: 8 << 20,
            ack_every: Duration::from_millis(50),
            queue: 128,
            checkpoint_name: Some(DEFAULT_CHECKPOINT_NAME.to_owned()),
            on_full_resync: OnFullResync::default(),
            source_replicas: Vec::new(),
            source_retry_for: DEFAULT_GIVE_UP_AFTER,
        }
    }
}

/// Where a sync stands: one entry per source shard, in the order found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncStatus {
    /// The source shards.
    pub shards: Vec<ShardStatus>,
}

/// What a sync did, shard by shard. Its `Display` is the programs' closing lines,
/// one per shard, with the offset to resume from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// The source shards' final status.
    pub shards: Vec<ShardStatus>,
}

impl From<&SyncStatus> for SyncReport {
    /// The report of a sync at this status (the offsets to resume from, say after
    /// an error).
    fn from(status: &SyncStatus) -> Self {
        SyncReport {
            shards: status.shards.clone(),
        }
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.shards {
            writeln!(
                f,
                "sync: {}: replid {} applied offset {} ({} commands, {} full syncs, {} partial resyncs)",
                s.source, s.replid, s.applied, s.commands, s.full_syncs, s.partial_syncs
            )?;
        }
        Ok(())
    }
}

/// Keeps a target identical to one or more live sources.
///
/// Each source is a standalone server or any node of a cluster (then every master
/// is a shard of its own). Several sources merge into one target. Every key and
/// command passes the writer's hooks ([`Sync::hook`]).
///
/// # Exactly once, across crashes and restarts
/// With checkpoints (the default), each source shard's commands reach the target
/// in `MULTI`/`EXEC` transactions that also write a checkpoint: the shard's
/// replication id, the offset just after the last command covered, and the
/// stream's database there.
/// - On a standalone target there is one per shard, the key
///   [`SyncOptions::checkpoint_name`]`:<shard>` in database 0.
/// - A cluster runs a transaction only on keys of one slot, so each slot the
///   stream writes to gets its own, `<name>:<shard>:{<tag>}` (the tag places it in
///   that slot), written with that slot's commands; and the key `<name>:<shard>`
///   holds a floor, raised (about once a second) when every node holds the whole
///   stream up to it.
///
/// The offset acknowledged to the source is one the target holds. A sync started
/// again with the same sources and target reads the checkpoint (on a cluster, the
/// floor) and resumes the source's stream right after it (`PSYNC replid
/// offset+1`), skipping what the target already holds (on a cluster, slot by
/// slot). So, as long as the source's backlog still holds the stream from there:
/// - no command is lost and none is applied twice, whether the sync was stopped,
///   killed, or lost a reply (a batch whose reply is lost is resent only if its
///   checkpoint says it was not applied);
/// - a source transaction is applied whole or not at all (on a cluster, one whose
///   keys share a slot; see [`SyncOptions::writer`]'s `split_transactions` for the
///   others).
///
/// What it does not cover: a backlog that no longer holds the stream (then a full
/// resync follows, see [`SyncOptions::on_full_resync`]); the RDB phase of a full
/// resync (cut short, it is loaded again); writes others make to the keys on the
/// target meanwhile; on a cluster, commands without a key that go to every master
/// (`FLUSHALL`, `FUNCTION LOAD`...): the floor is raised right after each, and a
/// crash in between may apply one again; writes a target node acknowledged and
/// then lost in a failover that did not wait for its replica. Proxy targets keep no
/// checkpoints (proxies rarely pass transactions through; a warning says so).
/// `sync --remove-checkpoints` (or [`remove_checkpoints`]) removes the keys after
/// a cutover.
///
/// # Several targets
/// [`Sync::also_to`] adds targets, each with its own writer options: one replica
/// per source shard (one RDB transfer, one stream) feeds them all, each from a
/// queue of its own. A target whose queue fills (slow, or down and retried) is
/// let go: once it has written its queue, it continues on a replication link of
/// its own from its checkpoints, so the others neither wait for it nor lose
/// anything. A target that fails stops with its error; the others go on, and the
/// run returns that error when it ends.
///
/// # Outages and failovers
/// A lost link to a source is retried, 100 ms to 30 s apart, for
/// [`SyncOptions::source_retry_for`]; the shard's status says meanwhile which node
/// is tried, since when and why ([`ShardStatus::reconnecting`]). With the other
/// nodes of a shard known ([`SyncOptions::source_replicas`] for a standalone
/// source; a cluster's from discovery), the sync continues from the node that is
/// master now: a replica promoted with everything acknowledged continues the
/// stream (a partial resync under its new id; the checkpoints follow it), else a
/// full resync follows, as [`SyncOptions::on_full_resync`] says.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use migrate::Sync;
///
/// let source = "redis://10.0.0.5:6379".parse()?;
/// let target = "redis://10.0.1.7:7000".parse()?;
/// let sync = Sync::new([source], target);
/// let mut status = sync.status();
/// tokio::spawn(async move {
///     while status.changed().await.is_ok() {
///         for shard in &status.borrow().shards {
///             eprintln!("{shard}");
///         }
///     }
/// });
/// let report = sync.run(async { tokio::signal::ctrl_c().await.ok(); }).await?;
/// print!("{report}");
/// # Ok(()) }
/// ```
pub struct Sync {
    sources: Vec<Endpoint>,
    target: Endpoint,
    options: SyncOptions,
    status: Arc<watch::Sender<SyncStatus>>,
    /// The source shards, once found (for a [`Cutover`](crate::Cutover) check).
    shards: Arc<Mutex<Vec<Endpoint>>>,
    /// The first full resync's RDB is not loaded (a [`TwoWay`](crate::TwoWay)'s
    /// second direction).
    pub(crate) skip_first_rdb: bool,
    /// More targets fed from the same streams ([`Sync::also_to`]).
    also: Vec<(Endpoint, WriterOptions)>,
}

impl fmt::Debug for Sync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sync")
            .field("sources", &self.sources)
            .field("target", &self.target)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Sync {
    /// A sync of `sources` into `target` with default options.
    pub fn new(sources: impl IntoIterator<Item = Endpoint>, target: Endpoint) -> Sync {
        Sync {
            sources: sources.into_iter().collect(),
            target,
            options: SyncOptions::default(),
            status: Arc::new(watch::channel(SyncStatus::default()).0),
            shards: Arc::default(),
            skip_first_rdb: false,
            also: Vec::new(),
        }
    }

    /// Writes the same streams to `target` too, with its own writer options
    /// (filters, database map, hooks, existing-key policy...; start from
    /// `SyncOptions::default().writer`, whose expiry grace and retries suit a
    /// sync). Fan-out: one replica per source shard feeds every target, each
    /// with its own queue of [`SyncOptions::queue`] events and its own
    /// checkpoints; a target whose queue fills (slow, or down) is let go and
    /// continues on a replication link of its own from its checkpoints, and a
    /// target that fails stops with its error while the others go on (the run
    /// returns that error when it ends). Each target has its own status entries.
    pub fn also_to(mut self, target: Endpoint, writer: WriterOptions) -> Sync {
        self.also.push((target, writer));
        self
    }

    /// Replaces the options (hooks added before are replaced too: add them after).
    pub fn options(mut self, options: SyncOptions) -> Sync {
        self.options = options;
        self
    }

    /// Adds a hook after the ones in the options: it sees every key of the RDBs and
    /// every command of the streams, and may drop, rename, move or rewrite them.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Sync {
        self.options.writer.hooks.push(hook);
        self
    }

    /// Live status, updated as the shards progress (about every
    /// [`SyncOptions::ack_every`], and at each phase change).
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// The source shards once found, the status, and how sources are reached,
    /// for a [`Cutover`](crate::Cutover) check.
    pub(crate) fn cutover_parts(
        &self,
    ) -> (
        Arc<Mutex<Vec<Endpoint>>>,
        watch::Receiver<SyncStatus>,
        ConnectOptions,
    ) {
        (
            self.shards.clone(),
            self.status.subscribe(),
            self.options.source_connect.clone(),
        )
    }

    /// Runs until `shutdown` completes (then finishes the writes in flight and
    /// acknowledges them) or a shard fails (then stops the others the same way).
    ///
    /// # Errors
    /// The first failure: a source that cannot be reached or replicated, a target
    /// write refused (naming the key or command), a hook's refusal. The status
    /// keeps each shard's last state, applied offsets included.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<SyncReport> {
        let shards = self.shards().await?;
        if shards.len() > 1 && self.options.on_full_resync == OnFullResync::Flush {
            return Err(Error::Options(
                "emptying the target on a full resync needs a single source shard: \
                 each shard's resync would empty the others' keys"
                    .into(),
            ));
        }
        if self.options.on_full_resync == OnFullResync::DeleteInScope {
            if self.sources.len() > 1 {
                return Err(Error::Options(
                    "deleting the keys in scope on a full resync needs a single source \
                     (standalone or cluster): the scopes of several sources overlap"
                        .into(),
                ));
            }
            if self.options.writer.hooks.source_dbs(0).is_none() {
                return Err(Error::Options(
                    "deleting the keys in scope on a full resync needs hooks that can be \
                     followed back (filters, database maps); a hook of yours renames keys \
                     or cannot say where they come from"
                        .into(),
                ));
            }
        }
        *self.shards.lock().expect("not poisoned") =
            shards.iter().map(|s| s.master.clone()).collect();
        let targets: Vec<(Endpoint, WriterOptions)> =
            std::iter::once((self.target.clone(), self.options.writer.clone()))
                .chain(self.also.iter().cloned())
                .collect();
        let fan_out = targets.len() > 1;
        self.status.send_replace(SyncStatus {
            shards: shards
                .iter()
                .flat_map(|s| {
                    targets.iter().map(|(target, _)| ShardStatus {
                        source: s.master.to_string(),
                        target: if fan_out {
                            target.to_string()
                        } else {
                            String::new()
                        },
                        ..ShardStatus::default()
                    })
                })
                .collect(),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let settings = Settings {
            writer: self.options.writer.clone(),
            on_full_resync: self.options.on_full_resync,
            replica: ReplicaOptions::new()
                .connect(self.options.source_connect.clone())
                .queue(self.options.queue)
                .give_up_after(self.options.source_retry_for),
            max_record: self.options.max_record,
            ack_every: self.options.ack_every,
            slots: None,
            skip_first_rdb: self.skip_first_rdb,
        };
        for (index, source) in shards.into_iter().enumerate() {
            let shard = source.master;
            let mut outlets = Vec::new();
            for (t, (target, writer)) in targets.iter().enumerate() {
                let mut settings = settings.clone();
                settings.replica = settings.replica.failover(source.replicas.clone());
                settings.slots.clone_from(&source.slots);
                settings.writer = writer.clone();
                settings.writer.checkpoint = self.options.checkpoint_name.as_ref().map(|name| {
                    let mut checkpoint = CheckpointOptions::new(source.id.clone());
                    checkpoint.name = name.clone();
                    checkpoint
                });
                let status = self.status.clone();
                let slot = index * targets.len() + t;
                let publish: Publish = Arc::new(move |edit: &dyn Fn(&mut ShardStatus)| {
                    status.send_modify(|s| {
                        if let Some(slot) = s.shards.get_mut(slot) {
                            edit(slot);
                        }
                    })
                });
                outlets.push(Outlet {
                    target: target.clone(),
                    settings,
                    publish,
                });
            }
            let stop = stop_rx.clone();
            let queue = self.options.queue;
            // Every log line of the shard's work names its source and target.
            let names: Vec<String> = targets.iter().map(|(t, _)| t.to_string()).collect();
            let span = tracing::warn_span!("shard", source = %shard, target = %names.join(","));
            tasks.spawn(
                async move {
                    if outlets.len() > 1 {
                        return fan_out::run(shard, outlets, queue, stop).await;
                    }
                    let Outlet {
                        target,
                        settings,
                        publish,
                    } = outlets.pop().expect("one target");
                    // Stopped while it waits for a target not up yet.
                    let mut stopping = stop.clone();
                    let sync = tokio::select! {
                        sync = ShardSync::start(&shard, &target, settings, publish) => sync?,
                        _ = stopping.wait_for(|stop| *stop) => return Ok(()),
                    };
                    sync.run(stop).await.map(|_| ())
                }
                .instrument(span),
            );
        }
        let mut failed = None;
        tokio::select! {
            _ = shutdown => {}
            Some(ended) = tasks.join_next() => {
                // A shard never ends on its own but by an error.
                if let Err(e) = ended.map_err(|e| Error::joined("sync", e)).and_then(|r| r) {
                    failed = Some(e);
                }
            }
        }
        let _ = stop_tx.send(true);
        while let Some(ended) = tasks.join_next().await {
            if let Err(e) = ended.map_err(|e| Error::joined("sync", e)).and_then(|r| r) {
                failed.get_or_insert(e);
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(SyncReport::from(&*self.status.borrow())),
        }
    }

    /// Whether the target holds keys, and none of this sync's checkpoints: `None`
    /// when it is empty or holds them, else what it holds.
    ///
    /// # Errors
    /// When the sources or the target cannot be reached.
    pub(crate) async fn target_foreign_keys(&self) -> Result<Option<String>> {
        let context = || format!("read the target {}", self.target);
        let mut plain = self.options.writer.clone();
        plain.checkpoint = None;
        let mut writer = Writer::connect(&self.target, plain)
            .await
            .map_err(Error::writer(context))?;
        let Err(held) = writer.check_empty().await else {
            return Ok(None);
        };
        let Some(name) = &self.options.checkpoint_name else {
            return Ok(Some(held.to_string()));
        };
        for shard in self.shards().await? {
            let mut options = self.options.writer.clone();
            let mut checkpoint = CheckpointOptions::new(shard.id);
            checkpoint.name = name.clone();
            options.checkpoint = Some(checkpoint);
            let mut writer = Writer::connect(&self.target, options)
                .await
                .map_err(Error::writer(context))?;
            let found = writer
                .read_checkpoints()
                .await
                .map_err(Error::writer(context))?;
            if found.iter().any(Option::is_some) {
                return Ok(None);
            }
        }
        Ok(Some(held.to_string()))
    }

    /// Every source shard (a standalone source, or each master of a cluster), the
    /// name its checkpoints go under (the source's address, and for a cluster the
    /// shard's slots: they stay when a replica takes over), and the other nodes
    /// that may take it over.
    async fn shards(&self) -> Result<Vec<SourceShard>> {
        let replicas = &self.options.source_replicas;
        if !replicas.is_empty() && self.sources.len() != 1 {
            return Err(Error::Options(
                "source replicas go with a single standalone source".into(),
            ));
        }
        let mut shards = Vec::new();
        for source in &self.sources {
            let topology = self.discover(source).await?;
            match topology {
                Topology::Cluster(_) if !replicas.is_empty() => {
                    return Err(Error::Options(format!(
                        "{source} is a cluster: its replicas are found by discovery, \
                         not given"
                    )));
                }
                Topology::Cluster(masters) => {
                    shards.extend(masters.into_iter().map(|s| SourceShard {
                        id: shard_id(source, Some(&s.slots)),
                        master: s.master,
                        replicas: s.replicas,
                        slots: Some(s.slots),
                    }))
                }
                _ => shards.push(SourceShard {
                    master: source.clone(),
                    id: shard_id(source, None),
                    replicas: replicas.clone(),
                    slots: None,
                }),
            }
        }
        if shards.is_empty() {
            return Err(Error::Options("no source shard found".into()));
        }
        Ok(shards)
    }

    /// What `source` is part of, asked of the source, or of its replicas when it
    /// cannot be reached (a master gone after a failover).
    async fn discover(&self, source: &Endpoint) -> Result<Topology> {
        let connect = &self.options.source_connect;
        let first = discover(source, connect).await;
        let Err(error) = first else {
            return first.map_err(|e| Error::endpoint(source, e));
        };
        for replica in &self.options.source_replicas {
            if let Ok(topology) = discover(replica, connect).await {
                tracing::warn!(source = %source, via = %replica, %error, "source unreachable; its replica answered");
                return Ok(topology);
            }
        }
        Err(Error::endpoint(source, error))
    }
}

/// The name a source shard's checkpoints go under: the source's address as
/// given (discovery may have reached a replica), and for a shard of a cluster its
/// slots (they stay when a replica takes over).
pub(crate) fn shard_id(source: &Endpoint, slots: Option<&[(u16, u16)]>) -> String {
    let address = format!("{}:{}", source.host(), source.port());
    match slots {
        Some(slots) => {
            let ranges: Vec<String> = slots.iter().map(|(a, b)| format!("{a}-{b}")).collect();
            format!("{address}/slots:{}", ranges.join(","))
        }
        None => address,
    }
}

/// One source shard: its master, the name its checkpoints go under (the source's
/// address, and for a cluster the shard's slots, which stay when a replica takes
/// over), the nodes it may fail over to, and its slots (a cluster).
struct SourceShard {
    master: Endpoint,
    id: String,
    replicas: Vec<Endpoint>,
    slots: Option<Vec<(u16, u16)>>,
}

/// Removes the checkpoints a sync left on `target` under `name` (see [`Sync`]),
/// after a cutover; returns how many keys there were.
///
/// # Errors
/// When the target cannot be reached.
pub async fn remove_checkpoints(
    target: &Endpoint,
    connect: ConnectOptions,
    name: &str,
) -> Result<u64> {
    let options = WriterOptions {
        connect,
        ..WriterOptions::default()
    };
    let mut writer = key_writer::Writer::connect(target, options)
        .await
        .map_err(Error::writer(|| format!("connect to {target}")))?;
    writer
        .remove_checkpoints(name)
        .await
        .map_err(Error::writer(|| {
            format!("remove the checkpoints on {target}")
        }))
}
