//! The variable-length integer that prefixes strings and counts.
//!
//! # Wire format
//! ```text
//! 00xxxxxx                 6-bit length
//! 01xxxxxx yyyyyyyy        14-bit length, big-endian
//! 0x80 + u32 BE            32-bit length
//! 0x81 + u64 BE            64-bit length (RDB >= 8)
//! 10xxxxxx + u32 BE        32-bit length, any low bits (RDB <= 7 readers accept it)
//! 11xxxxxx                 not a length: a special string encoding (see `string`)
//! ```
//! Source: redis `src/rdb.c` (`rdbLoadLenByRef`), `src/rdb.h` (`RDB_6BITLEN`...).

use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};

/// A decoded length prefix: a length, or the 6-bit code of a special string encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Length {
    Len(u64),
    Special(u8),
}

/// Reads a length prefix; `version` decides whether loose 32-bit prefixes are allowed.
#[inline]
pub(crate) fn read_length(
    cur: &mut Cursor<'_>,
    version: u32,
    what: &'static str,
) -> Result<Length> {
    let first = cur.u8(what)?;
    Ok(match first >> 6 {
        0 => Length::Len(u64::from(first & 0x3f)),
        1 => {
            let second = cur.u8(what)?;
            Length::Len((u64::from(first & 0x3f) << 8) | u64::from(second))
        }
        3 => Length::Special(first & 0x3f),
        _ => match first {
            0x80 => Length::Len(u64::from(cur.u32_be(what)?)),
            0x81 => Length::Len(cur.u64_be(what)?),
            _ if version <= 7 => Length::Len(u64::from(cur.u32_be(what)?)),
            _ => {
                return Err(cur.error_at(ErrorKind::Invalid("length encoding"), cur.pos() - 1));
            }
        },
    })
}

/// The 1- and 2-byte length forms (6 and 14 bits) at the start of `bytes`: the
/// length and the prefix's size; `None` for any other form or when cut short, which
/// [`read_length`] then reads or reports. For inline fast paths.
#[inline(always)]
pub(crate) fn short_length(bytes: &[u8]) -> Option<(u64, usize)> {
    match *bytes {
        [first @ 0..=0x3F, ..] => Some((u64::from(first), 1)),
        [first @ 0x40..=0x7F, second, ..] => {
            Some(((u64::from(first & 0x3F) << 8) | u64::from(second), 2))
        }
        _ => None,
    }
}

/// Reads a plain length (a special encoding here is an error).
#[inline]
pub(crate) fn read_len(cur: &mut Cursor<'_>, version: u32, what: &'static str) -> Result<u64> {
    let start = cur.pos();
    match read_length(cur, version, what)? {
        Length::Len(n) => Ok(n),
        Length::Special(_) => Err(cur.error_at(ErrorKind::Invalid(what), start)),
    }
}

/// Reads a count of items, each taking at least `min_item_size` bytes, and rejects
/// counts the remaining input cannot hold (so hostile counts never size anything).
pub(crate) fn read_count(
    cur: &mut Cursor<'_>,
    version: u32,
    min_item_size: u64,
    what: &'static str,
) -> Result<u64> {
    let start = cur.pos();
    let n = read_len(cur, version, what)?;
    if n.saturating_mul(min_item_size) > cur.remaining() as u64 {
        let kind = if cur.is_partial() {
            ErrorKind::Incomplete { expected: what }
        } else {
            ErrorKind::BadLength { what, len: n }
        };
        return Err(cur.error_at(kind, start));
    }
    Ok(n)
}

/// Appends a length prefix in the smallest form (the encoder side: payloads
/// re-encoded for older servers, and tests).
pub(crate) fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_form() {
        let cases: &[(&[u8], u64)] = &[
            (&[0x05], 5),
            (&[0x3f], 63),
            (&[0x40, 0x40], 64),
            (&[0x7f, 0xff], 16383),
            (&[0x80, 0, 0, 0x40, 0], 16384),
            (&[0x81, 0, 0, 0, 1, 0, 0, 0, 0], 1 << 32),
        ];
        for (bytes, n) in cases {
            let mut cur = Cursor::new(bytes, 0);
            assert_eq!(read_len(&mut cur, 10, "len").unwrap(), *n);
            assert!(cur.is_empty());
        }
    }

    #[test]
    fn loose_32_bit_form_only_in_old_versions() {
        let bytes = [0x85, 0, 0, 1, 0];
        assert_eq!(
            read_len(&mut Cursor::new(&bytes, 0), 7, "len").unwrap(),
            256
        );
        assert!(read_len(&mut Cursor::new(&bytes, 0), 8, "len").is_err());
    }

    #[test]
    fn special_and_truncated() {
        assert_eq!(
            read_length(&mut Cursor::new(&[0xc3], 0), 9, "len").unwrap(),
            Length::Special(3)
        );
        assert!(read_len(&mut Cursor::new(&[0xc0], 0), 9, "len").is_err());
        assert!(
            read_len(&mut Cursor::new(&[0x81, 0], 0), 9, "len")
                .unwrap_err()
                .is_incomplete()
        );
    }

    #[test]
    fn hostile_count_rejected() {
        let bytes = [0x80, 0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        let e = read_count(&mut Cursor::new(&bytes, 0), 9, 1, "set size").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::BadLength { .. }));
    }

    proptest! {
        #[test]
        fn round_trip(n in any::<u64>()) {
            let mut out = Vec::new();
            write_len(&mut out, n);
            let mut cur = Cursor::new(&out, 0);
            prop_assert_eq!(read_len(&mut cur, 10, "len").unwrap(), n);
            prop_assert!(cur.is_empty());
        }

        #[test]
        fn short_forms_agree_with_read_length(bytes in prop::collection::vec(any::<u8>(), 0..4)) {
            if let Some((n, size)) = short_length(&bytes) {
                let mut cur = Cursor::new(&bytes, 0);
                prop_assert_eq!(read_length(&mut cur, 10, "len").unwrap(), Length::Len(n));
                prop_assert_eq!(cur.pos(), size);
            } else if let Some(&first) = bytes.first() {
                // Only the longer forms, the special encodings or a cut 2-byte form.
                prop_assert!(first >= 0x80 || bytes.len() < 2);
            }
        }
    }
}
