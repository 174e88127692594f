//! Writes keys and commands into a Redis or Valkey target (standalone, cluster or
//! proxy), slot-aware and pipelined, without losing a write when a cluster moves.
//!
//! # Overview
//! - [`Writer::connect`] reads the target's version, limits and (for a cluster) its
//!   slot layout.
//! - [`Writer::write_item`] and [`Writer::write_event`] take what `rdb_parser`'s
//!   `Rdb::items` and streaming `Reader` yield, as they are: keys, function
//!   libraries, and values that arrive in pieces.
//! - A key ([`Writer::write_key`]) goes as `RESTORE` with its stored bytes
//!   (`ABSTTL`, `IDLETIME`, `FREQ`, `REPLACE` as the policy says) when the target
//!   reads that RDB version and format and the payload fits its
//!   `proto-max-bulk-len`; otherwise as plain commands (`SET`, `RPUSH`, `SADD`,
//!   `ZADD`, `HSET` + `HPEXPIREAT`, `XADD` + `XSETID` + `XGROUP` + `XCLAIM`) into a
//!   temporary key in the same slot (expiring in an hour, should the build never
//!   end), renamed into place with the key's own expiry at the end. Values above
//!   [`WriterOptions::large_value`], and values in pieces, are written the same way
//!   in bounded batches. Expired keys are skipped and counted.
//! - [`Writer::write_command`] forwards a [`DbCommand`] of a replication stream or
//!   an AOF: routed by its keys' slot, split by slot where that keeps its meaning
//!   (`DEL`, `UNLINK`, `EXISTS`, `TOUCH`, `MSET`), `MULTI`/`EXEC` held until `EXEC`
//!   and kept atomic when its keys share a slot; database-wide commands follow
//!   [`DatabaseCommands`]. With [`WriterOptions::expiry_grace`] (a live sync),
//!   relative expiries are written as unix times counted from the call.
//! - [`Writer::flush`] sends what is queued, reads every reply, and returns the
//!   source offset it made durable: acknowledge that one, and no acknowledgement can
//!   come before its write.
//! - [`Hook`]s judge every key and command before it is written: keep, drop,
//!   rename, move to another database, rewrite, or refuse. [`Filter`] (databases,
//!   prefixes, patterns, types, command names) and [`DbMap`] are hooks; [`Hooks`]
//!   runs several in order.
//! - Requests are queued per node and sent in batches bounded by commands and bytes
//!   ([`WriterOptions`]); every reply is matched to its request. `MOVED` updates the
//!   slot map and resends, `ASK` resends with `ASKING`, `TRYAGAIN` / `CLUSTERDOWN` /
//!   `LOADING` and lost nodes are retried, with the layout read again, for
//!   [`WriterOptions::retry_for`]. Any other error reply stops the writer with an
//!   [`Error`] naming the key and command.
//! - [`ExistingKeys`]: `Rewrite`, `Ignore` (counted), `Fail` (naming the key);
//!   [`Writer::check_empty`] checks the target holds nothing.
//!
//! # Example
//! ```no_run
//! # async fn run(file: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use key_writer::{ExistingKeys, Filter, Writer, WriterOptions};
//! use rdb_parser::Rdb;
//!
//! let target: endpoint::Endpoint = "redis://127.0.0.1:7000".parse()?;
//! let mut options = WriterOptions { existing: ExistingKeys::Ignore, ..WriterOptions::default() };
//! options.hooks.push(Filter { prefixes: vec![b"user:".to_vec()], ..Filter::default() });
//! let mut writer = Writer::connect(&target, options).await?;
//! for item in Rdb::new(file)?.items() {
//!     writer.write_item(&item?).await?;
//! }
//! writer.flush().await?;
//! # Ok(()) }
//! ```
//!
//! The pipelines of the `migrate` crate (restore, scan, sync) are built on this
//! crate.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod batch;
mod build;
mod checkpoint;
mod command;
mod db_map;
mod error;
mod expiry;
mod filter;
pub mod hook;
mod layout;
mod op;
mod options;
mod peer;
mod pieces;
mod pipeline;
mod render;
mod retry;
mod scope;
mod transaction;
mod writer;

pub use checkpoint::{Checkpoint, CheckpointOptions, DEFAULT_CHECKPOINT_NAME};
pub use db_map::{DbMap, DbMapError};
pub use error::{Error, Result};
pub use filter::{Filter, KeyRule};
pub use hook::{CommandEdit, Hook, Hooks, KeyEdit, Verdict};
pub use options::{
    DEFAULT_IO_TIMEOUT, DatabaseCommands, ExistingKeys, Stats, TargetMode, WriterOptions,
};
pub use peer::{Conflict, Crossings, PeerOptions, REMEMBERED_FOR, Side};
pub use render::ELEMENTS_PER_COMMAND;
pub use resp_codec::DbCommand;
pub use retry::Retrying;
pub use writer::Writer;
