//! RDB files on disk: mapped into memory so the parser borrows from them without
//! copying, and told apart from AOF files (which may start with an RDB too).

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// A file mapped into memory for reading.
#[allow(unsafe_code)]
pub(crate) fn map(path: &Path) -> Result<memmap2::Mmap> {
    let file = File::open(path).map_err(|error| Error::Io {
        what: "open",
        path: path.to_owned(),
        error,
    })?;
    // SAFETY: the mapping is only read; memmap2 requires `unsafe` because another
    // process could modify the file while it is mapped, which would change what we
    // read (never memory safety of our own data structures beyond that read).
    // Populated up front: one call maps every page instead of a fault per few pages.
    unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(|error| Error::Io {
        what: "map",
        path: path.to_owned(),
        error,
    })
}

/// Whether the file at `path` is an RDB: it starts with `REDIS` or `VALKEY` and ends
/// with the RDB (an AOF with an RDB preamble goes on with commands).
///
/// # Errors
/// When the file cannot be read.
pub fn is_rdb(path: &Path) -> Result<bool> {
    if path.is_dir() {
        return Ok(false);
    }
    let map = map(path)?;
    if !(map.starts_with(b"REDIS") || map.starts_with(b"VALKEY")) {
        return Ok(false);
    }
    // A corrupt RDB is reported by the RDB path, with its offset. After an AOF's
    // preamble come commands (or annotations); other bytes after an RDB are ignored,
    // as a server loading it ignores them.
    Ok(match rdb_parser::measure(&map) {
        Ok(len) => !matches!(map.get(len), Some(b'*' | b'#')),
        Err(_) => true,
    })
}
