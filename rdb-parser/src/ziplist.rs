//! Ziplists: the compact list of strings and integers of Redis 2.4 to 6.2 (lists,
//! sorted sets, hashes, quicklist v1 nodes).
//!
//! # Wire format
//! ```text
//! total bytes (u32 LE)  tail offset (u32 LE)  count (u16 LE, 65535 = unknown)  entry*  0xFF
//! entry = prevlen  encoding  data
//!
//! prevlen: size of the previous entry (0 for the first): 1 byte if < 254, else
//!          0xFE + u32 LE (the long form may also hold a small size)
//! 00LLLLLL                 string, 6-bit length
//! 01LLLLLL LLLLLLLL        string, 14-bit length (high bits first)
//! 10xxxxxx  len (u32 BE)   string, 32-bit length (Redis writes 0x80)
//! 0xC0 / 0xD0 / 0xE0       integer, 16 / 32 / 64-bit LE two's complement
//! 0xF0                     integer, 24-bit LE two's complement
//! 0xFE                     integer, 8-bit
//! 0xF1..0xFD               integer 0..12, stored as (low 4 bits) - 1
//! ```
//! The tail offset is where the last entry starts. Source: redis `src/ziplist.c`
//! (`zipEntrySafe`, `zipLoadInteger`, `ziplistValidateIntegrity`).
//!
//! The walk checks what Redis's deep sanitization checks, except that the tail
//! offset need only be inside the ziplist, not at the last entry: forward decoding
//! does not use it, and Redis releases before the fix of redis issue 627 (2012)
//! could save a wrong one after some deletions, which Redis loads without complaint
//! unless deep sanitization is on.

use crate::element::Element;
use crate::error::{Error, ErrorKind, Result};

/// Header: total bytes (4), tail offset (4), count (2).
const HEADER: usize = 10;

/// The count value meaning "too many to count in the header".
const UNKNOWN_COUNT: u16 = u16::MAX;

/// The terminator byte.
const END: u8 = 0xFF;

/// First byte of the 5-byte prevlen form.
const BIG_PREVLEN: u8 = 0xFE;

/// A ziplist, checked at its header; entries are decoded by [`Ziplist::iter`].
///
/// # Wire format
/// See the module documentation (redis `src/ziplist.c`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ziplist {
    count: u16,
}

impl Ziplist {
    /// Checks the header of `blob`: at least 11 bytes, the total size equal to
    /// `blob.len()`, the tail offset inside it, and the last byte 0xFF.
    ///
    /// # Errors
    /// [`ErrorKind::Incomplete`] when `blob` is shorter than the header or than its
    /// declared size, [`ErrorKind::BadLength`] when it is longer or the tail offset
    /// is past the end, and [`ErrorKind::Invalid`] when the last byte is not the
    /// terminator.
    pub(crate) fn new(blob: &[u8]) -> Result<Self> {
        let Some((&[b0, b1, b2, b3, t0, t1, t2, t3, c0, c1], _)) =
            blob.split_first_chunk::<HEADER>()
        else {
            return Err(Error::new(
                ErrorKind::Incomplete {
                    expected: "ziplist header",
                },
                0,
            ));
        };
        let total = u32::from_le_bytes([b0, b1, b2, b3]);
        if u64::from(total) > blob.len() as u64 {
            return Err(Error::new(
                ErrorKind::Incomplete {
                    expected: "ziplist",
                },
                blob.len() as u64,
            ));
        }
        if (total as usize) < blob.len() || blob.len() == HEADER {
            return Err(Error::new(
                ErrorKind::BadLength {
                    what: "ziplist total bytes",
                    len: u64::from(total),
                },
                0,
            ));
        }
        let last = blob.len() - 1;
        if blob[last] != END {
            return Err(Error::new(
                ErrorKind::Invalid("ziplist terminator"),
                last as u64,
            ));
        }
        let tail = u32::from_le_bytes([t0, t1, t2, t3]);
        if tail as usize > last {
            return Err(Error::new(
                ErrorKind::BadLength {
                    what: "ziplist tail offset",
                    len: u64::from(tail),
                },
                4,
            ));
        }
        Ok(Ziplist {
            count: u16::from_le_bytes([c0, c1]),
        })
    }

    /// The number of entries, as the header states it, unless it is 65535 (unknown).
    pub(crate) fn len_hint(&self) -> Option<usize> {
        (self.count != UNKNOWN_COUNT).then_some(usize::from(self.count))
    }

    /// Walks the entries in order, checking each entry's prevlen, then the count and
    /// that the walk ends on the terminator: a position that is given the blob at each
    /// step (so that its owner may also own the blob).
    pub(crate) fn walk(&self) -> ZiplistWalk {
        ZiplistWalk {
            pos: HEADER,
            prev_size: 0,
            seen: 0,
            count: self.count,
        }
    }
}

/// Where a walk over a ziplist's entries stands; see [`Ziplist::walk`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ZiplistWalk {
    pos: usize,
    prev_size: usize,
    seen: u64,
    count: u16,
}

impl ZiplistWalk {
    /// Whether every entry of `blob` has been walked (the next step ends the walk).
    pub(crate) fn at_end(&self, blob: &[u8]) -> bool {
        self.pos + 1 >= blob.len()
    }

    /// Decodes the entry at `pos` of `blob` (the ziplist this walk was made from)
    /// and moves past it; `None` at the terminator.
    #[inline]
    pub(crate) fn next<'b>(&mut self, blob: &'b [u8]) -> Result<Option<Element<'b>>> {
        let at = self.pos;
        // The entries end before the terminator (`Ziplist::new` checked it is there).
        let body = blob
            .get(at..blob.len().saturating_sub(1))
            .unwrap_or_default();
        let cut = || {
            Error::new(
                ErrorKind::Incomplete {
                    expected: "ziplist entry",
                },
                at as u64,
            )
        };
        let (prev_size, rest) = match *body {
            [] => return self.finish(at).map(|()| None),
            [END, ..] => {
                return Err(Error::new(
                    ErrorKind::Invalid("ziplist terminator before the last byte"),
                    at as u64,
                ));
            }
            [BIG_PREVLEN, a, b, c, d, ref rest @ ..] => {
                (u32::from_le_bytes([a, b, c, d]) as usize, rest)
            }
            [BIG_PREVLEN, ..] => return Err(cut()),
            [small, ref rest @ ..] => (usize::from(small), rest),
        };
        if prev_size != self.prev_size {
            return Err(Error::new(
                ErrorKind::Invalid("ziplist entry prevlen"),
                at as u64,
            ));
        }
        let Some(&encoding) = rest.first() else {
            return Err(cut());
        };
        // `used` counts the encoding and data bytes.
        let (used, value) = if encoding < 0xC0 {
            let (header, len) = match encoding >> 6 {
                0 => (1, usize::from(encoding & 0x3F)),
                1 => {
                    let &[_, low, ..] = rest else {
                        return Err(cut());
                    };
                    (2, (usize::from(encoding & 0x3F) << 8) | usize::from(low))
                }
                _ => {
                    let &[_, a, b, c, d, ..] = rest else {
                        return Err(cut());
                    };
                    (5, u32::from_be_bytes([a, b, c, d]) as usize)
                }
            };
            let Some(s) = rest.get(header..).and_then(|r| r.get(..len)) else {
                return Err(Error::new(
                    ErrorKind::BadLength {
                        what: "ziplist string length",
                        len: len as u64,
                    },
                    at as u64,
                ));
            };
            (header + len, Element::Bytes(s))
        } else {
            let data = rest.get(1..).unwrap_or_default();
            // The value, and how many data bytes follow the encoding byte.
            let (value, width) = match (encoding, data) {
                (0xF1..=0xFD, _) => (i64::from(encoding & 0x0F) - 1, 0),
                (0xFE, &[a, ..]) => (i64::from(a as i8), 1),
                (0xC0, &[a, b, ..]) => (i64::from(i16::from_le_bytes([a, b])), 2),
                // Sign-extend 24 bits: place them high in an i32 and shift back.
                (0xF0, &[a, b, c, ..]) => (i64::from(i32::from_le_bytes([0, a, b, c]) >> 8), 3),
                (0xD0, &[a, b, c, d, ..]) => (i64::from(i32::from_le_bytes([a, b, c, d])), 4),
                (0xE0, &[a, b, c, d, e, f, g, h, ..]) => {
                    (i64::from_le_bytes([a, b, c, d, e, f, g, h]), 8)
                }
                (0xC0 | 0xD0 | 0xE0 | 0xF0 | 0xFE, _) => return Err(cut()),
                _ => {
                    return Err(Error::new(
                        ErrorKind::Invalid("ziplist entry encoding"),
                        at as u64,
                    ));
                }
            };
            (1 + width, Element::Int(value))
        };
        let size = body.len() - rest.len() + used;
        self.pos = at + size;
        self.prev_size = size;
        self.seen += 1;
        Ok(Some(value))
    }

    /// At the terminator: checks the count when the header knows it.
    fn finish(&self, at: usize) -> Result<()> {
        if self.count != UNKNOWN_COUNT && self.seen != u64::from(self.count) {
            return Err(Error::new(
                ErrorKind::Invalid("ziplist count: not the number of entries"),
                at as u64,
            ));
        }
        Ok(())
    }
}

/// Encodes `elements` as a ziplist the way Redis would: integers in the smallest
/// integer encoding, byte strings as strings (strings are not turned into integers).
///
/// # Panics
/// If a string or an entry is 4 GiB or longer, or the ziplist would be; Redis's
/// limits are far below that.
#[cfg(test)]
pub(crate) fn encode(elements: &[Element]) -> Vec<u8> {
    let mut z = ZiplistWriter::new();
    for e in elements {
        z.push(*e);
    }
    z.finish()
}

/// Builds a ziplist entry by entry (the elements may be lent one at a time).
pub(crate) struct ZiplistWriter {
    out: Vec<u8>,
    prev_size: usize,
    tail: usize,
    count: usize,
}

impl ZiplistWriter {
    pub(crate) fn new() -> Self {
        ZiplistWriter {
            out: vec![0; HEADER],
            prev_size: 0,
            tail: HEADER,
            count: 0,
        }
    }

    /// Entries so far.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Bytes so far.
    pub(crate) fn bytes(&self) -> usize {
        self.out.len()
    }

    /// Appends one entry.
    ///
    /// # Panics
    /// If the entry is 4 GiB or longer.
    pub(crate) fn push(&mut self, e: Element<'_>) {
        let out = &mut self.out;
        let start = out.len();
        self.tail = start;
        if self.prev_size < usize::from(BIG_PREVLEN) {
            out.push(self.prev_size as u8);
        } else {
            out.push(BIG_PREVLEN);
            let size =
                u32::try_from(self.prev_size).expect("ziplist entries are shorter than 4 GiB");
            out.extend_from_slice(&size.to_le_bytes());
        }
        match e {
            Element::Int(v) => encode_int(out, v),
            Element::Bytes(b) => {
                let len = b.len();
                if len <= 0x3F {
                    out.push(len as u8);
                } else if len <= 0x3FFF {
                    out.extend_from_slice(&[0x40 | (len >> 8) as u8, (len & 0xFF) as u8]);
                } else {
                    let len = u32::try_from(len).expect("ziplist strings are shorter than 4 GiB");
                    out.push(0x80);
                    out.extend_from_slice(&len.to_be_bytes());
                }
                out.extend_from_slice(b);
            }
        }
        self.prev_size = out.len() - start;
        self.count += 1;
    }

    /// The ziplist's bytes.
    ///
    /// # Panics
    /// If the ziplist is 4 GiB or longer.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let out = &mut self.out;
        out.push(END);
        let total = u32::try_from(out.len()).expect("ziplists are shorter than 4 GiB");
        out[..4].copy_from_slice(&total.to_le_bytes());
        out[4..8].copy_from_slice(&(self.tail as u32).to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(UNKNOWN_COUNT);
        out[8..10].copy_from_slice(&count.to_le_bytes());
        self.out
    }
}

fn encode_int(out: &mut Vec<u8>, v: i64) {
    match v {
        0..=12 => out.push(0xF1 + v as u8),
        -128..=127 => out.extend_from_slice(&[0xFE, v as u8]),
        -32768..=32767 => {
            out.push(0xC0);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        -8388608..=8388607 => {
            out.push(0xF0);
            out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        -2147483648..=2147483647 => {
            out.push(0xD0);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        _ => {
            out.push(0xE0);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listpack::tests::{Owned, element, hex, until_error};
    use proptest::prelude::*;

    /// Walks the entries in order, checking each entry's prevlen, then the count
    /// and that the walk ends on the terminator.
    fn iter(blob: &[u8]) -> Result<impl Iterator<Item = Result<Element<'_>>>> {
        let mut walk = Ziplist::new(blob)?.walk();
        Ok(until_error(move || walk.next(blob)))
    }

    fn decode(blob: &[u8]) -> Result<Vec<Element<'_>>> {
        iter(blob)?.collect()
    }

    fn fault(blob: &[u8]) -> (ErrorKind, u64) {
        let e = decode(blob).expect_err("must fail");
        (e.kind().clone(), e.offset())
    }

    /// A ziplist from raw entry bytes (prevlen+encoding+data), a count and the
    /// offset of the last entry in `entries`.
    fn raw(entries: &[u8], count: u16, last: usize) -> Vec<u8> {
        let mut out = ((HEADER + entries.len() + 1) as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&((HEADER + last) as u32).to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(entries);
        out.push(END);
        out
    }

    fn bytes(s: &str) -> Element<'_> {
        Element::Bytes(s.as_bytes())
    }

    /// Ziplists Redis 6.2.14 wrote, from `tests/fixtures/redis-6.2.14/sample.rdb`:
    /// the hash `user:1`, the sorted set `scores` and the node of list `colors`.
    #[test]
    fn redis_fixtures_decode() {
        let hash = hex(concat!(
            "3800000035000000060000046e616d6506034164610505656d61696c070f616461406578616d706c652e636f6d",
            "110676697369747308f8ff",
        ));
        assert_eq!(
            decode(&hash).unwrap(),
            [
                bytes("name"),
                bytes("Ada"),
                bytes("email"),
                bytes("ada@example.com"),
                bytes("visits"),
                Element::Int(7)
            ]
        );
        let zset = hex(
            "2a0000002400000006000005616c6963650703312e350503626f6205f302056361726f6c0703696e66ff",
        );
        assert_eq!(
            decode(&zset).unwrap(),
            [
                bytes("alice"),
                bytes("1.5"),
                bytes("bob"),
                Element::Int(2),
                bytes("carol"),
                bytes("inf")
            ]
        );
        let list = hex("1d00000016000000030000037265640505677265656e0704626c7565ff");
        let zl = Ziplist::new(&list).unwrap();
        assert_eq!(zl.len_hint(), Some(3));
        assert_eq!(
            decode(&list).unwrap(),
            [bytes("red"), bytes("green"), bytes("blue")]
        );
        // The encoder writes the same bytes.
        assert_eq!(encode(&decode(&hash).unwrap()), hash);
        assert_eq!(encode(&decode(&zset).unwrap()), zset);
        assert_eq!(encode(&decode(&list).unwrap()), list);
    }

    /// The example in the comment of redis `src/ziplist.c`: the list 2, 5.
    #[test]
    fn redis_documented_example() {
        let blob = hex("0f0000000c000000020000f302f6ff");
        assert_eq!(decode(&blob).unwrap(), [Element::Int(2), Element::Int(5)]);
        assert_eq!(encode(&[Element::Int(2), Element::Int(5)]), blob);
    }

    #[test]
    fn every_encoding() {
        let cases: &[(&[u8], Element)] = &[
            (b"\x00\x00", bytes("")),
            (b"\x00\x03abc", bytes("abc")),
            (b"\x00\x40\x03xyz", bytes("xyz")),
            (b"\x00\x80\x00\x00\x00\x02hi", bytes("hi")),
            (b"\x00\xbf\x00\x00\x00\x02hi", bytes("hi")),
            (b"\x00\xf1", Element::Int(0)),
            (b"\x00\xfd", Element::Int(12)),
            (b"\x00\xfe\x80", Element::Int(-128)),
            (b"\x00\xfe\x7f", Element::Int(127)),
            (b"\x00\xc0\x00\x80", Element::Int(-32768)),
            (b"\x00\xc0\xff\x7f", Element::Int(32767)),
            (b"\x00\xf0\xff\xff\x7f", Element::Int(8388607)),
            (b"\x00\xf0\x00\x00\x80", Element::Int(-8388608)),
            (b"\x00\xf0\xfe\xff\xff", Element::Int(-2)),
            (
                b"\x00\xd0\x00\x00\x00\x80",
                Element::Int(i64::from(i32::MIN)),
            ),
            (
                b"\x00\xe0\xff\xff\xff\xff\xff\xff\xff\x7f",
                Element::Int(i64::MAX),
            ),
            // The long prevlen form holding a small size is valid (cascade updates).
            (b"\xfe\x00\x00\x00\x00\xf2", Element::Int(1)),
        ];
        for (entry, expected) in cases {
            assert_eq!(
                decode(&raw(entry, 1, 0)).unwrap(),
                [*expected],
                "entry {entry:02x?}"
            );
        }
    }

    #[test]
    fn five_byte_prevlen() {
        let long = vec![b'L'; 300];
        let blob = encode(&[Element::Bytes(&long), Element::Int(5)]);
        // Entry 1 is 1 + 2 + 300 = 303 bytes; entry 2's prevlen takes 5 bytes.
        let second = HEADER + 303;
        assert_eq!(&blob[second..second + 6], &[0xFE, 0x2F, 0x01, 0, 0, 0xF6]);
        assert_eq!(
            decode(&blob).unwrap(),
            [Element::Bytes(&long), Element::Int(5)]
        );
    }

    #[test]
    fn header_checks() {
        assert_eq!(
            fault(b"\x0b\0\0\0\x0a\0\0\0\0").0,
            ErrorKind::Incomplete {
                expected: "ziplist header"
            }
        );
        assert_eq!(
            fault(b"\x0c\0\0\0\x0a\0\0\0\0\0\xff").0,
            ErrorKind::Incomplete {
                expected: "ziplist"
            }
        );
        assert!(matches!(
            fault(b"\x0a\0\0\0\x0a\0\0\0\0\0\xff").0,
            ErrorKind::BadLength { .. }
        ));
        assert!(matches!(
            fault(b"\x0a\0\0\0\x0a\0\0\0\0\0").0,
            ErrorKind::BadLength { .. }
        ));
        assert_eq!(
            fault(b"\x0b\0\0\0\x0a\0\0\0\0\0\xfe"),
            (ErrorKind::Invalid("ziplist terminator"), 10)
        );
        assert!(matches!(
            fault(b"\x0b\0\0\0\x0b\0\0\0\0\0\xff").0,
            ErrorKind::BadLength {
                what: "ziplist tail offset",
                len: 11
            }
        ));
        assert!(decode(b"\x0b\0\0\0\x0a\0\0\0\0\0\xff").unwrap().is_empty());
        assert_eq!(
            Ziplist::new(&raw(b"", UNKNOWN_COUNT, 0))
                .unwrap()
                .len_hint(),
            None
        );
    }

    #[test]
    fn walk_checks() {
        assert_eq!(
            fault(&raw(b"\x00\xf2\x03\xf3", 2, 2)),
            (ErrorKind::Invalid("ziplist entry prevlen"), 12)
        );
        assert_eq!(
            fault(&raw(b"\x01\xf2", 1, 0)),
            (ErrorKind::Invalid("ziplist entry prevlen"), 10)
        );
        // A tail offset inside the ziplist but not at the last entry is accepted.
        assert_eq!(
            decode(&raw(b"\x00\xf2\x02\xf3", 2, 0)).unwrap(),
            [Element::Int(1), Element::Int(2)]
        );
        assert_eq!(
            fault(&raw(b"\x00\xf2", 2, 0)).0,
            ErrorKind::Invalid("ziplist count: not the number of entries")
        );
        assert_eq!(
            decode(&raw(b"\x00\xf2\x02\xf3", UNKNOWN_COUNT, 2)).unwrap(),
            [Element::Int(1), Element::Int(2)]
        );
        for bad in [0xC1u8, 0xCF, 0xD8, 0xE1, 0xF0 - 1, 0xFF] {
            let (kind, _) = fault(&raw(&[0, bad, 0, 0, 0, 0, 0, 0, 0, 0], 1, 0));
            assert!(matches!(kind, ErrorKind::Invalid(_)), "{bad:#x}: {kind:?}");
        }
        assert_eq!(
            fault(&raw(b"\xff", 1, 0)).0,
            ErrorKind::Invalid("ziplist terminator before the last byte")
        );
        assert!(matches!(
            fault(&raw(b"\x00\x05ab", 1, 0)).0,
            ErrorKind::BadLength { len: 5, .. }
        ));
        assert!(matches!(
            fault(&raw(b"\x00\xe0\x00\x00", 1, 0)).0,
            ErrorKind::Incomplete { .. }
        ));
        assert!(matches!(
            fault(&raw(b"\xfe\x00\x00", 1, 0)).0,
            ErrorKind::Incomplete { .. }
        ));
        assert!(matches!(
            fault(&raw(b"\x00\x80\xff\xff\xff\xff", 1, 0)).0,
            ErrorKind::BadLength { .. }
        ));
    }

    #[test]
    fn encodes_ints_in_the_smallest_encoding() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0xF1]),
            (12, &[0xFD]),
            (13, &[0xFE, 13]),
            (-1, &[0xFE, 0xFF]),
            (-129, &[0xC0, 0x7F, 0xFF]),
            (32768, &[0xF0, 0x00, 0x80, 0x00]),
            (-8388609, &[0xD0, 0xFF, 0xFF, 0x7F, 0xFF]),
            (2147483648, &[0xE0, 0, 0, 0, 0x80, 0, 0, 0, 0]),
        ];
        for &(v, expected) in cases {
            let blob = encode(&[Element::Int(v)]);
            assert_eq!(&blob[HEADER + 1..blob.len() - 1], expected, "{v}");
        }
    }

    fn walk_any(blob: &[u8]) {
        if let Ok(mut it) = iter(blob) {
            let mut steps = 0;
            while it.next().is_some() {
                steps += 1;
                assert!(steps <= blob.len(), "no progress");
            }
        }
    }

    fn sample() -> Vec<u8> {
        let big = vec![b'b'; 300];
        encode(&[
            bytes("field"),
            Element::Bytes(&big),
            Element::Int(7),
            Element::Int(-200),
            Element::Int(70000),
            Element::Int(1 << 40),
            Element::Int(-3),
            Element::Int(9_000_000),
            bytes(""),
        ])
    }

    #[test]
    fn every_truncation_and_byte_flip_is_handled() {
        let blob = sample();
        for cut in 0..blob.len() {
            assert!(Ziplist::new(&blob[..cut]).is_err());
            if cut > HEADER {
                let mut fixed = blob[..cut].to_vec();
                fixed[..4].copy_from_slice(&(cut as u32 + 1).to_le_bytes());
                fixed[4..8].copy_from_slice(&(HEADER as u32).to_le_bytes());
                fixed.push(END);
                walk_any(&fixed);
            }
        }
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
            prop_assert_eq!(Ziplist::new(&blob).unwrap().len_hint(), Some(elements.len()));
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
            prop_assert!(Ziplist::new(&blob[..cut.index(blob.len())]).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300), count in any::<u16>(), last in any::<prop::sample::Index>()) {
            walk_any(&body);
            walk_any(&raw(&body, count, last.index(body.len() + 1)));
        }
    }
}
