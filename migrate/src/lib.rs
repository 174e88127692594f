//! The migration pipelines as a library: keep a target in sync with live sources,
//! restore backups, dump a server's RDB, copy key by key with `SCAN`, prove that a
//! target holds what its source holds, and read RDB files, each as one call with
//! typed errors, live status and your own hook over every key and command.
//!
//! # Overview
//! - [`Sync`]: full sync, then the live stream, one replica per source shard
//!   (standalone sources, or every master of a cluster), several sources merged
//!   into one target; offsets acknowledged only once the target holds the writes.
//!   [`Cutover`] checks whether the target holds everything the sources
//!   have: the moment to move clients over. [`TwoWay`] keeps two deployments
//!   in sync with each other, both taking writes, without loops.
//! - [`Restore`]: RDB files (several at once with `jobs`), AOF files and
//!   multi-part AOF directories into a standalone, cluster or proxy target; or one
//!   RDB file loaded by an empty target itself through replication (`seed`).
//! - [`Dump`]: a server's RDB to a file (one per master for a cluster), checked as
//!   it arrives.
//! - [`Scan`]: a live copy with `SCAN` + `DUMP` + `RESTORE`, for sources that
//!   forbid `PSYNC`.
//! - [`Verify`]: proves that a target holds what its source (live, or an RDB
//!   file) holds: every key in scope compared both ways (missing, extra, type,
//!   time to live, and by [`VerifyMode`] each value, large ones in pieces), in
//!   rounds, so that writes still in flight through a running sync are not
//!   reported; each [`Difference`] is a JSON line.
//! - [`Convert`]: an RDB file rewritten for another server (an older Redis RDB
//!   version, values re-encoded where theirs is newer; or Valkey 9's format),
//!   which loads it at start-up; with the same filter, database map and hooks.
//! - [`decode`]: an RDB file as JSON lines, counts per type and encoding, or each
//!   key's memory on the server that wrote it ([`decode::memory`], [`Estimator`]).
//! - [`Precheck`]: before a job, whether it can succeed, as [`Finding`]s.
//! - A [`Hook`] sees every key and command before it is written and may keep,
//!   drop, rename, move it to another database, rewrite it, or stop the copy.
//!   Filters ([`Filter`]) and database mapping ([`DbMap`]) are hooks too.
//! - Each pipeline owns its run loop: `run(shutdown)` takes a future that says when
//!   to stop, and `status()` gives a `tokio::sync::watch` receiver of its live
//!   status, whose `Display` is the programs' progress line. [`Error`] is the one
//!   error type.
//!
//! # A sync with your own hook
//! Sessions stay behind; users move under a new prefix, in the snapshot and in
//! the live stream alike.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use testkit::{Server, Version, redis};
//! # let (source_server, target_server) = (Server::start(Version::Redis7_0), Server::start(Version::Redis7_0));
//! # let (source_url, target_url) = (source_server.url(), target_server.url());
//! # redis::cmd("MSET").arg(&["user:1", "ada", "session:1", "x"]).query::<()>(&mut source_server.client())?;
//! # let (mut source, mut target) = (source_server.client(), target_server.client());
//! # let shutdown = async move {
//! #     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
//! #     let mut wait_for = async |k: &str| while !redis::cmd("EXISTS").arg(k).query::<bool>(&mut target).unwrap() {
//! #         assert!(std::time::Instant::now() < deadline, "{k} never reached the target");
//! #         tokio::time::sleep(std::time::Duration::from_millis(20)).await;
//! #     };
//! #     wait_for("people:1").await;
//! #     redis::cmd("SET").arg(&["session:2", "y"]).query::<()>(&mut source).unwrap();
//! #     redis::cmd("SET").arg(&["user:2", "grace"]).query::<()>(&mut source).unwrap();
//! #     wait_for("people:2").await;
//! # };
//! use bytes::Bytes;
//! use migrate::{CommandEdit, Hook, KeyEdit, Sync, Verdict};
//!
//! struct Migration;
//!
//! fn renamed(key: &[u8]) -> Option<Bytes> {
//!     let id = key.strip_prefix(b"user:")?;
//!     Some([&b"people:"[..], id].concat().into())
//! }
//!
//! impl Hook for Migration {
//!     fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
//!         if key.name.starts_with(b"session:") {
//!             return Verdict::Drop;
//!         }
//!         if let Some(name) = renamed(&key.name) {
//!             key.name = name;
//!         }
//!         Verdict::Keep
//!     }
//!
//!     fn command(&self, command: &mut CommandEdit) -> Verdict {
//!         for i in command.key_indexes() {
//!             if command.args[i].starts_with(b"session:") {
//!                 return Verdict::Drop;
//!             }
//!             if let Some(name) = renamed(&command.args[i]) {
//!                 command.args[i] = name;
//!             }
//!         }
//!         Verdict::Keep
//!     }
//! }
//!
//! let sync = Sync::new([source_url.parse()?], target_url.parse()?).hook(Migration);
//! let mut status = sync.status();
//! tokio::spawn(async move {
//!     while status.changed().await.is_ok() {
//!         for shard in &status.borrow().shards {
//!             eprintln!("{shard}");
//!         }
//!     }
//! });
//! // `shutdown` is any future: Ctrl-C, a cutover signal...
//! let report = sync.run(shutdown).await?;
//! print!("{report}");
//! # let mut target = redis::Client::open(target_url)?.get_connection()?;
//! # let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut target)?;
//! # assert_eq!(keys.len(), 3, "two users and the sync's checkpoint: {keys:?}");
//! # assert_eq!(redis::cmd("GET").arg("people:2").query::<String>(&mut target)?, "grace");
//! # Ok(()) }
//! ```
//!
//! # A restore
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use testkit::{Server, Version, redis};
//! # let (source, target_server) = (Server::start(Version::Redis7_0), Server::start(Version::Redis7_0));
//! # testkit::write_mixed(&mut source.client(), 500);
//! # let (backup, target_url) = (source.save(), target_server.url());
//! use migrate::{ExistingKeys, Restore, RestoreOptions};
//!
//! let mut options = RestoreOptions::default();
//! options.writer.existing = ExistingKeys::Ignore;
//! options.check_empty = true;
//! let report = Restore::new(target_url.parse()?, [backup])
//!     .options(options)
//!     .run(std::future::pending())
//!     .await?;
//! print!("{report}");
//! # assert_eq!(report.stats.keys_restored, redis::cmd("DBSIZE").query::<u64>(&mut source.client())?);
//! # Ok(()) }
//! ```
//!
//! # A verification
//! Whatever the sync was told (filters, database mapping, its expiry grace), the
//! verification is told too, so that exactly what was synced is compared. Extra
//! keys on the target are looked for by inverting the filter and the database
//! mapping; with a hook of yours (a renaming cannot be inverted) they are not,
//! and the report says so (`extra_keys_checked: false`).
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use testkit::{Server, Version, redis};
//! # let (source, target) = (Server::start(Version::Redis7_0), Server::start(Version::Valkey9_1));
//! # testkit::write_mixed(&mut source.client(), 300);
//! # migrate::Scan::new(source.url().parse()?, target.url().parse()?).run(std::future::pending()).await?;
//! # redis::cmd("SET").arg("key:00000002").arg("changed").query::<()>(&mut target.client())?;
//! # let (source_url, target_url) = (source.url(), target.url());
//! # use migrate::DifferenceKind;
//! use migrate::{Verify, VerifyMode, VerifyOptions, VerifySource};
//!
//! let mut options = VerifyOptions::default();
//! options.mode = VerifyMode::Full;
//! # options.rounds = 2;
//! let report = Verify::new(VerifySource::Live(source_url.parse()?), target_url.parse()?)
//!     .options(options)
//!     .run(std::future::pending())
//!     .await?;
//! report.write_json(&mut std::io::stdout())?;
//! # assert_eq!(report.counts()[&DifferenceKind::Value], 1);
//! # Ok(()) }
//! ```
//!
//! # Features
//! - `cli`: the programs' command-line options as clap `Args` ([`cli::WriteArgs`],
//!   [`cli::ConnectArgs`]), logging, the Ctrl-C future and the status printer.
//!
//! The workspace's `examples` package holds the programs built on this crate
//! (`decode`, `dump`, `restore`, `scan`, `sync`, `verify`), each a short `main`.
#![deny(missing_docs)]
#![deny(unsafe_code)]

#[cfg(feature = "cli")]
pub mod cli;
mod compare;
mod convert;
mod cutover;
pub mod decode;
mod difference;
mod dump;
mod error;
mod fan_out;
mod json;
mod library;
mod memory;
mod memory_report;
mod precheck;
mod progress;
mod rate;
mod rdb_file;
mod restore;
mod scan;
mod seen;
mod shard;
mod side;
mod stats;
mod sync;
mod two_way;
mod verify;

pub use compare::{PIECE, PIECE_BYTES};
pub use convert::{Convert, ConvertOptions, ConvertReport};
pub use cutover::{Cutover, CutoverReport, ShardCutover};
pub use difference::{Difference, DifferenceKind, Subject};
pub use dump::{Dump, DumpStatus, Dumped};
pub use error::{Error, Result};
pub use json::JsonWriter;
pub use memory::{Allocator, Estimator, KeyMemory, MemoryLayout};
pub use memory_report::{MemoryFormat, MemoryReport, MemoryTotal};
pub use precheck::{Finding, Precheck, PrecheckOptions, Severity};
pub use progress::Progress;
pub use rdb_file::is_rdb;
pub use restore::{AOF_EXPIRY_GRACE, Restore, RestoreOptions, RestoreReport, RestoreStatus};
pub use scan::{Scan, ScanOptions, ScanReport};
pub use shard::{OnFullResync, RdbDone, ShardStatus};
pub use stats::{Stats, Tally};
pub use sync::{
    DEFAULT_TARGET_RETRY_FOR, Sync, SyncOptions, SyncReport, SyncStatus, remove_checkpoints,
};
pub use two_way::{TwoWay, write_conflict};
pub use verify::{Verify, VerifyMode, VerifyOptions, VerifyReport, VerifySource, VerifyStatus};

pub use endpoint::{ConnectOptions, Endpoint};
pub use key_writer::{
    Checkpoint, CommandEdit, Conflict, DEFAULT_CHECKPOINT_NAME, DatabaseCommands, DbCommand, DbMap,
    ExistingKeys, Filter, Hook, Hooks, KeyEdit, Side, TargetMode, Verdict, WriterOptions,
};
pub use replica_client::{DEFAULT_GIVE_UP_AFTER, Reconnecting, SeedOptions};
