//! Dev-only test kit: starts real Redis and Valkey servers for the workspace's tests.
//!
//! Every integration test in this workspace talks to real servers, never to mocks.
//! This crate starts them:
//!
//! - [`Server`]: one server of a given [`Version`] on a free `127.0.0.1` port, with
//!   its own temporary directory, a password, ACL users and any config directive
//!   ([`ServerBuilder`]). It can be killed and restarted on the same data directory,
//!   and it is stopped and cleaned up on drop, also when the test panics.
//! - [`Cluster`]: a Redis Cluster of N masters (optionally with replicas), joined
//!   with `redis-cli --cluster create`.
//! - [`write_mixed`]: many keys of every type, for benchmarks.
//! - [`write_sample`]: a small dataset with one key of each type, for sample files
//!   (`cargo run -p testkit --bin make-fixtures` regenerates the committed ones).
//! - [`Load`]: a background write load of every type, with non-idempotent commands,
//!   transactions, scripts, expiring keys and deletes, on a server or a cluster.
//! - [`Snapshot`]: every key of a server or cluster read back through commands, and
//!   [`Snapshot::diff`] to prove two deployments hold the same data.
//! - [`fuzz_corpus`]: the fuzz targets' corpora, for the tests that replay them.
//!
//! Binaries are found where `scripts/test.sh` installs them (see [`Version`]), or
//! through environment variables. A missing binary fails the test with a message
//! saying how to install it: nothing is skipped quietly.
//!
//! Failures panic: this crate exists to be called from tests, where a panic with a
//! clear message (including the tail of the server's log) is the useful outcome.
//!
//! ```no_run
//! use testkit::{Server, Version};
//!
//! let server = Server::start(Version::Redis7_0);
//! let mut con = server.client();
//! let pong: String = testkit::redis::cmd("PING").query(&mut con).unwrap();
//! assert_eq!(pong, "PONG");
//! ```
#![deny(missing_docs)]

mod cluster;
mod corpus;
mod load;
mod mixed;
mod port;
mod sample;
mod server;
mod snapshot;
mod tls;
mod version;

pub use cluster::{Cluster, ClusterBuilder};
pub use corpus::fuzz_corpus;
pub use load::{Load, LoadOptions};
pub use mixed::write_mixed;
pub use sample::{SAMPLE_EXPIRE_MS, write_sample};
pub use server::{AclUser, Server, ServerBuilder};
pub use snapshot::{Data, Entry, Snapshot};
pub use version::Version;

/// The sync Redis client the kit hands out, re-exported so tests need no extra dependency.
///
/// Tests use it as an independent oracle: data written and read through it does not
/// depend on this workspace's own codecs.
pub use redis;
