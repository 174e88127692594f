//! The workspace's pipelines as runnable programs, one binary each in `src/bin/`.
//!
//! Each program is a short `main` that parses its arguments with clap and wires the
//! library crates together. What the programs share and what is worth testing on its
//! own lives here:
//!
//! - [`json`]: RDB items as JSON lines (the `decode` program's output).
//! - [`stats`]: counts per type and encoding (`decode --stats`).
//! - [`connect`]: TLS and timeout options of the programs that connect to servers.
//! - [`options`]: how the programs that write (`restore`, `scan`, `sync`) write.
//! - [`dump`]: a server's RDB to a file, as a replica receives it (`dump`).
//! - [`restore`]: RDB and AOF files into a target (`restore`).
//! - [`scan`]: a live source copied with SCAN + DUMP into a target (`scan`).
//! - [`sync`]: a target kept identical to live sources (`sync`).
//! - [`progress`]: the programs' progress lines.
#![deny(missing_docs)]

pub mod connect;
pub mod dump;
pub mod json;
pub mod options;
pub mod progress;
pub mod restore;
pub mod scan;
pub mod stats;
pub mod sync;

/// Maps a file into memory for reading, so parsers borrow from it without copying.
///
/// # Errors
/// When the file cannot be mapped.
pub fn map(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is only read; memmap2 requires `unsafe` because another
    // process could modify the file while it is mapped, which would change what we
    // read (never memory safety of our own data structures beyond that read).
    // Populated up front: one call maps every page instead of a fault per few pages.
    unsafe { memmap2::MmapOptions::new().populate().map(file) }
}
