//! Speaks Redis replication: acts as a replica of a Redis or Valkey server, so a
//! program can consume the server's data (the RDB of a full resync) and then its
//! change stream (the commands), with offsets tracked exactly and resumption after
//! disconnects; and seeds an empty server with an RDB file by acting as its master.
//!
//! # Overview
//! - [`Replica::start`] connects (TCP or TLS, password or ACL user, through the
//!   `endpoint` crate), runs the handshake (`PING`, `REPLCONF listening-port`,
//!   `REPLCONF capa eof capa psync2`, `PSYNC`) and spawns a task that reads the
//!   stream. [`Replica::next_event`] yields [`Event`]s: [`Event::FullResync`] or
//!   [`Event::Continue`], the RDB as [`Event::RdbChunk`]s (disk-based `$len` and
//!   diskless `$EOF:` framing, never buffered whole: feed them to
//!   `rdb_parser::Reader`), then [`Event::Command`]s, each with its database and the
//!   replication offset after it.
//! - [`Replica::ack`] confirms what the consumer applied; `REPLCONF ACK` reports it
//!   every second, and `REPLCONF GETACK` is answered at once. The task acknowledges
//!   even while the consumer is busy, so the master does not time the link out.
//! - While the consumer is busy during the RDB, the task keeps reading and spools
//!   the RDB bytes to a temporary file (memory stays bounded by
//!   [`ReplicaOptions::queue`] events): a diskless master cuts a replica that stops
//!   reading for `repl-timeout`. After the RDB, backpressure stops reading instead;
//!   ACKs keep the link alive.
//! - A dropped link is resumed with `PSYNC <replid> <offset+1>`, retried 100 ms to
//!   30 s apart for up to 4 hours by default ([`ReplicaOptions::give_up_after`]);
//!   the consumer sees [`Event::Continue`] or, when the master's backlog no longer
//!   has the bytes, [`Event::FullResync`]. A link cut during an RDB asks for a new
//!   one. Every handshake step is bounded ([`ReplicaOptions::handshake_timeout`]).
//!   [`Replica::link_state`] says whether the link is up or being re-established
//!   ([`Reconnecting`]: since when, attempts, last error). A restarted program
//!   resumes with [`ReplicaOptions::resume`].
//! - [`ReplicaOptions::failover`] names the shard's other nodes: after a lost link
//!   the replica continues from whichever is master now (a promoted replica keeps
//!   the old replication id, so the stream continues with a partial resync).
//! - [`ReplicaOptions::rdb_only`] fetches just the RDB (a dump); `endpoint::discover`
//!   finds the masters of a cluster, to run one replica per shard.
//! - [`seed()`] plays the other side: it poses as the master of an empty standalone
//!   server and sends it a whole RDB file as a full resynchronization, so the
//!   server loads it at its own start-up speed.
//! - [`Error`] tells authentication failures, a forbidden `PSYNC`, a loading master,
//!   link and handshake timeouts, a shard without a reachable master and protocol
//!   errors (with their offset) apart.
//!
//! # Example
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use replica_client::{Event, Replica, ReplicaOptions};
//!
//! let master: endpoint::Endpoint = "redis://:secret@127.0.0.1:6379".parse()?;
//! let mut replica = Replica::start(&master, ReplicaOptions::new()).await?;
//! while let Some(event) = replica.next_event().await {
//!     if let Event::Command(command) = event? {
//!         println!("db {} {} (offset {})", command.db, command.name(), command.offset);
//!         replica.ack(command.offset);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The `migrate` crate's `Dump` and `Sync` pipelines are built on this crate.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod backoff;
mod error;
mod event;
mod failover;
mod handshake;
mod link;
mod options;
mod psync;
mod replica;
mod seed;
mod stream;

pub use error::{Error, Result};
pub use event::Event;
pub use link::{LinkState, Reconnecting};
pub use options::{DEFAULT_GIVE_UP_AFTER, ReplicaOptions};
pub use replica::Replica;
pub use resp_codec::DbCommand;
pub use seed::{SeedOptions, Seeded, seed};
