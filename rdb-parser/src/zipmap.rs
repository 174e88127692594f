//! Zipmaps: the compact string-to-string map of small hashes in Redis up to 2.4.
//!
//! # Wire format
//! ```text
//! count (u8, >= 254 = unknown)  (len field  len free value [free bytes])*  0xFF
//! len: 1 byte if < 254, else 0xFE + u32 LE; free: u8, unused bytes after the value
//! ```
//! Source: redis `src/zipmap.c` (`zipmapDecodeLength`, `zipmapValidateIntegrity`).

use crate::error::{Error, ErrorKind, Result};

/// The count byte and the length byte meaning "see the next 4 bytes".
const BIG_LEN: u8 = 254;

/// The terminator byte.
const END: u8 = 0xFF;

/// A zipmap, checked at its ends; pairs are decoded by [`Zipmap::iter`].
///
/// # Wire format
/// See the module documentation (redis `src/zipmap.c`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Zipmap {
    count: u8,
}

impl Zipmap {
    /// Checks `blob`: at least 2 bytes (count and terminator), the last one 0xFF.
    ///
    /// # Errors
    /// [`ErrorKind::Incomplete`] when `blob` is shorter than 2 bytes,
    /// [`ErrorKind::Invalid`] when its last byte is not the terminator.
    pub(crate) fn new(blob: &[u8]) -> Result<Self> {
        let (Some(&count), Some(&last)) = (blob.first(), blob.get(1..).and_then(<[u8]>::last))
        else {
            return Err(Error::new(
                ErrorKind::Incomplete { expected: "zipmap" },
                blob.len() as u64,
            ));
        };
        if last != END {
            return Err(Error::new(
                ErrorKind::Invalid("zipmap terminator"),
                blob.len() as u64 - 1,
            ));
        }
        Ok(Zipmap { count })
    }

    /// The number of pairs, as the count byte states it, unless it is 254 or more
    /// (unknown).
    pub(crate) fn len_hint(&self) -> Option<usize> {
        (self.count < BIG_LEN).then_some(usize::from(self.count))
    }

    /// Walks the (field, value) pairs in order, then checks the count: a position that
    /// is given the blob at each step (so that its owner may also own the blob).
    pub(crate) fn walk(&self) -> ZipmapWalk {
        ZipmapWalk {
            pos: 1,
            seen: 0,
            count: self.count,
        }
    }
}

/// Where a walk over a zipmap's pairs stands; see [`Zipmap::walk`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ZipmapWalk {
    pos: usize,
    seen: u64,
    count: u8,
}

impl ZipmapWalk {
    /// Whether every entry of `blob` has been walked (the next step ends the walk).
    pub(crate) fn at_end(&self, blob: &[u8]) -> bool {
        self.pos + 1 >= blob.len()
    }

    /// Decodes the pair at `pos` of `blob` (the zipmap this walk was made from) and
    /// moves past it; `None` at the terminator.
    pub(crate) fn next<'b>(&mut self, blob: &'b [u8]) -> Result<Option<(&'b [u8], &'b [u8])>> {
        let at = self.pos;
        let end = blob.len().saturating_sub(1);
        // The pairs end before the terminator (`Zipmap::new` checked it is there).
        let body = blob.get(at..end).unwrap_or_default();
        match body.first() {
            None => {
                if self.count < BIG_LEN && self.seen != u64::from(self.count) {
                    return Err(Error::new(
                        ErrorKind::Invalid("zipmap count: not the number of pairs"),
                        0,
                    ));
                }
                return Ok(None);
            }
            Some(&END) => {
                return Err(Error::new(
                    ErrorKind::Invalid("zipmap terminator before the last byte"),
                    at as u64,
                ));
            }
            Some(_) => {}
        }
        let (field, rest) = string(body, at, false)?;
        let (value, rest) = string(rest, end - rest.len(), true)?;
        self.pos = end - rest.len();
        self.seen += 1;
        Ok(Some((field, value)))
    }
}

/// Reads a length and the string after it from `input` (at offset `at` of the
/// zipmap); with `free`, a free-byte count follows the length and that many bytes
/// the string. Returns the string and the input after it.
fn string(input: &[u8], at: usize, free: bool) -> Result<(&[u8], &[u8])> {
    let cut = || {
        Error::new(
            ErrorKind::Incomplete {
                expected: "zipmap entry",
            },
            at as u64,
        )
    };
    let (len, rest) = match *input {
        [BIG_LEN, a, b, c, d, ref rest @ ..] => (u32::from_le_bytes([a, b, c, d]) as usize, rest),
        [BIG_LEN, ..] | [] => return Err(cut()),
        [END, ..] => return Err(Error::new(ErrorKind::Invalid("zipmap length"), at as u64)),
        [small, ref rest @ ..] => (usize::from(small), rest),
    };
    let (skip, rest) = match (free, rest) {
        (false, _) => (0, rest),
        (true, [n, rest @ ..]) => (usize::from(*n), rest),
        (true, []) => return Err(cut()),
    };
    let too_long = |len: usize| {
        Error::new(
            ErrorKind::BadLength {
                what: "zipmap string length",
                len: len as u64,
            },
            at as u64,
        )
    };
    let s = rest.get(..len).ok_or_else(|| too_long(len))?;
    let after = rest
        .get(len..)
        .and_then(|r| r.get(skip..))
        .ok_or_else(|| too_long(len + skip))?;
    Ok((s, after))
}

/// Encodes (field, value) pairs as a zipmap the way Redis would, with no free bytes.
///
/// # Panics
/// If a field or value is 4 GiB or longer; Redis's limits are far below that.
#[allow(dead_code)] // Used by tests now and by the RDB encoder later.
pub(crate) fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = vec![u8::try_from(pairs.len()).unwrap_or(BIG_LEN).min(BIG_LEN)];
    let push_len = |out: &mut Vec<u8>, len: usize| {
        if len < usize::from(BIG_LEN) {
            out.push(len as u8);
        } else {
            out.push(BIG_LEN);
            let len = u32::try_from(len).expect("zipmap strings are shorter than 4 GiB");
            out.extend_from_slice(&len.to_le_bytes());
        }
    };
    for (field, value) in pairs {
        push_len(&mut out, field.len());
        out.extend_from_slice(field);
        push_len(&mut out, value.len());
        out.push(0);
        out.extend_from_slice(value);
    }
    out.push(END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listpack::tests::{BOUNDARY_LENGTHS, until_error};
    use proptest::prelude::*;

    /// Walks the (field, value) pairs in order, then checks the count.
    fn iter(blob: &[u8]) -> Result<impl Iterator<Item = Result<(&[u8], &[u8])>>> {
        let mut walk = Zipmap::new(blob)?.walk();
        Ok(until_error(move || walk.next(blob)))
    }

    type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

    fn decode(blob: &[u8]) -> Result<Pairs<'_>> {
        iter(blob)?.collect()
    }

    fn fault(blob: &[u8]) -> (ErrorKind, u64) {
        let e = decode(blob).expect_err("must fail");
        (e.kind().clone(), e.offset())
    }

    /// The example in the comment of redis `src/zipmap.c`: "foo" => "bar",
    /// "hello" => "world".
    #[test]
    fn redis_documented_example() {
        let blob = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        let pairs: Pairs = vec![(b"foo", b"bar"), (b"hello", b"world")];
        assert_eq!(decode(blob).unwrap(), pairs);
        assert_eq!(Zipmap::new(blob).unwrap().len_hint(), Some(2));
        assert_eq!(encode(&pairs), blob);
    }

    #[test]
    fn free_bytes_and_long_lengths() {
        // A value with 3 free bytes after it, then an empty field and value.
        let blob = b"\x02\x01a\x02\x03hi...\x00\x00\x00\xff";
        let pairs: Pairs = vec![(b"a", b"hi"), (b"", b"")];
        assert_eq!(decode(blob).unwrap(), pairs);
        // 5-byte lengths: a 300-byte value.
        let long = vec![b'v'; 300];
        let mut blob = b"\x01\x01k\xfe\x2c\x01\x00\x00\x00".to_vec();
        blob.extend_from_slice(&long);
        blob.push(END);
        assert_eq!(decode(&blob).unwrap(), [(&b"k"[..], &long[..])]);
        assert_eq!(encode(&[(b"k", &long)]), blob);
        // A 5-byte length may hold a small value.
        assert_eq!(
            decode(b"\x01\xfe\x01\x00\x00\x00k\x00\x00\xff").unwrap(),
            [(&b"k"[..], &b""[..])]
        );
    }

    #[test]
    fn unknown_count() {
        for count in [254, 255] {
            let blob = [count, 1, b'f', 1, 0, b'v', END];
            assert_eq!(Zipmap::new(&blob).unwrap().len_hint(), None);
            assert_eq!(decode(&blob).unwrap().len(), 1);
        }
        let many: Vec<(&[u8], &[u8])> = vec![(b"f", b"v"); 300];
        let blob = encode(&many);
        assert_eq!(blob[0], 254);
        assert_eq!(decode(&blob).unwrap(), many);
    }

    #[test]
    fn checks() {
        assert_eq!(fault(b"").0, ErrorKind::Incomplete { expected: "zipmap" });
        assert_eq!(
            fault(b"\xff").0,
            ErrorKind::Incomplete { expected: "zipmap" }
        );
        assert_eq!(
            fault(b"\x00\x00"),
            (ErrorKind::Invalid("zipmap terminator"), 1)
        );
        assert!(decode(b"\x00\xff").unwrap().is_empty());
        assert_eq!(
            fault(b"\x02\x01a\x01\x00b\xff").0,
            ErrorKind::Invalid("zipmap count: not the number of pairs")
        );
        assert_eq!(
            fault(b"\x01\x01a\x01\x00b\xff\xff"),
            (
                ErrorKind::Invalid("zipmap terminator before the last byte"),
                6
            )
        );
        assert_eq!(
            fault(b"\x01\x01a\xff\x00\xff").0,
            ErrorKind::Invalid("zipmap length")
        );
        assert!(matches!(
            fault(b"\x01\x05a\xff").0,
            ErrorKind::BadLength { len: 5, .. }
        ));
        assert!(matches!(
            fault(b"\x01\x01a\x01\x09b\xff").0,
            ErrorKind::BadLength { len: 10, .. }
        ));
        assert_eq!(
            fault(b"\x01\x01a\xff").0,
            ErrorKind::Incomplete {
                expected: "zipmap entry"
            }
        );
        assert_eq!(
            fault(b"\x01\x01a\x01\xff").0,
            ErrorKind::Incomplete {
                expected: "zipmap entry"
            }
        );
        assert_eq!(
            fault(b"\x01\xfe\x01\x00\xff").0,
            ErrorKind::Incomplete {
                expected: "zipmap entry"
            }
        );
        assert!(matches!(
            fault(b"\x01\xfe\xff\xff\xff\xff\xff").0,
            ErrorKind::BadLength { .. }
        ));
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

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::collection::vec(any::<u8>(), 0..40),
            1 => (prop::sample::select(BOUNDARY_LENGTHS), any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(owned in prop::collection::vec((bytes(), bytes()), 0..30)) {
            let pairs: Pairs = owned.iter().map(|(f, v)| (&f[..], &v[..])).collect();
            let blob = encode(&pairs);
            prop_assert_eq!(decode(&blob).unwrap(), pairs);
        }

        #[test]
        fn corrupt_blobs_never_panic(
            owned in prop::collection::vec((bytes(), bytes()), 1..8),
            at in any::<prop::sample::Index>(),
            xor in 1u8..,
        ) {
            let pairs: Pairs = owned.iter().map(|(f, v)| (&f[..], &v[..])).collect();
            let blob = encode(&pairs);
            for cut in 0..blob.len() {
                let mut fixed = blob[..cut].to_vec();
                fixed.push(END);
                walk_any(&fixed);
                walk_any(&blob[..cut]);
            }
            let mut flipped = blob.clone();
            flipped[at.index(blob.len())] ^= xor;
            walk_any(&flipped);
        }

        #[test]
        fn arbitrary_bytes_never_panic(mut blob in prop::collection::vec(any::<u8>(), 0..300)) {
            walk_any(&blob);
            blob.push(END);
            walk_any(&blob);
        }
    }
}
