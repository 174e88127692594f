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
pub(crate) fn parse_double(b: &[u8]) -> Option<f64> {
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
