//! Frame encoding, and the [`FrameCodec`] encoder.

use std::fmt;

use bytes::{BufMut, BytesMut};

use crate::command::encode_command;
use crate::decode::FrameCodec;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::line;

/// Number of decimal digits of `n`.
#[inline]
pub(crate) fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Length of a `<ty><n>\r\n` line.
#[inline]
pub(crate) fn header_len(n: usize) -> usize {
    digits(n as u64) + 3
}

/// Writes `<ty><n>\r\n`.
#[inline]
pub(crate) fn put_header(dst: &mut BytesMut, ty: u8, n: usize) {
    // Lengths below 100 are the common case; write them without the general loop.
    if n < 10 {
        dst.put_slice(&[ty, b'0' + n as u8, b'\r', b'\n']);
    } else if n < 100 {
        dst.put_slice(&[
            ty,
            b'0' + (n / 10) as u8,
            b'0' + (n % 10) as u8,
            b'\r',
            b'\n',
        ]);
    } else {
        let mut tmp = [0u8; 24];
        let text = format_u64(n as u64, &mut tmp);
        dst.put_u8(ty);
        dst.put_slice(text);
        dst.put_slice(b"\r\n");
    }
}

/// Writes the decimal digits of `n` at the end of `tmp`, returning them.
fn format_u64(mut n: u64, tmp: &mut [u8; 24]) -> &[u8] {
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &tmp[i..];
        }
    }
}

/// Writes `<ty><v>\r\n` for a signed value.
fn put_signed(dst: &mut BytesMut, ty: u8, v: i64) {
    let mut tmp = [0u8; 24];
    dst.put_u8(ty);
    if v < 0 {
        dst.put_u8(b'-');
    }
    dst.put_slice(format_u64(v.unsigned_abs(), &mut tmp));
    dst.put_slice(b"\r\n");
}

fn signed_len(v: i64) -> usize {
    usize::from(v < 0) + digits(v.unsigned_abs()) + 3
}

/// Counts what would be written, for [`Frame::encoded_len`] of doubles.
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// A double as `strtod` reads it back exactly: Rust's shortest round-trip digits,
/// with an exponent for very large or small magnitudes (plain notation would spell
/// out hundreds of digits), and `inf`, `-inf`, `nan` as the spec writes them.
fn write_double(out: &mut impl fmt::Write, v: f64) -> fmt::Result {
    if v.is_nan() {
        out.write_str("nan")
    } else if v.is_infinite() {
        out.write_str(if v > 0.0 { "inf" } else { "-inf" })
    } else if v == 0.0 || (1e-4..1e16).contains(&v.abs()) {
        write!(out, "{v}")
    } else {
        write!(out, "{v:e}")
    }
}

fn simple_ok(text: &[u8]) -> bool {
    line::find_eol(text, 0).is_none()
}

impl Frame {
    /// The number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Frame::SimpleString(b) | Frame::Error(b) | Frame::BigNumber(b) => b.len() + 3,
            Frame::Integer(v) => signed_len(*v),
            Frame::BulkString(b) | Frame::BulkError(b) => header_len(b.len()) + b.len() + 2,
            Frame::NullBulkString | Frame::NullArray => 5,
            Frame::Null => 3,
            Frame::Boolean(_) => 4,
            Frame::Double(v) => {
                let mut n = Counter(0);
                let _ = write_double(&mut n, *v);
                n.0 + 3
            }
            Frame::VerbatimString { text, .. } => header_len(text.len() + 4) + text.len() + 6,
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                header_len(v.len()) + v.iter().map(Frame::encoded_len).sum::<usize>()
            }
            Frame::Map(pairs) => header_len(pairs.len()) + pairs_len(pairs),
            Frame::Attribute { attributes, frame } => {
                header_len(attributes.len()) + pairs_len(attributes) + frame.encoded_len()
            }
        }
    }

    /// Appends the frame's wire form to `dst`.
    ///
    /// # Wire format
    /// As listed on each [`Frame`] variant, per the RESP3 spec (RESP2 frames are the
    /// same in both).
    ///
    /// # Errors
    /// [`Error::Unencodable`] when a simple string, error or big number contains
    /// CR or LF (the frame would end early); `dst` is then left as it was.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        dst.reserve(self.encoded_len());
        let mark = dst.len();
        let result = self.write(dst);
        if result.is_err() {
            dst.truncate(mark);
        }
        result
    }

    fn write(&self, dst: &mut BytesMut) -> Result<()> {
        match self {
            Frame::SimpleString(b) => put_simple(dst, b'+', b, "simple string with CR or LF")?,
            Frame::Error(b) => put_simple(dst, b'-', b, "simple error with CR or LF")?,
            Frame::BigNumber(b) => put_simple(dst, b'(', b, "big number with CR or LF")?,
            Frame::Integer(v) => put_signed(dst, b':', *v),
            Frame::BulkString(b) => put_bulk(dst, b'$', b),
            Frame::BulkError(b) => put_bulk(dst, b'!', b),
            Frame::NullBulkString => dst.put_slice(b"$-1\r\n"),
            Frame::NullArray => dst.put_slice(b"*-1\r\n"),
            Frame::Null => dst.put_slice(b"_\r\n"),
            Frame::Boolean(v) => dst.put_slice(if *v { b"#t\r\n" } else { b"#f\r\n" }),
            Frame::Double(v) => {
                dst.put_u8(b',');
                // Writing to a BytesMut cannot fail.
                let _ = write_double(dst, *v);
                dst.put_slice(b"\r\n");
            }
            Frame::VerbatimString { format, text } => {
                put_header(dst, b'=', text.len() + 4);
                dst.put_slice(format);
                dst.put_u8(b':');
                dst.put_slice(text);
                dst.put_slice(b"\r\n");
            }
            Frame::Array(v) => put_elements(dst, b'*', v)?,
            Frame::Set(v) => put_elements(dst, b'~', v)?,
            Frame::Push(v) => put_elements(dst, b'>', v)?,
            Frame::Map(pairs) => put_pairs(dst, b'%', pairs)?,
            Frame::Attribute { attributes, frame } => {
                put_pairs(dst, b'|', attributes)?;
                frame.write(dst)?;
            }
        }
        Ok(())
    }
}

fn pairs_len(pairs: &[(Frame, Frame)]) -> usize {
    pairs
        .iter()
        .map(|(k, v)| k.encoded_len() + v.encoded_len())
        .sum()
}

fn put_simple(dst: &mut BytesMut, ty: u8, text: &[u8], what: &'static str) -> Result<()> {
    if !simple_ok(text) {
        return Err(Error::Unencodable { what });
    }
    dst.put_u8(ty);
    dst.put_slice(text);
    dst.put_slice(b"\r\n");
    Ok(())
}

fn put_bulk(dst: &mut BytesMut, ty: u8, data: &[u8]) {
    put_header(dst, ty, data.len());
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

fn put_elements(dst: &mut BytesMut, ty: u8, v: &[Frame]) -> Result<()> {
    put_header(dst, ty, v.len());
    v.iter().try_for_each(|f| f.write(dst))
}

fn put_pairs(dst: &mut BytesMut, ty: u8, pairs: &[(Frame, Frame)]) -> Result<()> {
    put_header(dst, ty, pairs.len());
    for (k, v) in pairs {
        k.write(dst)?;
        v.write(dst)?;
    }
    Ok(())
}

impl tokio_util::codec::Encoder<Frame> for FrameCodec {
    type Error = Error;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<()> {
        frame.encode(dst)
    }
}

impl tokio_util::codec::Encoder<&Frame> for FrameCodec {
    type Error = Error;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<()> {
        frame.encode(dst)
    }
}

/// Sends a command given as its arguments, straight from the borrowed slices.
impl<A: AsRef<[u8]>> tokio_util::codec::Encoder<&[A]> for FrameCodec {
    type Error = Error;

    fn encode(&mut self, args: &[A], dst: &mut BytesMut) -> Result<()> {
        encode_command(dst, args);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_digits() {
        for n in [0usize, 1, 9, 10, 99, 100, 12345, usize::MAX] {
            let mut dst = BytesMut::new();
            put_header(&mut dst, b'$', n);
            assert_eq!(dst, format!("${n}\r\n").as_bytes());
            assert_eq!(header_len(n), dst.len());
        }
        for v in [0i64, -1, 7, i64::MIN, i64::MAX] {
            let mut dst = BytesMut::new();
            put_signed(&mut dst, b':', v);
            assert_eq!(dst, format!(":{v}\r\n").as_bytes());
            assert_eq!(signed_len(v), dst.len());
        }
    }

    #[test]
    fn doubles() {
        for (v, text) in [
            (1.5, ",1.5\r\n"),
            (0.0, ",0\r\n"),
            (-0.0, ",-0\r\n"),
            (3.0, ",3\r\n"),
            (1e300, ",1e300\r\n"),
            (-2.5e-10, ",-2.5e-10\r\n"),
            (f64::INFINITY, ",inf\r\n"),
            (f64::NEG_INFINITY, ",-inf\r\n"),
            (f64::NAN, ",nan\r\n"),
        ] {
            let mut dst = BytesMut::new();
            Frame::Double(v).encode(&mut dst).unwrap();
            assert_eq!(dst, text.as_bytes());
            assert_eq!(Frame::Double(v).encoded_len(), text.len());
        }
    }

    #[test]
    fn rejects_line_breaks_and_leaves_dst_alone() {
        let mut dst = BytesMut::from(&b"keep"[..]);
        let frame = Frame::Array(vec![Frame::Integer(1), Frame::simple("a\r\nb")]);
        assert!(matches!(
            frame.encode(&mut dst),
            Err(Error::Unencodable { .. })
        ));
        assert_eq!(dst, &b"keep"[..]);
    }
}
