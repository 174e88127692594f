//! An RDB file read in place (memory-mapped): every item as a JSON line, or counts
//! per type and encoding after decoding every value.

use std::io::Write;
use std::path::Path;

use rdb_parser::{ParseOptions, Rdb};

use crate::error::{Error, Result};
use crate::json::JsonWriter;
use crate::rdb_file::map;
use crate::stats::Stats;

/// Writes the RDB file at `path` to `out` as JSON lines (see [`JsonWriter`]).
///
/// # Errors
/// [`Error::Rdb`] for a corrupt file (with the byte offset), [`Error::Io`] when the
/// file cannot be read or `out` written.
pub fn json_lines(path: &Path, options: ParseOptions, out: &mut impl Write) -> Result<()> {
    let map = map(path)?;
    let rdb = Rdb::with_options(&map, options).map_err(corrupt(path))?;
    let mut writer = JsonWriter::new();
    rdb.items()
        .try_for_each_ref(|item| writer.write_item(out, item))
        .and_then(|()| out.flush())
        .map_err(|error| Error::Io {
            what: "decode",
            path: path.to_owned(),
            error,
        })
}

/// Counts per type and encoding in the RDB file at `path`, decoding every value.
///
/// # Errors
/// [`Error::Rdb`] for a corrupt file (with the byte offset), [`Error::Io`] when the
/// file cannot be read.
pub fn stats(path: &Path, options: ParseOptions) -> Result<Stats> {
    let map = map(path)?;
    let rdb = Rdb::with_options(&map, options).map_err(corrupt(path))?;
    let mut stats = Stats::default();
    let mut scratch = Vec::new();
    rdb.items()
        .try_for_each_ref(|item| stats.add(item, &mut scratch))
        .map_err(corrupt(path))?;
    Ok(stats)
}

fn corrupt(path: &Path) -> impl FnOnce(rdb_parser::Error) -> Error {
    let context = path.display().to_string();
    move |error| Error::Rdb { context, error }
}
