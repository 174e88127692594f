//! A live source copied with `SCAN` + `DUMP` + `PTTL`: for sources that forbid
//! `PSYNC`, such as managed services. Standalone sources are scanned database by
//! database, clusters master by master.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use endpoint::{ConnectOptions, Connection, Endpoint, discover};
use key_writer::{Hook, Stats, Writer, WriterOptions};
use resp_codec::Frame;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::progress::Progress;

/// Settings of a [`Scan`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScanOptions {
    /// How to connect to the source.
    pub source_connect: ConnectOptions,
    /// The writer's settings: target connection, existing-key policy, hooks.
    pub writer: WriterOptions,
    /// Keys per `SCAN` round trip (default 500).
    pub batch: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            source_connect: ConnectOptions::default(),
            writer: WriterOptions::default(),
            batch: 500,
        }
    }
}

/// What a scan copied. Its `Display` is the program's closing line.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ScanReport {
    /// Keys read from the source.
    pub keys: u64,
    /// What the writer did.
    pub stats: Stats,
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(
            f,
            "scan: {} keys read; {} restored, {} written as commands, {} existing kept, {} filtered",
            self.keys, s.keys_restored, s.keys_as_commands, s.keys_existing, s.filtered
        )?;
        if s.keys_transcoded > 0 {
            writeln!(
                f,
                "scan: {} of the keys restored re-encoded for the target's older RDB version",
                s.keys_transcoded
            )?;
        }
        if s.field_ttls_dropped > 0 {
            writeln!(
                f,
                "scan: {} hash field TTLs left out, as the lossy options allow",
                s.field_ttls_dropped
            )?;
        }
        Ok(())
    }
}

/// Copies every key of a live source into a target, key by key.
///
/// Keys written meanwhile may be copied in their old or new state, or not at all if
/// created after the scan passed them: the copy is a consistent snapshot only of a
/// source that is not written to.
pub struct Scan {
    source: Endpoint,
    target: Endpoint,
    options: ScanOptions,
    status: Arc<watch::Sender<Progress>>,
}

impl fmt::Debug for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("source", &self.source)
            .field("target", &self.target)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Scan {
    /// A copy of `source` into `target` with default options.
    pub fn new(source: Endpoint, target: Endpoint) -> Scan {
        let progress = Progress::new(format!("scan {source}"), None);
        Scan {
            source,
            target,
            options: ScanOptions::default(),
            status: Arc::new(watch::channel(progress).0),
        }
    }

    /// Replaces the options (hooks added before are replaced too: add them after).
    pub fn options(mut self, options: ScanOptions) -> Scan {
        self.options = options;
        self
    }

    /// Adds a hook after the ones in the options: it sees every key.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Scan {
        self.options.writer.hooks.push(hook);
        self
    }

    /// Live status: keys copied (items) and bytes of their names.
    pub fn status(&self) -> watch::Receiver<Progress> {
        self.status.subscribe()
    }

    /// Copies every key.
    ///
    /// # Errors
    /// [`Error::Stopped`] when `shutdown` completes first; connection errors; the
    /// writer's errors (naming the key).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<ScanReport> {
        tokio::select! {
            report = self.copy() => report,
            _ = shutdown => Err(Error::Stopped),
        }
    }

    async fn copy(&self) -> Result<ScanReport> {
        let mut writer = Writer::connect(&self.target, self.options.writer.clone())
            .await
            .map_err(Error::writer(|| format!("connect to {}", self.target)))?;
        let connect = &self.options.source_connect;
        let topology = discover(&self.source, connect)
            .await
            .map_err(|e| Error::endpoint(&self.source, e))?;
        let mut progress = self.status.borrow().clone();
        for node in topology.masters() {
            let mut con = Connection::connect(&node, connect)
                .await
                .map_err(|e| Error::endpoint(&node, e))?;
            for db in databases(&mut con, &node).await? {
                if !topology.is_cluster() {
                    con.request(&["SELECT", &db.to_string()])
                        .await
                        .map_err(|e| Error::endpoint(&node, e))?;
                }
                self.copy_db(&mut con, &node, db, &mut writer, &mut progress)
                    .await?;
            }
        }
        writer
            .flush()
            .await
            .map_err(Error::writer(|| format!("copy from {}", self.source)))?;
        progress.done = true;
        self.status.send_replace(progress.clone());
        Ok(ScanReport {
            keys: progress.items,
            stats: writer.stats(),
        })
    }

    async fn copy_db(
        &self,
        con: &mut Connection,
        node: &Endpoint,
        db: u64,
        writer: &mut Writer,
        progress: &mut Progress,
    ) -> Result<()> {
        let failed = |e| Error::endpoint(node, e);
        let mut cursor = b"0".to_vec();
        loop {
            let (next, keys) = con
                .scan(&cursor, None, self.options.batch)
                .await
                .map_err(failed)?;
            for key in &keys {
                con.send(&[&b"DUMP"[..], key]);
                con.send(&[&b"PTTL"[..], key]);
            }
            con.flush().await.map_err(failed)?;
            for key in keys {
                let dump = con.read_reply().await.map_err(failed)?;
                let pttl = con.read_reply().await.map_err(failed)?;
                let refused = |command: &str, reply: &Frame| Error::Source {
                    shard: node.to_string(),
                    reason: format!(
                        "{command} of key {:?}: {}",
                        String::from_utf8_lossy(&key[..key.len().min(64)]),
                        String::from_utf8_lossy(reply.as_bytes().map_or(&[][..], |b| &b[..]))
                    ),
                };
                let (payload, pttl) = match (dump, pttl) {
                    (e, _) if e.is_error() => return Err(refused("DUMP", &e)),
                    (_, e) if e.is_error() => return Err(refused("PTTL", &e)),
                    // -2: deleted or expired since DUMP read it.
                    (Frame::BulkString(payload), Frame::Integer(pttl)) if pttl != -2 => {
                        (payload, pttl)
                    }
                    // Deleted or expired since SCAN saw it.
                    _ => continue,
                };
                writer
                    .write_dump(db, &key, payload, pttl)
                    .await
                    .map_err(Error::writer(|| format!("copy from {node}")))?;
                progress.items += 1;
                progress.bytes += key.len() as u64;
            }
            self.status.send_replace(progress.clone());
            if next == b"0" {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// The databases that hold keys (`INFO keyspace`).
async fn databases(con: &mut Connection, node: &Endpoint) -> Result<Vec<u64>> {
    let text = con
        .info("keyspace")
        .await
        .map_err(|e| Error::endpoint(node, e))?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("db")?.split(':').next()?.parse().ok())
        .collect())
}
