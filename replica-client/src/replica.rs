//! The replica: connects, runs the handshake, and streams what the master sends
//! through a background task that also keeps the link alive and acknowledges
//! offsets, reconnecting with a partial resync when the link drops (to the node
//! that is master now, when failover nodes are known).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use endpoint::Endpoint;
use resp_codec::encode_command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};
use tracing::Instrument;

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::failover::find_master;
use crate::handshake::{Link, handshake};
use crate::link::{LinkState, Reconnecting};
use crate::options::{ReplicaOptions, Resume};

use crate::stream::Item;

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 64 << 10;

/// A replica of one master.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use replica_client::{Event, Replica, ReplicaOptions};
///
/// let master: endpoint::Endpoint = "redis://127.0.0.1:6379".parse()?;
/// let mut replica = Replica::start(&master, ReplicaOptions::new()).await?;
/// let mut rdb = rdb_parser::Reader::new();
/// while let Some(event) = replica.next_event().await {
///     match event? {
///         Event::RdbChunk(bytes) => {
///             rdb.feed(&bytes);
///             while let Some(_item) = rdb.next_event()? { /* load it */ }
///         }
///         Event::Command(command) => {
///             /* apply it, then: */
///             replica.ack(command.offset);
///         }
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Replica {
    events: mpsc::Receiver<Result<Event>>,
    position: Arc<Position>,
    link: watch::Receiver<LinkState>,
    task: JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Replica {
    /// Connects to `master` and starts replicating. The first handshake happens
    /// here, so bad credentials or a refused `PSYNC` fail at once; later
    /// disconnections are retried in the background.
    ///
    /// # Errors
    /// [`Error::AuthFailed`], [`Error::PsyncNotPermitted`], [`Error::Connect`],
    /// [`Error::MasterNotReady`] and the other handshake failures.
    ///
    /// # Cancel safety
    /// Not cancel safe: a cancelled start may leave a half-made link on the master
    /// until it times out.
    pub async fn start(master: &Endpoint, options: ReplicaOptions) -> Result<Replica> {
        let mut nodes = vec![master.clone()];
        nodes.extend(options.failover.iter().cloned());
        // With failover nodes, the master may have changed since the caller
        // learnt its address (a sync started again after a failover).
        let master = if options.failover.is_empty() {
            master.clone()
        } else {
            find_master(&nodes, &options, options.resume.as_ref()).await?
        };
        let (link, first) = handshake(&master, &options, options.resume.clone()).await?;
        let position = Arc::new(Position::default());
        if let Event::Continue { offset, .. } = &first {
            // The consumer resumes: it applied everything up to here.
            position.confirmed.store(*offset, Ordering::SeqCst);
        }
        let (tx, events) = mpsc::channel(options.queue);
        let (state, link_state) = watch::channel(LinkState::Up {
            master: master.addr(),
        });
        let task = tokio::spawn(
            Driver {
                master,
                nodes,
                options,
                tx,
                position: position.clone(),
                state,
                pending: VecDeque::from([first]),
                synced: false,
                rdb_done: false,
                spool: Spool::default(),
                end_waiting: false,
                after_rdb: None,
            }
            .run(link)
            // The caller's span (a sync's shard) goes with the link's log lines.
            .in_current_span(),
        );
        Ok(Replica {
            events,
            position,
            link: link_state,
            task,
        })
    }

    /// Whether the link to the master is up (and to which node), or being
    /// re-established: since when, after how many attempts, and the last error.
    pub fn link_state(&self) -> LinkState {
        self.link.borrow().clone()
    }

    /// The link's state as a `watch`, changed when the link drops, at each
    /// reconnection attempt, and when it is up again.
    pub fn watch_link(&self) -> watch::Receiver<LinkState> {
        self.link.clone()
    }

    /// The next event; `None` once the replica has ended (after an RDB-only dump,
    /// or after an error was delivered).
    ///
    /// # Cancel safety
    /// Cancel safe: no event is lost when the future is dropped.
    pub async fn next_event(&mut self) -> Option<Result<Event>> {
        self.events.recv().await
    }

    /// Confirms that everything up to `offset` (a [`DbCommand::offset`](crate::DbCommand::offset), or the
    /// offset of an [`Event::FullResync`] once its RDB is loaded) is applied: the
    /// next `REPLCONF ACK` reports it. Until then the master sees the offset
    /// confirmed before (or that of a full resync whose RDB was received).
    pub fn ack(&self, offset: u64) {
        self.position.confirmed.fetch_max(offset, Ordering::SeqCst);
    }

    /// The replication offset read from the master so far: every byte of the
    /// command stream, its `PING`s, `SELECT`s and `REPLCONF GETACK`s included (the
    /// RDB's bytes do not count). On an idle master it reaches the master's
    /// `master_repl_offset`.
    pub fn received_offset(&self) -> u64 {
        self.position.received.load(Ordering::SeqCst)
    }

    /// The offset the consumer has reached: [`Replica::received_offset`] once it
    /// has confirmed with [`Replica::ack`] every command received, and the offset
    /// of the last full resync once it loaded its RDB (what follows the last
    /// command is keepalives), else the last offset confirmed. Equal to the
    /// master's `master_repl_offset`, this says the consumer has applied everything
    /// the master has: the cutover point. Works on an idle master, whose stream
    /// ends with `PING`s.
    pub fn applied_offset(&self) -> u64 {
        self.position.applied()
    }
}

/// Where the stream stands, shared by the task that reads it and the consumer who
/// applies it.
#[derive(Debug, Default)]
struct Position {
    /// The offset the consumer confirmed ([`Replica::ack`]).
    confirmed: AtomicU64,
    /// The offset of the full resync whose RDB the task has received: the master
    /// may be told it, though the consumer has not loaded the RDB yet.
    floor: AtomicU64,
    /// The offset after the last command received (or the offset of the last full
    /// resync, which the consumer confirms once it has loaded the RDB).
    last_command: AtomicU64,
    /// The offset after the last byte of the command stream received.
    received: AtomicU64,
}

impl Position {
    /// How far the consumer has come: `received` once it confirmed every command
    /// (and full resync) before, else what it confirmed.
    fn applied(&self) -> u64 {
        Self::reached(self.confirmed.load(Ordering::SeqCst), self)
    }

    /// The offset to acknowledge to the master: as [`Position::applied`], with a
    /// received RDB counted as applied (the master times out a replica that does
    /// not acknowledge it).
    fn acknowledged(&self) -> u64 {
        let confirmed = self.confirmed.load(Ordering::SeqCst);
        Self::reached(confirmed.max(self.floor.load(Ordering::SeqCst)), self)
    }

    fn reached(confirmed: u64, this: &Position) -> u64 {
        // `received` is stored after `last_command` and loaded before it: a
        // `received` that covers a command comes with a `last_command` that does.
        let received = this.received.load(Ordering::SeqCst);
        let last_command = this.last_command.load(Ordering::SeqCst);
        if confirmed >= last_command {
            received.max(confirmed)
        } else {
            confirmed
        }
    }

    /// The stream was read up to `offset`; `command`: a command ends there.
    fn read_to(&self, offset: u64, command: bool) {
        if command {
            self.last_command.store(offset, Ordering::SeqCst);
        }
        self.received.store(offset, Ordering::SeqCst);
    }
}

/// The background task: reads, decodes, delivers, acknowledges, reconnects.
struct Driver {
    /// The node streamed from (the last one, while reconnecting).
    master: Endpoint,
    /// Every node known to serve the shard: the one started from, then the
    /// failover nodes.
    nodes: Vec<Endpoint>,
    options: ReplicaOptions,
    tx: mpsc::Sender<Result<Event>>,
    position: Arc<Position>,
    state: watch::Sender<LinkState>,
    pending: VecDeque<Event>,
    /// The RDB (if any) of this link has been received: ACKs may flow.
    synced: bool,
    /// An RDB-only dump has its RDB.
    rdb_done: bool,
    /// RDB bytes received while the consumer was behind.
    spool: Spool,
    /// The RDB's end, received while spooled bytes wait for the consumer.
    end_waiting: bool,
    /// The first event of a link made while spooled bytes of a complete RDB wait
    /// for the consumer: delivered after that RDB's end.
    after_rdb: Option<Event>,
}

/// RDB bytes kept on disk while the consumer is busy, so the master can send the
/// whole RDB at its own pace (a stalled diskless transfer is cut after
/// `repl-timeout`) without the replica holding it in memory.
#[derive(Default)]
struct Spool {
    file: Option<tokio::fs::File>,
    written: u64,
    read: u64,
}

impl Spool {
    fn has_data(&self) -> bool {
        self.read < self.written
    }

    async fn push(&mut self, bytes: &[u8]) -> Result<()> {
        use tokio::io::AsyncSeekExt;
        let io = |e: std::io::Error| Error::Link(format!("spool the RDB to a temporary file: {e}"));
        if self.file.is_none() {
            let file = tempfile::tempfile().map_err(io)?;
            self.file = Some(tokio::fs::File::from_std(file));
        }
        let file = self.file.as_mut().expect("created above");
        file.seek(std::io::SeekFrom::Start(self.written))
            .await
            .map_err(io)?;
        file.write_all(bytes).await.map_err(io)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    async fn pop(&mut self) -> Result<Option<Bytes>> {
        use tokio::io::AsyncSeekExt;
        let io = |e: std::io::Error| Error::Link(format!("read the spooled RDB: {e}"));
        let Some(file) = self.file.as_mut().filter(|_| self.read < self.written) else {
            return Ok(None);
        };
        let n = (self.written - self.read).min(READ_SIZE as u64) as usize;
        let mut buf = vec![0; n];
        file.seek(std::io::SeekFrom::Start(self.read))
            .await
            .map_err(io)?;
        file.read_exact(&mut buf).await.map_err(io)?;
        self.read += n as u64;
        if self.read == self.written {
            // Emptied: start over, so the file never grows past one RDB.
            *self = Spool::default();
        }
        Ok(Some(Bytes::from(buf)))
    }
}

/// Why a link ended.
enum End {
    /// The consumer is gone, or an RDB-only dump is complete.
    Done,
    /// The link failed; reconnecting may help.
    Lost(Error),
}

impl Driver {
    async fn run(mut self, mut link: Link) {
        self.start_link(&link);
        loop {
            let end = self.pump(&mut link).await;
            match end {
                End::Done => break,
                End::Lost(e) if self.options.rdb_only && self.rdb_done => {
                    tracing::debug!(error = %e, "the master closed the link after the RDB");
                    break;
                }
                End::Lost(e) if !e.is_retryable() => {
                    self.finish(Err(e)).await;
                    return;
                }
                End::Lost(e) => {
                    tracing::warn!(master = %self.master, error = %e, "replication link lost; reconnecting");
                    match self.reconnect(&link, e).await {
                        Ok(new) => {
                            link = new;
                            self.start_link(&link);
                        }
                        Err(e) => {
                            self.finish(Err(e)).await;
                            return;
                        }
                    }
                }
            }
        }
        self.finish(Ok(())).await;
    }

    fn start_link(&mut self, link: &Link) {
        self.synced = !link.stream.in_rdb();
        if link.stream.in_rdb() {
            // A new dataset: acknowledged from its offset on, while the consumer
            // loads it and until it confirms it.
            self.position
                .floor
                .store(link.stream.offset(), Ordering::SeqCst);
        }
        self.position.read_to(link.stream.offset(), true);
    }

    /// Delivers what is pending, then the error if any, then ends.
    async fn finish(mut self, last: Result<()>) {
        while let Some(event) = self.pending.pop_front() {
            if self.tx.send(Ok(event)).await.is_err() {
                return;
            }
        }
        if let Err(e) = last {
            let _ = self.tx.send(Err(e)).await;
        }
    }

    async fn send_ack(&self, link: &mut Link, offset: u64) -> Result<()> {
        let mut out = BytesMut::new();
        encode_command(&mut out, &["REPLCONF", "ACK", &offset.to_string()]);
        link.writer
            .write_all(&out)
            .await
            .map_err(|e| Error::Link(e.to_string()))
    }

    /// Runs one link until it ends.
    async fn pump(&mut self, link: &mut Link) -> End {
        let mut next_ack = Instant::now() + self.options.ack_interval;
        let mut silent_until = Instant::now() + self.options.link_timeout;
        loop {
            // Spooled RDB bytes go first, then the end of the RDB they belong to.
            while self.pending.len() < self.options.queue && self.spool.has_data() {
                match self.spool.pop().await {
                    Ok(Some(bytes)) => self.pending.push_back(Event::RdbChunk(bytes)),
                    Ok(None) => break,
                    Err(e) => return End::Lost(e),
                }
            }
            if self.end_waiting && !self.spool.has_data() {
                self.end_waiting = false;
                self.pending.push_back(Event::RdbEnd);
                if self.options.rdb_only {
                    return End::Done;
                }
                self.pending.extend(self.after_rdb.take());
            }
            // Decode what is buffered: up to the queue's size, and during the RDB
            // beyond it, into the spool.
            while !self.end_waiting
                && (self.pending.len() < self.options.queue || link.stream.in_rdb())
            {
                let item = link.stream.next(&mut link.buf);
                // PINGs and SELECTs are read without being items.
                let command = matches!(&item, Ok(Some(Item::Command(_))));
                self.position.read_to(link.stream.offset(), command);
                let item = match item {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(e) => return End::Lost(e),
                };
                match item {
                    Item::RdbStart { len } => self.pending.push_back(Event::RdbStart { len }),
                    Item::RdbChunk(bytes) => {
                        if self.spool.has_data() || self.pending.len() >= self.options.queue {
                            if let Err(e) = self.spool.push(&bytes).await {
                                return End::Lost(e);
                            }
                        } else {
                            self.pending.push_back(Event::RdbChunk(bytes));
                        }
                    }
                    Item::RdbEnd => {
                        // Acknowledged at once, even while spooled bytes wait for
                        // the consumer: the master counts the replica as live from
                        // here, and a diskless master starts the command stream.
                        self.synced = true;
                        self.rdb_done = true;
                        if !self.options.rdb_only {
                            let at = link.stream.offset();
                            if let Err(e) = self.send_ack(link, at).await {
                                return End::Lost(e);
                            }
                        }
                        if self.spool.has_data() {
                            self.end_waiting = true;
                        } else {
                            self.pending.push_back(Event::RdbEnd);
                            if self.options.rdb_only {
                                return End::Done;
                            }
                        }
                    }
                    Item::Command(command) => {
                        self.pending.push_back(Event::Command(command));
                    }
                    Item::GetAck { offset } => {
                        // The GETACK itself is not acknowledged, as a real replica does.
                        let value = self.position.acknowledged().min(offset);
                        if let Err(e) = self.send_ack(link, value).await {
                            return End::Lost(e);
                        }
                    }
                }
            }
            if link.buf.capacity() - link.buf.len() < READ_SIZE / 4 {
                link.buf.reserve(READ_SIZE);
            }
            let can_read = !self.end_waiting
                && (self.pending.len() < self.options.queue || link.stream.in_rdb());
            tokio::select! {
                permit = self.tx.reserve(), if !self.pending.is_empty() => {
                    let Ok(permit) = permit else { return End::Done };
                    if let Some(event) = self.pending.pop_front() {
                        permit.send(Ok(event));
                    }
                }
                read = link.reader.read_buf(&mut link.buf), if can_read => {
                    match read {
                        Ok(0) => return End::Lost(Error::Link("the master closed the connection".into())),
                        Ok(_) => silent_until = Instant::now() + self.options.link_timeout,
                        Err(e) => return End::Lost(Error::Link(e.to_string())),
                    }
                }
                _ = sleep_until(next_ack), if self.synced && !self.options.rdb_only => {
                    next_ack = Instant::now() + self.options.ack_interval;
                    let value = self.position.acknowledged();
                    if let Err(e) = self.send_ack(link, value).await {
                        return End::Lost(e);
                    }
                }
                _ = sleep_until(silent_until), if can_read => {
                    return End::Lost(Error::LinkTimeout { after: self.options.link_timeout });
                }
                _ = self.tx.closed() => return End::Done,
            }
        }
    }

    /// Forgets the RDB a lost link cut short: its events not yet delivered (and the
    /// full resync that announced it, if still waiting) and its spooled bytes. The
    /// full resync that follows announces a new RDB from its start.
    fn discard_rdb(&mut self) {
        let from = self
            .pending
            .iter()
            .rposition(|e| matches!(e, Event::FullResync { .. }))
            // Delivered already: what waits is this RDB's start and chunks.
            .unwrap_or(0);
        self.pending.truncate(from);
        self.spool = Spool::default();
        self.end_waiting = false;
        self.after_rdb = None;
    }

    /// Reconnects with a partial resync (a full one if the RDB was cut), to the
    /// node that is master now when failover nodes are known, retrying retryable
    /// failures with backoff until the give-up time.
    async fn reconnect(&mut self, old: &Link, cause: Error) -> Result<Link> {
        // A partial resync cannot resume an RDB cut short: ask for a new one.
        let resume = (!old.stream.in_rdb())
            .then(|| (old.replid.clone(), old.stream.offset(), old.stream.db()));
        if old.stream.in_rdb() {
            self.discard_rdb();
        }
        let started = Instant::now();
        let deadline = started + self.options.give_up_after;
        let (first, max) = self.options.backoff;
        let mut backoff = Backoff::new(first, max);
        let mut down = Reconnecting {
            master: self.master.addr(),
            since: started.into_std(),
            attempts: 0,
            last_error: cause.to_string(),
        };
        self.state
            .send_replace(LinkState::Reconnecting(down.clone()));
        let mut last = cause;
        loop {
            let delay = backoff.next_delay();
            if Instant::now() + delay > deadline {
                return Err(Error::GaveUp {
                    after: started.elapsed(),
                    last: Box::new(last),
                });
            }
            sleep(delay).await;
            down.attempts += 1;
            let attempt = self.attempt(resume.clone(), &mut down).await;
            match attempt {
                Ok((link, first)) => {
                    if matches!(first, Event::FullResync { .. }) {
                        // Commands decoded from the old link but not delivered stay
                        // valid history; the consumer is told the dataset restarts.
                        tracing::warn!(master = %self.master, "partial resync refused; full resync");
                    }
                    if self.end_waiting {
                        self.after_rdb = Some(first);
                    } else {
                        self.pending.push_back(first);
                    }
                    tracing::info!(
                        master = %self.master,
                        attempts = down.attempts,
                        down_for = ?started.elapsed(),
                        "replication link up again"
                    );
                    self.state.send_replace(LinkState::Up {
                        master: self.master.addr(),
                    });
                    return Ok(link);
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(
                        master = %down.master,
                        attempt = down.attempts,
                        down_for = ?started.elapsed(),
                        error = %e,
                        "reconnecting"
                    );
                    down.last_error = e.to_string();
                    self.state
                        .send_replace(LinkState::Reconnecting(down.clone()));
                    last = e;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One reconnection attempt: finds the master (with failover nodes), then
    /// runs the handshake with it.
    async fn attempt(
        &mut self,
        resume: Option<Resume>,
        down: &mut Reconnecting,
    ) -> Result<(Link, Event)> {
        if !self.options.failover.is_empty() {
            // The node streamed from first: after a mere lost connection it is
            // still the master.
            let mut nodes = vec![self.master.clone()];
            nodes.extend(self.nodes.iter().cloned());
            let found = find_master(&nodes, &self.options, resume.as_ref()).await?;
            if found.addr() != self.master.addr() {
                tracing::warn!(from = %self.master, to = %found, "following the shard's new master");
                self.master = found;
            }
        }
        down.master = self.master.addr();
        self.state
            .send_replace(LinkState::Reconnecting(down.clone()));
        handshake(&self.master, &self.options, resume).await
    }
}
