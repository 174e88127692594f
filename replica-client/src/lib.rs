//! Acts as a replica of a Redis or Valkey server, so a program can consume the
//! server's data and then its change stream.
//!
//! Status: the crate is laid out in the workspace; the replica itself (handshake,
//! PSYNC, full and partial resync, offsets and ACKs) is not written yet and
//! exposes no API.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
