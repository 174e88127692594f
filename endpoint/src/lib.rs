//! Connects to Redis and Valkey servers: parses their URLs, sets up TCP or TLS, logs
//! in, exchanges commands and replies, and finds what a deployment is made of
//! (standalone, or a cluster's masters and slots).
//!
//! # Overview
//! - [`Endpoint`]: `redis://[user[:password]@]host[:port][/db]` (`rediss://` for TLS);
//!   the password is a [`Secret`] that never prints: `Display` and `Debug` show `***`.
//! - [`Connection::connect`] with [`ConnectOptions`]: TCP without Nagle delay, or TLS
//!   with rustls ([`TlsOptions`]: the server certificate is verified by default,
//!   private CAs and client certificates supported), then `AUTH` (or `HELLO 3`),
//!   `CLIENT SETNAME`, `SELECT`.
//! - [`Connection::request`] sends a command and reads its reply;
//!   [`send`](Connection::send), [`flush`](Connection::flush) and
//!   [`read_reply`](Connection::read_reply) pipeline; [`Connection::server_info`]
//!   reads the version, flavour and limits; [`Connection::into_parts`] hands the raw
//!   [`Stream`] to another protocol (replication).
//! - [`discover`]: a standalone server, or the masters of a Redis Cluster and their
//!   slots ([`Topology`]; `CLUSTER SHARDS`, `CLUSTER SLOTS` on older servers);
//!   [`slot`] and [`hash_tag`] compute a key's slot as the server does, [`slot_tag`]
//!   gives a hash tag for a chosen slot.
//! - [`Error`]: one type; authentication failures are told apart, messages name
//!   commands but never their arguments.
//!
//! # Example
//! ```no_run
//! # async fn run() -> Result<(), endpoint::Error> {
//! use endpoint::{ConnectOptions, Connection, Endpoint, TlsOptions};
//!
//! let endpoint: Endpoint = "rediss://app:secret@cache.internal:6380".parse()?;
//! let options = ConnectOptions::new().tls(TlsOptions::new().ca_file("ca.pem"));
//! let mut con = Connection::connect(&endpoint, &options).await?;
//! println!("{endpoint} runs {:?}", con.server_info().await?.version);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod connection;
mod error;
mod info;
mod slot;
mod stream;
mod tls;
mod topology;
mod url;

pub use connection::{ConnectOptions, Connection};
pub use error::{Error, Result};
pub use info::{Flavor, ServerInfo, keyspace};
pub use slot::{SLOTS, hash_tag, slot, slot_tag};
pub use stream::Stream;
pub use tls::TlsOptions;
pub use topology::{Shard, Topology, discover, shards};
pub use url::{DEFAULT_PORT, Endpoint, Secret};
