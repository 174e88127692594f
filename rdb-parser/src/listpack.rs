//! Listpacks: the compact list of strings and integers of Redis 7.0+ (hashes, sets,
//! sorted sets, quicklist nodes, stream nodes).
//!
//! # Wire format
//! ```text
//! total bytes (u32 LE)  count (u16 LE, 65535 = unknown)  entry*  0xFF
//! entry = encoding+data  backlen
//!
//! 0xxxxxxx                      integer 0..127
//! 10LLLLLL  data                string, 6-bit length
//! 110xxxxx xxxxxxxx             integer, 13-bit two's complement (-4096..4095)
//! 1110LLLL LLLLLLLL  data       string, 12-bit length (high bits first)
//! 0xF0  len (u32 LE)  data      string, 32-bit length
//! 0xF1 / 0xF2 / 0xF3 / 0xF4     integer, 16 / 24 / 32 / 64-bit LE two's complement
//! 0xF5..0xFE                    invalid; 0xFF ends the listpack
//!
//! backlen: the size of encoding+data in 1 to 5 bytes, 7 bits a byte, meant to be
//! read from its last byte backwards: the last byte holds the lowest 7 bits, and
//! every byte but the first (leftmost) has bit 7 set. Sizes up to 127 take 1
//! byte, below 16383 2 bytes, below 2097151 3, below 268435455 4, else 5.
//! ```
//! Source: redis `src/listpack.c` (`lpEncodeBacklen`, `lpGetWithSize`,
//! `lpValidateNext`, `lpValidateIntegrity`).

use crate::element::Element;
use crate::error::{Error, ErrorKind, Result};

/// Header: total bytes (4) and count (2).
const HEADER: usize = 6;

/// The count value meaning "too many to count in the header".
const UNKNOWN_COUNT: u16 = u16::MAX;

/// The terminator byte.
const END: u8 = 0xFF;

/// A listpack, checked at its header; entries are decoded by [`Listpack::iter`].
///
/// # Wire format
/// See the module documentation (redis `src/listpack.c`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Listpack {
    count: u16,
}

impl Listpack {
    /// Checks the header of `blob`: at least 7 bytes, the total size equal to
    /// `blob.len()`, and the last byte 0xFF.
    ///
    /// # Errors
    /// [`ErrorKind::Incomplete`] when `blob` is shorter than the header or than its
    /// declared size, [`ErrorKind::BadLength`] when it is longer, and
    /// [`ErrorKind::Invalid`] when the last byte is not the terminator.
    pub(crate) fn new(blob: &[u8]) -> Result<Self> {
        let Some((&[b0, b1, b2, b3, c0, c1], _)) = blob.split_first_chunk::<HEADER>() else {
            return Err(Error::new(
                ErrorKind::Incomplete {
                    expected: "listpack header",
                },
                0,
            ));
        };
        let total = u32::from_le_bytes([b0, b1, b2, b3]);
        if u64::from(total) > blob.len() as u64 {
            return Err(Error::new(
                ErrorKind::Incomplete {
                    expected: "listpack",
                },
                blob.len() as u64,
            ));
        }
        if (total as usize) < blob.len() || blob.len() == HEADER {
            return Err(Error::new(
                ErrorKind::BadLength {
                    what: "listpack total bytes",
                    len: u64::from(total),
                },
                0,
            ));
        }
        if blob.last() != Some(&END) {
            return Err(Error::new(
                ErrorKind::Invalid("listpack terminator"),
                blob.len() as u64 - 1,
            ));
        }
        Ok(Listpack {
            count: u16::from_le_bytes([c0, c1]),
        })
    }

    /// The number of entries, as the header states it, unless it is 65535 (unknown).
    pub(crate) fn len_hint(&self) -> Option<usize> {
        (self.count != UNKNOWN_COUNT).then_some(usize::from(self.count))
    }

    /// Walks the entries in order, checking each entry's backlen, then the count and
    /// that the walk ends on the terminator: a position that is given the blob at each
    /// step (so that its owner may also own the blob).
    pub(crate) fn walk(&self) -> ListpackWalk {
        ListpackWalk {
            pos: HEADER,
            seen: 0,
            count: self.count,
        }
    }
}

/// Where a walk over a listpack's entries stands; see [`Listpack::walk`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListpackWalk {
    pos: usize,
    seen: u64,
    count: u16,
}

impl ListpackWalk {
    /// Whether every entry of `blob` has been walked (the next step ends the walk).
    pub(crate) fn at_end(&self, blob: &[u8]) -> bool {
        self.pos + 1 >= blob.len()
    }

    /// Decodes the entry at `pos` of `blob` (the listpack this walk was made from)
    /// and moves past it; `None` at the terminator.
    #[inline(always)]
    pub(crate) fn next<'b>(&mut self, blob: &'b [u8]) -> Result<Option<Element<'b>>> {
        // Fast path for the entries most listpacks are made of: a 7-bit integer or a
        // string of up to 63 bytes, whose backlen is one byte. Entries end before
        // the terminator, the last byte of `blob`.
        let at = self.pos;
        if let Some(&first) = blob.get(at)
            && first < 0xC0
        {
            let size = if first < 0x80 {
                1
            } else {
                1 + usize::from(first & 0x3F)
            };
            if at + size + 1 < blob.len() && blob[at + size] == size as u8 {
                self.pos = at + size + 1;
                self.seen += 1;
                return Ok(Some(if first < 0x80 {
                    Element::Int(i64::from(first))
                } else {
                    Element::Bytes(&blob[at + 1..at + size])
                }));
            }
        }
        self.next_any(blob)
    }

    /// [`ListpackWalk::next`] for every entry encoding, and every fault.
    #[inline(never)]
    fn next_any<'b>(&mut self, blob: &'b [u8]) -> Result<Option<Element<'b>>> {
        let at = self.pos;
        // The entries end before the terminator (`Listpack::new` checked it is there).
        let end = blob.len().saturating_sub(1);
        let body = blob.get(at..end).unwrap_or_default();
        let Some(&first) = body.first() else {
            return self.finish(at).map(|()| None);
        };
        let cut = || {
            Error::new(
                ErrorKind::Incomplete {
                    expected: "listpack entry",
                },
                at as u64,
            )
        };
        // `size` counts encoding+data; `value` is the element.
        let (size, value) = match first {
            0x00..=0x7F => (1, Element::Int(i64::from(first))),
            0x80..=0xBF => {
                let s = string(body, 1, usize::from(first & 0x3F), at)?;
                (1 + s.len(), Element::Bytes(s))
            }
            0xC0..=0xDF => {
                let &[_, low, ..] = body else {
                    return Err(cut());
                };
                let raw = (i64::from(first & 0x1F) << 8) | i64::from(low);
                (
                    2,
                    Element::Int(if raw >= 1 << 12 { raw - (1 << 13) } else { raw }),
                )
            }
            0xE0..=0xEF => {
                let &[_, low, ..] = body else {
                    return Err(cut());
                };
                let s = string(
                    body,
                    2,
                    (usize::from(first & 0x0F) << 8) | usize::from(low),
                    at,
                )?;
                (2 + s.len(), Element::Bytes(s))
            }
            0xF0 => {
                let &[_, a, b, c, d, ..] = body else {
                    return Err(cut());
                };
                let s = string(body, 5, u32::from_le_bytes([a, b, c, d]) as usize, at)?;
                (5 + s.len(), Element::Bytes(s))
            }
            0xF1 => {
                let &[_, a, b, ..] = body else {
                    return Err(cut());
                };
                (3, Element::Int(i64::from(i16::from_le_bytes([a, b]))))
            }
            0xF2 => {
                let &[_, a, b, c, ..] = body else {
                    return Err(cut());
                };
                // Sign-extend 24 bits: place them high in an i32 and shift back.
                (
                    4,
                    Element::Int(i64::from(i32::from_le_bytes([0, a, b, c]) >> 8)),
                )
            }
            0xF3 => {
                let &[_, a, b, c, d, ..] = body else {
                    return Err(cut());
                };
                (5, Element::Int(i64::from(i32::from_le_bytes([a, b, c, d]))))
            }
            0xF4 => {
                let &[_, a, b, c, d, e, f, g, h, ..] = body else {
                    return Err(cut());
                };
                (
                    9,
                    Element::Int(i64::from_le_bytes([a, b, c, d, e, f, g, h])),
                )
            }
            0xF5..=0xFE => {
                return Err(Error::new(
                    ErrorKind::Invalid("listpack entry encoding"),
                    at as u64,
                ));
            }
            END => {
                return Err(Error::new(
                    ErrorKind::Invalid("listpack terminator before the last byte"),
                    at as u64,
                ));
            }
        };
        // The string (or integer) fits in `body`, so `size` < 2^32 and the sum holds.
        let backlen = backlen_size(size);
        let Some(stored) = body.get(size..size + backlen) else {
            return Err(Error::new(
                ErrorKind::Incomplete {
                    expected: "listpack entry backlen",
                },
                at as u64,
            ));
        };
        let valid = match *stored {
            [b] => usize::from(b) == size,
            _ => backlen_matches(stored, size),
        };
        if !valid {
            return Err(Error::new(
                ErrorKind::Invalid("listpack entry backlen"),
                (at + size) as u64,
            ));
        }
        self.pos = at + size + backlen;
        self.seen += 1;
        Ok(Some(value))
    }

    /// At the terminator: checks the count when the header knows it.
    fn finish(&self, at: usize) -> Result<()> {
        if self.count != UNKNOWN_COUNT && self.seen != u64::from(self.count) {
            return Err(Error::new(
                ErrorKind::Invalid("listpack count: not the number of entries"),
                at as u64,
            ));
        }
        Ok(())
    }
}

/// The `len` bytes of a string entry after its `header` bytes.
fn string(body: &[u8], header: usize, len: usize, at: usize) -> Result<&[u8]> {
    body.get(header..)
        .and_then(|rest| rest.get(..len))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::BadLength {
                    what: "listpack string length",
                    len: len as u64,
                },
                at as u64,
            )
        })
}

/// How many bytes the backlen of an entry of `size` bytes takes (as Redis writes it).
fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..16383 => 2,
        16383..2097151 => 3,
        2097151..268435455 => 4,
        _ => 5,
    }
}

/// Whether `stored` (of `backlen_size(size)` bytes) is the backlen Redis writes
/// for `size`: the first byte without bit 7, the others with it, 7 bits each,
/// highest first.
fn backlen_matches(stored: &[u8], size: usize) -> bool {
    let mut value = 0u64;
    for (i, &b) in stored.iter().enumerate() {
        if (b & 0x80 != 0) != (i > 0) {
            return false;
        }
        value = (value << 7) | u64::from(b & 0x7F);
    }
    value == size as u64
}

/// The backlen for an entry of `size` bytes: the bytes, and how many are used.
fn encode_backlen(size: usize) -> ([u8; 5], usize) {
    let n = backlen_size(size);
    let mut out = [0; 5];
    for (i, b) in out.iter_mut().take(n).enumerate() {
        // Byte i holds the 7 bits starting at bit 7 * (n - 1 - i).
        let bits = ((size as u64) >> (7 * (n - 1 - i))) as u8 & 0x7F;
        *b = if i == 0 { bits } else { bits | 0x80 };
    }
    (out, n)
}

/// Encodes `elements` as a listpack the way Redis would: integers in the smallest
/// integer encoding, byte strings by length (strings are not turned into integers).
///
/// # Panics
/// If a string is 4 GiB or longer, or the listpack would be; Redis's limits are far
/// below that.
#[allow(dead_code)] // Used by tests now and by the RDB encoder later.
pub(crate) fn encode(elements: &[Element]) -> Vec<u8> {
    let mut out = vec![0; HEADER];
    for e in elements {
        let start = out.len();
        match *e {
            Element::Int(v) => encode_int(&mut out, v),
            Element::Bytes(b) => {
                let len = b.len();
                if len < 64 {
                    out.push(0x80 | len as u8);
                } else if len < 4096 {
                    out.extend_from_slice(&[0xE0 | (len >> 8) as u8, (len & 0xFF) as u8]);
                } else {
                    let len = u32::try_from(len).expect("listpack strings are shorter than 4 GiB");
                    out.push(0xF0);
                    out.extend_from_slice(&len.to_le_bytes());
                }
                out.extend_from_slice(b);
            }
        }
        let (backlen, n) = encode_backlen(out.len() - start);
        out.extend_from_slice(&backlen[..n]);
    }
    out.push(END);
    let total = u32::try_from(out.len()).expect("listpacks are shorter than 4 GiB");
    out[..4].copy_from_slice(&total.to_le_bytes());
    let count = u16::try_from(elements.len()).unwrap_or(UNKNOWN_COUNT);
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

fn encode_int(out: &mut Vec<u8>, v: i64) {
    match v {
        0..=127 => out.push(v as u8),
        -4096..=4095 => {
            let u = (v & 0x1FFF) as u16;
            out.extend_from_slice(&[0xC0 | (u >> 8) as u8, (u & 0xFF) as u8]);
        }
        -32768..=32767 => {
            out.push(0xF1);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        -8388608..=8388607 => {
            out.push(0xF2);
            out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        -2147483648..=2147483647 => {
            out.push(0xF3);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        _ => {
            out.push(0xF4);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Walks the entries in order, checking each entry's backlen, then the count
    /// and that the walk ends on the terminator.
    fn iter(blob: &[u8]) -> Result<impl Iterator<Item = Result<Element<'_>>>> {
        let mut walk = Listpack::new(blob)?.walk();
        Ok(until_error(move || walk.next(blob)))
    }

    /// The steps of a walk as an iterator, which ends after the first error (the
    /// compact encodings' tests walk whole blobs this way).
    pub(crate) fn until_error<T>(
        mut step: impl FnMut() -> Result<Option<T>>,
    ) -> impl Iterator<Item = Result<T>> {
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let item = step().transpose();
            done = !matches!(item, Some(Ok(_)));
            item
        })
    }

    /// Decodes hex digits (test fixtures).
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A listpack Redis 7.0.15 wrote: the single node of a list made with `RPUSH l`
    /// and the elements of [`redis_list_elements`], taken from `DUMP l` with
    /// `rdbcompression no`.
    pub(crate) const REDIS_LIST: &str = concat!(
        "0e0100001c008001816102bf787878787878787878787878787878787878787878787878787878787878787878787878",
        "78787878787878787878787878787878787878787878787878787840e040797979797979797979797979797979797979",
        "797979797979797979797979797979797979797979797979797979797979797979797979797979797979797979794200",
        "017f01c08002dfff02cfff02f1001003d00002f1ffef03f1ff7f03f200800004f1008003f2ff7fff04f2ffff7f04f300",
        "00800005f200008004f3ffff7fff05f3ffffff7f05f4000000800000000009f30000008005f4ffffff7fffffffff09f4",
        "ffffffffffffff7f09f4000000000000008009833030370483312e3504ff",
    );

    /// What [`REDIS_LIST`] holds: Redis stores integer-looking strings as integers.
    pub(crate) fn redis_list_elements() -> Vec<Element<'static>> {
        let mut v = vec![
            Element::Bytes(b""),
            Element::Bytes(b"a"),
            Element::Bytes(&[b'x'; 63]),
            Element::Bytes(&[b'y'; 64]),
        ];
        v.extend(
            [
                0,
                127,
                128,
                -1,
                4095,
                4096,
                -4096,
                -4097,
                32767,
                32768,
                -32768,
                -32769,
                8388607,
                8388608,
                -8388608,
                -8388609,
                2147483647,
                2147483648,
                -2147483648,
                -2147483649,
                i64::MAX,
                i64::MIN,
            ]
            .map(Element::Int),
        );
        v.extend([Element::Bytes(b"007"), Element::Bytes(b"1.5")]);
        v
    }

    fn decode(blob: &[u8]) -> Result<Vec<Element<'_>>> {
        iter(blob)?.collect()
    }

    fn fault(blob: &[u8]) -> (ErrorKind, u64) {
        let e = decode(blob).expect_err("must fail");
        (e.kind().clone(), e.offset())
    }

    /// A listpack from raw entry bytes (encoding+data+backlen) and a count.
    fn raw(entries: &[u8], count: u16) -> Vec<u8> {
        let mut out = ((HEADER + entries.len() + 1) as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(entries);
        out.push(END);
        out
    }

    #[test]
    fn redis_fixture_decodes() {
        let blob = hex(REDIS_LIST);
        let lp = Listpack::new(&blob).unwrap();
        assert_eq!(lp.len_hint(), Some(28));
        assert_eq!(decode(&blob).unwrap(), redis_list_elements());
    }

    #[test]
    fn encoder_writes_what_redis_writes() {
        assert_eq!(encode(&redis_list_elements()), hex(REDIS_LIST));
        // Redis 7.0.15, a list of one 200-byte and one 4096-byte string: 12-bit and
        // 32-bit string headers, 2-byte backlens.
        let mid = encode(&[Element::Bytes(&[b'w'; 200])]);
        assert_eq!(
            &mid[..8],
            &hex("d300000001 00e0c8".replace(' ', "").as_str())[..]
        );
        assert_eq!(&mid[mid.len() - 3..], &hex("01caff")[..]);
        let big = encode(&[Element::Bytes(&[b'z'; 4096])]);
        assert_eq!(
            &big[..11],
            &hex("0e10000001 00f000100000".replace(' ', "").as_str())[..]
        );
        assert_eq!(&big[big.len() - 3..], &hex("2085ff")[..]);
    }

    #[test]
    fn every_encoding() {
        let cases: &[(&[u8], Element)] = &[
            (b"\x00\x01", Element::Int(0)),
            (b"\x7f\x01", Element::Int(127)),
            (b"\x80\x01", Element::Bytes(b"")),
            (b"\x83abc\x04", Element::Bytes(b"abc")),
            // 13-bit: 0x0fff = 4095, 0x1000 = -4096, 0x1fff = -1.
            (b"\xcf\xff\x02", Element::Int(4095)),
            (b"\xd0\x00\x02", Element::Int(-4096)),
            (b"\xdf\xff\x02", Element::Int(-1)),
            (b"\xc0\x80\x02", Element::Int(128)),
            (b"\xe0\x03xyz\x05", Element::Bytes(b"xyz")),
            (b"\xf0\x02\x00\x00\x00hi\x07", Element::Bytes(b"hi")),
            (b"\xf1\x00\x80\x03", Element::Int(-32768)),
            (b"\xf2\xff\xff\x7f\x04", Element::Int(8388607)),
            (b"\xf2\x00\x00\x80\x04", Element::Int(-8388608)),
            (b"\xf2\xff\xff\xff\x04", Element::Int(-1)),
            (
                b"\xf3\x00\x00\x00\x80\x05",
                Element::Int(i64::from(i32::MIN)),
            ),
            (
                b"\xf4\xff\xff\xff\xff\xff\xff\xff\xff\x09",
                Element::Int(-1),
            ),
        ];
        for (entry, expected) in cases {
            assert_eq!(
                decode(&raw(entry, 1)).unwrap(),
                [*expected],
                "entry {entry:02x?}"
            );
        }
    }

    #[test]
    fn backlen_sizes_follow_redis() {
        let cases: &[(usize, &[u8])] = &[
            (0, &[0]),
            (127, &[127]),
            (128, &[1, 0x80]),
            (16382, &[127, 0xFE]),
            // Redis switches to 3 bytes at 16383, although 2 would hold it.
            (16383, &[0, 0xFF, 0xFF]),
            (2097150, &[127, 0xFF, 0xFE]),
            (2097151, &[0, 0xFF, 0xFF, 0xFF]),
            (268435454, &[127, 0xFF, 0xFF, 0xFE]),
            (268435455, &[0, 0xFF, 0xFF, 0xFF, 0xFF]),
        ];
        for &(size, bytes) in cases {
            let (b, n) = encode_backlen(size);
            assert_eq!(&b[..n], bytes, "size {size}");
            assert!(backlen_matches(bytes, size));
        }
        // A 16378-byte string: 16383 bytes of encoding+data, so a 3-byte backlen.
        let s = vec![b'q'; 16378];
        let blob = encode(&[Element::Bytes(&s)]);
        assert_eq!(&blob[blob.len() - 4..], &[0, 0xFF, 0xFF, END]);
        assert_eq!(decode(&blob).unwrap(), [Element::Bytes(&s)]);
    }

    #[test]
    fn header_checks() {
        assert_eq!(
            fault(b"").0,
            ErrorKind::Incomplete {
                expected: "listpack header"
            }
        );
        assert_eq!(
            fault(b"\x07\x00\x00\x00\x00").0,
            ErrorKind::Incomplete {
                expected: "listpack header"
            }
        );
        assert_eq!(
            fault(b"\x08\x00\x00\x00\x00\x00\xff").0,
            ErrorKind::Incomplete {
                expected: "listpack"
            }
        );
        assert!(matches!(
            fault(b"\x06\x00\x00\x00\x00\x00\xff").0,
            ErrorKind::BadLength { .. }
        ));
        assert!(matches!(
            fault(b"\x06\x00\x00\x00\x00\x00").0,
            ErrorKind::BadLength { .. }
        ));
        assert_eq!(
            fault(b"\x07\x00\x00\x00\x00\x00\xfe"),
            (ErrorKind::Invalid("listpack terminator"), 6)
        );
        assert!(decode(b"\x07\x00\x00\x00\x00\x00\xff").unwrap().is_empty());
        assert_eq!(
            Listpack::new(&raw(b"", UNKNOWN_COUNT)).unwrap().len_hint(),
            None
        );
    }

    #[test]
    fn walk_checks() {
        let bad_backlen = raw(b"\x81a\x03", 1);
        assert_eq!(
            fault(&bad_backlen),
            (ErrorKind::Invalid("listpack entry backlen"), 8)
        );
        // A 2-byte backlen whose first byte has bit 7 set is not Redis's encoding.
        let mut entry = vec![0xE0, 0x80];
        entry.extend([b'k'; 128]);
        entry.extend([0x81, 0x82]);
        assert_eq!(
            fault(&raw(&entry, 1)).0,
            ErrorKind::Invalid("listpack entry backlen")
        );
        entry.splice(130.., [0x01, 0x82]);
        assert_eq!(
            decode(&raw(&entry, 1)).unwrap(),
            [Element::Bytes(&[b'k'; 128])]
        );

        assert_eq!(
            fault(&raw(b"\x01\x01", 2)).0,
            ErrorKind::Invalid("listpack count: not the number of entries")
        );
        assert_eq!(
            decode(&raw(b"\x01\x01\x02\x01", UNKNOWN_COUNT)).unwrap(),
            [Element::Int(1), Element::Int(2)]
        );
        assert_eq!(
            fault(&raw(b"\xf5\x01", 1)),
            (ErrorKind::Invalid("listpack entry encoding"), 6)
        );
        assert_eq!(
            fault(&raw(b"\xff\x01", 1)).0,
            ErrorKind::Invalid("listpack terminator before the last byte")
        );
        assert!(matches!(
            fault(&raw(b"\x85ab", 1)).0,
            ErrorKind::BadLength { len: 5, .. }
        ));
        assert_eq!(
            fault(&raw(b"\x82ab", 1)).0,
            ErrorKind::Incomplete {
                expected: "listpack entry backlen"
            }
        );
        assert!(matches!(
            fault(&raw(b"\xf4\x00\x00", 1)).0,
            ErrorKind::Incomplete { .. }
        ));
        assert!(matches!(
            fault(&raw(b"\xf0\xff\xff\xff\xff", 1)).0,
            ErrorKind::BadLength { .. }
        ));
    }

    #[test]
    fn iteration_stops_after_an_error() {
        let blob = raw(b"\x01\x01\xf6\x01\x02\x01", 3);
        let mut it = iter(&blob).unwrap();
        assert_eq!(it.next().unwrap().unwrap(), Element::Int(1));
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        assert!(it.next().is_none());
    }

    /// Integers at every encoding boundary of listpacks, ziplists and intsets.
    pub(crate) const BOUNDARY_INTS: &[i64] = &[
        0,
        1,
        12,
        13,
        -1,
        127,
        128,
        -128,
        -129,
        255,
        4095,
        4096,
        -4096,
        -4097,
        32767,
        32768,
        -32768,
        -32769,
        8388607,
        8388608,
        -8388608,
        -8388609,
        2147483647,
        2147483648,
        -2147483648,
        -2147483649,
        i64::MAX,
        i64::MIN,
    ];

    /// String lengths at every length-encoding boundary.
    pub(crate) const BOUNDARY_LENGTHS: &[usize] =
        &[0, 1, 63, 64, 127, 128, 253, 254, 4095, 4096, 16383, 16384];

    /// Any element, boundary integers and string lengths included; strings are
    /// owned so the strategy can produce them.
    #[derive(Clone, Debug)]
    pub(crate) enum Owned {
        Bytes(Vec<u8>),
        Int(i64),
    }

    impl Owned {
        pub(crate) fn element(&self) -> Element<'_> {
            match self {
                Owned::Bytes(b) => Element::Bytes(b),
                Owned::Int(i) => Element::Int(*i),
            }
        }
    }

    pub(crate) fn element() -> impl Strategy<Value = Owned> {
        prop_oneof![
            3 => any::<i64>().prop_map(Owned::Int),
            3 => prop::sample::select(BOUNDARY_INTS).prop_map(Owned::Int),
            3 => prop::collection::vec(any::<u8>(), 0..80).prop_map(Owned::Bytes),
            1 => (prop::sample::select(BOUNDARY_LENGTHS), any::<u8>()).prop_map(|(n, b)| Owned::Bytes(vec![b; n])),
            1 => (16377usize..16390).prop_map(|n| Owned::Bytes(vec![0xAB; n])),
        ]
    }

    /// Walks a possibly corrupt blob: must end (with `None`) within one step per
    /// byte, and never panic.
    fn walk_any(blob: &[u8]) {
        if let Ok(mut it) = iter(blob) {
            let mut steps = 0;
            while it.next().is_some() {
                steps += 1;
                assert!(steps <= blob.len(), "no progress");
            }
        }
    }

    #[test]
    fn every_truncation_of_the_fixture_fails_cleanly() {
        let blob = hex(REDIS_LIST);
        for cut in 0..blob.len() {
            assert!(Listpack::new(&blob[..cut]).is_err());
            // With the header fixed up to the cut length, the walk itself must fail.
            let mut fixed = blob[..cut].to_vec();
            if cut > HEADER {
                fixed[..4].copy_from_slice(&(cut as u32 + 1).to_le_bytes());
                fixed.push(END);
                walk_any(&fixed);
            }
        }
    }

    #[test]
    fn every_byte_flip_of_the_fixture_is_handled() {
        let blob = hex(REDIS_LIST);
        for at in 0..blob.len() {
            for xor in [0x01, 0x02, 0x10, 0x40, 0x80, 0xFF] {
                let mut b = blob.clone();
                b[at] ^= xor;
                walk_any(&b);
            }
        }
    }

    proptest! {
        #[test]
        fn round_trip(owned in prop::collection::vec(element(), 0..40)) {
            let elements: Vec<Element> = owned.iter().map(Owned::element).collect();
            let blob = encode(&elements);
            prop_assert_eq!(Listpack::new(&blob).unwrap().len_hint(), Some(elements.len()));
            prop_assert_eq!(decode(&blob).unwrap(), elements);
        }

        #[test]
        fn corrupt_blobs_never_panic(
            owned in prop::collection::vec(element(), 1..12),
            at in any::<prop::sample::Index>(),
            xor in 1u8..,
            cut in any::<prop::sample::Index>(),
        ) {
            let elements: Vec<Element> = owned.iter().map(Owned::element).collect();
            let blob = encode(&elements);
            let mut flipped = blob.clone();
            flipped[at.index(blob.len())] ^= xor;
            walk_any(&flipped);
            prop_assert!(Listpack::new(&blob[..cut.index(blob.len())]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300), count in any::<u16>()) {
            walk_any(&body);
            walk_any(&raw(&body, count));
        }
    }
}
