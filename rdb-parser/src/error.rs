//! The crate's one error type.

use std::fmt;

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A decoding failure: what went wrong, at which byte, and in which key.
///
/// `offset` is the absolute position in the input (the file, the DUMP payload or the
/// stream) where the offending item starts or where input ran out. When the fault is
/// inside a compact encoding (a ziplist, listpack, intset, zipmap or an LZF block),
/// `offset` is where that encoded value starts and [`Error::inner_offset`] locates
/// the fault inside the (decompressed) value.
#[derive(Clone, Debug)]
pub struct Error(Box<Details>);

/// Boxed so that `Result<T>` stays as small as `T` plus a word: results are returned
/// for every byte read, and a large error type would make each of them a memory copy.
#[derive(Clone, Debug)]
struct Details {
    kind: ErrorKind,
    offset: u64,
    inner_offset: Option<u64>,
    key: Option<Box<[u8]>>,
}

/// What went wrong; see [`Error::kind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before the item did. With a streaming source this only means
    /// more bytes are needed; with a complete file it means the file is truncated.
    #[error("input ends inside {expected}")]
    Incomplete {
        /// What was being read.
        expected: &'static str,
    },
    /// The input does not start with `REDIS` or `VALKEY` and a version number.
    #[error("not an RDB: expected REDIS or VALKEY and a version")]
    BadMagic,
    /// The RDB version is newer than this crate knows (or not a version at all).
    /// [`ParseOptions::lenient_version`](crate::ParseOptions::lenient_version) tries anyway.
    #[error("unsupported RDB version {0}")]
    UnsupportedVersion(u32),
    /// A type or opcode byte that no known server writes in this dialect.
    #[error("unknown type or opcode byte {0}")]
    UnknownType(u8),
    /// A value that cannot be skipped or decoded (e.g. a pre-GA `MODULE` value,
    /// whose length only its module knows).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// A length or count larger than the remaining input can hold, or beyond a limit.
    #[error("impossible {what} {len}")]
    BadLength {
        /// What the length counts.
        what: &'static str,
        /// The length found in the input.
        len: u64,
    },
    /// Bytes that do not follow the format.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// An LZF block that does not decompress to its declared length.
    #[error("corrupt LZF data: {0}")]
    Lzf(&'static str),
    /// The CRC64 footer does not match the content.
    #[error("CRC64 mismatch: stored {stored:#018x}, computed {computed:#018x}")]
    ChecksumMismatch {
        /// The checksum stored in the input.
        stored: u64,
        /// The checksum computed over the content.
        computed: u64,
    },
    /// Bytes follow the end of the RDB where none are allowed.
    #[error("bytes after the end of the RDB")]
    TrailingBytes,
    /// Something the streaming [`Reader`](crate::Reader) cannot split is larger than
    /// its buffer limit ([`Reader::max_record`](crate::Reader::max_record)).
    #[error("{what} larger than the streaming reader's {limit}-byte limit")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading the input failed (async adapters).
    #[error("read failed: {message}")]
    Io {
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The I/O error's message.
        message: String,
    },
}

impl Error {
    #[cold]
    pub(crate) fn new(kind: ErrorKind, offset: u64) -> Self {
        Error(Box::new(Details {
            kind,
            offset,
            inner_offset: None,
            key: None,
        }))
    }

    /// Re-anchors an error raised inside a compact encoding: its offset becomes the
    /// inner offset, and `value_offset` (where the encoded value starts) the offset.
    pub(crate) fn inside(mut self, value_offset: u64) -> Self {
        let d = &mut *self.0;
        if d.inner_offset.is_none() {
            d.inner_offset = Some(d.offset);
            d.offset = value_offset;
        }
        self
    }

    /// Attaches the key being decoded, unless a key is already attached.
    pub(crate) fn with_key(mut self, key: &[u8]) -> Self {
        if self.0.key.is_none() {
            self.0.key = Some(key.into());
        }
        self
    }

    /// Attaches the key stored as `key` (decompressed when needed), if any.
    pub(crate) fn with_rdb_key(self, key: Option<crate::string::RdbString<'_>>) -> Self {
        match key.map(|k| k.to_cow()) {
            Some(Ok(k)) => self.with_key(&k),
            _ => self,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Absolute byte offset in the input.
    pub fn offset(&self) -> u64 {
        self.0.offset
    }

    /// Offset inside a compact encoding (after LZF decompression), when the fault is there.
    pub fn inner_offset(&self) -> Option<u64> {
        self.0.inner_offset
    }

    /// The key being decoded, when the fault is inside a key's entry.
    pub fn key(&self) -> Option<&[u8]> {
        self.0.key.as_deref()
    }

    /// Whether the input merely ended too early (more bytes may complete it).
    pub fn is_incomplete(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Incomplete { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &*self.0;
        write!(f, "{} at byte {}", d.kind, d.offset)?;
        if let Some(inner) = d.inner_offset {
            write!(f, " (byte {inner} of the encoded value)")?;
        }
        if let Some(key) = &d.key {
            // Keys are user data: show a bounded, escaped prefix.
            const SHOWN: usize = 64;
            let shown = &key[..key.len().min(SHOWN)];
            write!(f, " in key \"{}\"", shown.escape_ascii())?;
            if key.len() > SHOWN {
                write!(f, "... ({} bytes)", key.len())?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// For readers behind `std::io` interfaces: a decoding error is `InvalidData`.
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}
