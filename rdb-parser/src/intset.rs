//! Intsets: the sorted array of integers Redis uses for small sets of integers.
//!
//! # Wire format
//! ```text
//! encoding (u32 LE: 2, 4 or 8 bytes per value)  count (u32 LE)  value*
//! ```
//! Values are LE two's complement of the encoding's width, strictly increasing.
//! Source: redis `src/intset.c` (`intsetValidateIntegrity`, `_intsetGetEncoded`).

use crate::error::{Error, ErrorKind, Result};

/// Header: encoding (4) and count (4).
const HEADER: usize = 8;

/// An intset, fully validated by [`Intset::new`].
///
/// # Wire format
/// See the module documentation (redis `src/intset.c`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Intset<'a> {
    /// The values, `width` bytes each.
    values: &'a [u8],
    width: usize,
}

impl<'a> Intset<'a> {
    /// Validates `blob`: an encoding of 2, 4 or 8, a size of exactly 8 bytes plus
    /// one value per count, and values strictly increasing.
    ///
    /// The order check is what Redis does only with deep sanitization; it is one pass
    /// over at most a few KiB (sets stay intsets up to `set-max-intset-entries`), and
    /// it makes [`Intset::iter`] infallible. An empty intset is accepted here (Redis
    /// refuses it when loading); callers decide about empty collections.
    ///
    /// # Errors
    /// [`ErrorKind::Incomplete`] when `blob` is shorter than the header or than its
    /// values, [`ErrorKind::Invalid`] for an unknown encoding or values out of order,
    /// [`ErrorKind::BadLength`] when bytes follow the last value.
    pub(crate) fn new(blob: &'a [u8]) -> Result<Self> {
        let Some((&[e0, e1, e2, e3, c0, c1, c2, c3], values)) = blob.split_first_chunk::<HEADER>()
        else {
            return Err(Error::new(
                ErrorKind::Incomplete {
                    expected: "intset header",
                },
                0,
            ));
        };
        let width = match u32::from_le_bytes([e0, e1, e2, e3]) {
            w @ (2 | 4 | 8) => w as usize,
            _ => return Err(Error::new(ErrorKind::Invalid("intset encoding"), 0)),
        };
        let count = u64::from(u32::from_le_bytes([c0, c1, c2, c3]));
        let needed = count * width as u64;
        if needed > values.len() as u64 {
            return Err(Error::new(
                ErrorKind::Incomplete {
                    expected: "intset values",
                },
                blob.len() as u64,
            ));
        }
        if needed < values.len() as u64 {
            return Err(Error::new(
                ErrorKind::BadLength {
                    what: "intset size for its count",
                    len: blob.len() as u64,
                },
                4,
            ));
        }
        let set = Intset { values, width };
        let mut it = set.iter();
        if let Some(mut prev) = it.next() {
            for (i, v) in it.enumerate() {
                if v <= prev {
                    let at = HEADER + (i + 1) * width;
                    return Err(Error::new(
                        ErrorKind::Invalid("intset order: values not strictly increasing"),
                        at as u64,
                    ));
                }
                prev = v;
            }
        }
        Ok(set)
    }

    /// The number of values.
    pub(crate) fn len(&self) -> usize {
        self.values.len() / self.width
    }

    /// The values, in increasing order.
    pub(crate) fn iter(&self) -> IntsetIter<'a> {
        IntsetIter {
            values: self.values,
            walk: IntsetWalk {
                pos: 0,
                width: self.width,
            },
        }
    }

    /// The same walk as [`Intset::iter`], as a position that is given the whole blob
    /// at each step (so that its owner may also own the blob).
    pub(crate) fn walk(&self) -> IntsetWalk {
        IntsetWalk {
            pos: HEADER,
            width: self.width,
        }
    }
}

/// The values of an [`Intset`].
#[derive(Clone, Debug)]
pub(crate) struct IntsetIter<'a> {
    /// The values after the header.
    values: &'a [u8],
    walk: IntsetWalk,
}

impl Iterator for IntsetIter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        self.walk.next(self.values)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.values.len().saturating_sub(self.walk.pos) / self.walk.width;
        (n, Some(n))
    }
}

impl ExactSizeIterator for IntsetIter<'_> {}

/// Where a walk over an intset's values stands; see [`Intset::walk`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct IntsetWalk {
    pos: usize,
    width: usize,
}

impl IntsetWalk {
    /// Whether every entry of `blob` has been walked (the next step ends the walk).
    pub(crate) fn at_end(&self, blob: &[u8]) -> bool {
        self.pos >= blob.len()
    }

    /// The value at `pos` of `blob` (the bytes this walk was made for); `None`
    /// after the last.
    #[inline]
    pub(crate) fn next(&mut self, blob: &[u8]) -> Option<i64> {
        let rest = blob.get(self.pos..)?;
        let v = match self.width {
            2 => i64::from(i16::from_le_bytes(*rest.first_chunk::<2>()?)),
            4 => i64::from(i32::from_le_bytes(*rest.first_chunk::<4>()?)),
            _ => i64::from_le_bytes(*rest.first_chunk::<8>()?),
        };
        self.pos += self.width;
        Some(v)
    }
}

/// Encodes `values` as an intset the way Redis would: sorted, duplicates removed,
/// in the smallest encoding that holds them all.
///
/// # Panics
/// If there are 2^32 values or more; Redis's limits are far below that.
#[allow(dead_code)] // Used by tests now and by the RDB encoder later.
pub(crate) fn encode(values: &[i64]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let fits = |lo: i64, hi: i64| {
        sorted.first().is_none_or(|&v| v >= lo) && sorted.last().is_none_or(|&v| v <= hi)
    };
    let width: u32 = if fits(i16::MIN.into(), i16::MAX.into()) {
        2
    } else if fits(i32::MIN.into(), i32::MAX.into()) {
        4
    } else {
        8
    };
    let count = u32::try_from(sorted.len()).expect("intsets hold fewer than 2^32 values");
    let mut out = Vec::with_capacity(HEADER + sorted.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    for v in sorted {
        out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listpack::tests::{BOUNDARY_INTS, hex};
    use proptest::prelude::*;

    fn decode(blob: &[u8]) -> Result<Vec<i64>> {
        Ok(Intset::new(blob)?.iter().collect())
    }

    fn kind(blob: &[u8]) -> ErrorKind {
        decode(blob).expect_err("must fail").kind().clone()
    }

    /// Intsets Redis wrote: `primes` from `tests/fixtures/redis-6.2.14/sample.rdb`,
    /// and three sets from Redis 7.0.15 (`SADD` then `DUMP`), one per encoding.
    #[test]
    fn redis_fixtures() {
        let cases: &[(&str, &[i64])] = &[
            ("020000000500000002000300050007000b00", &[2, 3, 5, 7, 11]),
            ("020000000300000000800500ff7f", &[-32768, 5, 32767]),
            ("0400000003000000ffffffff0300000070110100", &[-1, 3, 70000]),
            (
                "080000000300000000000000000000800100000000000000ffffffffffffff7f",
                &[i64::MIN, 1, i64::MAX],
            ),
        ];
        for &(blob, values) in cases {
            let blob = hex(blob);
            let set = Intset::new(&blob).unwrap();
            assert_eq!(set.len(), values.len());
            assert_eq!(set.iter().len(), values.len());
            assert_eq!(decode(&blob).unwrap(), values);
            assert_eq!(encode(values), blob);
            for cut in 0..blob.len() {
                assert!(Intset::new(&blob[..cut]).is_err());
            }
        }
    }

    #[test]
    fn every_encoding_and_boundary() {
        assert_eq!(encode(&[]), hex("0200000000000000"));
        assert_eq!(decode(&hex("0200000000000000")).unwrap(), []);
        assert_eq!(encode(&[32767, -32768])[..4], [2, 0, 0, 0]);
        assert_eq!(encode(&[32768])[..4], [4, 0, 0, 0]);
        assert_eq!(encode(&[-32769])[..4], [4, 0, 0, 0]);
        assert_eq!(encode(&[i64::from(i32::MAX) + 1])[..4], [8, 0, 0, 0]);
        assert_eq!(encode(&[i64::from(i32::MIN) - 1])[..4], [8, 0, 0, 0]);
        assert_eq!(encode(&[3, 1, 3, 2]), hex("0200000003000000010002000300"));
    }

    #[test]
    fn checks() {
        assert_eq!(
            kind(b"\x02\0\0\0\0\0\0"),
            ErrorKind::Incomplete {
                expected: "intset header"
            }
        );
        assert_eq!(
            kind(&hex("0300000000000000")),
            ErrorKind::Invalid("intset encoding")
        );
        assert_eq!(
            kind(&hex("0000000000000000")),
            ErrorKind::Invalid("intset encoding")
        );
        assert!(matches!(
            kind(&hex("020000000100000001000200")),
            ErrorKind::BadLength { .. }
        ));
        assert_eq!(
            kind(&hex("0800000001000000010000")),
            ErrorKind::Incomplete {
                expected: "intset values"
            }
        );
        assert_eq!(
            kind(&hex("02000000ffffffff")),
            ErrorKind::Incomplete {
                expected: "intset values"
            }
        );
        let unsorted = Intset::new(&hex("0200000003000000010003000200")).unwrap_err();
        assert_eq!(
            unsorted.kind(),
            &ErrorKind::Invalid("intset order: values not strictly increasing")
        );
        assert_eq!(unsorted.offset(), 12);
        // A duplicate is out of order too.
        assert!(Intset::new(&hex("020000000200000001000100")).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(values in prop::collection::vec(prop_oneof![any::<i64>(), prop::sample::select(BOUNDARY_INTS), -40i64..40], 0..60)) {
            let blob = encode(&values);
            let mut expected = values.clone();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(decode(&blob).unwrap(), expected);
        }

        #[test]
        fn corrupt_blobs_never_panic(values in prop::collection::vec(any::<i32>(), 1..20), at in any::<prop::sample::Index>(), xor in 1u8.., cut in any::<prop::sample::Index>()) {
            let values: Vec<i64> = values.into_iter().map(i64::from).collect();
            let blob = encode(&values);
            prop_assert!(Intset::new(&blob[..cut.index(blob.len())]).is_err());
            let mut flipped = blob.clone();
            flipped[at.index(blob.len())] ^= xor;
            if let Ok(set) = Intset::new(&flipped) {
                let decoded: Vec<i64> = set.iter().collect();
                prop_assert!(decoded.windows(2).all(|w| w[0] < w[1]));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(blob in prop::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(set) = Intset::new(&blob) {
                prop_assert_eq!(set.iter().count(), set.len());
            }
        }
    }
}
