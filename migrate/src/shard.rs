//! One source shard kept in sync with the target: a replica of it, its RDB streamed
//! through the reader straight into the writer as it arrives, then its commands
//! forwarded, each offset acknowledged to the source once the writer says it is
//! durable on the target.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use endpoint::Endpoint;
use key_writer::{Checkpoint, Retrying, Writer, WriterOptions};
use rdb_parser::{Event as RdbEvent, Item, Reader};
use replica_client::{Event, Reconnecting, Replica, ReplicaOptions};
use tokio::sync::{mpsc, watch};

use crate::error::{Error, Result};

/// Where one source shard stands. Its `Display` is the program's progress line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardStatus {
    /// The source shard (its `Display` hides the password).
    pub source: String,
    /// The target, when the sync writes to several (see
    /// [`Sync::also_to`](crate::Sync::also_to)); empty otherwise.
    pub target: String,
    /// The source's replication id.
    pub replid: String,
    /// Whether the RDB phase is over (commands are streaming).
    pub streaming: bool,
    /// RDB bytes received in the current (or last) full resync.
    pub rdb_bytes: u64,
    /// The RDB's size, when the source sent it (disk-based transfers).
    pub rdb_size: Option<u64>,
    /// RDB keys read in the current (or last) full resync.
    pub rdb_keys: u64,
    /// RDBs loaded completely so far; see [`ShardStatus::last_rdb`].
    pub rdbs_done: u64,
    /// The last RDB loaded completely.
    pub last_rdb: Option<RdbDone>,
    /// Offset of the last command received.
    pub received: u64,
    /// Offset the target has made durable (acknowledged to the source).
    pub applied: u64,
    /// Offset the sync has reached: `applied`, and once every command received is
    /// durable, the keepalives received after them too. Equal to the source's
    /// `master_repl_offset`, the target holds all the source has (see
    /// [`Cutover`](crate::Cutover)).
    pub reached: u64,
    /// Commands received.
    pub commands: u64,
    /// Keys and commands a hook left out.
    pub filtered: u64,
    /// Function libraries and hash field TTLs left out by the lossy options
    /// (`WriterOptions::drop_functions`, `drop_field_ttls`).
    pub left_out: u64,
    /// Two-way sync: commands of the other direction's batches dropped on their
    /// way back (see [`TwoWay`](crate::TwoWay)).
    pub returned: u64,
    /// Two-way sync: commands of the other side's applied on it once more, to
    /// settle conflicts that side wins.
    pub settled: u64,
    /// Two-way sync: conflicts settled for the other side (each one JSON line of
    /// [`TwoWay::conflicts`](crate::TwoWay::conflicts)).
    pub conflicts: u64,
    /// Bytes written to the target.
    pub bytes: u64,
    /// Full resyncs (1 at the start; more if the source could not continue).
    pub full_syncs: u64,
    /// Partial resyncs after a lost link.
    pub partial_syncs: u64,
    /// How long the oldest command not yet durable has waited, in milliseconds.
    pub lag_ms: u64,
    /// While the link to the source is down: which node is being tried, since
    /// when, after how many attempts, and the last error. Shown at the end of
    /// the status line.
    pub reconnecting: Option<Reconnecting>,
    /// What the writer is retrying on the target, and since when (`None` while
    /// the target answers). Shown at the end of the status line.
    pub target_retrying: Option<Retrying>,
    /// Why this target stopped, when one of several did (a fan-out goes on with
    /// the others). Shown at the end of the status line.
    pub failed: Option<String>,
}

/// An RDB loaded into the target. Its `Display` is the `sync rdb done` line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RdbDone {
    /// The source shard.
    pub source: String,
    /// Keys read.
    pub keys: u64,
    /// Bytes received.
    pub bytes: u64,
    /// How long the RDB phase took.
    pub elapsed: Duration,
}

impl fmt::Display for RdbDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sync rdb done: {}: {} keys, {} bytes in {:.1}s",
            self.source,
            self.keys,
            self.bytes,
            self.elapsed.as_secs_f64()
        )
    }
}

impl fmt::Display for ShardStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = if self.target.is_empty() {
            self.source.clone()
        } else {
            format!("{} -> {}", self.source, self.target)
        };
        if self.streaming {
            write!(
                f,
                "sync: {}: {} commands, {} filtered, {} bytes written, offset {} applied {} (lag {} bytes, {} ms)",
                source,
                self.commands,
                self.filtered,
                self.bytes,
                self.received,
                self.applied,
                self.received.saturating_sub(self.applied),
                self.lag_ms
            )?;
        } else {
            let percent = self
                .rdb_size
                .filter(|&n| n > 0)
                .map(|n| format!(" ({:.1}%)", self.rdb_bytes as f64 * 100.0 / n as f64))
                .unwrap_or_default();
            write!(
                f,
                "sync: {}: rdb {} bytes{percent}, {} keys",
                source, self.rdb_bytes, self.rdb_keys
            )?;
        }
        if self.left_out > 0 {
            write!(f, ", {} left out (lossy options)", self.left_out)?;
        }
        if self.returned > 0 {
            write!(f, ", {} returning dropped", self.returned)?;
        }
        if self.settled > 0 {
            write!(
                f,
                ", {} conflicts settled ({} commands applied again)",
                self.conflicts, self.settled
            )?;
        }
        if let Some(down) = &self.reconnecting {
            write!(f, ", {down}")?;
        }
        if let Some(why) = &self.failed {
            write!(f, ", failed: {why}")?;
        }
        if let Some(r) = &self.target_retrying {
            write!(
                f,
                ", retrying the target for {}s (attempt {}): {}",
                r.since.as_secs(),
                r.attempts,
                r.what
            )?;
        }
        Ok(())
    }
}

/// The error of a full resync refused by [`OnFullResync::Refuse`].
fn refusal(shard: &str, why: &str) -> Error {
    Error::Source {
        shard: shard.to_owned(),
        reason: format!(
            "a full resync would keep on the target keys the source deleted since: {why}. \
             Empty the target first (on-full-resync flush, when this sync is its only \
             writer), delete the keys in scope (on-full-resync delete-in-scope, when \
             others write to it too), or remove the checkpoints to copy onto it as it is"
        ),
    }
}

/// Completes once `stop` says so (at once if it already does).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, not held across an await.
    let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
}

/// What a sync does when the source sends a full resync onto a target that holds
/// what this sync wrote before (its checkpoints), since the new snapshot may lack
/// keys the source deleted meanwhile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFullResync {
    /// Stop with an error that says why: nothing is guessed, nothing is lost.
    #[default]
    Refuse,
    /// Empty the whole target (`FLUSHALL` on every master) and load the new
    /// snapshot: right when this sync is the target's only writer and copies
    /// everything (one source shard, no filter).
    Flush,
    /// Delete the target's keys this shard's stream covers (those a source key
    /// becomes through the filters and database map, in the shard's slots of a
    /// cluster source), then load the new snapshot: right when the target is
    /// shared with other writers or other shards of the same source, whose keys
    /// stay. Needs a single source and hooks that can be followed back
    /// ([`Hook::source_dbs`](key_writer::Hook::source_dbs)); the sync refuses to
    /// start otherwise. Keys in scope are missing on the target until the
    /// snapshot restores them, as on a replica loading a full resync.
    DeleteInScope,
}

/// How one shard is synced.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// With `checkpoint` set to this shard's checkpoints.
    pub(crate) writer: WriterOptions,
    pub(crate) on_full_resync: OnFullResync,
    pub(crate) replica: ReplicaOptions,
    /// Longest RDB record read whole.
    pub(crate) max_record: usize,
    /// How often writes are flushed and acknowledged.
    pub(crate) ack_every: Duration,
    /// The shard's slots (a cluster source), for [`OnFullResync::DeleteInScope`].
    pub(crate) slots: Option<Vec<(u16, u16)>>,
    /// Read the first full resync's RDB without loading it, when the target holds
    /// nothing of this sync (two-way: the other direction brought those keys).
    pub(crate) skip_first_rdb: bool,
}

/// Where a shard shows its status: the closure is given an edit to make to the
/// shard's entry (from the shard's task, or from the task that follows the
/// writer's retries while the shard's task is busy with them).
pub(crate) type Publish = Arc<dyn Fn(&dyn Fn(&mut ShardStatus)) + Send + Sync>;

/// Where a shard's events come from: its own replica of the source, or a feed
/// shared with the other targets of a fan-out.
pub(crate) enum Upstream {
    Own(Replica),
    Tap(Tap),
}

/// One target's share of a fan-out's feed (see `crate::fan_out`).
pub(crate) struct Tap {
    pub(crate) events: mpsc::Receiver<Event>,
    /// The offset this target holds, for the feed's acknowledgement.
    pub(crate) durable: watch::Sender<u64>,
    /// The feed's link.
    pub(crate) feed: watch::Receiver<FeedState>,
    /// The offset of the last command received.
    pub(crate) last_command: u64,
}

/// A fan-out feed's link, as its targets show it.
#[derive(Clone, Debug, Default)]
pub(crate) struct FeedState {
    /// The replica's received offset (keepalives included).
    pub(crate) received: u64,
    pub(crate) reconnecting: Option<Reconnecting>,
}

impl Upstream {
    async fn next_event(&mut self) -> Option<replica_client::Result<Event>> {
        match self {
            Upstream::Own(replica) => replica.next_event().await,
            Upstream::Tap(tap) => {
                let event = tap.events.recv().await?;
                if let Event::Command(c) = &event {
                    tap.last_command = c.offset;
                }
                Some(Ok(event))
            }
        }
    }

    fn ack(&self, offset: u64) {
        match self {
            Upstream::Own(replica) => replica.ack(offset),
            Upstream::Tap(tap) => {
                tap.durable.send_if_modified(|held| {
                    let newer = offset > *held;
                    *held = (*held).max(offset);
                    newer
                });
            }
        }
    }

    /// As `Replica::applied_offset`: the offset held, and the keepalives after
    /// it once every command received is held.
    fn applied_offset(&self) -> u64 {
        match self {
            Upstream::Own(replica) => replica.applied_offset(),
            Upstream::Tap(tap) => {
                let held = *tap.durable.borrow();
                if held >= tap.last_command {
                    held.max(tap.feed.borrow().received)
                } else {
                    held
                }
            }
        }
    }

    fn reconnecting(&self) -> Option<Reconnecting> {
        match self {
            Upstream::Own(replica) => replica.link_state().reconnecting().cloned(),
            Upstream::Tap(tap) => tap.feed.borrow().reconnecting.clone(),
        }
    }
}

/// One shard's sync: the replica, the writer, and the RDB being read.
pub(crate) struct ShardSync {
    name: String,
    upstream: Upstream,
    writer: Writer,
    /// The RDB of a full resync being read.
    reader: Option<Reader>,
    max_record: usize,
    ack_every: Duration,
    status: ShardStatus,
    publish: Publish,
    /// Offset of the full resync whose RDB is being read.
    rdb_offset: u64,
    rdb_started: Instant,
    /// Since when commands have waited to become durable.
    waiting_since: Option<Instant>,
    on_full_resync: OnFullResync,
    /// The shard's slots (a cluster source).
    slots: Option<Vec<(u16, u16)>>,
    /// Why the target holds what this sync wrote before (checkpoints found, or an
    /// RDB begun in this run): a full resync must not leave stale keys there.
    written_before: Option<String>,
    /// The next full resync's RDB is read but not loaded
    /// ([`Settings::skip_first_rdb`]).
    skip_rdb: bool,
    /// The RDB being read is not loaded.
    skipping: bool,
}

/// Where the target's checkpoints say to start from.
enum Start {
    /// No checkpoint: the target holds nothing of this sync.
    Fresh,
    /// A complete checkpoint: resume after it.
    Resume(Checkpoint),
    /// What the checkpoints say cannot be resumed from.
    Unusable(String),
}

impl Start {
    /// What the checkpoints read from the target (one per master that has one)
    /// say.
    fn from(found: &[Option<Checkpoint>]) -> Start {
        match found.iter().flatten().min_by_key(|c| c.offset) {
            None => Start::Fresh,
            Some(c) if c.loading => {
                Start::Unusable("it holds part of an RDB whose load was cut short".into())
            }
            Some(c) => Start::Resume(c.clone()),
        }
    }
}

/// A shard's target, connected, its checkpoints read: where its stream must
/// start.
pub(crate) struct Prepared {
    name: String,
    writer: Writer,
    /// The replica's options, resuming where the checkpoints say.
    pub(crate) replica: ReplicaOptions,
    /// Where the checkpoints say to resume from (`None`: a full sync).
    pub(crate) resume: Option<(String, u64)>,
    written_before: Option<String>,
    settings: Settings,
    publish: Publish,
}

impl Prepared {
    /// Starts replicating from `source` where the checkpoints say, for this
    /// target alone.
    pub(crate) async fn start(self, source: &Endpoint) -> Result<ShardSync> {
        let replica = start_replica(source, self.replica.clone()).await?;
        Ok(ShardSync::with(self, Upstream::Own(replica)))
    }
}

/// A replica of `source`, started with `options`.
///
/// # Errors
/// When the source cannot be replicated.
pub(crate) async fn start_replica(source: &Endpoint, options: ReplicaOptions) -> Result<Replica> {
    Replica::start(source, options)
        .await
        .map_err(|error| Error::Replica {
            shard: source.to_string(),
            error,
        })
}

impl ShardSync {
    /// Connects to the target and reads its checkpoints: where `source`'s stream
    /// must start for it.
    pub(crate) async fn prepare(
        source: &Endpoint,
        target: &Endpoint,
        settings: Settings,
        publish: Publish,
    ) -> Result<Prepared> {
        let name = source.to_string();
        // A target not up yet is waited for, its status saying so.
        let shown = publish.clone();
        let mut writer = Writer::connect_retrying(target, settings.writer.clone(), |now| {
            shown(&|slot| slot.target_retrying = now.cloned());
        })
        .await
        .map_err(Error::writer(|| format!("connect to the target {target}")))?;
        // The shard's task is busy while the writer retries: the status learns of
        // it from here. It ends with the writer.
        let mut retrying = writer.watch_retrying();
        let shown = publish.clone();
        tokio::spawn(async move {
            while retrying.changed().await.is_ok() {
                let now = retrying.borrow_and_update().clone();
                shown(&|slot| slot.target_retrying.clone_from(&now));
            }
        });
        let found = writer.read_checkpoints().await.map_err(Error::writer(|| {
            format!("read the checkpoints on {target}")
        }))?;
        let mut replica = settings.replica.clone();
        let mut written_before = None;
        let mut resume = None;
        match Start::from(&found) {
            Start::Fresh => {}
            Start::Resume(c) => {
                tracing::info!(source = %name, replid = %c.replid, offset = c.offset, "resuming from the target's checkpoints");
                written_before = Some(format!(
                    "the target holds this sync's checkpoints (replid {} offset {})",
                    c.replid, c.offset
                ));
                resume = Some((c.replid.clone(), c.offset));
                replica = replica.resume(c.replid, c.offset, c.db);
            }
            // Only this sync's skipped RDB was cut short: it wrote nothing else.
            Start::Unusable(_) if settings.skip_first_rdb => {}
            Start::Unusable(why) => {
                let why = format!("the target holds this sync's checkpoints, but {why}");
                if settings.on_full_resync == OnFullResync::Refuse {
                    return Err(refusal(&name, &why));
                }
                written_before = Some(why);
            }
        }
        Ok(Prepared {
            name,
            writer,
            replica,
            resume,
            written_before,
            settings,
            publish,
        })
    }

    /// Connects to the target and starts replicating from `source`.
    pub(crate) async fn start(
        source: &Endpoint,
        target: &Endpoint,
        settings: Settings,
        publish: Publish,
    ) -> Result<ShardSync> {
        Self::prepare(source, target, settings, publish)
            .await?
            .start(source)
            .await
    }

    /// A prepared target fed from `upstream`.
    pub(crate) fn with(prepared: Prepared, upstream: Upstream) -> ShardSync {
        let Prepared {
            name,
            writer,
            written_before,
            settings,
            publish,
            ..
        } = prepared;
        ShardSync {
            status: ShardStatus {
                source: name.clone(),
                ..ShardStatus::default()
            },
            name,
            upstream,
            writer,
            reader: None,
            max_record: settings.max_record,
            ack_every: settings.ack_every,
            publish,
            rdb_offset: 0,
            rdb_started: Instant::now(),
            waiting_since: None,
            on_full_resync: settings.on_full_resync,
            slots: settings.slots,
            skip_rdb: settings.skip_first_rdb && written_before.is_none(),
            skipping: false,
            written_before,
        }
    }

    /// Runs until `stop` turns true or an error; returns the final status (its
    /// applied offset is the one to resume from).
    pub(crate) async fn run(self, stop: watch::Receiver<bool>) -> Result<ShardStatus> {
        self.drive(stop).await.map(|(status, _)| status)
    }

    /// As [`ShardSync::run`], and whether a fan-out's feed let this target go
    /// (it fell behind: the rest of the stream must come from a link of its own).
    pub(crate) async fn drive(
        mut self,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(ShardStatus, bool)> {
        let mut tick = tokio::time::interval(self.ack_every);
        let mut detached = false;
        let ended = loop {
            tokio::select! {
                _ = stopped(&mut stop) => break Ok(()),
                _ = tick.tick() => {
                    if let Err(e) = self.acknowledge().await {
                        break Err(e);
                    }
                }
                event = self.upstream.next_event() => {
                    let Some(event) = event else {
                        if matches!(self.upstream, Upstream::Tap(_)) {
                            detached = true;
                            break Ok(());
                        }
                        break Err(Error::Source {
                            shard: self.name.clone(),
                            reason: "the replication stream ended unexpectedly".into(),
                        });
                    };
                    let event = event.map_err(|error| Error::Replica {
                        shard: self.name.clone(),
                        error,
                    });
                    if let Err(e) = match event {
                        Ok(event) => self.take(event).await,
                        Err(e) => Err(e),
                    } {
                        break Err(e);
                    }
                }
            }
        };
        // Stopping (or failing): what was written and is durable is acknowledged.
        let flushed = self.acknowledge().await;
        self.status.lag_ms = 0;
        self.publish();
        ended?;
        flushed?;
        Ok((self.status, detached))
    }

    /// Flushes the writer and acknowledges upstream the offset it made durable;
    /// `doing` names the work for an error (`<doing> <source>`).
    async fn flush(&mut self, doing: &str) -> Result<()> {
        let durable = self
            .writer
            .flush()
            .await
            .map_err(Error::writer(|| format!("{doing} {}", self.name)))?;
        if let Some(offset) = durable {
            self.upstream.ack(offset);
            self.status.applied = offset;
        }
        Ok(())
    }

    /// Flushes the writer and acknowledges the offset it made durable, if
    /// anything waits; shows the lag.
    async fn acknowledge(&mut self) -> Result<()> {
        if self.waiting_since.is_some() {
            // What was received shows before the flush, the lag with it.
            self.publish();
            self.flush("forward from").await?;
            self.status.lag_ms = self
                .waiting_since
                .take()
                .map_or(0, |since| since.elapsed().as_millis() as u64);
        } else {
            self.status.lag_ms = 0;
        }
        self.publish();
        Ok(())
    }

    /// Shows this shard's status to the pipeline's watchers.
    fn publish(&mut self) {
        let stats = self.writer.stats();
        self.status.reached = self.upstream.applied_offset();
        self.status.filtered = stats.filtered;
        self.status.returned = stats.returned;
        self.status.settled = stats.settled;
        self.status.conflicts = stats.conflicts;
        self.status.left_out = stats.functions_dropped + stats.field_ttls_dropped;
        self.status.bytes = stats.bytes;
        self.status.reconnecting = self.upstream.reconnecting();
        self.status.target_retrying = self.writer.retrying();
        (self.publish)(&|slot| {
            // The entry names its target (a fan-out's); the shard does not know it.
            let target = std::mem::take(&mut slot.target);
            slot.clone_from(&self.status);
            slot.target = target;
        });
    }

    async fn take(&mut self, event: Event) -> Result<()> {
        match event {
            Event::FullResync { replid, offset } => {
                if let Some(why) = self.written_before.take() {
                    match self.on_full_resync {
                        OnFullResync::Refuse => return Err(refusal(&self.name, &why)),
                        OnFullResync::Flush => {
                            tracing::warn!(source = %self.name, "full resync: emptying the target first ({why})");
                            self.writer.flush_all().await.map_err(Error::writer(|| {
                                format!("empty the target for {}", self.name)
                            }))?;
                        }
                        OnFullResync::DeleteInScope => {
                            tracing::warn!(source = %self.name, "full resync: deleting the keys in scope first ({why})");
                            self.writer
                                .delete_in_scope(self.slots.as_deref())
                                .await
                                .map_err(Error::writer(|| {
                                    format!("delete the keys in scope of {}", self.name)
                                }))?;
                        }
                    }
                }
                self.writer
                    .begin_full_resync(&replid, offset)
                    .await
                    .map_err(Error::writer(|| format!("load the RDB of {}", self.name)))?;
                self.written_before = Some("this sync loaded an RDB into it".into());
                self.status.full_syncs += 1;
                self.status.replid = replid;
                self.status.received = offset;
                self.status.applied = offset;
                self.status.streaming = false;
                self.status.rdb_bytes = 0;
                self.status.rdb_keys = 0;
                self.status.rdb_size = None;
                self.rdb_offset = offset;
                self.rdb_started = Instant::now();
                self.reader = Some(Reader::new().max_record(self.max_record));
                self.skipping = std::mem::take(&mut self.skip_rdb);
                if self.skipping {
                    tracing::info!(source = %self.name, "full resync: the RDB is read, not loaded (the other direction's keys)");
                    self.reader = None;
                }
                self.publish();
            }
            Event::Continue { replid, offset } => {
                self.writer.continue_stream(&replid);
                self.status.streaming = true;
                self.status.partial_syncs += 1;
                self.status.replid = replid;
                self.status.received = offset;
                self.publish();
            }
            Event::RdbStart { len } => self.status.rdb_size = len,
            Event::RdbChunk(bytes) if self.skipping => {
                self.status.rdb_bytes += bytes.len() as u64;
            }
            Event::RdbChunk(bytes) => {
                let mut reader = self
                    .reader
                    .take()
                    .ok_or_else(|| self.fault("RDB bytes before a full resync"))?;
                reader.feed(&bytes);
                let drained = self.drain(&mut reader).await;
                self.reader = Some(reader);
                self.status.rdb_keys += drained?;
                self.status.rdb_bytes += bytes.len() as u64;
            }
            Event::RdbEnd if std::mem::take(&mut self.skipping) => self.rdb_end().await?,
            Event::RdbEnd => {
                let mut reader = self
                    .reader
                    .take()
                    .ok_or_else(|| self.fault("an RDB end before a full resync"))?;
                reader.end_input();
                self.status.rdb_keys += self.drain(&mut reader).await?;
                if !reader.is_finished() {
                    return Err(self.fault("the RDB ended early"));
                }
                self.rdb_end().await?;
            }
            Event::Command(command) => {
                self.writer
                    .write_command(&command)
                    .await
                    .map_err(Error::writer(|| format!("forward from {}", self.name)))?;
                self.waiting_since.get_or_insert_with(Instant::now);
                self.status.received = command.offset;
                self.status.commands += 1;
            }
            _ => {}
        }
        Ok(())
    }

    /// The end of a full resync's RDB: the target holds the stream up to the
    /// resync's offset.
    async fn rdb_end(&mut self) -> Result<()> {
        self.writer.mark(self.rdb_offset);
        self.flush("load the RDB of").await?;
        self.status.streaming = true;
        self.status.rdbs_done += 1;
        self.status.last_rdb = Some(RdbDone {
            source: self.name.clone(),
            keys: self.status.rdb_keys,
            bytes: self.status.rdb_bytes,
            elapsed: self.rdb_started.elapsed(),
        });
        self.publish();
        Ok(())
    }

    /// Writes what the reader has decoded so far; returns the keys read.
    async fn drain(&mut self, reader: &mut Reader) -> Result<u64> {
        let mut keys = 0;
        loop {
            let event = reader.next_event().map_err(|error| Error::Rdb {
                context: format!("the RDB from {}", self.name),
                error,
            })?;
            let Some(event) = event else {
                return Ok(keys);
            };
            if matches!(
                event,
                RdbEvent::Item(Item::Key(_)) | RdbEvent::ValueStart(_)
            ) {
                keys += 1;
            }
            self.writer
                .write_event(event)
                .await
                .map_err(Error::writer(|| format!("load the RDB of {}", self.name)))?;
        }
    }

    fn fault(&self, reason: &str) -> Error {
        Error::Source {
            shard: self.name.clone(),
            reason: reason.to_owned(),
        }
    }
}
