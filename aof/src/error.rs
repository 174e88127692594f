//! The crate's one error type.

use std::path::{Path, PathBuf};

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an AOF cannot be read, with the byte offset where it happened.
///
/// Offsets count from the start of the file being decoded (for [`AofReader`]
/// errors, the file that [`Error::File`] names), or from the start of the
/// manifest. Error messages never include payload bytes: a command may carry a
/// password.
///
/// Running out of input is not an error while more may come: the decoder returns
/// `Ok(None)`. At the end of the last file an incomplete command is not an error
/// either but an [`AofItem::Truncated`](crate::AofItem::Truncated).
///
/// [`AofReader`]: crate::AofReader
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Commands that are not valid RESP, as the server reports a bad file format;
    /// the inner error's offset is in the AOF file.
    #[error(transparent)]
    Resp(#[from] resp_codec::Error),
    /// Bytes that the AOF format does not allow where they are: an annotation line
    /// that is too long, a command with no arguments, a `SELECT` without a valid
    /// database number.
    #[error("invalid {what} at byte {offset}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Where the offending line or command starts.
        offset: u64,
    },
    /// The RDB at the start of an AOF (its preamble, or a multi-part base file) is
    /// corrupt or truncated.
    #[error("RDB preamble at byte {offset}: {source}")]
    Rdb {
        /// Where the RDB starts.
        offset: u64,
        /// What `rdb-parser` found (its offset counts from the RDB's start).
        source: rdb_parser::Error,
    },
    /// A line of a Redis 7 AOF manifest that cannot be used.
    #[error("invalid AOF manifest line {line} (byte {offset}): {what}")]
    Manifest {
        /// What is wrong.
        what: &'static str,
        /// 1-based line number.
        line: usize,
        /// Byte offset of the line in the manifest.
        offset: u64,
    },
    /// A file of a multi-part AOF that is not the last ends inside a command or a
    /// transaction: the server refuses to load it.
    #[error(
        "a file that is not the last ends inside a command or transaction: {len} bytes from byte {offset} are incomplete"
    )]
    Truncated {
        /// Where the incomplete command (or its transaction's `MULTI`) starts.
        offset: u64,
        /// How many of its bytes are present.
        len: u64,
    },
    /// A directory opened as a multi-part AOF that holds no `*.manifest` file, or
    /// several.
    #[error("{}: {manifests} *.manifest files, expected one", dir.display())]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// How many manifests it holds.
        manifests: usize,
    },
    /// An error inside one file of an AOF (or its manifest); the inner error's
    /// offset is in that file.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong there.
        source: Box<Error>,
    },
    /// Reading failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The byte offset the error refers to, when it has one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Resp(e) => e.offset(),
            Error::Invalid { offset, .. }
            | Error::Rdb { offset, .. }
            | Error::Manifest { offset, .. }
            | Error::Truncated { offset, .. } => Some(*offset),
            Error::File { source, .. } => source.offset(),
            Error::Directory { .. } | Error::Io(_) => None,
        }
    }

    /// The file the error is in, when it is about one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::File { path, .. } => Some(path),
            Error::Directory { dir, .. } => Some(dir),
            _ => None,
        }
    }

    pub(crate) fn invalid(what: &'static str, offset: u64) -> Self {
        Error::Invalid { what, offset }
    }

    /// Names the file the error happened in (once: an error that already names
    /// its file keeps it).
    pub(crate) fn in_file(self, path: &Path) -> Self {
        match self {
            e @ (Error::File { .. } | Error::Directory { .. }) => e,
            e => Error::File {
                path: path.to_path_buf(),
                source: Box::new(e),
            },
        }
    }
}
