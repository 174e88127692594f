//! The crate's one error type.

use std::time::Duration;

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connection failure. Messages name the command (never its arguments) and never
/// contain a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be parsed.
    #[error("bad server URL: {reason}")]
    Url {
        /// What is wrong.
        reason: &'static str,
    },
    /// A socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// Something took longer than its timeout.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What was being done.
        what: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The TLS configuration or handshake failed (e.g. an unverified certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// The server refused the credentials (`WRONGPASS`, `NOAUTH`, or `AUTH` not
    /// accepted).
    #[error("authentication failed: {message}")]
    AuthFailed {
        /// The server's error reply.
        message: String,
    },
    /// The server answered a command with an error reply.
    #[error("{command}: {message}")]
    Server {
        /// The command's name.
        command: String,
        /// The server's error reply, e.g. `LOADING Redis is loading the dataset`.
        message: String,
    },
    /// The server sent bytes that are not RESP.
    #[error("protocol error: {0}")]
    Protocol(#[from] resp_codec::Error),
    /// The server sent a reply of an unexpected shape.
    #[error("{command}: unexpected reply ({what})")]
    UnexpectedReply {
        /// The command's name.
        command: String,
        /// What was wrong with it.
        what: &'static str,
    },
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
}

impl Error {
    /// Whether trying again later may succeed: I/O errors, timeouts, a closed
    /// connection, and `LOADING`, `BUSY`, `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`
    /// replies.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Io { .. } | Error::Timeout { .. } | Error::Closed => true,
            Error::Server { message, .. } => {
                ["LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN"]
                    .iter()
                    .any(|code| message.starts_with(code))
            }
            _ => false,
        }
    }

    /// The error code of a server error reply (its first word), if this is one.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            Error::Server { message, .. } | Error::AuthFailed { message } => {
                message.split_whitespace().next()
            }
            _ => None,
        }
    }
}
