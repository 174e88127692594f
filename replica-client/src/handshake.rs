//! The replica's handshake: connect, `PING`, `REPLCONF listening-port`, `REPLCONF
//! capa eof capa psync2` (and `REPLCONF version` for Valkey, `REPLCONF rdb-only`
//! for a dump), then `PSYNC` and its reply. Every step waits a bounded time: a peer
//! that accepts the connection and never answers fails the step with
//! [`Error::HandshakeTimeout`], which is retried like a lost link.
//!
//! Source: `syncWithMaster` in `replication.c`.

use std::future::Future;
use std::time::Duration;

use bytes::BytesMut;
use endpoint::{Connection, Endpoint, Flavor, Stream};
use tokio::io::{AsyncReadExt, ReadHalf, WriteHalf};

use crate::error::{Error, Result};
use crate::event::Event;
use crate::options::{ReplicaOptions, Resume};
use crate::psync::{self, PsyncReply};
use crate::stream::ReplicationStream;

/// One connection's stream, split for reading and writing.
pub(crate) struct Link {
    pub(crate) reader: ReadHalf<Stream>,
    pub(crate) writer: WriteHalf<Stream>,
    pub(crate) buf: BytesMut,
    pub(crate) stream: ReplicationStream,
    pub(crate) replid: String,
}

/// `node` without its database: the replication stream selects its own.
pub(crate) fn without_db(node: &Endpoint) -> Result<Endpoint> {
    let scheme = if node.tls() { "rediss" } else { "redis" };
    Ok(Endpoint::parse(&format!("{scheme}://{}", node.addr()))
        .map_err(Error::Connect)?
        .with_credentials(node.username(), node.password().cloned()))
}

/// Connects to `node` (bounded by the connect timeout of the options).
pub(crate) async fn connect(node: &Endpoint, options: &ReplicaOptions) -> Result<Connection> {
    Connection::connect(&without_db(node)?, &options.connect)
        .await
        .map_err(|e| Error::from_handshake("AUTH", e))
}

/// Runs `request` for the handshake step `step` on `node`, for at most `after`.
pub(crate) async fn bounded<T>(
    step: &'static str,
    node: &Endpoint,
    after: Duration,
    request: impl Future<Output = std::result::Result<T, endpoint::Error>>,
) -> Result<T> {
    match tokio::time::timeout(after, request).await {
        Ok(reply) => reply.map_err(|e| Error::from_handshake(step, e)),
        Err(_) => Err(Error::HandshakeTimeout {
            step,
            node: node.addr(),
            after,
        }),
    }
}

/// Connects to `master` and runs the handshake up to the start of the stream:
/// `PSYNC` with `resume` if given, else a full resync.
pub(crate) async fn handshake(
    master: &Endpoint,
    options: &ReplicaOptions,
    resume: Option<Resume>,
) -> Result<(Link, Event)> {
    let mut con = connect(master, options).await?;
    let after = options.handshake_timeout;
    bounded("PING", master, after, con.request(&["PING"])).await?;
    let port = options.listening_port.to_string();
    bounded(
        "REPLCONF",
        master,
        after,
        con.request(&["REPLCONF", "listening-port", &port]),
    )
    .await?;
    bounded(
        "REPLCONF",
        master,
        after,
        con.request(&["REPLCONF", "capa", "eof", "capa", "psync2"]),
    )
    .await?;
    // Valkey 9 sends its own RDB format (`VALKEY080`, which rdb-parser reads) only to
    // replicas that say their version; otherwise it falls back to RDB 11.
    match bounded("INFO", master, after, con.server_info()).await {
        Ok(info) if info.flavor == Flavor::Valkey => {
            let (a, b, c) = info.version;
            let version = format!("{a}.{b}.{c}");
            let args = ["REPLCONF", "version", &version];
            // A refusal only costs the newer RDB format; silence is a dead peer.
            if let Err(e @ Error::HandshakeTimeout { .. }) =
                bounded("REPLCONF", master, after, con.request(&args)).await
            {
                return Err(e);
            }
        }
        Err(e @ Error::HandshakeTimeout { .. }) => return Err(e),
        _ => {}
    }
    if options.rdb_only {
        // Older masters do not know it; the replica then ends after the RDB anyway.
        let replconf = con.request(&["REPLCONF", "rdb-only", "1"]);
        match bounded("REPLCONF", master, after, replconf).await {
            Err(e @ Error::HandshakeTimeout { .. }) => return Err(e),
            Err(e) => tracing::debug!(master = %master, error = %e, "REPLCONF rdb-only refused"),
            Ok(_) => {}
        }
    }
    match &resume {
        Some((replid, offset, _)) => con.send(&["PSYNC", replid, &(offset + 1).to_string()]),
        None => con.send(&["PSYNC", "?", "-1"]),
    }
    bounded("PSYNC", master, after, con.flush()).await?;
    let (stream, mut buf) = con.into_parts();
    let (mut reader, writer) = tokio::io::split(stream);
    // The master may take a while to start a full resync (a save in progress); it
    // sends newlines meanwhile, so each read waits at most the link timeout.
    let reply = loop {
        if let Some(reply) = psync::read_reply(&mut buf)? {
            break reply;
        }
        let read = tokio::time::timeout(options.link_timeout, reader.read_buf(&mut buf)).await;
        match read {
            Err(_) => {
                return Err(Error::HandshakeTimeout {
                    step: "PSYNC",
                    node: master.addr(),
                    after: options.link_timeout,
                });
            }
            Ok(Ok(0)) => return Err(Error::Link("the master closed the connection".into())),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(Error::Link(e.to_string())),
        }
    };
    let (stream, replid, first) = match reply {
        PsyncReply::Full { replid, offset } => {
            tracing::info!(master = %master, %replid, offset, "full resync");
            let first = Event::FullResync {
                replid: replid.clone(),
                offset,
            };
            (ReplicationStream::full(offset), replid, first)
        }
        PsyncReply::Continue { replid: new } => {
            let Some((old, offset, db)) = resume else {
                return Err(Error::Protocol {
                    offset: 0,
                    what: "+CONTINUE in answer to a PSYNC that asked for a full resync".into(),
                });
            };
            let replid = new.unwrap_or(old);
            tracing::info!(master = %master, %replid, offset, "partial resync");
            let first = Event::Continue {
                replid: replid.clone(),
                offset,
            };
            (ReplicationStream::commands(offset, db), replid, first)
        }
    };
    Ok((
        Link {
            reader,
            writer,
            buf,
            stream,
            replid,
        },
        first,
    ))
}
