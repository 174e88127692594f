//! The RESP2 and RESP3 frame types.
//!
//! Spec: `RESP3.md` of the redis-doc / resp3 repositories; the server writes them in
//! `networking.c` (`addReply*`).

use bytes::Bytes;

/// One RESP2 or RESP3 frame.
///
/// Decoded frames are zero-copy: every [`Bytes`] in them is a slice of the buffer
/// they were decoded from. Nulls keep their wire form (`$-1`, `*-1` or `_`) so that
/// encoding a decoded frame gives back the same bytes; doubles are the exception,
/// written in Rust's shortest round-trip form.
///
/// `Debug` shows payloads: don't log frames that may carry secrets.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+text\r\n`; the text holds no CR or LF.
    SimpleString(Bytes),
    /// `-text\r\n`, an error reply; by convention the first word is the error code.
    Error(Bytes),
    /// `:123\r\n`.
    Integer(i64),
    /// `$3\r\nfoo\r\n`.
    BulkString(Bytes),
    /// `$-1\r\n`, the RESP2 null bulk string.
    NullBulkString,
    /// `*2\r\n...`.
    Array(Vec<Frame>),
    /// `*-1\r\n`, the RESP2 null array.
    NullArray,
    /// `_\r\n`, the RESP3 null.
    Null,
    /// `#t\r\n` or `#f\r\n` (RESP3).
    Boolean(bool),
    /// `,1.5\r\n`, `,inf\r\n`, `,-inf\r\n`, `,nan\r\n` (RESP3).
    Double(f64),
    /// `(12345678901234567890\r\n` (RESP3): the digits, with an optional leading `-`.
    BigNumber(Bytes),
    /// `!21\r\nSYNTAX invalid syntax\r\n` (RESP3).
    BulkError(Bytes),
    /// `=15\r\ntxt:Some string\r\n` (RESP3).
    VerbatimString {
        /// The three-byte format, `txt` or `mkd`.
        format: [u8; 3],
        /// The text after `format:`.
        text: Bytes,
    },
    /// `%2\r\n` then key, value, key, value (RESP3).
    Map(Vec<(Frame, Frame)>),
    /// `~2\r\n` then the members (RESP3).
    Set(Vec<Frame>),
    /// `|1\r\n` then key, value pairs, then the frame they describe (RESP3). Counts
    /// as one element where it appears.
    Attribute {
        /// The attribute map.
        attributes: Vec<(Frame, Frame)>,
        /// The frame the attributes describe.
        frame: Box<Frame>,
    },
    /// `>3\r\n` then the elements: out-of-band data such as pub/sub messages (RESP3).
    Push(Vec<Frame>),
}

/// The aggregate frame types, for [`Event::Aggregate`](crate::Event::Aggregate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregateKind {
    /// `*`
    Array,
    /// `%`: its length counts pairs.
    Map,
    /// `~`
    Set,
    /// `|`: its length counts pairs, and the described frame follows them.
    Attribute,
    /// `>`
    Push,
}

/// The frame types that carry a length-prefixed payload, for
/// [`Event::BulkStart`](crate::Event::BulkStart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BulkKind {
    /// `$`
    String,
    /// `!`
    Error,
    /// `=`: the payload starts with the format and `:` (`txt:...`).
    Verbatim,
}

impl Frame {
    /// A bulk string frame, copying `data`.
    pub fn bulk(data: impl AsRef<[u8]>) -> Frame {
        Frame::BulkString(Bytes::copy_from_slice(data.as_ref()))
    }

    /// A simple string frame from a static text.
    pub fn simple(text: &'static str) -> Frame {
        Frame::SimpleString(Bytes::from_static(text.as_bytes()))
    }

    /// An array of bulk strings, copying each argument: a command as a frame.
    pub fn command<A: AsRef<[u8]>>(args: &[A]) -> Frame {
        Frame::Array(args.iter().map(Frame::bulk).collect())
    }

    /// Whether this is any of the three nulls.
    pub fn is_null(&self) -> bool {
        matches!(self, Frame::Null | Frame::NullBulkString | Frame::NullArray)
    }

    /// Whether this is an error reply, simple or bulk.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_) | Frame::BulkError(_))
    }

    /// The payload of a simple string, error, bulk string, bulk error, big number or
    /// verbatim string (without its format).
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Frame::SimpleString(b)
            | Frame::Error(b)
            | Frame::BulkString(b)
            | Frame::BigNumber(b)
            | Frame::BulkError(b)
            | Frame::VerbatimString { text: b, .. } => Some(b),
            _ => None,
        }
    }

    /// The value of an integer frame.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Frame::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The elements of an array, set or push frame.
    pub fn as_elements(&self) -> Option<&[Frame]> {
        match self {
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => Some(v),
            _ => None,
        }
    }

    /// The frame's type as the protocol spec names it (`"bulk string"`, `"map"`...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Frame::SimpleString(_) => "simple string",
            Frame::Error(_) => "simple error",
            Frame::Integer(_) => "integer",
            Frame::BulkString(_) => "bulk string",
            Frame::NullBulkString => "null bulk string",
            Frame::Array(_) => "array",
            Frame::NullArray => "null array",
            Frame::Null => "null",
            Frame::Boolean(_) => "boolean",
            Frame::Double(_) => "double",
            Frame::BigNumber(_) => "big number",
            Frame::BulkError(_) => "bulk error",
            Frame::VerbatimString { .. } => "verbatim string",
            Frame::Map(_) => "map",
            Frame::Set(_) => "set",
            Frame::Attribute { .. } => "attribute",
            Frame::Push(_) => "push",
        }
    }
}
