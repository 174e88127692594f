//! One element of a collection, as the compact encodings store it.

use std::fmt;

/// A collection element: a byte string, or an integer that a compact encoding
/// (ziplist, listpack, intset, int-encoded string) stored as a number.
///
/// Redis treats both forms alike: an integer element is the decimal string of its
/// value. [`Element::to_vec`] and [`Element::write_to`] give those bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Element<'a> {
    /// Bytes borrowed from the input (or from a decompression buffer).
    Bytes(&'a [u8]),
    /// An integer, standing for its decimal representation.
    Int(i64),
}

impl<'a> Element<'a> {
    /// The bytes, if the element is stored as bytes.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Element::Bytes(b) => Some(b),
            Element::Int(_) => None,
        }
    }

    /// Appends the element's byte form (decimal for integers) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match *self {
            Element::Bytes(b) => out.extend_from_slice(b),
            Element::Int(i) => {
                let mut buf = itoa::Buffer::new();
                out.extend_from_slice(buf.format(i).as_bytes());
            }
        }
    }

    /// The element's byte form as a new vector (allocates).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// The element as an integer, when it is one or is the canonical decimal form of one.
    pub fn to_i64(&self) -> Option<i64> {
        match *self {
            Element::Int(i) => Some(i),
            Element::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        }
    }

    /// The element as a floating point number, the way Redis reads a score stored as
    /// a string in a ziplist or listpack (`inf`, `-inf` and `nan` included).
    pub fn to_f64(&self) -> Option<f64> {
        match *self {
            Element::Int(i) => Some(i as f64),
            Element::Bytes(b) => parse_double(b),
        }
    }
}

/// Parses a double written by Redis (`%.17g`, or `inf` / `-inf` / `nan`).
#[inline]
pub(crate) fn parse_double(b: &[u8]) -> Option<f64> {
    short_decimal(b).or_else(|| parse_double_any(b))
}

/// The common scores (`-12.5`, `3`): at most 15 digits in all, at least one on each
/// side of an optional point, no exponent. Both the digits as an integer and the
/// power of ten are exact doubles then, so one division rounds correctly: the same
/// value a full parse gives.
#[inline]
fn short_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let (mut mantissa, mut point, mut count) = (0u64, None, 0usize);
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                count += 1;
            }
            b'.' if point.is_none() && i > 0 && i + 1 < digits.len() => point = Some(i),
            _ => return None,
        }
    }
    if count > 15 {
        return None;
    }
    let fraction = point.map_or(0, |p| digits.len() - p - 1);
    let value = mantissa as f64 / POW10[fraction];
    Some(if negative { -value } else { value })
}

/// [`parse_double`] for any form.
fn parse_double_any(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Bytes(b) => write!(f, "b\"{}\"", b.escape_ascii()),
            Element::Int(i) => write!(f, "{i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fast path must give the very bits a full parse gives.
    fn same_as_std(text: &str) {
        let expected = text.parse::<f64>().ok().map(f64::to_bits);
        assert_eq!(
            parse_double(text.as_bytes()).map(f64::to_bits),
            expected,
            "{text}"
        );
    }

    #[test]
    fn scores_as_redis_writes_them() {
        for text in [
            "0",
            "-0",
            "1.5",
            "-3",
            "0.1",
            "-0.0001",
            "123456789012345",
            "1234567890123456",
            "0.30000000000000004",
            "1e+20",
            "1.7976931348623157e+308",
            "5e-324",
            "inf",
            "-inf",
            "nan",
            "1.",
            ".5",
            "-",
            "",
            "1.2.3",
            "--1",
            "12a",
            "999999999999999.9",
        ] {
            // Rust spells these "inf", "-inf" and "NaN"; Redis writes "nan".
            let special = match text {
                "inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                "nan" => Some(f64::NAN),
                _ => None,
            };
            match special {
                Some(x) => assert_eq!(
                    parse_double(text.as_bytes()).map(f64::to_bits),
                    Some(x.to_bits()),
                    "{text}"
                ),
                None => same_as_std(text),
            }
        }
    }

    proptest! {
        #[test]
        fn short_decimals_parse_exactly(int in 0u64..10_000_000_000, frac in 0u64..100_000_000, width in 0usize..9, negative: bool) {
            let sign = if negative { "-" } else { "" };
            same_as_std(&format!("{sign}{int}"));
            if width > 0 {
                same_as_std(&format!("{sign}{int}.{frac:0width$}", frac = frac % 10u64.pow(width as u32)));
            }
        }

        #[test]
        fn any_double_as_redis_formats_it(x: f64) {
            // `%.17g` round-trips; Rust's shortest form and a 17-digit form cover both
            // short and long mantissas.
            same_as_std(&format!("{x}"));
            same_as_std(&format!("{x:.17}"));
            same_as_std(&format!("{x:e}"));
        }
    }
}
