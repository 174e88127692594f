//! Keeping a target identical to a live source (the `sync` program): one replica per
//! source shard, its RDB streamed straight into the writer as it arrives, then its
//! commands forwarded, each acknowledged to the source once the target has taken it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use endpoint::{ConnectOptions, Endpoint};
use key_writer::{Writer, WriterOptions};
use rdb_parser::{Event as RdbEvent, Function, Item, Reader};
use replica_client::{Event, Replica, ReplicaOptions};
use tokio::sync::watch;

/// Settings of a sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// How to connect to the sources.
    pub source_connect: ConnectOptions,
    /// The writer's settings (set `expiry_grace` for a live source).
    pub writer: WriterOptions,
    /// Longest record the RDB reader takes whole; longer values come in pieces.
    pub max_record: usize,
    /// How often written commands are flushed and acknowledged to the source.
    pub ack_every: Duration,
    /// Events the replica decodes ahead of the writer (an RDB chunk is at most
    /// 64 KiB, so the default 1024 holds at most 64 MiB); beyond that the RDB is
    /// spooled to a temporary file.
    pub queue: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            source_connect: ConnectOptions::default(),
            writer: WriterOptions {
                expiry_grace: Some(Duration::from_secs(5)),
                ..WriterOptions::default()
            },
            max_record: rdb_parser::DEFAULT_MAX_RECORD,
            ack_every: Duration::from_millis(50),
            queue: 1024,
        }
    }
}

/// Where one source shard stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardStatus {
    /// The source shard (its `Display` hides the password).
    pub source: String,
    /// The source's replication id.
    pub replid: String,
    /// Whether the RDB phase is over.
    pub streaming: bool,
    /// RDB bytes received.
    pub rdb_bytes: u64,
    /// The RDB's size, when the source sent it (disk-based transfers).
    pub rdb_size: Option<u64>,
    /// RDB keys read.
    pub rdb_keys: u64,
    /// Offset of the last command received.
    pub received: u64,
    /// Offset of the last command the target has taken (acknowledged to the source).
    pub applied: u64,
    /// Commands forwarded.
    pub commands: u64,
    /// Keys and commands left out by filters.
    pub filtered: u64,
    /// Bytes written to the target.
    pub bytes: u64,
    /// Full resyncs (1 at the start; more if the source could not continue).
    pub full_syncs: u64,
    /// Partial resyncs after a lost link.
    pub partial_syncs: u64,
    /// How long the oldest command not yet applied has waited, in milliseconds.
    pub lag_ms: u64,
}

/// Status shared between a shard's task and the progress printer.
pub type SharedStatus = Arc<Mutex<ShardStatus>>;

/// Syncs one source shard into `target` until `stop` turns true or an error.
/// Returns the final status (the offset applied is the one to resume from).
///
/// # Errors
/// Replication errors the replica could not recover from, and the writer's errors
/// (each naming its key or command): the sync stops rather than skip a write.
pub async fn sync_shard(
    source: Endpoint,
    target: Endpoint,
    options: SyncOptions,
    status: SharedStatus,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<ShardStatus> {
    let name = source.to_string();
    status.lock().expect("status lock").source = name.clone();
    let mut writer = Writer::connect(&target, options.writer.clone())
        .await
        .with_context(|| format!("connect to the target {target}"))?;
    let replica_options = ReplicaOptions::new()
        .connect(options.source_connect.clone())
        .queue(options.queue);
    let mut replica = Replica::start(&source, replica_options)
        .await
        .with_context(|| format!("replicate from {name}"))?;
    let mut reader: Option<Reader> = None;
    let mut unacked: Option<(u64, Instant)> = None;
    let mut rdb_started = Instant::now();
    let mut tick = tokio::time::interval(options.ack_every);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                if let Some((offset, since)) = unacked.take() {
                    writer.flush().await?;
                    replica.ack(offset);
                    let mut s = status.lock().expect("status lock");
                    s.applied = offset;
                    s.lag_ms = since.elapsed().as_millis() as u64;
                    s.filtered = writer.stats().filtered;
                    s.bytes = writer.stats().bytes;
                } else {
                    status.lock().expect("status lock").lag_ms = 0;
                }
            }
            event = replica.next_event() => {
                let Some(event) = event else { break };
                match event.with_context(|| format!("replication from {name}"))? {
                    Event::FullResync { replid, offset } => {
                        let mut s = status.lock().expect("status lock");
                        if s.full_syncs > 0 {
                            tracing::warn!(source = %name, "full resync: keys the source deleted meanwhile may remain on the target");
                        }
                        s.full_syncs += 1;
                        s.replid = replid;
                        s.received = offset;
                        s.applied = offset;
                        s.streaming = false;
                        rdb_started = Instant::now();
                        reader = Some(Reader::new().max_record(options.max_record));
                    }
                    Event::Continue { replid, offset } => {
                        let mut s = status.lock().expect("status lock");
                        s.partial_syncs += 1;
                        s.replid = replid;
                        s.received = offset;
                    }
                    Event::RdbStart { len } => status.lock().expect("status lock").rdb_size = len,
                    Event::RdbChunk(bytes) => {
                        let reader = reader.as_mut().context("RDB bytes before a full resync")?;
                        reader.feed(&bytes);
                        let keys = drain(reader, &mut writer).await?;
                        let mut s = status.lock().expect("status lock");
                        s.rdb_bytes += bytes.len() as u64;
                        s.rdb_keys += keys;
                    }
                    Event::RdbEnd => {
                        let mut done = reader.take().context("an RDB end before a full resync")?;
                        done.end_input();
                        let keys = drain(&mut done, &mut writer).await?;
                        if !done.is_finished() {
                            anyhow::bail!("the RDB from {name} ended early");
                        }
                        writer.flush().await?;
                        let mut s = status.lock().expect("status lock");
                        s.rdb_keys += keys;
                        s.streaming = true;
                        replica.ack(s.received);
                        eprintln!(
                            "sync rdb done: {name}: {} keys, {} bytes in {:.1}s",
                            s.rdb_keys,
                            s.rdb_bytes,
                            rdb_started.elapsed().as_secs_f64()
                        );
                    }
                    Event::Command(command) => {
                        writer
                            .write_command(command.db, &command.args)
                            .await
                            .with_context(|| format!("forward from {name}"))?;
                        let since = unacked.map_or_else(Instant::now, |(_, since)| since);
                        unacked = Some((command.offset, since));
                        let mut s = status.lock().expect("status lock");
                        s.received = command.offset;
                        s.commands += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    // Stopping: finish the writes in flight, acknowledge them.
    writer.flush().await?;
    let mut s = status.lock().expect("status lock");
    if let Some((offset, _)) = unacked {
        replica.ack(offset);
        s.applied = offset;
    }
    s.filtered = writer.stats().filtered;
    s.lag_ms = 0;
    Ok(s.clone())
}

/// Writes what the reader has decoded so far; returns the keys read.
async fn drain(reader: &mut Reader, writer: &mut Writer) -> anyhow::Result<u64> {
    let mut keys = 0;
    while let Some(event) = reader.next_event()? {
        match event {
            RdbEvent::Item(Item::Key(key)) => {
                keys += 1;
                writer.write_key(&key).await?;
            }
            RdbEvent::Item(Item::Function(Function::Library { code })) => {
                writer.write_function(&code.to_vec()?).await?;
            }
            RdbEvent::ValueStart(start) => {
                keys += 1;
                writer.begin_value(&start).await?;
            }
            RdbEvent::Piece { piece, .. } => writer.write_piece(piece).await?,
            RdbEvent::ValueEnd => writer.end_value().await?,
            _ => {}
        }
    }
    Ok(keys)
}

/// One progress line for a shard.
pub fn status_line(s: &ShardStatus) -> String {
    if s.streaming {
        format!(
            "sync: {}: {} commands, {} filtered, {} bytes written, offset {} applied {} (lag {} bytes, {} ms)",
            s.source,
            s.commands,
            s.filtered,
            s.bytes,
            s.received,
            s.applied,
            s.received.saturating_sub(s.applied),
            s.lag_ms
        )
    } else {
        let percent = s
            .rdb_size
            .filter(|&n| n > 0)
            .map(|n| format!(" ({:.1}%)", s.rdb_bytes as f64 * 100.0 / n as f64))
            .unwrap_or_default();
        format!(
            "sync: {}: rdb {} bytes{percent}, {} keys",
            s.source, s.rdb_bytes, s.rdb_keys
        )
    }
}
