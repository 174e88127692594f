//! The workspace's pipelines as runnable programs, one binary each in `src/bin/`.
//!
//! Each program is a short `main` that parses its arguments with clap and wires the
//! library crates together; whatever is worth testing lives in the libraries.
#![deny(missing_docs)]
