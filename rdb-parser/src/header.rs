//! The magic and version at the start of every RDB file.
//!
//! # Wire format
//! ```text
//! "REDIS" + 4 ASCII digits      Redis, and Valkey up to 8.1 (RDB 1..=12 and later)
//! "VALKEY" + 3 ASCII digits     Valkey 9.0+ (RDB 80)
//! ```
//! Source: redis `src/rdb.c` (`rdbLoadRioWithLoadingCtx`), valkey `src/rdb.c`.

use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};

/// The newest Redis RDB version this crate knows (Redis 8.8).
pub const MAX_REDIS_VERSION: u32 = 14;
/// The Valkey RDB version written with the `VALKEY` magic (Valkey 9.0 and 9.1).
pub const VALKEY_VERSION: u32 = 80;

/// Which server family wrote the file; decides what the clashing codes mean.
///
/// Type byte 22 is Redis `HASH_METADATA_PRE_GA` but Valkey `HASH_2`; opcode 243 is
/// Redis `KEY_META` but Valkey `SLOT_IMPORT`. The magic decides: a `VALKEY` magic means
/// the Valkey meanings, a `REDIS` magic the Redis ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// `REDIS` magic: Redis, and Valkey up to 8.1 (which write RDB 11 in Redis' format).
    Redis,
    /// `VALKEY` magic: Valkey 9.0 and later.
    Valkey,
}

/// The RDB header: format version and dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// The RDB format version (1 to 14 for Redis files, 80 for Valkey 9).
    pub version: u32,
    /// The dialect chosen by the magic.
    pub dialect: Dialect,
}

impl Header {
    /// Length of the header in bytes (the same for both magics).
    pub const LEN: usize = 9;

    /// Reads the 9-byte header; `lenient` accepts versions newer than this crate knows.
    pub(crate) fn read(cur: &mut Cursor<'_>, lenient: bool) -> Result<Header> {
        let start = cur.pos();
        let magic = cur.take(Self::LEN as u64, "the RDB header")?;
        let (dialect, digits) = if let Some(d) = magic.strip_prefix(b"REDIS") {
            (Dialect::Redis, d)
        } else if let Some(d) = magic.strip_prefix(b"VALKEY") {
            (Dialect::Valkey, d)
        } else {
            return Err(cur.error_at(ErrorKind::BadMagic, start));
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(cur.error_at(ErrorKind::BadMagic, start));
        }
        let version = digits
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        let known = match dialect {
            Dialect::Redis => (1..=MAX_REDIS_VERSION).contains(&version),
            Dialect::Valkey => version == VALKEY_VERSION,
        };
        if version == 0 || (!known && !lenient) {
            return Err(cur.error_at(ErrorKind::UnsupportedVersion(version), start));
        }
        Ok(Header { version, dialect })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], lenient: bool) -> Result<Header> {
        Header::read(&mut Cursor::new(bytes, 0), lenient)
    }

    #[test]
    fn magics_and_versions() {
        let h = read(b"REDIS0011", false).unwrap();
        assert_eq!((h.version, h.dialect), (11, Dialect::Redis));
        let h = read(b"VALKEY080", false).unwrap();
        assert_eq!((h.version, h.dialect), (80, Dialect::Valkey));
        let h = read(b"REDIS0001", false).unwrap();
        assert_eq!(h.version, 1);
    }

    #[test]
    fn unknown_versions_need_lenient_mode() {
        let e = read(b"REDIS0015", false).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::UnsupportedVersion(15));
        assert_eq!(read(b"REDIS0015", true).unwrap().version, 15);
        let e = read(b"VALKEY081", false).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::UnsupportedVersion(81));
        assert!(read(b"REDIS0000", true).is_err());
    }

    #[test]
    fn bad_magic_and_truncation() {
        assert_eq!(
            read(b"RADIS0011", false).unwrap_err().kind(),
            &ErrorKind::BadMagic
        );
        assert_eq!(
            read(b"REDIS00x1", false).unwrap_err().kind(),
            &ErrorKind::BadMagic
        );
        assert!(read(b"REDIS001", false).unwrap_err().is_incomplete());
    }
}
