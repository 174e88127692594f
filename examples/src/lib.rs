//! The workspace's pipelines as runnable programs, one binary each in `src/bin/`.
//!
//! Each program is a short `main` that parses its arguments with clap and wires the
//! library crates together. What the programs share and what is worth testing on its
//! own lives here:
//!
//! - [`json`]: RDB items as JSON lines (the `decode` program's output).
//! - [`stats`]: counts per type and encoding (`decode --stats`).
//! - [`connect`]: TLS and timeout options of the programs that connect to servers.
//! - [`dump`]: a server's RDB to a file, as a replica receives it (`dump`).
#![deny(missing_docs)]

pub mod connect;
pub mod dump;
pub mod json;
pub mod stats;
