//! A server's RDB written to a file, as a replica receives it.
//!
//! The bytes are written as the master sends them, to a temporary file renamed into
//! place at the end, and checked on the way by `rdb_parser::Reader` (structure and
//! CRC64), so a dump that completes is a complete, valid RDB.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use endpoint::{ConnectOptions, Endpoint, Topology, discover};
use rdb_parser::Reader;
use replica_client::{Event, Replica, ReplicaOptions};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::error::{Error, Result};

/// What a dump wrote, per source shard. Its `Display` is the program's closing
/// line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dumped {
    /// The server dumped (its `Display` hides the password).
    pub source: String,
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The replication id the RDB corresponds to.
    pub replid: String,
    /// The replication offset the RDB corresponds to: a replica loading the file
    /// resumes with `PSYNC replid offset+1`.
    pub offset: u64,
}

impl fmt::Display for Dumped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dump: {} -> {} ({} bytes, replid {} offset {})",
            self.source,
            self.path.display(),
            self.bytes,
            self.replid,
            self.offset
        )
    }
}

/// Where a dump stands: bytes received per source shard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DumpStatus {
    /// (source shard, bytes received so far), in the order the shards were found.
    pub shards: Vec<(String, u64)>,
}

/// Writes a server's RDB to a file; for a cluster, one file per master into a
/// directory.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use migrate::Dump;
///
/// let source = "redis://127.0.0.1:6379".parse()?;
/// for dumped in Dump::new(source, "dump.rdb").run(std::future::pending()).await? {
///     println!("{dumped}");
/// }
/// # Ok(()) }
/// ```
pub struct Dump {
    source: Endpoint,
    out: PathBuf,
    connect: ConnectOptions,
    status: Arc<watch::Sender<DumpStatus>>,
}

impl fmt::Debug for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dump")
            .field("source", &self.source)
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}

impl Dump {
    /// A dump of `source` to `out`: a file for a standalone server, a directory that
    /// gets one file per master (`<host>-<port>.rdb`) for a cluster.
    pub fn new(source: Endpoint, out: impl Into<PathBuf>) -> Dump {
        Dump {
            source,
            out: out.into(),
            connect: ConnectOptions::default(),
            status: Arc::new(watch::channel(DumpStatus::default()).0),
        }
    }

    /// How to connect to the source (TLS, timeouts).
    pub fn connect(mut self, options: ConnectOptions) -> Dump {
        self.connect = options;
        self
    }

    /// Live status: bytes received per shard.
    pub fn status(&self) -> watch::Receiver<DumpStatus> {
        self.status.subscribe()
    }

    /// Dumps every shard; the files are sorted by path.
    ///
    /// # Errors
    /// [`Error::Stopped`] when `shutdown` completes first (no file is left but
    /// `.part` files); connection, replication and file errors, and an RDB that
    /// fails its checks.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<Vec<Dumped>> {
        tokio::select! {
            dumped = self.dump() => dumped,
            _ = shutdown => Err(Error::Stopped),
        }
    }

    async fn dump(&self) -> Result<Vec<Dumped>> {
        let topology = discover(&self.source, &self.connect)
            .await
            .map_err(|e| Error::endpoint(&self.source, e))?;
        let jobs: Vec<(Endpoint, PathBuf)> = match topology {
            Topology::Cluster(shards) => {
                std::fs::create_dir_all(&self.out).map_err(|error| Error::Io {
                    what: "create",
                    path: self.out.clone(),
                    error,
                })?;
                shards
                    .into_iter()
                    .map(|s| {
                        let name = format!(
                            "{}-{}.rdb",
                            s.master.host().replace(':', "_"),
                            s.master.port()
                        );
                        (s.master, self.out.join(name))
                    })
                    .collect()
            }
            _ => vec![(self.source.clone(), self.out.clone())],
        };
        self.status.send_replace(DumpStatus {
            shards: jobs.iter().map(|(s, _)| (s.to_string(), 0)).collect(),
        });
        let mut tasks = JoinSet::new();
        for (index, (source, path)) in jobs.into_iter().enumerate() {
            let (connect, status) = (self.connect.clone(), self.status.clone());
            let span = tracing::warn_span!("dump", source = %source);
            tasks.spawn(
                async move { dump_one(&source, &path, &connect, &status, index).await }
                    .instrument(span),
            );
        }
        let mut done = Vec::new();
        while let Some(result) = tasks.join_next().await {
            done.push(result.map_err(|e| Error::joined("dump", e))??);
        }
        done.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(done)
    }
}

async fn dump_one(
    source: &Endpoint,
    path: &Path,
    connect: &ConnectOptions,
    status: &watch::Sender<DumpStatus>,
    index: usize,
) -> Result<Dumped> {
    let name = source.to_string();
    let replicating = |error| Error::Replica {
        shard: name.clone(),
        error,
    };
    let options = ReplicaOptions::new()
        .connect(connect.clone())
        .rdb_only(true);
    let mut replica = Replica::start(source, options).await.map_err(replicating)?;
    let tmp = path.with_extension("rdb.part");
    let io = |what, error| Error::Io {
        what,
        path: tmp.clone(),
        error,
    };
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| io("create", e))?;
    let mut check = Reader::new();
    let corrupt = |error| Error::Rdb {
        context: format!("the RDB from {name}"),
        error,
    };
    let (mut bytes, mut replid, mut offset, mut complete) = (0u64, String::new(), 0, false);
    while let Some(event) = replica.next_event().await {
        match event.map_err(replicating)? {
            Event::FullResync {
                replid: id,
                offset: at,
            } => (replid, offset) = (id, at),
            Event::RdbChunk(chunk) => {
                file.write_all(&chunk).await.map_err(|e| io("write", e))?;
                bytes += chunk.len() as u64;
                check.feed(&chunk);
                while check.next_event().map_err(corrupt)?.is_some() {}
                status.send_modify(|s| {
                    if let Some(shard) = s.shards.get_mut(index) {
                        shard.1 = bytes;
                    }
                });
            }
            Event::RdbEnd => complete = true,
            _ => {}
        }
    }
    check.end_input();
    while check.next_event().map_err(corrupt)?.is_some() {}
    if !complete || !check.is_finished() {
        return Err(Error::Source {
            shard: name,
            reason: format!("the RDB ended early after {bytes} bytes"),
        });
    }
    file.sync_all().await.map_err(|e| io("sync", e))?;
    drop(file);
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| io("rename", e))?;
    Ok(Dumped {
        source: name,
        path: path.to_owned(),
        bytes,
        replid,
        offset,
    })
}
