//! DUMP / RESTORE payloads: one value with its RDB version and checksum.
//!
//! # Wire format
//! ```text
//! [KEY_META (Redis 8.6+)]  type  value  RDB version (u16 LE)  CRC64 (u64 LE)
//! ```
//! The CRC covers everything before it, the version included; there is no magic.
//! Source: redis `src/cluster.c` (`createDumpPayload`, `verifyDumpPayload`).

use crate::checksum::crc64;
use crate::cursor::Cursor;
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Dialect, Header, MAX_REDIS_VERSION, VALKEY_VERSION};
use crate::opcode::{KeyMeta, SLOT_IMPORT_OR_KEY_META};
use crate::value::{Value, read_value};

/// Builds a payload from a type byte and value bytes, appending version and CRC64.
pub(crate) fn build_payload(type_byte: u8, value: &[u8], version: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 11);
    out.push(type_byte);
    out.extend_from_slice(value);
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A decoded `DUMP` payload.
#[derive(Clone, Debug)]
pub struct Dump<'a> {
    /// The RDB version in the footer, and the dialect it implies (80 = Valkey).
    pub header: Header,
    /// Per-key metadata (Redis 8.6+).
    pub meta: Option<KeyMeta<'a>>,
    /// The value's type byte.
    pub type_byte: u8,
    /// The value, viewed in place.
    pub value: Value<'a>,
    /// The value's bytes after the type byte.
    pub raw_value: &'a [u8],
}

/// Decodes a `DUMP` payload, verifying its footer (version and CRC64).
///
/// # Errors
/// A checksum mismatch, an unknown version, or a corrupt value.
pub fn parse_dump(payload: &[u8]) -> Result<Dump<'_>> {
    if payload.len() < 11 {
        return Err(Error::new(
            ErrorKind::Incomplete {
                expected: "a DUMP payload footer",
            },
            payload.len() as u64,
        ));
    }
    let body_len = payload.len() - 10;
    let version = u32::from(u16::from_le_bytes([
        payload[body_len],
        payload[body_len + 1],
    ]));
    let stored = u64::from_le_bytes(payload[body_len + 2..].try_into().unwrap_or_default());
    let computed = crc64(&payload[..body_len + 2]);
    if stored != computed {
        return Err(Error::new(
            ErrorKind::ChecksumMismatch { stored, computed },
            body_len as u64 + 2,
        ));
    }
    let dialect = match version {
        VALKEY_VERSION => Dialect::Valkey,
        1..=MAX_REDIS_VERSION => Dialect::Redis,
        _ => {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion(version),
                body_len as u64,
            ));
        }
    };
    let mut cur = Cursor::new(&payload[..body_len], 0);
    let mut type_byte = cur.u8("the value type")?;
    let mut meta = None;
    if type_byte == SLOT_IMPORT_OR_KEY_META && dialect == Dialect::Redis {
        meta = Some(KeyMeta::read(&mut cur, version)?);
        type_byte = cur.u8("the value type")?;
    }
    let start = cur.pos();
    let value = read_value(&mut cur, type_byte, version, dialect, None)?;
    if !cur.is_empty() {
        return Err(cur.error(ErrorKind::TrailingBytes));
    }
    Ok(Dump {
        header: Header { version, dialect },
        meta,
        type_byte,
        value,
        raw_value: cur.slice(start, body_len),
    })
}
