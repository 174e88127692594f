//! The crate's one error type: what failed, and where (which source shard, target,
//! file or option).

use std::path::{Path, PathBuf};

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a pipeline stopped. Servers are named by their address (passwords never
/// appear); keys and commands by the lower crates' errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A server could not be reached, or its layout read.
    #[error("{server}: {error}")]
    Endpoint {
        /// The server (its `Display` hides the password).
        server: String,
        /// The failure.
        #[source]
        error: endpoint::Error,
    },
    /// Replication from a source shard failed, or seeding a target.
    #[error("replication from {shard}: {error}")]
    Replica {
        /// The source shard (or the seeded target).
        shard: String,
        /// The failure.
        #[source]
        error: replica_client::Error,
    },
    /// Writing to the target failed (the error names the key or command).
    #[error("{context}: {error}")]
    Writer {
        /// What was being written, and from where.
        context: String,
        /// The failure.
        #[source]
        error: key_writer::Error,
    },
    /// An RDB (a file, or one a source sent) is corrupt or truncated.
    #[error("{context}: {error}")]
    Rdb {
        /// The file or source shard.
        context: String,
        /// The failure, with its byte offset.
        #[source]
        error: rdb_parser::Error,
    },
    /// An AOF file or directory cannot be read.
    #[error("{}: {error}", path.display())]
    Aof {
        /// The file or directory.
        path: PathBuf,
        /// The failure, with its file and byte offset.
        #[source]
        error: aof::Error,
    },
    /// Reading or writing a file failed.
    #[error("{what} {}: {error}", path.display())]
    Io {
        /// What was done (`open`, `create`, `write`...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        error: std::io::Error,
    },
    /// An item of an RDB file being converted that the output's version or
    /// dialect cannot hold (a value with no form there, a function library
    /// before RDB 10, module data), and no option says to leave it out.
    #[error("{}: offset {offset}: {what}: {reason}", path.display())]
    Convert {
        /// The file read.
        path: PathBuf,
        /// Where the item starts in it.
        offset: u64,
        /// The item: `db 0, key "k"`, `function library "lib"`...
        what: String,
        /// Why it cannot be written, and the option that would leave it out.
        reason: String,
    },
    /// A source did something the pipeline cannot follow (a stream that ends, an
    /// RDB cut short).
    #[error("{shard}: {reason}")]
    Source {
        /// The source shard.
        shard: String,
        /// What happened.
        reason: String,
    },
    /// A key could not be read for a verification: a command refused (a missing
    /// permission or command), or a value that cannot be decoded.
    #[error("{side} {node}: db {db}, key {key}: {reason}")]
    Key {
        /// `source` or `target`.
        side: &'static str,
        /// The server (or file) the key was read from.
        node: String,
        /// The database.
        db: u64,
        /// The key's name, quoted (cut at 64 bytes).
        key: String,
        /// What failed.
        reason: String,
    },
    /// A database other than 0 was asked of a side that has only database 0 (a
    /// cluster, or a proxy): map the source's databases into 0, or leave them out.
    #[error("{side} {server}: has database 0 only (a cluster or a proxy), not database {db}")]
    Database {
        /// `source` or `target`.
        side: &'static str,
        /// The server.
        server: String,
        /// The database asked for.
        db: u64,
    },
    /// A side of a verification could not be followed: its cluster layout
    /// cannot be read again after a `MOVED`, or it is no longer a cluster.
    #[error("{side} {server}: {reason}")]
    Layout {
        /// `source` or `target`.
        side: &'static str,
        /// The server asked last.
        server: String,
        /// What happened.
        reason: String,
    },
    /// The options ask for something that cannot be done.
    #[error("{0}")]
    Options(String),
    /// The shutdown future completed before a pipeline that cannot stop halfway
    /// (a restore, a scan, a dump) was done.
    #[error("stopped before the end")]
    Stopped,
    /// A task of the pipeline panicked.
    #[error("a {task} task panicked: {message}")]
    Panicked {
        /// Which task.
        task: String,
        /// The panic's message.
        message: String,
    },
}

impl Error {
    /// `endpoint` failed for `server`.
    pub(crate) fn endpoint(server: &endpoint::Endpoint, error: endpoint::Error) -> Error {
        Error::Endpoint {
            server: server.to_string(),
            error,
        }
    }

    /// Writing failed; `context` says what was written from where (made only on
    /// an error: writes are the hot path).
    pub(crate) fn writer(
        context: impl FnOnce() -> String,
    ) -> impl FnOnce(key_writer::Error) -> Error {
        move |error| Error::Writer {
            context: context(),
            error,
        }
    }

    /// A fault of the RDB file at `path` (the parser's error names the offset).
    pub(crate) fn rdb_file(path: &Path) -> impl Fn(rdb_parser::Error) -> Error + use<> {
        let context = path.display().to_string();
        move |error| Error::Rdb {
            context: context.clone(),
            error,
        }
    }

    /// A task ended by a panic (or was cancelled).
    pub(crate) fn joined(task: &str, e: tokio::task::JoinError) -> Error {
        let message = match e.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into()),
            Err(e) => e.to_string(),
        };
        Error::Panicked {
            task: task.to_owned(),
            message,
        }
    }
}

/// Bytes for a detail: UTF-8 shown as it is (cut at 64 bytes), else escaped.
pub(crate) fn show(b: &[u8]) -> String {
    let cut = &b[..b.len().min(64)];
    let more = if b.len() > 64 { "..." } else { "" };
    match std::str::from_utf8(cut) {
        Ok(s) => format!("{s:?}{more}"),
        Err(_) => format!("{:?}{more}", cut.escape_ascii().to_string()),
    }
}
