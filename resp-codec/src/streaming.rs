//! Streaming mode: frames whose large bulks are delivered in chunks as they arrive,
//! so a huge value (or a replication stream carrying one) is never buffered whole.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::decode::{Ctx, Parser, Step, Token, build};
use crate::encode::put_header;
use crate::error::{Error, Result};
use crate::frame::{AggregateKind, BulkKind, Frame};
use crate::limits::Limits;
use crate::payload::Payload;

/// One piece of what a [`StreamingCodec`] decodes.
///
/// A frame with no bulk over the threshold comes whole, as [`Event::Frame`]. A frame
/// with one comes in pieces, depth first: an [`Event::Aggregate`] for each aggregate
/// around the large bulk, [`Event::Element`] for each whole element before and after
/// it, the bulk as [`Event::BulkStart`], [`Event::BulkChunk`]s and [`Event::BulkEnd`],
/// and finally [`Event::End`]. `Frame` and `End` carry the frame's length on the
/// wire: add them up to keep a replication offset.
///
/// ```text
/// *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n...   (threshold 65536)
///   Aggregate { kind: Array, len: 3 }
///   Element(BulkString("SET")), Element(BulkString("k"))
///   BulkStart { kind: String, len: 100000 }, BulkChunk(..)..., BulkEnd
///   End { wire_len: 100031 }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A whole top-level frame of `wire_len` bytes.
    Frame {
        /// The frame.
        frame: Frame,
        /// Its length on the wire.
        wire_len: usize,
    },
    /// An aggregate delivered in pieces starts; its elements follow as events
    /// (for a map or an attribute, `len` counts pairs; an attribute's described
    /// frame follows its pairs).
    Aggregate {
        /// The aggregate's type.
        kind: AggregateKind,
        /// Its length as on the wire.
        len: usize,
    },
    /// A whole element of the aggregate being delivered in pieces.
    Element(Frame),
    /// A bulk longer than the threshold starts; `len` bytes follow as chunks.
    /// For a verbatim string they include the `txt:` prefix.
    BulkStart {
        /// The bulk's type.
        kind: BulkKind,
        /// Its payload length.
        len: u64,
    },
    /// The next bytes of the large bulk (never empty).
    BulkChunk(Bytes),
    /// The large bulk is complete.
    BulkEnd,
    /// The top-level frame delivered in pieces is complete; it took `wire_len`
    /// bytes on the wire.
    End {
        /// Its length on the wire.
        wire_len: u64,
    },
    /// The RDB payload of a full resynchronisation starts (after
    /// [`StreamingCodec::expect_rdb_payload`]); its bytes follow as
    /// [`Event::BulkChunk`]s. `len` is `None` for a diskless transfer, whose end
    /// is a mark rather than a length.
    Payload {
        /// The payload's length, when the master sent it.
        len: Option<u64>,
    },
    /// The RDB payload is complete (its end mark, if any, consumed): frames follow.
    PayloadEnd,
}

/// Decodes frames like [`FrameCodec`](crate::FrameCodec), but delivers every bulk
/// longer than a threshold in chunks, as [`Event`]s.
///
/// Use it for the replication stream and for replies that may hold huge values:
/// memory stays bounded by the threshold and [`Limits::with_max_frame_len`] (which
/// here counts only the bytes that are buffered), while
/// [`Limits::with_max_bulk_len`] bounds the bulks themselves.
///
/// ```
/// use bytes::BytesMut;
/// use resp_codec::{Event, Frame, StreamingCodec};
///
/// let mut codec = StreamingCodec::new(4);
/// let mut buf = BytesMut::from(&b"+OK\r\n$10\r\nhello"[..]);
/// assert_eq!(codec.decode(&mut buf)?, Some(Event::Frame { frame: Frame::simple("OK"), wire_len: 5 }));
/// assert!(matches!(codec.decode(&mut buf)?, Some(Event::BulkStart { len: 10, .. })));
/// assert!(matches!(codec.decode(&mut buf)?, Some(Event::BulkChunk(c)) if c == "hello"));
/// assert_eq!(codec.decode(&mut buf)?, None);
/// buf.extend_from_slice(b"world\r\n");
/// assert!(matches!(codec.decode(&mut buf)?, Some(Event::BulkChunk(c)) if c == "world"));
/// assert_eq!(codec.decode(&mut buf)?, Some(Event::BulkEnd));
/// assert_eq!(codec.decode(&mut buf)?, Some(Event::End { wire_len: 17 }));
/// # Ok::<(), resp_codec::Error>(())
/// ```
#[derive(Debug)]
pub struct StreamingCodec {
    limits: Limits,
    threshold: u64,
    parser: Parser,
    consumed: u64,
    /// Elements still to come in each aggregate being delivered in pieces.
    outer: Vec<usize>,
    /// Payload bytes still to come of the bulk being delivered, then its CRLF.
    bulk: Option<u64>,
    queue: VecDeque<Event>,
    /// Bytes of the top-level frame in pieces consumed so far.
    frame_len: u64,
    /// The RDB payload being read, after `expect_rdb_payload`.
    payload: Option<Payload>,
}

impl StreamingCodec {
    /// A codec that delivers bulks longer than `threshold` bytes in chunks, with the
    /// default [`Limits`].
    pub fn new(threshold: usize) -> Self {
        Self::with_limits(threshold, Limits::default())
    }

    /// A codec that delivers bulks longer than `threshold` bytes in chunks and
    /// enforces `limits`.
    pub fn with_limits(threshold: usize, limits: Limits) -> Self {
        StreamingCodec {
            limits,
            threshold: threshold as u64,
            parser: Parser::default(),
            consumed: 0,
            outer: Vec::new(),
            bulk: None,
            queue: VecDeque::new(),
            frame_len: 0,
            payload: None,
        }
    }

    /// The limits this codec enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes taken off buffers so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Whether the codec is between top-level frames (no frame or payload is being
    /// delivered in pieces).
    pub fn at_frame_boundary(&self) -> bool {
        self.outer.is_empty()
            && self.bulk.is_none()
            && self.queue.is_empty()
            && self.payload.is_none()
    }

    /// Makes what comes next the RDB payload of a full resynchronisation, as a
    /// master sends it after `+FULLRESYNC`: [`Event::Payload`], chunks,
    /// [`Event::PayloadEnd`], then frames again. Keepalive newlines before it are
    /// skipped; a disk-based payload (`$<len>`) and a diskless one (`$EOF:<mark>`)
    /// are both read, neither buffered whole.
    ///
    /// # Wire format
    /// ```text
    /// \n...$<len>\r\n<len bytes>                      (no CRLF after them)
    /// \n...$EOF:<40 bytes>\r\n<payload><same 40 bytes>
    /// ```
    /// Defined by `readSyncBulkPayload` in the server's `replication.c`. The
    /// payload's bytes do not count in the replication offset; [`consumed`](Self::consumed)
    /// counts them like every other byte.
    pub fn expect_rdb_payload(&mut self) {
        self.payload = Some(Payload::Header);
    }

    /// Takes the next event off the front of `buf`.
    ///
    /// # Returns
    /// `Ok(None)` when more bytes are needed: append them to the same buffer.
    ///
    /// # Errors
    /// As [`FrameCodec::decode`](crate::FrameCodec::decode). After an error the
    /// stream cannot be resynchronised.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>> {
        if let Some(event) = self.queue.pop_front() {
            return Ok(Some(event));
        }
        if let Some(payload) = &mut self.payload {
            let mut done = false;
            let event = payload.next(buf, &mut self.consumed, &mut done)?;
            if done {
                self.payload = None;
            }
            return Ok(event);
        }
        if let Some(remaining) = self.bulk {
            return self.bulk_bytes(buf, remaining);
        }
        let ctx = Ctx {
            limits: &self.limits,
            depth: self.outer.len(),
            threshold: Some(self.threshold),
            base: self.consumed,
        };
        let step = self.parser.parse(buf, &ctx);
        match step {
            Ok(Step::Incomplete) => Ok(None),
            Ok(Step::Frame(len)) => {
                let src = buf.split_to(len).freeze();
                let frame = build(&self.parser.tokens, &mut 0, &src);
                self.parser.reset();
                self.consumed += len as u64;
                if self.outer.is_empty() {
                    return Ok(Some(Event::Frame {
                        frame,
                        wire_len: len,
                    }));
                }
                self.frame_len += len as u64;
                self.element_done();
                Ok(Some(Event::Element(frame)))
            }
            Ok(Step::LargeBulk {
                kind, len, data, ..
            }) => {
                let src = buf.split_to(data).freeze();
                self.consumed += data as u64;
                self.frame_len += data as u64;
                self.split_open(&src);
                self.bulk = Some(len);
                self.queue.push_back(Event::BulkStart { kind, len });
                Ok(self.queue.pop_front())
            }
            Err(e) => {
                self.parser.reset();
                Err(e)
            }
        }
    }

    /// Turns what the parser read before a large bulk into events: the aggregates
    /// still open become [`Event::Aggregate`] (and stay open in `outer`), the
    /// elements already complete become [`Event::Element`].
    fn split_open(&mut self, src: &Bytes) {
        let tokens = &self.parser.tokens;
        let mut i = 0;
        for open in &self.parser.open {
            while i < open.token {
                self.queue
                    .push_back(Event::Element(build(tokens, &mut i, src)));
            }
            if let Some(&Token::Aggregate(kind, len)) = tokens.get(open.token) {
                self.queue.push_back(Event::Aggregate { kind, len });
            }
            i = open.token + 1;
            self.outer.push(open.remaining);
        }
        while i < tokens.len() {
            self.queue
                .push_back(Event::Element(build(tokens, &mut i, src)));
        }
        self.parser.reset();
    }

    /// Delivers the next chunk of the large bulk, or its end.
    fn bulk_bytes(&mut self, buf: &mut BytesMut, remaining: u64) -> Result<Option<Event>> {
        if remaining > 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let chunk = buf.split_to(n).freeze();
            self.consumed += n as u64;
            self.frame_len += n as u64;
            self.bulk = Some(remaining - n as u64);
            return Ok(Some(Event::BulkChunk(chunk)));
        }
        match buf.get(..2) {
            None => return Ok(None),
            Some(b"\r\n") => {}
            Some(_) => return Err(Error::invalid("bulk terminator", self.consumed)),
        }
        buf.advance(2);
        self.consumed += 2;
        self.frame_len += 2;
        self.bulk = None;
        self.element_done();
        Ok(Some(Event::BulkEnd))
    }

    /// Counts one element of the innermost open aggregate done, closing every
    /// aggregate that completes; queues [`Event::End`] when the frame is done.
    fn element_done(&mut self) {
        while let Some(remaining) = self.outer.last_mut() {
            *remaining -= 1;
            if *remaining > 0 {
                return;
            }
            self.outer.pop();
        }
        self.queue.push_back(Event::End {
            wire_len: self.frame_len,
        });
        self.frame_len = 0;
    }
}

impl tokio_util::codec::Decoder for StreamingCodec {
    type Item = Event;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>> {
        StreamingCodec::decode(self, buf)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Event>> {
        match StreamingCodec::decode(self, buf)? {
            Some(event) => Ok(Some(event)),
            None if buf.is_empty() && self.at_frame_boundary() => Ok(None),
            None => Err(Error::Truncated {
                offset: self.consumed - self.frame_len,
                len: self.frame_len + buf.len() as u64,
            }),
        }
    }
}

impl tokio_util::codec::Encoder<&Frame> for StreamingCodec {
    type Error = Error;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<()> {
        frame.encode(dst)
    }
}

/// Writes a command straight from borrowed arguments.
impl<A: AsRef<[u8]>> tokio_util::codec::Encoder<&[A]> for StreamingCodec {
    type Error = Error;

    fn encode(&mut self, args: &[A], dst: &mut BytesMut) -> Result<()> {
        crate::command::encode_command(dst, args);
        Ok(())
    }
}

/// Writes the header of a bulk string whose `len` payload bytes the caller sends
/// next (followed by `\r\n`): the encoding side of streaming a huge value.
pub fn encode_bulk_header(dst: &mut BytesMut, len: usize) {
    put_header(dst, b'$', len);
}
