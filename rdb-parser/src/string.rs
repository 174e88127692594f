//! RDB strings: length-prefixed bytes, integers, or LZF-compressed bytes.
//!
//! # Wire format
//! ```text
//! len bytes                        plain bytes (len as in `length`)
//! 0xC0 i8 | 0xC1 i16 LE | 0xC2 i32 LE     an integer, meaning its decimal string
//! 0xC3 len(compressed) len(original) data   LZF-compressed bytes
//! ```
//! Source: redis `src/rdb.c` (`rdbGenericLoadStringObject`, `rdbLoadLzfStringObject`).

use std::borrow::Cow;
use std::fmt;

use crate::cursor::Cursor;
use crate::element::Element;
use crate::error::{ErrorKind, Result};
use crate::length::{Length, read_length, short_length};
use crate::lzf;

/// The most an LZF stream can expand: a 3-byte back-reference yields at most 264
/// bytes. Declared lengths beyond this are corrupt, and are refused before any
/// buffer is sized by them.
pub(crate) const MAX_LZF_RATIO: u64 = 90;

/// A string as stored in the RDB, borrowed from the input and not yet decoded.
///
/// Integers and LZF-compressed strings are kept as they are until the caller asks
/// for bytes: [`RdbString::element`] decompresses into a caller's reusable buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RdbString<'a> {
    /// Plain bytes.
    Raw(&'a [u8]),
    /// An integer-encoded string (its decimal representation).
    Int(i64),
    /// LZF-compressed bytes.
    Lzf {
        /// The compressed data.
        compressed: &'a [u8],
        /// The length once decompressed.
        len: u64,
        /// Absolute offset of the string in the input, for errors.
        offset: u64,
    },
}

impl<'a> RdbString<'a> {
    /// The length of the decoded string in bytes.
    pub fn len(&self) -> u64 {
        match *self {
            RdbString::Raw(b) => b.len() as u64,
            RdbString::Int(i) => itoa::Buffer::new().format(i).len() as u64,
            RdbString::Lzf { len, .. } => len,
        }
    }

    /// Whether the decoded string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes when they are stored plainly (no allocation, no decompression).
    pub fn as_raw(&self) -> Option<&'a [u8]> {
        match *self {
            RdbString::Raw(b) => Some(b),
            _ => None,
        }
    }

    /// The string as an [`Element`], decompressing into `scratch` when needed.
    ///
    /// # Errors
    /// When the LZF data is corrupt.
    pub fn element<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<Element<'s>>
    where
        'a: 's,
    {
        match *self {
            RdbString::Raw(b) => Ok(Element::Bytes(b)),
            RdbString::Int(i) => Ok(Element::Int(i)),
            RdbString::Lzf { .. } => Ok(Element::Bytes(self.decompress_into(scratch)?)),
        }
    }

    /// The string's bytes, decompressed into `scratch` when compressed, formatted
    /// into it when an integer.
    ///
    /// # Errors
    /// When the LZF data is corrupt.
    pub fn bytes<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<&'s [u8]>
    where
        'a: 's,
    {
        match *self {
            RdbString::Raw(b) => Ok(b),
            RdbString::Int(i) => {
                scratch.clear();
                Element::Int(i).write_to(scratch);
                Ok(scratch)
            }
            RdbString::Lzf { .. } => self.decompress_into(scratch),
        }
    }

    fn decompress_into<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<&'s [u8]> {
        if let RdbString::Lzf {
            compressed,
            len,
            offset,
        } = *self
        {
            lzf::decompress_into(compressed, len as usize, scratch)
                .map_err(|e| e.inside(offset))?;
        }
        Ok(scratch)
    }

    /// The decoded bytes, borrowed when stored plainly, else in a new vector.
    ///
    /// # Errors
    /// When the LZF data is corrupt.
    pub fn to_cow(&self) -> Result<Cow<'a, [u8]>> {
        match *self {
            RdbString::Raw(b) => Ok(Cow::Borrowed(b)),
            _ => {
                let mut buf = Vec::new();
                self.bytes(&mut buf)?;
                Ok(Cow::Owned(buf))
            }
        }
    }

    /// The decoded bytes in a new vector (allocates).
    ///
    /// # Errors
    /// When the LZF data is corrupt.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        Ok(self.to_cow()?.into_owned())
    }
}

impl fmt::Debug for RdbString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbString::Raw(b) => write!(f, "b\"{}\"", b.escape_ascii()),
            RdbString::Int(i) => write!(f, "{i}"),
            RdbString::Lzf {
                compressed, len, ..
            } => {
                write!(f, "Lzf({} -> {len} bytes)", compressed.len())
            }
        }
    }
}

/// Reads an RDB string.
#[inline]
pub(crate) fn read_string<'a>(
    cur: &mut Cursor<'a>,
    version: u32,
    what: &'static str,
) -> Result<RdbString<'a>> {
    // Most strings (keys, members, short values) have a 6-bit length.
    if let Some(bytes) = cur.short_string() {
        return Ok(RdbString::Raw(bytes));
    }
    if let Some(s) = short_lzf(cur) {
        return Ok(s);
    }
    read_string_any(cur, version, what)
}

/// An LZF string whose two lengths are below 16 KiB (1- or 2-byte prefixes: most
/// compressed values and every quicklist node at the default size), read inline.
/// `None` for any other form and for any fault, which [`read_string_any`] reports.
#[inline(always)]
fn short_lzf<'a>(cur: &mut Cursor<'a>) -> Option<RdbString<'a>> {
    let rest = cur.rest();
    if rest.first() != Some(&0xC3) {
        return None;
    }
    let (clen, a) = short_length(&rest[1..])?;
    let (len, b) = short_length(&rest[1 + a..])?;
    if len > clen * MAX_LZF_RATIO || (clen == 0) != (len == 0) {
        return None;
    }
    let head = 1 + a + b;
    let compressed = rest.get(head..head + clen as usize)?;
    let offset = cur.offset() + head as u64;
    cur.advance(head + compressed.len());
    Some(RdbString::Lzf {
        compressed,
        len,
        offset,
    })
}

/// Skips an RDB string without looking at its contents.
#[inline]
pub(crate) fn skip_string(cur: &mut Cursor<'_>, version: u32, what: &'static str) -> Result<()> {
    if cur.short_string().is_some() || short_lzf(cur).is_some() {
        return Ok(());
    }
    read_string_any(cur, version, what).map(|_| ())
}

/// [`read_string`] for every encoding, and every fault.
#[inline(never)]
fn read_string_any<'a>(
    cur: &mut Cursor<'a>,
    version: u32,
    what: &'static str,
) -> Result<RdbString<'a>> {
    let start = cur.pos();
    match read_length(cur, version, what)? {
        Length::Len(n) => Ok(RdbString::Raw(cur.take(n, what)?)),
        Length::Special(0) => Ok(RdbString::Int(i64::from(cur.u8(what)? as i8))),
        Length::Special(1) => Ok(RdbString::Int(i64::from(cur.u16_le(what)? as i16))),
        Length::Special(2) => Ok(RdbString::Int(i64::from(cur.i32_le(what)?))),
        Length::Special(3) => {
            let clen = crate::length::read_len(cur, version, what)?;
            let len = crate::length::read_len(cur, version, what)?;
            if len > clen.saturating_mul(MAX_LZF_RATIO) || (clen == 0) != (len == 0) {
                return Err(cur.error_at(
                    ErrorKind::BadLength {
                        what: "LZF length",
                        len,
                    },
                    start,
                ));
            }
            let compressed = cur.take(clen, what)?;
            Ok(RdbString::Lzf {
                compressed,
                len,
                offset: cur.offset() - clen,
            })
        }
        Length::Special(_) => Err(cur.error_at(ErrorKind::Invalid("string encoding"), start)),
    }
}

/// Appends a plain RDB string (the encoder side).
pub(crate) fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    crate::length::write_len(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `read_string` with its inline fast paths against the general reader alone:
    /// the same string, the same bytes consumed, or the same error.
    fn same_as_general(bytes: &[u8]) {
        let mut fast = Cursor::new(bytes, 100);
        let mut general = fast.clone();
        let a = read_string(&mut fast, 10, "s");
        let b = read_string_any(&mut general, 10, "s");
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{bytes:02x?}"),
            (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
            (a, b) => panic!("{bytes:02x?}: {a:?} against {b:?}"),
        }
        assert_eq!(fast.pos(), general.pos());
    }

    #[test]
    fn lzf_headers() {
        same_as_general(b"\xc3\x02\x05\x01ab");
        same_as_general(b"\xc3\x40\x02\x05\x01ab");
        same_as_general(b"\xc3\x02\x40\x05\x01ab");
        same_as_general(b"\xc3\x00\x00");
        same_as_general(b"\xc3\x00\x05");
        same_as_general(b"\xc3\x01\x7f\xff\x00");
        same_as_general(b"\xc3\x02\x05\x01");
        same_as_general(b"\xc3\x80\x00\x00\x00\x02\x05\x01ab");
        same_as_general(b"\xc3\x40");
        same_as_general(b"\xc3");
    }

    proptest! {
        #[test]
        fn fast_paths_agree_with_the_general_reader(
            head in prop_oneof![Just(vec![0xc3u8]), Just(vec![]), Just(vec![0xc3, 0x40])],
            rest in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            same_as_general(&[head, rest].concat());
        }
    }
}
