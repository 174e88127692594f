//! Writes keys and commands into standalone or cluster Redis and Valkey targets.
//!
//! Status: the crate is laid out in the workspace; the writer (slot routing,
//! pipelining, RESTORE and the command fallback) is not written yet and exposes
//! no API.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
