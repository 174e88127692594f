//! The crate's one error type.

use std::time::Duration;

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why replication failed or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting failed (network, TLS, timeout).
    #[error("connect: {0}")]
    Connect(#[source] endpoint::Error),
    /// The master refused the credentials.
    #[error("authentication failed: {message}")]
    AuthFailed {
        /// The master's error reply.
        message: String,
    },
    /// The user may not replicate (an ACL without `PSYNC`/`SYNC`, or a managed
    /// service that renamed or forbids them): use a `SCAN`-based copy instead.
    #[error("PSYNC not permitted: {message}")]
    PsyncNotPermitted {
        /// The master's error reply.
        message: String,
    },
    /// The master cannot serve a replica now (`LOADING`, `NOMASTERLINK`, `MASTERDOWN`);
    /// retried until the give-up time.
    #[error("master not ready: {message}")]
    MasterNotReady {
        /// The master's error reply.
        message: String,
    },
    /// The master answered a handshake command with another error.
    #[error("{command}: {message}")]
    Refused {
        /// The handshake command.
        command: &'static str,
        /// The master's error reply.
        message: String,
    },
    /// Nothing came from the master for this long (it pings every 10 s by default).
    #[error("no data from the master for {after:?}")]
    LinkTimeout {
        /// The timeout.
        after: Duration,
    },
    /// A step of the handshake (or of probing a node for its role) got no reply in
    /// time: a peer that accepts connections and never answers.
    #[error("{step} to {node}: no reply within {after:?}")]
    HandshakeTimeout {
        /// The command waiting for its reply (`PING`, `REPLCONF`, `INFO`, `PSYNC`).
        step: &'static str,
        /// The node, as `host:port`.
        node: String,
        /// The timeout.
        after: Duration,
    },
    /// None of the shard's known nodes is, or names, a reachable master (a
    /// failover not finished yet); retried until the give-up time.
    #[error("no master among {asked}: {last}")]
    NoMaster {
        /// The nodes asked, as `host:port`.
        asked: String,
        /// The last failure.
        last: String,
    },
    /// The master sent something that is not the replication protocol.
    #[error("protocol error at stream byte {offset}: {what}")]
    Protocol {
        /// Bytes received on this connection before the fault.
        offset: u64,
        /// What was wrong.
        what: String,
    },
    /// Reading from or writing to the master failed, or it closed the connection.
    #[error("link lost: {0}")]
    Link(String),
    /// Seeding a target through replication ([`crate::seed()`]) was refused or
    /// failed.
    #[error("seed: {reason}")]
    Seed {
        /// Why.
        reason: String,
    },
    /// The RDB file being seeded is corrupt (it is checked as it is sent).
    #[error(transparent)]
    Rdb(#[from] rdb_parser::Error),
    /// Reconnecting did not succeed within the give-up time.
    #[error("gave up reconnecting after {after:?}: {last}")]
    GaveUp {
        /// How long it tried.
        after: Duration,
        /// The last failure.
        last: Box<Error>,
    },
}

impl Error {
    /// Whether reconnecting may help.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect(e) => e.is_retryable(),
            Error::MasterNotReady { .. }
            | Error::LinkTimeout { .. }
            | Error::HandshakeTimeout { .. }
            | Error::NoMaster { .. }
            | Error::Link(_) => true,
            _ => false,
        }
    }

    /// Classifies an error from a handshake command.
    pub(crate) fn from_handshake(command: &'static str, e: endpoint::Error) -> Error {
        match e {
            endpoint::Error::AuthFailed { message } => Error::AuthFailed { message },
            endpoint::Error::Server { message, .. } => classify(command, message),
            endpoint::Error::Closed => Error::Link("the master closed the connection".into()),
            endpoint::Error::Io { source, .. } => Error::Link(source.to_string()),
            other => Error::Connect(other),
        }
    }
}

/// Classifies an error reply to a handshake command.
pub(crate) fn classify(command: &'static str, message: String) -> Error {
    let code = message.split_whitespace().next().unwrap_or("");
    match code {
        "NOAUTH" | "WRONGPASS" => Error::AuthFailed { message },
        "NOPERM" => Error::PsyncNotPermitted { message },
        "LOADING" | "NOMASTERLINK" | "MASTERDOWN" | "BUSY" => Error::MasterNotReady { message },
        // A renamed or disabled command.
        "ERR" if command == "PSYNC" && message.contains("unknown command") => {
            Error::PsyncNotPermitted { message }
        }
        _ => Error::Refused { command, message },
    }
}
