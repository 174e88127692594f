//! Commands: decoding them as the server does (multibulk or inline), encoding them
//! from borrowed arguments, and pipelining.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::decode::check_bulk_len;
use crate::encode::{header_len, put_header};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::inline::{self, Piece};
use crate::limits::Limits;
use crate::line::{self, Bad};

/// Arguments kept inline before spilling to the heap: enough for most commands
/// (`SET key value EX 10` has five).
const INLINE_ARGS: usize = 6;

/// Where each argument lies in a command's wire bytes.
#[derive(Clone, Debug)]
enum Ranges {
    Inline { len: u8, r: [[u32; 2]; INLINE_ARGS] },
    Heap(Vec<[u32; 2]>),
}

impl Default for Ranges {
    fn default() -> Self {
        Ranges::Inline {
            len: 0,
            r: [[0; 2]; INLINE_ARGS],
        }
    }
}

impl Ranges {
    #[inline]
    fn push(&mut self, a: u32, b: u32) {
        match self {
            Ranges::Inline { len, r } => {
                if let Some(slot) = r.get_mut(usize::from(*len)) {
                    *slot = [a, b];
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(INLINE_ARGS * 2);
                    v.extend_from_slice(r);
                    v.push([a, b]);
                    *self = Ranges::Heap(v);
                }
            }
            Ranges::Heap(v) => v.push([a, b]),
        }
    }

    fn as_slice(&self) -> &[[u32; 2]] {
        match self {
            Ranges::Inline { len, r } => &r[..usize::from(*len)],
            Ranges::Heap(v) => v,
        }
    }
}

#[derive(Clone)]
enum Args {
    /// Slices of the wire bytes (every multibulk command; inline ones without quotes).
    Ranges(Ranges),
    /// Unescaped arguments of an inline command with quotes.
    Owned(Vec<Bytes>),
}

/// A command as a server reads it: its arguments, and its exact bytes on the wire.
///
/// Arguments are slices of the decoded buffer: no copy and, for up to six
/// arguments, no allocation. [`wire_len`](Self::wire_len) is what the command
/// added to the replication offset; [`wire`](Self::wire) gives the bytes to forward
/// it unchanged.
///
/// `Debug` shows the command name and the argument count, never the arguments,
/// which may be passwords.
#[derive(Clone)]
pub struct Command {
    wire: Bytes,
    args: Args,
}

impl Command {
    /// Encodes `args` as a multibulk command (a copy, in a new buffer).
    pub fn from_args<A: AsRef<[u8]>>(args: &[A]) -> Command {
        let mut buf = BytesMut::with_capacity(command_len(args));
        encode_command(&mut buf, args);
        let mut ranges = Ranges::default();
        let mut pos = header_len(args.len());
        for a in args {
            let a = a.as_ref();
            pos += header_len(a.len());
            // Commands past 4 GiB are refused by the decoder; this one is ours.
            ranges.push(pos as u32, (pos + a.len()) as u32);
            pos += a.len() + 2;
        }
        Command {
            wire: buf.freeze(),
            args: Args::Ranges(ranges),
        }
    }

    /// The number of arguments, the command name included.
    pub fn len(&self) -> usize {
        match &self.args {
            Args::Ranges(r) => r.as_slice().len(),
            Args::Owned(v) => v.len(),
        }
    }

    /// Whether it has no arguments: an empty inline line, `*0` or `*-1`, which the
    /// server skips. They are returned so that byte counts stay exact.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Argument `i`; argument 0 is the command name.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match &self.args {
            Args::Ranges(r) => {
                let [a, b] = *r.as_slice().get(i)?;
                self.wire.get(a as usize..b as usize)
            }
            Args::Owned(v) => v.get(i).map(|b| &b[..]),
        }
    }

    /// Argument `i` as a zero-copy [`Bytes`].
    pub fn arg_bytes(&self, i: usize) -> Option<Bytes> {
        match &self.args {
            Args::Ranges(r) => {
                let [a, b] = *r.as_slice().get(i)?;
                Some(self.wire.slice(a as usize..b as usize))
            }
            Args::Owned(v) => v.get(i).cloned(),
        }
    }

    /// The arguments in order, the command name first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }

    /// The command name (argument 0), as sent.
    pub fn name(&self) -> Option<&[u8]> {
        self.get(0)
    }

    /// Whether the command name is `name`, ignoring ASCII case as the server does.
    pub fn name_is(&self, name: &str) -> bool {
        self.name()
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The command's length on the wire, in bytes.
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    /// The command's exact bytes on the wire.
    pub fn wire(&self) -> &Bytes {
        &self.wire
    }

    /// Whether it arrived as an inline command rather than a multibulk one.
    pub fn is_inline(&self) -> bool {
        self.wire.first().is_some_and(|&b| b != b'*')
    }

    /// The command as an array of bulk strings (zero-copy).
    pub fn to_frame(&self) -> Frame {
        Frame::Array(
            (0..self.len())
                .filter_map(|i| self.arg_bytes(i))
                .map(Frame::BulkString)
                .collect(),
        )
    }
}

impl PartialEq for Command {
    /// Commands are equal when their arguments are, whatever their wire form.
    fn eq(&self, other: &Command) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Command {}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("name", &self.name().map(|n| n.escape_ascii().to_string()))
            .field("args", &self.len())
            .field("wire_len", &self.wire_len())
            .finish()
    }
}

/// The number of bytes [`encode_command`] writes for `args`.
pub fn command_len<A: AsRef<[u8]>>(args: &[A]) -> usize {
    header_len(args.len())
        + args
            .iter()
            .map(|a| {
                let n = a.as_ref().len();
                header_len(n) + n + 2
            })
            .sum::<usize>()
}

/// Writes one command as the server expects it, straight from borrowed arguments:
/// no frame is built.
///
/// # Wire format
/// ```text
/// *<number of arguments>\r\n
/// $<length>\r\n<argument>\r\n   (once per argument)
/// ```
///
/// ```
/// use bytes::BytesMut;
///
/// let mut buf = BytesMut::new();
/// let key = b"user:1".to_vec();
/// resp_codec::encode_command(&mut buf, &[&b"GET"[..], &key]);
/// assert_eq!(&buf[..], b"*2\r\n$3\r\nGET\r\n$6\r\nuser:1\r\n");
/// ```
pub fn encode_command<A: AsRef<[u8]>>(dst: &mut BytesMut, args: &[A]) {
    dst.reserve(command_len(args));
    put_header(dst, b'*', args.len());
    for a in args {
        let a = a.as_ref();
        put_header(dst, b'$', a.len());
        dst.put_slice(a);
        dst.put_slice(b"\r\n");
    }
}

/// Writes one command in the inline form (`SET key "a value"\r\n`), quoting and
/// escaping arguments as the server's splitting reads them back.
///
/// Servers limit inline commands to 64 KiB and skip empty ones; prefer
/// [`encode_command`] except to talk to tools that expect a line.
pub fn encode_inline<A: AsRef<[u8]>>(dst: &mut BytesMut, args: &[A]) {
    let len = args
        .iter()
        .map(|a| inline::arg_len(a.as_ref()) + 1)
        .sum::<usize>()
        + 1;
    dst.reserve(len);
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            dst.put_u8(b' ');
        }
        inline::put_arg(dst, a.as_ref());
    }
    dst.put_slice(b"\r\n");
}

/// Decodes commands the way a server reads its clients (multibulk arrays of bulk
/// strings, or inline lines), and encodes commands.
///
/// This is the decoder for anything a server *receives*: a client's requests, the
/// replication stream, an AOF. Each [`Command`] reports its exact wire length, so
/// a replica can keep its offset. Like [`FrameCodec`](crate::FrameCodec) it works
/// sans-IO or with `Framed`, takes exactly one command per call, and resumes a
/// command cut short where it stopped.
///
/// Commands are limited to 4 GiB whatever [`Limits::with_max_frame_len`] says.
///
/// ```
/// use bytes::BytesMut;
/// use resp_codec::CommandCodec;
///
/// let mut codec = CommandCodec::new();
/// let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nPING\r\n"[..]);
/// let set = codec.decode(&mut buf)?.unwrap();
/// assert!(set.name_is("set"));
/// assert_eq!(set.get(2), Some(&b"v"[..]));
/// assert_eq!(set.wire_len(), 27);
/// let ping = codec.decode(&mut buf)?.unwrap(); // inline
/// assert_eq!((ping.len(), ping.wire_len()), (1, 6));
/// # Ok::<(), resp_codec::Error>(())
/// ```
#[derive(Debug)]
pub struct CommandCodec {
    limits: Limits,
    inline: bool,
    consumed: u64,
    /// Next byte to read in the command in progress; 0 before its first byte.
    pos: usize,
    /// Arguments still to read of the multibulk command in progress.
    remaining: usize,
    ranges: Ranges,
    /// Arguments of the inline command just read.
    pieces: Option<Vec<Piece>>,
    /// How far an inline line was scanned for its end.
    scanned: usize,
}

impl Default for CommandCodec {
    fn default() -> Self {
        Self::with_limits(Limits::default())
    }
}

impl CommandCodec {
    /// A codec with the default [`Limits`], accepting inline commands.
    pub fn new() -> Self {
        Self::default()
    }

    /// A codec enforcing `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        CommandCodec {
            limits,
            inline: true,
            consumed: 0,
            pos: 0,
            remaining: 0,
            ranges: Ranges::default(),
            pieces: None,
            scanned: 0,
        }
    }

    /// Whether to accept inline commands (the default, as servers do). Without them,
    /// anything but `*` where a command starts is [`Error::UnknownType`].
    pub fn inline(mut self, accept: bool) -> Self {
        self.inline = accept;
        self
    }

    /// The limits this codec enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes taken off buffers so far: the stream offset of the next command.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Counts `n` bytes of the stream that the caller took off the buffer itself
    /// (an AOF annotation line, an RDB preamble), so that [`consumed`](Self::consumed)
    /// and error offsets stay those of the whole stream.
    pub fn count_skipped(&mut self, n: usize) {
        self.consumed += n as u64;
    }

    /// Forgets a command in progress, e.g. before decoding from another buffer.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.remaining = 0;
        self.ranges = Ranges::default();
        self.pieces = None;
        self.scanned = 0;
    }

    /// Takes one command off the front of `buf`.
    ///
    /// # Returns
    /// `Ok(None)` when `buf` ends inside the command: call again with more bytes
    /// appended to the same buffer.
    ///
    /// # Errors
    /// When the bytes are not a command (as the server would answer
    /// `-ERR Protocol error`) or exceed a limit; nothing is consumed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Command>> {
        let Some(len) = self.parse(buf)? else {
            return Ok(None);
        };
        let wire = buf.split_to(len).freeze();
        Ok(Some(self.finish(wire)))
    }

    /// Takes one command off the front of an immutable buffer; see
    /// [`decode`](Self::decode).
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn decode_bytes(&mut self, buf: &mut Bytes) -> Result<Option<Command>> {
        let Some(len) = self.parse(buf)? else {
            return Ok(None);
        };
        let wire = buf.split_to(len);
        Ok(Some(self.finish(wire)))
    }

    /// Like [`decode`](Self::decode), at the end of the stream.
    ///
    /// # Errors
    /// [`Error::Truncated`] when `buf` holds an incomplete command.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Command>> {
        match self.decode(buf)? {
            Some(c) => Ok(Some(c)),
            None if buf.is_empty() => Ok(None),
            None => Err(Error::Truncated {
                offset: self.consumed,
                len: buf.len() as u64,
            }),
        }
    }

    fn max_len(&self) -> usize {
        self.limits.max_frame_len().min(u32::MAX as usize)
    }

    fn parse(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        let result = self.parse_inner(buf);
        if result.is_err() {
            self.reset();
        }
        result
    }

    #[inline]
    fn parse_inner(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        if self.pos > buf.len() {
            self.reset();
        }
        let base = self.consumed;
        if self.pos == 0 {
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {}
                Some(_) if self.inline => return self.parse_inline(buf),
                Some(&byte) => return Err(Error::UnknownType { byte, offset: base }),
            }
            let (n, next) = match line::int(buf, 1) {
                Ok(Some(x)) => x,
                Ok(None) => return self.incomplete(buf),
                Err(Bad) => return Err(Error::invalid("multibulk length", base)),
            };
            if n <= 0 {
                // The server skips these without a reply.
                return Ok(Some(next));
            }
            if n as u64 > self.limits.max_elements() as u64 {
                return Err(Error::TooLarge {
                    what: "multibulk length",
                    len: n as u64,
                    limit: self.limits.max_elements() as u64,
                    offset: base,
                });
            }
            self.remaining = n as usize;
            self.pos = next;
        }
        let max = self.max_len();
        while self.remaining > 0 {
            let start = self.pos;
            match buf.get(start) {
                Some(b'$') => {}
                Some(_) => {
                    return Err(Error::invalid(
                        "command argument (expected '$')",
                        base + start as u64,
                    ));
                }
                None => return self.incomplete(buf),
            }
            let (n, data) = match line::len(buf, start + 1) {
                Ok(Some((n, data))) if n >= 0 => (n as u64, data),
                Ok(Some(_)) | Err(Bad) => {
                    return Err(Error::invalid("bulk length", base + start as u64));
                }
                Ok(None) => return self.incomplete(buf),
            };
            check_bulk_len(n, &self.limits, base + start as u64)?;
            let total = data as u64 + n + 2;
            if total > max as u64 {
                return Err(Error::TooLarge {
                    what: "command length",
                    len: total,
                    limit: max as u64,
                    offset: base,
                });
            }
            let stop = data + n as usize;
            match buf.get(stop..stop + 2) {
                Some(b"\r\n") => {}
                Some(_) => return Err(Error::invalid("bulk terminator", base + stop as u64)),
                None => return self.incomplete(buf),
            }
            // Both below `max`, itself at most u32::MAX.
            self.ranges.push(data as u32, stop as u32);
            self.pos = stop + 2;
            self.remaining -= 1;
        }
        Ok(Some(self.pos))
    }

    fn incomplete(&self, buf: &[u8]) -> Result<Option<usize>> {
        let max = self.max_len();
        if buf.len() > max {
            return Err(Error::TooLarge {
                what: "command length",
                len: buf.len() as u64,
                limit: max as u64,
                offset: self.consumed,
            });
        }
        Ok(None)
    }

    /// An inline command: one line, split like the server's `processInlineBuffer`.
    fn parse_inline(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        let max = self.limits.max_inline_len();
        let too_long = |len: usize| Error::TooLarge {
            what: "inline command length",
            len: len as u64,
            limit: max as u64,
            offset: self.consumed,
        };
        let Some(lf) = line::find_lf(buf, self.scanned) else {
            self.scanned = buf.len();
            if buf.len() > max {
                return Err(too_long(buf.len()));
            }
            return Ok(None);
        };
        let end = if lf > 0 && buf.get(lf - 1) == Some(&b'\r') {
            lf - 1
        } else {
            lf
        };
        if end > max {
            return Err(too_long(end));
        }
        let text = buf.get(..end).unwrap_or_default();
        if text.contains(&0) {
            // The server stops reading the line at a NUL and never finds its end.
            return Err(Error::invalid("inline command (NUL byte)", self.consumed));
        }
        let pieces = inline::split(text)
            .map_err(|_| Error::invalid("inline command (unbalanced quotes)", self.consumed))?;
        self.pieces = Some(pieces);
        Ok(Some(lf + 1))
    }

    fn finish(&mut self, wire: Bytes) -> Command {
        self.consumed += wire.len() as u64;
        let args = match self.pieces.take() {
            None => Args::Ranges(std::mem::take(&mut self.ranges)),
            Some(pieces)
                if pieces
                    .iter()
                    .all(|p| matches!(p, Piece::Range(_, b) if u32::try_from(*b).is_ok())) =>
            {
                let mut ranges = Ranges::default();
                for p in pieces {
                    if let Piece::Range(a, b) = p {
                        ranges.push(a as u32, b as u32);
                    }
                }
                Args::Ranges(ranges)
            }
            Some(pieces) => Args::Owned(
                pieces
                    .into_iter()
                    .map(|p| match p {
                        Piece::Range(a, b) => wire.slice(a..b),
                        Piece::Owned(v) => Bytes::from(v),
                    })
                    .collect(),
            ),
        };
        self.pos = 0;
        self.remaining = 0;
        self.scanned = 0;
        Command { wire, args }
    }
}

impl tokio_util::codec::Decoder for CommandCodec {
    type Item = Command;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Command>> {
        CommandCodec::decode(self, buf)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Command>> {
        CommandCodec::decode_eof(self, buf)
    }
}

/// Writes a command straight from borrowed arguments.
impl<A: AsRef<[u8]>> tokio_util::codec::Encoder<&[A]> for CommandCodec {
    type Error = Error;

    fn encode(&mut self, args: &[A], dst: &mut BytesMut) -> Result<()> {
        encode_command(dst, args);
        Ok(())
    }
}

/// Forwards a decoded command byte for byte.
impl tokio_util::codec::Encoder<&Command> for CommandCodec {
    type Error = Error;

    fn encode(&mut self, command: &Command, dst: &mut BytesMut) -> Result<()> {
        dst.extend_from_slice(command.wire());
        Ok(())
    }
}
