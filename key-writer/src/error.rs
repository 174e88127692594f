//! The crate's one error type.

use std::time::Duration;

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A write that failed, naming the key and command where there is one. Key names
/// are shown escaped and cut to 64 bytes; values and other arguments never.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reaching a node failed.
    #[error("{node}: {source}")]
    Connection {
        /// The node (its `Display` hides the password).
        node: String,
        /// The failure.
        #[source]
        source: endpoint::Error,
    },
    /// The target answered a write with an error (e.g. `OOM`, `READONLY`,
    /// `WRONGTYPE`, or `BUSYKEY` under the `fail` policy).
    #[error("{command} on key {key}: {message}")]
    Reply {
        /// The command name.
        command: String,
        /// The key, shown escaped.
        key: String,
        /// The error reply.
        message: String,
    },
    /// A value the target cannot take by `RESTORE` and that has no command form
    /// (a module value, hash field TTLs on a target without them).
    #[error("key {key}: {reason}")]
    Unsupported {
        /// The key, shown escaped.
        key: String,
        /// Why.
        reason: String,
    },
    /// The target stayed unreachable, or kept refusing for now (`TRYAGAIN`,
    /// `LOADING`...), longer than
    /// [`WriterOptions::retry_for`](crate::WriterOptions::retry_for).
    #[error("gave up after {after:?}: {what}")]
    GaveUp {
        /// The last failure.
        what: String,
        /// How long it was retried.
        after: Duration,
    },
    /// A command whose keys are in different slots and cannot be split.
    #[error("{command}: keys in different slots (CROSSSLOT) and the command cannot be split")]
    CrossSlot {
        /// The command name.
        command: String,
    },
    /// A command refused by the writer's rules (e.g. `FLUSHALL` without permission).
    #[error("{command}: {reason}")]
    Refused {
        /// The command name.
        command: String,
        /// Why.
        reason: String,
    },
    /// The source database has no counterpart on the target (a cluster has only db 0).
    #[error(
        "database {db} cannot be written to the target: map it (e.g. all dbs to 0) or filter it out"
    )]
    Database {
        /// The source database.
        db: u64,
    },
    /// A cluster did not settle (no node serves a slot, or redirections loop).
    #[error("cluster: {0}")]
    Cluster(String),
    /// A [`Hook`](crate::Hook) refused a key or command
    /// ([`Verdict::Refuse`](crate::Verdict::Refuse)).
    #[error("{what}: {reason}")]
    Hook {
        /// The key (shown escaped) or command, and its database.
        what: String,
        /// The hook's reason.
        reason: String,
    },
    /// Decoding a value to write it failed.
    #[error(transparent)]
    Rdb(#[from] rdb_parser::Error),
}

impl Error {
    /// A failure to reach `node`.
    pub(crate) fn connection(node: &endpoint::Endpoint, source: endpoint::Error) -> Error {
        Error::Connection {
            node: node.to_string(),
            source,
        }
    }
}

/// A key name for messages: escaped, at most 64 bytes shown.
pub(crate) fn shown(key: &[u8]) -> String {
    const SHOWN: usize = 64;
    let mut s = key[..key.len().min(SHOWN)].escape_ascii().to_string();
    if key.len() > SHOWN {
        s.push_str(&format!("... ({} bytes)", key.len()));
    }
    format!("\"{s}\"")
}
