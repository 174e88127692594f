//! Writing a server's RDB to a file, as a replica receives it (the `dump` program).
//!
//! The bytes are written as the master sends them, to a temporary file renamed into
//! place at the end, and checked on the way by `rdb_parser::Reader` (structure and
//! CRC64), so a dump that completes is a complete, valid RDB.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use endpoint::{ConnectOptions, Connection, Endpoint};
use rdb_parser::Reader;
use replica_client::{Event, Replica, ReplicaOptions, masters};
use tokio::io::AsyncWriteExt;

/// What a dump wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dumped {
    /// The server dumped (its `Display` hides the password).
    pub source: String,
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The replication id and offset the RDB corresponds to.
    pub replid: String,
    /// See `replid`.
    pub offset: u64,
}

/// Dumps `source` to `out`: one file for a standalone server; for a cluster, `out`
/// is a directory that gets one file per master, named `<host>-<port>.rdb`.
/// `progress` is called with (source, bytes so far) about once a second.
///
/// # Errors
/// Connection, replication and file errors, and an RDB that fails its checks.
pub async fn dump(
    source: &Endpoint,
    out: &Path,
    connect: &ConnectOptions,
    progress: impl Fn(&str, u64) + Clone + Send + 'static,
) -> anyhow::Result<Vec<Dumped>> {
    let mut con = Connection::connect(source, connect)
        .await
        .with_context(|| format!("connect to {source}"))?;
    let info = con
        .server_info()
        .await
        .with_context(|| format!("INFO on {source}"))?;
    drop(con);
    if !info.cluster_enabled {
        return Ok(vec![dump_one(source, out, connect, progress).await?]);
    }
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let shards = masters(source, connect)
        .await
        .with_context(|| format!("find the masters of {source}"))?;
    let mut jobs = tokio::task::JoinSet::new();
    for shard in shards {
        let path = out.join(format!(
            "{}-{}.rdb",
            shard.master.host().replace(':', "_"),
            shard.master.port()
        ));
        let (connect, progress) = (connect.clone(), progress.clone());
        jobs.spawn(async move { dump_one(&shard.master, &path, &connect, progress).await });
    }
    let mut done = Vec::new();
    while let Some(result) = jobs.join_next().await {
        done.push(result.context("a dump task failed")??);
    }
    done.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(done)
}

async fn dump_one(
    source: &Endpoint,
    path: &Path,
    connect: &ConnectOptions,
    progress: impl Fn(&str, u64),
) -> anyhow::Result<Dumped> {
    let name = source.to_string();
    let options = ReplicaOptions::new()
        .connect(connect.clone())
        .rdb_only(true);
    let mut replica = Replica::start(source, options)
        .await
        .with_context(|| format!("replicate from {name}"))?;
    let tmp = path.with_extension("rdb.part");
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .with_context(|| format!("create {}", tmp.display()))?;
    let mut check = Reader::new();
    let (mut bytes, mut replid, mut offset, mut complete) = (0u64, String::new(), 0, false);
    let mut next_report = Instant::now() + Duration::from_secs(1);
    while let Some(event) = replica.next_event().await {
        match event.with_context(|| format!("replication from {name}"))? {
            Event::FullResync {
                replid: id,
                offset: at,
            } => (replid, offset) = (id, at),
            Event::RdbChunk(chunk) => {
                file.write_all(&chunk).await.context("write the dump")?;
                bytes += chunk.len() as u64;
                check.feed(&chunk);
                while check
                    .next_event()
                    .with_context(|| format!("the RDB from {name}"))?
                    .is_some()
                {}
                if Instant::now() >= next_report {
                    progress(&name, bytes);
                    next_report = Instant::now() + Duration::from_secs(1);
                }
            }
            Event::RdbEnd => complete = true,
            _ => {}
        }
    }
    check.end_input();
    while check
        .next_event()
        .with_context(|| format!("the RDB from {name}"))?
        .is_some()
    {}
    if !complete || !check.is_finished() {
        bail!("the RDB from {name} ended early after {bytes} bytes");
    }
    file.sync_all().await.context("sync the dump")?;
    drop(file);
    tokio::fs::rename(&tmp, path)
        .await
        .with_context(|| format!("rename {} to {}", tmp.display(), path.display()))?;
    progress(&name, bytes);
    Ok(Dumped {
        source: name,
        path: path.to_owned(),
        bytes,
        replid,
        offset,
    })
}
