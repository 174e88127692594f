//! Writes keys and commands into a Redis or Valkey target (standalone, cluster or
//! proxy), slot-aware and pipelined, without losing a write when a cluster moves.
//!
//! # Overview
//! - [`Writer::connect`] reads the target's version, limits and (for a cluster) its
//!   slot layout.
//! - [`Writer::write_key`] writes a key from an RDB: `RESTORE` with its stored bytes
//!   (`ABSTTL`, `IDLETIME`, `FREQ`, `REPLACE` as the policy says) when the target
//!   reads that RDB version and format and the payload fits its
//!   `proto-max-bulk-len`; otherwise plain commands (`SET`, `RPUSH`, `SADD`, `ZADD`,
//!   `HSET` + `HPEXPIREAT`, `XADD` + `XSETID` + `XGROUP` + `XCLAIM`) into a temporary
//!   key in the same slot, renamed into place at the end. Values above
//!   [`WriterOptions::large_value`] are written in bounded pieces the same way.
//!   Expired keys are skipped and counted. Values that arrive in pieces from
//!   `rdb_parser::Reader` go through [`Writer::begin_value`],
//!   [`Writer::write_piece`] and [`Writer::end_value`] the same way.
//! - [`Writer::write_command`] forwards a command of a replication stream or an AOF:
//!   routed by its keys' slot, split by slot where that keeps its meaning (`DEL`,
//!   `UNLINK`, `EXISTS`, `TOUCH`, `MSET`), `MULTI`/`EXEC` kept atomic when its keys
//!   share a slot; `SELECT` and the [`DbMap`] decide the database; database-wide
//!   commands follow [`DatabaseCommands`].
//! - Requests are queued per node and sent in batches bounded by commands and bytes
//!   ([`WriterOptions`]); every reply is matched to its request. `MOVED` updates the
//!   slot map and resends, `ASK` resends with `ASKING`, `TRYAGAIN` / `CLUSTERDOWN` /
//!   `LOADING` and lost nodes are retried, with the layout read again, for
//!   [`WriterOptions::retry_for`]. Any other error reply stops the writer with an
//!   [`Error`] naming the key and command.
//! - [`ExistingKeys`]: `Rewrite`, `Ignore` (counted), `Fail` (naming the key);
//!   [`Writer::check_empty`] checks the target holds nothing.
//! - [`Filter`]: databases, key prefixes and patterns, types, command names, or a
//!   closure; what is left out is counted.
//! - [`seed()`] loads a whole RDB file into an empty standalone target by posing as
//!   its master (`REPLICAOF`, a full resynchronization, `REPLICAOF NO ONE`): the
//!   target loads at its own start-up speed instead of taking a `RESTORE` per key.
//! - [`slot`] and [`hash_tag`]: cluster slots as the server computes them.
//!
//! # Example
//! ```no_run
//! # async fn run(file: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use key_writer::{ExistingKeys, Writer, WriterOptions};
//! use rdb_parser::{Item, Rdb};
//!
//! let target: endpoint::Endpoint = "redis://127.0.0.1:7000".parse()?;
//! let options = WriterOptions { existing: ExistingKeys::Ignore, ..WriterOptions::default() };
//! let mut writer = Writer::connect(&target, options).await?;
//! for item in Rdb::new(file)?.items() {
//!     if let Item::Key(key) = item? {
//!         writer.write_key(&key).await?;
//!     }
//! }
//! writer.flush().await?;
//! # Ok(()) }
//! ```
//!
//! The `restore` and `scan` programs in the workspace's `examples` package are built
//! on this crate.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod command;
mod error;
mod filter;
mod options;
mod pieces;
mod pipeline;
mod render;
mod seed;
mod slot;
mod topology;
mod writer;

pub use error::{Error, Result};
pub use filter::{Filter, KeyRule};
pub use options::{DatabaseCommands, DbMap, ExistingKeys, Stats, TargetMode, WriterOptions};
pub use render::ELEMENTS_PER_COMMAND;
pub use seed::{SeedOptions, Seeded, seed};
pub use slot::{SLOTS, hash_tag, slot};
pub use writer::Writer;
