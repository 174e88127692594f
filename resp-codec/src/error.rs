//! The crate's one error type.

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A decoding, encoding or reading failure, with the byte offset where it happened.
///
/// Offsets count from the start of the stream a decoder has seen (every byte it
/// consumed before, plus the position in the current buffer). Error messages never
/// include payload bytes: a command may carry a password.
///
/// Running out of input is not an error while more may come: decoders return
/// `Ok(None)`. It becomes [`Error::Truncated`] only when the input has ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A byte that starts no RESP type where a frame must start.
    #[error("unknown RESP type byte {byte:#04x} at byte {offset}")]
    UnknownType {
        /// The byte found.
        byte: u8,
        /// Where it is.
        offset: u64,
    },
    /// Bytes that do not follow the format, e.g. a malformed length or a missing CRLF.
    #[error("invalid {what} at byte {offset}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Where the offending item starts.
        offset: u64,
    },
    /// A length or count beyond a configured [`Limits`](crate::Limits) value,
    /// rejected before anything is buffered for it.
    #[error("{what} {len} exceeds the limit of {limit} at byte {offset}")]
    TooLarge {
        /// What the length measures (`"bulk length"`, `"frame length"`, ...).
        what: &'static str,
        /// The length declared or reached.
        len: u64,
        /// The configured limit.
        limit: u64,
        /// Where the frame or item starts.
        offset: u64,
    },
    /// Aggregates nested deeper than [`Limits::with_max_depth`](crate::Limits::with_max_depth).
    #[error("aggregates nested deeper than {limit} levels at byte {offset}")]
    TooDeep {
        /// The configured limit.
        limit: usize,
        /// Where the aggregate that goes too deep starts.
        offset: u64,
    },
    /// The input ended inside a frame or command.
    #[error("input ends inside a frame: {len} bytes from byte {offset} are incomplete")]
    Truncated {
        /// Where the incomplete frame starts.
        offset: u64,
        /// How many of its bytes are present.
        len: u64,
    },
    /// A frame that has no valid encoding, e.g. a simple string containing CR or LF.
    #[error("cannot encode {what}")]
    Unencodable {
        /// What is wrong with the frame.
        what: &'static str,
    },
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The byte offset the error refers to, when it has one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::UnknownType { offset, .. }
            | Error::Invalid { offset, .. }
            | Error::TooLarge { offset, .. }
            | Error::TooDeep { offset, .. }
            | Error::Truncated { offset, .. } => Some(*offset),
            Error::Unencodable { .. } | Error::Io(_) => None,
        }
    }

    pub(crate) fn invalid(what: &'static str, offset: u64) -> Self {
        Error::Invalid { what, offset }
    }
}
