//! Seeding an empty standalone target with a whole RDB file by posing as its master.
//!
//! Writing keys one `RESTORE` at a time costs the target a command's work per key on
//! top of building the value; a server loading an RDB pays only the second part. So
//! for an empty standalone target that allows `REPLICAOF`, [`seed`] tells the target
//! to replicate from this process, answers its handshake with a full
//! resynchronization carrying the file byte for byte, waits until the target has
//! loaded it, and tells it `REPLICAOF NO ONE`. The target loads at its own start-up
//! speed, straight from the link (`repl-diskless-load on-empty-db` for the duration,
//! when it was `disabled`).
//!
//! What the file holds arrives unchanged: every database, functions, keys whose
//! expiry has passed (a loading replica keeps them; the promoted target expires
//! them as a master does). Filters, database mapping and existing-key policies need
//! the key-by-key path (`key_writer::Writer`).
//!
//! Source for the master's side of the exchange: redis `src/replication.c`
//! (`syncCommand`, `replicationSetupSlaveForFullResync`, `readSyncBulkPayload`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use endpoint::{ConnectOptions, Connection, Endpoint, Flavor, ServerInfo};
use rdb_parser::{Dialect, Header, Rdb, Reader};
use resp_codec::CommandCodec;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info};

use crate::error::{Error, Result};

fn connection_error(target: &Endpoint, e: endpoint::Error) -> Error {
    fail(format!("{target}: {e}"))
}

/// Options for [`seed`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SeedOptions {
    /// Where to listen for the target's replication link (default `127.0.0.1:0`, a
    /// free loopback port). The target must be able to reach it.
    pub listen: SocketAddr,
    /// The host the target is told to connect to (default: the listening address).
    pub announce: Option<String>,
    /// Have the target load straight from the link rather than through a file on
    /// its disk (default `true`; its setting is put back afterwards).
    pub diskless_load: bool,
    /// Give up when the target has not loaded the file within this time.
    pub timeout: Duration,
    /// How to connect to the target (TLS, credentials, timeouts) for the control
    /// connection. The replication link itself is plain TCP.
    pub connect: ConnectOptions,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            announce: None,
            diskless_load: true,
            timeout: Duration::from_secs(3600),
            connect: ConnectOptions::default(),
        }
    }
}

/// What a [`seed`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Seeded {
    /// Bytes of RDB sent.
    pub bytes: u64,
    /// Keys the target holds afterwards (every database).
    pub keys: u64,
}

/// Loads the RDB file at `rdb` into the empty standalone `target` through a full
/// resynchronization from this process; see the module documentation.
///
/// # Errors
/// [`Error::Rdb`] when the file is corrupt: it is checked as it is sent and the
/// link cut before a faulty record (a server that fails to load an RDB in a full
/// resynchronization exits; one whose link is cut gives up). [`Error::Seed`]
/// when the target is a cluster node, a replica, not empty, uses TLS for
/// replication, cannot read the file's RDB version, or does not load the file (its
/// log says why) within [`SeedOptions::timeout`]; connection errors.
/// The target is told `REPLICAOF NO ONE` and its setting put back in every case.
pub async fn seed(target: &Endpoint, rdb: &Path, options: &SeedOptions) -> Result<Seeded> {
    let mut file = tokio::fs::File::open(rdb)
        .await
        .map_err(|e| fail(format!("open {}: {e}", rdb.display())))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| fail(format!("stat {}: {e}", rdb.display())))?
        .len();
    let mut head = [0; Header::LEN];
    file.read_exact(&mut head)
        .await
        .map_err(|e| fail(format!("read {}: {e}", rdb.display())))?;
    let header = Rdb::new(&head)?.header();

    let mut con = Connection::connect(target, &options.connect)
        .await
        .map_err(|e| connection_error(target, e))?;
    let info = con
        .server_info()
        .await
        .map_err(|e| connection_error(target, e))?;
    check_target(&mut con, target, &info, header).await?;

    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| fail(format!("listen on {}: {e}", options.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| fail(format!("listen: {e}")))?;
    let host = options
        .announce
        .clone()
        .unwrap_or_else(|| local.ip().to_string());

    let old_load = config_get(&mut con, target, "repl-diskless-load").await?;
    let switch_load = options.diskless_load && old_load.as_deref() == Some("disabled");
    if switch_load {
        request(
            &mut con,
            target,
            &["CONFIG", "SET", "repl-diskless-load", "on-empty-db"],
        )
        .await?;
    }
    let started = Instant::now();
    let port = local.port().to_string();
    let fed = async {
        request(&mut con, target, &["REPLICAOF", &host, &port]).await?;
        info!(%target, master = %local, bytes = len, "seeding: the target replicates from us");
        feed(&listener, &mut file, len, &mut con, target, options.timeout).await
    }
    .await;
    // Whatever happened, the target is a master again with its own setting.
    let promoted = request(&mut con, target, &["REPLICAOF", "NO", "ONE"]).await;
    if switch_load {
        request(
            &mut con,
            target,
            &["CONFIG", "SET", "repl-diskless-load", "disabled"],
        )
        .await?;
    }
    fed?;
    promoted?;
    let keys = keyspace_keys(&mut con, target).await?;
    info!(%target, keys, elapsed = ?started.elapsed(), "seeding: loaded");
    Ok(Seeded { bytes: len, keys })
}

/// Refuses targets that cannot be seeded.
async fn check_target(
    con: &mut Connection,
    target: &Endpoint,
    info: &ServerInfo,
    header: Header,
) -> Result<()> {
    if info.cluster_enabled {
        return Err(fail(
            "the target is a cluster node, which cannot replicate from a standalone master; \
             write the keys with RESTORE instead"
                .into(),
        ));
    }
    if info.role != "master" {
        return Err(fail(format!("the target is a {}, not a master", info.role)));
    }
    let written_by = match header.dialect {
        Dialect::Valkey => Flavor::Valkey,
        _ => Flavor::Redis,
    };
    if !info.reads_rdb(header.version, written_by) {
        let (a, b, c) = info.version;
        return Err(fail(format!(
            "the target ({a}.{b}.{c}) cannot read RDB version {} ({:?}); write the keys \
             through commands instead",
            header.version, header.dialect
        )));
    }
    if config_get(con, target, "tls-replication").await?.as_deref() == Some("yes") {
        return Err(fail(
            "the target replicates over TLS (tls-replication yes); seeding serves plain TCP".into(),
        ));
    }
    if keyspace_keys(con, target).await? > 0 {
        return Err(fail(
            "the target is not empty (a full resynchronization would replace its data)".into(),
        ));
    }
    Ok(())
}

/// Serves the target's replication link: the handshake, the file, then pings until
/// the target reports the file loaded.
async fn feed(
    listener: &TcpListener,
    file: &mut tokio::fs::File,
    len: u64,
    con: &mut Connection,
    target: &Endpoint,
    limit: Duration,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    let (mut link, peer) = tokio::time::timeout_at(deadline, listener.accept())
        .await
        .map_err(|_| fail("the target did not connect to us in time".into()))?
        .map_err(|e| fail(format!("accept: {e}")))?;
    link.set_nodelay(true).ok();
    debug!(%peer, "seeding: the target connected");
    handshake(&mut link).await?;
    send_checked(file, len, &mut link).await?;
    // The replica acknowledges and, once loaded, times the link out without
    // traffic: ping it as a master does, and drain what it sends.
    let keepalive = tokio::spawn(async move {
        let mut buf = [0; 4096];
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                read = link.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                _ = tick.tick() => {
                    if link.write_all(b"*1\r\n$4\r\nPING\r\n").await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let waited = wait_loaded(listener, con, target, deadline).await;
    keepalive.abort();
    waited
}

/// Sends the file as the resynchronization's payload, each byte only once the
/// streaming reader has checked the record it belongs to (and the last ones once the
/// checksum matched): a server that fails to load an RDB in a full resynchronization
/// exits, while one whose link is cut mid-transfer gives up and stays up. The check
/// runs here while the target loads what it already has.
async fn send_checked(file: &mut tokio::fs::File, len: u64, link: &mut TcpStream) -> Result<()> {
    let sending = |e: std::io::Error| fail(format!("send the RDB: {e}"));
    file.seek(std::io::SeekFrom::Start(0))
        .await
        .map_err(|e| fail(format!("rewind the RDB: {e}")))?;
    link.write_all(format!("${len}\r\n").as_bytes())
        .await
        .map_err(sending)?;
    let mut reader = Reader::new();
    let mut chunk = vec![0; CHUNK];
    // Bytes read and not yet sent; they start at file offset `sent`.
    let mut unsent: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut sent = 0u64;
    let mut total = 0u64;
    while !reader.is_finished() {
        let n = file
            .read(&mut chunk)
            .await
            .map_err(|e| fail(format!("read the RDB: {e}")))?;
        total += n as u64;
        if n == 0 || total > len {
            reader.end_input();
        } else {
            reader.feed(&chunk[..n]);
            unsent.extend_from_slice(&chunk[..n]);
        }
        while reader.next_event()?.is_some() {}
        let checked = (reader.offset() - sent) as usize;
        link.write_all(&unsent[..checked]).await.map_err(sending)?;
        unsent.drain(..checked);
        sent += checked as u64;
    }
    if sent != len {
        return Err(fail(format!(
            "{} bytes follow the RDB in the file",
            len.saturating_sub(sent)
        )));
    }
    Ok(())
}

/// Bytes read from the file at a time.
const CHUNK: usize = 1 << 20;

/// Answers the replica's handshake up to its `PSYNC` (or `SYNC`), which gets a full
/// resynchronization.
async fn handshake(link: &mut TcpStream) -> Result<()> {
    let mut codec = CommandCodec::new();
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        while let Some(command) = codec
            .decode(&mut buf)
            .map_err(|e| fail(format!("the target's handshake: {e}")))?
        {
            let name = command.name().unwrap_or_default().to_ascii_uppercase();
            // The arguments are not logged: AUTH carries the target's masterauth.
            debug!(command = %String::from_utf8_lossy(&name), "seeding: handshake");
            let reply: Vec<u8> = match name.as_slice() {
                b"PING" => b"+PONG\r\n".to_vec(),
                b"PSYNC" => format!("+FULLRESYNC {} 0\r\n", replication_id()).into_bytes(),
                b"SYNC" => Vec::new(),
                _ => b"+OK\r\n".to_vec(),
            };
            link.write_all(&reply)
                .await
                .map_err(|e| fail(format!("the target's handshake: {e}")))?;
            if matches!(name.as_slice(), b"PSYNC" | b"SYNC") {
                return Ok(());
            }
        }
        let n = link
            .read_buf(&mut buf)
            .await
            .map_err(|e| fail(format!("the target's handshake: {e}")))?;
        if n == 0 {
            return Err(fail(
                "the target closed the link during the handshake".into(),
            ));
        }
    }
}

/// Polls the target until the link is up and loading is over. A second connection
/// means the target dropped the first (it could not load the file).
async fn wait_loaded(
    listener: &TcpListener,
    con: &mut Connection,
    target: &Endpoint,
    deadline: tokio::time::Instant,
) -> Result<()> {
    loop {
        let text = info_text(con, target, "replication").await?
            + &info_text(con, target, "persistence").await?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        if field("master_link_status") == Some("up")
            && field("loading") == Some("0")
            && field("master_sync_in_progress") == Some("0")
        {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            _ = listener.accept() => {
                return Err(fail(
                    "the target dropped the link and reconnected: it could not load the \
                     file (its log says why)"
                        .into(),
                ));
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(fail("the target did not load the file in time".into()));
            }
        }
    }
}

/// A replication id for the resynchronization: 40 hex digits, different per run.
fn replication_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:032x}{:08x}", std::process::id())
}

async fn request(con: &mut Connection, target: &Endpoint, args: &[&str]) -> Result<()> {
    con.request(args)
        .await
        .map(|_| ())
        .map_err(|e| connection_error(target, e))
}

async fn info_text(con: &mut Connection, target: &Endpoint, section: &str) -> Result<String> {
    con.info(section)
        .await
        .map_err(|e| connection_error(target, e))
}

/// A setting's value, or `None` when `CONFIG GET` is refused or the setting unknown.
async fn config_get(con: &mut Connection, target: &Endpoint, name: &str) -> Result<Option<String>> {
    con.config_get(name)
        .await
        .map_err(|e| connection_error(target, e))
}

/// Keys in every database, from `INFO keyspace`.
async fn keyspace_keys(con: &mut Connection, target: &Endpoint) -> Result<u64> {
    let text = info_text(con, target, "keyspace").await?;
    Ok(endpoint::keyspace(&text).into_iter().map(|(_, n)| n).sum())
}

fn fail(reason: String) -> Error {
    Error::Seed { reason }
}
