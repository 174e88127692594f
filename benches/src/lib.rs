//! Benchmarks of the workspace's crates live in `benches/benches/`; run them with
//! `cargo bench -p benches`. Inputs are generated in the bench itself or taken from
//! the crates' test fixtures, so a run needs no server.
#![deny(missing_docs)]
