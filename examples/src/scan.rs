//! Copying a live source with `SCAN` + `DUMP` + `PTTL` (the `scan` program): for
//! sources that forbid `PSYNC`, such as managed services. Standalone sources are
//! scanned database by database, clusters master by master.

use anyhow::{Context, bail};
use bytes::Bytes;
use endpoint::{ConnectOptions, Connection, Endpoint, masters};
use key_writer::Writer;
use resp_codec::Frame;

use crate::progress::Progress;

/// Copies every key of `source` into `writer`, `batch` keys per round trip.
///
/// Keys written meanwhile may be copied in their old or new state, or not at all if
/// created after the scan passed them: the copy is a consistent snapshot only of a
/// source that is not written to.
///
/// # Errors
/// Connection errors and the writer's errors.
pub async fn scan_copy(
    source: &Endpoint,
    connect: &ConnectOptions,
    writer: &mut Writer,
    batch: usize,
) -> anyhow::Result<u64> {
    let mut con = Connection::connect(source, connect)
        .await
        .with_context(|| format!("connect to {source}"))?;
    let info = con.server_info().await.context("INFO on the source")?;
    let nodes: Vec<Endpoint> = if info.cluster_enabled {
        masters(source, connect)
            .await
            .context("find the source's masters")?
            .into_iter()
            .map(|s| s.master)
            .collect()
    } else {
        vec![source.clone()]
    };
    let mut progress = Progress::new(format!("scan {source}"), None);
    for node in nodes {
        let mut con = Connection::connect(&node, connect)
            .await
            .with_context(|| format!("connect to {node}"))?;
        for db in databases(&mut con).await? {
            if !info.cluster_enabled {
                con.request(&["SELECT", &db.to_string()]).await?;
            }
            copy_db(&mut con, db, writer, batch.max(1), &mut progress).await?;
        }
    }
    writer.flush().await?;
    eprintln!("{}", progress.line());
    Ok(progress.items)
}

/// The databases that hold keys (`INFO keyspace`).
async fn databases(con: &mut Connection) -> anyhow::Result<Vec<u64>> {
    let reply = con.request(&["INFO", "keyspace"]).await?;
    let text = reply
        .as_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("db")?.split(':').next()?.parse().ok())
        .collect())
}

async fn copy_db(
    con: &mut Connection,
    db: u64,
    writer: &mut Writer,
    batch: usize,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let mut cursor = b"0".to_vec();
    let count = batch.to_string();
    loop {
        let reply = con
            .request(&[&b"SCAN"[..], &cursor, b"COUNT", count.as_bytes()])
            .await?;
        let Frame::Array(parts) = reply else {
            bail!("SCAN: unexpected reply")
        };
        let (Some(next), Some(Frame::Array(keys))) =
            (parts.first().and_then(|f| f.as_bytes()), parts.get(1))
        else {
            bail!("SCAN: unexpected reply")
        };
        let next = next.to_vec();
        let keys: Vec<Bytes> = keys.iter().filter_map(|k| k.as_bytes().cloned()).collect();
        for key in &keys {
            con.send(&[&b"DUMP"[..], key]);
            con.send(&[&b"PTTL"[..], key]);
        }
        con.flush().await?;
        for key in keys {
            let dump = con.read_reply().await?;
            let pttl = con.read_reply().await?;
            let (Frame::BulkString(payload), Frame::Integer(pttl)) = (dump, pttl) else {
                // Deleted or expired since SCAN saw it.
                continue;
            };
            writer.write_dump(db, &key, payload, pttl).await?;
            progress.items += 1;
            progress.bytes += key.len() as u64;
        }
        progress.tick();
        if next == b"0" {
            return Ok(());
        }
        cursor = next;
    }
}
