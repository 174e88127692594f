//! What an AOF holds, item by item: an RDB, commands, and maybe an incomplete end.

use std::path::PathBuf;

use bytes::Bytes;
use resp_codec::DbCommand;

/// One item of an AOF, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AofItem {
    /// An RDB: the preamble of an AOF file, or a multi-part base `.rdb` file. The
    /// bytes run from the magic through the checksum; decode them with
    /// `rdb_parser::Rdb::new`.
    Rdb(Bytes),
    /// A command, with the database of the last `SELECT` before it in its file
    /// (`SELECT`s are consumed, not yielded) and the AOF offset just after it.
    /// `MULTI` and `EXEC` are commands like the others.
    Command(DbCommand),
    /// The last file ends with an incomplete command or transaction.
    Truncated(Truncation),
}

/// The incomplete end of an AOF: what the server drops when it loads the file
/// (with `aof-load-truncated yes`, the default).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncation {
    /// The file, when reading files.
    pub path: Option<PathBuf>,
    /// Where the dropped part starts in the file.
    pub offset: u64,
    /// Its length: up to the end of the file.
    pub len: u64,
    /// Whether the dropped part starts with a `MULTI` whose `EXEC` is missing.
    /// The transaction's commands were delivered before the end was reached; the
    /// server would not apply them (replaying over a connection that then closes
    /// has the same effect: the server discards the open transaction).
    pub in_transaction: bool,
}
