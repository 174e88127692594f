//! Reading an RDB that arrives in pieces (a socket, a pipe, a replication stream), in
//! bounded memory.
//!
//! [`Reader`] is sans-IO: feed it bytes, take [`Event`]s. An ordinary record (an aux
//! field, a function, a key whose record fits in [`Reader::max_record`] bytes) is
//! delivered whole, as the same [`Item`] the slice API yields, raw value bytes
//! included. A key whose record is larger is delivered in pieces: a
//! [`Event::ValueStart`] with the key and its metadata, then [`Event::Piece`]s
//! (string bytes, runs of collection entries, stream nodes, module bytes), then
//! [`Event::ValueEnd`]. Nothing is buffered whole beyond the limit.
//!
//! The memory bound is stated on [`Reader`].

use std::fmt;

use crc_fast::{CrcAlgorithm, Digest};

use crate::collection::Body;
use crate::cursor::Cursor;
use crate::entries::{Layout, skip_entry};
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;
use crate::item::Item;
use crate::length::{Length, read_count, read_len, read_length};
use crate::lzf::Inflater;
use crate::module::{module_name, skip_field};
use crate::opcode::KeyMeta;
use crate::rdb::ParseOptions;
use crate::record::{Head, KeyHead, read_head};
use crate::stream::{Stream, StreamEntries, skip_node};
use crate::string::{MAX_LZF_RATIO, RdbString};
use crate::value::{CollectionKind, Encoding, Type, Value, code, collection_kind};

/// Default [`Reader::max_record`]: 32 MiB.
pub const DEFAULT_MAX_RECORD: usize = 32 << 20;

/// Default [`Reader::piece_size`]: 64 KiB.
pub const DEFAULT_PIECE_SIZE: usize = 64 << 10;

/// The smallest accepted [`Reader::max_record`]: every value header fits in it.
const MIN_MAX_RECORD: usize = 1 << 10;

/// What a [`Reader`] yields.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A whole record, as [`Rdb::items`](crate::Rdb::items) yields it; the last is
    /// [`Item::End`].
    Item(Item<'a>),
    /// A key whose record is larger than [`Reader::max_record`]: its value follows in
    /// [`Event::Piece`]s, then [`Event::ValueEnd`].
    ValueStart(ValueStart<'a>),
    /// The next piece of the value begun by the last [`Event::ValueStart`].
    Piece {
        /// The piece, decoded.
        piece: Piece<'a>,
        /// The piece's bytes as stored (compressed, for an LZF string).
        raw: &'a [u8],
    },
    /// The value begun by the last [`Event::ValueStart`] is complete.
    ValueEnd,
}

/// A key whose value is delivered in pieces.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ValueStart<'a> {
    /// The database the key is in.
    pub db: u64,
    /// The key name.
    pub key: RdbString<'a>,
    /// Absolute expiry, unix time in milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds, when saved.
    pub idle: Option<u64>,
    /// LFU frequency, when saved.
    pub freq: Option<u8>,
    /// Per-key metadata (Redis 8.6+ `KEY_META`).
    pub meta: Option<KeyMeta<'a>>,
    /// The value's type byte as stored.
    pub type_byte: u8,
    /// The value's data type.
    pub value_type: Type,
    /// How the value is encoded.
    pub encoding: Encoding,
    /// The string's length in bytes, the collection's number of entries, or the
    /// stream's number of nodes; `None` for a module value.
    pub len: Option<u64>,
    /// A module value's module id (see [`module_name`]).
    pub module_id: Option<u64>,
    /// The file's RDB version and dialect.
    pub header: Header,
    /// Absolute offset where the key's record starts.
    pub offset: u64,
    /// The value's stored bytes before its first piece (length prefixes, a module id).
    pub raw: &'a [u8],
}

impl ValueStart<'_> {
    /// The module's name, for a module value.
    pub fn module_name(&self) -> Option<String> {
        self.module_id.map(module_name)
    }
}

/// One piece of a value delivered in pieces.
#[derive(Debug)]
#[non_exhaustive]
pub enum Piece<'a> {
    /// The next bytes of a string value (decompressed).
    Bytes(&'a [u8]),
    /// The next entries of a list, set, sorted set or hash, viewed like a value of
    /// the same type: its cursor walks just these entries. Errors found while
    /// walking it do not name the key (it was given in [`ValueStart`]).
    Entries(Value<'a>),
    /// The next nodes of a stream.
    StreamEntries(StreamEntries<'a>),
    /// A stream's length, IDs and consumer groups, after its nodes; its
    /// [`Stream::entries`] is empty.
    StreamMeta(Box<Stream<'a>>),
    /// The next bytes of a module value's body (its opcode series), kept raw.
    ModuleBytes(&'a [u8]),
}

/// Reads an RDB fed in pieces, in bounded memory: records up to
/// [`Reader::max_record`] bytes come whole, longer keys in pieces.
///
/// # Memory bound
/// The reader holds at most `max(max_record, piece_size)` bytes of input it has not
/// delivered yet, plus the bytes of the caller's last [`Reader::feed`], plus, while an
/// LZF string is streamed, an 8 KiB history window and one piece of output. What
/// cannot be split is refused with [`ErrorKind::TooLarge`] rather than buffered: a
/// key name, a non-key record, one entry of a collection (a member, a field and its
/// value, a quicklist node), a compact (ziplist, listpack, intset, zipmap) value, the
/// consumer groups of a stream, and an `ARRAY` value, when larger than the limit.
/// Raise the limit to read such files. Consumed input is dropped as the buffer is
/// refilled, so the buffer's capacity ([`Reader::buffer_capacity`]) stays within a
/// small multiple of that (vector growth), whatever the size of the RDB.
///
/// The rule is the same however the input is cut: a key whose record is longer than
/// the limit comes in pieces, and what cannot be split is refused, even when all of
/// it was fed at once.
///
/// # Raw bytes
/// A piecewise value's stored bytes are [`ValueStart::raw`] followed by every piece's
/// `raw`, in order: a caller can pass the value on byte for byte (e.g. spool a
/// `RESTORE` payload) without re-encoding.
///
/// # Example
/// ```
/// use rdb_parser::{Event, Item, Reader};
///
/// let file = b"REDIS0009\xfe\x00\x00\x05hello\x05world\xff\0\0\0\0\0\0\0\0";
/// let mut reader = Reader::new();
/// let mut keys = 0;
/// for chunk in file.chunks(4) {
///     reader.feed(chunk);
///     while let Some(event) = reader.next_event()? {
///         if let Event::Item(Item::Key(key)) = event {
///             assert_eq!(key.key.to_vec()?, b"hello");
///             keys += 1;
///         }
///     }
/// }
/// reader.end_input();
/// while reader.next_event()?.is_some() {}
/// assert!(reader.is_finished());
/// assert_eq!(keys, 1);
/// # Ok::<(), rdb_parser::Error>(())
/// ```
pub struct Reader {
    core: Core,
    /// Set after the first error; every later call returns it again.
    failed: Option<Error>,
}

/// Everything but the failure flag, so an event borrowing the core can be returned
/// while the flag is set on error.
struct Core {
    buf: Vec<u8>,
    /// The first byte of `buf` not consumed yet.
    start: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// Bytes of the last event, consumed (and checksummed) at the next call.
    pending: usize,
    /// Try to parse only once this many bytes are buffered: retries of a long record
    /// then cost O(n) overall, not O(n²).
    need: usize,
    input_ended: bool,
    options: ParseOptions,
    max_record: usize,
    piece_size: usize,
    header: Option<Header>,
    db: u64,
    digest: Option<Digest>,
    state: State,
}

enum State {
    Header,
    Records,
    Value(Box<Big>),
    End,
}

/// A value being delivered in pieces.
struct Big {
    key: Box<[u8]>,
    stage: Stage,
}

enum Stage {
    Raw {
        left: u64,
    },
    Lzf {
        left: u64,
        at: u64,
        inflater: Inflater,
    },
    Entries {
        kind: CollectionKind,
        layout: Layout,
        left: u64,
    },
    StreamNodes {
        format: u8,
        left: u64,
    },
    StreamMeta {
        format: u8,
    },
    ModuleFields,
    ModuleString {
        left: u64,
    },
    Done,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("offset", &self.offset())
            .field("buffered", &self.buffered())
            .field("header", &self.core.header)
            .field("finished", &self.is_finished())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Reader {
    /// A reader with the default [`ParseOptions`] and limits.
    pub fn new() -> Self {
        Reader::with_options(ParseOptions::default())
    }

    /// A reader with `options` (version leniency, checksum verification, and whether
    /// bytes may follow the RDB: see [`Reader::remaining`]).
    pub fn with_options(options: ParseOptions) -> Self {
        Reader {
            core: Core {
                buf: Vec::new(),
                start: 0,
                base: 0,
                pending: 0,
                need: 0,
                input_ended: false,
                options,
                max_record: DEFAULT_MAX_RECORD,
                piece_size: DEFAULT_PIECE_SIZE,
                header: None,
                db: 0,
                digest: options
                    .verify_checksum
                    .then(|| Digest::new(CrcAlgorithm::Crc64Redis)),
                state: State::Header,
            },
            failed: None,
        }
    }

    /// Sets the largest record delivered whole (at least 1 KiB); larger keys come in
    /// pieces. Default [`DEFAULT_MAX_RECORD`].
    pub fn max_record(mut self, bytes: usize) -> Self {
        self.core.max_record = bytes.max(MIN_MAX_RECORD);
        self
    }

    /// Sets the size pieces aim for (at least 1 byte). Default [`DEFAULT_PIECE_SIZE`].
    pub fn piece_size(mut self, bytes: usize) -> Self {
        self.core.piece_size = bytes.max(1);
        self
    }

    /// Appends input. Call [`Reader::next_event`] until it returns `None` before
    /// feeding more, or the buffer grows by what is fed.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.core.make_room();
        self.core.buf.extend_from_slice(bytes);
    }

    /// Says that no more input will come: a record cut short is then an error.
    pub fn end_input(&mut self) {
        self.core.input_ended = true;
    }

    /// The next event, or `None` when more input is needed (or the RDB has ended:
    /// see [`Reader::is_finished`]). The event borrows the reader until the next call.
    ///
    /// # Errors
    /// Corrupt input, as with the slice API, with absolute offsets;
    /// [`ErrorKind::Incomplete`] when the input ended inside the RDB;
    /// [`ErrorKind::TooLarge`] for what cannot be split (see the module docs);
    /// [`ErrorKind::TrailingBytes`] when input follows the RDB and
    /// [`ParseOptions::allow_trailing_bytes`] is off. After an error, every call
    /// returns it again.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.core.consume_pending();
        match self.core.step() {
            Ok(event) => Ok(event),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The header, once read.
    pub fn header(&self) -> Option<Header> {
        self.core.header
    }

    /// Whether [`Item::End`] was delivered.
    pub fn is_finished(&self) -> bool {
        matches!(self.core.state, State::End)
    }

    /// Whether the input was ended with [`Reader::end_input`].
    pub fn is_input_ended(&self) -> bool {
        self.core.input_ended
    }

    /// Absolute offset of the first byte not yet delivered.
    pub fn offset(&self) -> u64 {
        self.core.base + (self.core.start + self.core.pending) as u64
    }

    /// Bytes buffered and not yet delivered.
    pub fn buffered(&self) -> usize {
        self.core.buf.len() - self.core.start - self.core.pending
    }

    /// Bytes of memory the input buffer holds (its capacity), to watch the bound the
    /// [type documentation](Reader) states.
    pub fn buffer_capacity(&self) -> usize {
        self.core.buf.capacity()
    }

    /// After the end, the input that followed the RDB (e.g. an AOF's commands after
    /// its RDB preamble), when [`ParseOptions::allow_trailing_bytes`] is on.
    pub fn remaining(&self) -> &[u8] {
        if self.is_finished() {
            &self.core.buf[self.core.start + self.core.pending..]
        } else {
            &[]
        }
    }

    /// The buffer to read input into directly (async adapters), after making room.
    #[cfg(feature = "tokio")]
    pub(crate) fn input_buffer(&mut self) -> &mut Vec<u8> {
        self.core.consume_pending();
        self.core.make_room();
        &mut self.core.buf
    }
}

/// How a parse attempt on buffered input went.
enum Attempt {
    /// Wait for more input.
    Wait,
    /// The record is too large to wait for: deliver it in pieces.
    Split,
}

/// The settings that decide what to do with a short buffer.
#[derive(Clone, Copy)]
struct Limits {
    input_ended: bool,
    max_record: usize,
    piece_size: usize,
}

impl Limits {
    /// What to do when the buffered `avail` bytes (at absolute `at`) end inside
    /// something: wait (setting `need`), split it when `splittable`, or fail with
    /// `incomplete` (input ended) or as too large.
    fn short(
        self,
        avail: usize,
        at: u64,
        incomplete: Error,
        what: &'static str,
        splittable: bool,
        need: &mut usize,
    ) -> Result<Attempt> {
        if self.input_ended {
            return Err(incomplete);
        }
        if avail > self.max_record {
            if splittable {
                return Ok(Attempt::Split);
            }
            return Err(Error::new(
                ErrorKind::TooLarge {
                    what,
                    limit: self.max_record as u64,
                },
                at,
            ));
        }
        *need = avail
            .saturating_mul(2)
            .clamp(avail + 1, self.max_record + 1);
        Ok(Attempt::Wait)
    }
}

impl Core {
    fn consume_pending(&mut self) {
        let n = std::mem::take(&mut self.pending);
        self.consume(n);
    }

    fn consume(&mut self, n: usize) {
        if let Some(d) = &mut self.digest {
            d.update(&self.buf[self.start..self.start + n]);
        }
        self.start += n;
    }

    /// Drops consumed bytes when they are most of the buffer (amortised O(1) a byte).
    fn make_room(&mut self) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            input_ended: self.input_ended,
            max_record: self.max_record,
            piece_size: self.piece_size,
        }
    }

    fn step(&mut self) -> Result<Option<Event<'_>>> {
        loop {
            let avail = self.buf.len() - self.start;
            if avail < self.need && !self.input_ended {
                return Ok(None);
            }
            self.need = 0;
            match &mut self.state {
                State::Header => {
                    if avail < Header::LEN && !self.input_ended {
                        self.need = Header::LEN;
                        return Ok(None);
                    }
                    let data = &self.buf[self.start..];
                    let mut cur = Cursor::new(data, self.base + self.start as u64);
                    let header = Header::read(&mut cur, self.options.lenient_version)?;
                    self.header = Some(header);
                    self.consume(Header::LEN);
                    self.state = State::Records;
                }
                State::Value(big) => {
                    // Stages that are over move on here, so no event borrows them.
                    match &mut big.stage {
                        Stage::Done => {
                            self.state = State::Records;
                            return Ok(Some(Event::ValueEnd));
                        }
                        Stage::Lzf {
                            left: 0, inflater, ..
                        } => {
                            inflater.finish().map_err(|e| e.with_key(&big.key))?;
                            big.stage = Stage::Done;
                        }
                        Stage::ModuleString { left: 0 } => big.stage = Stage::ModuleFields,
                        Stage::Raw { left: 0 } | Stage::Entries { left: 0, .. } => {
                            big.stage = Stage::Done
                        }
                        Stage::StreamNodes { left: 0, format } => {
                            big.stage = Stage::StreamMeta { format: *format }
                        }
                        _ => return self.piece(avail),
                    }
                }
                State::Records => return self.record(avail),
                State::End => {
                    if avail > 0 && !self.options.allow_trailing_bytes {
                        return Err(Error::new(
                            ErrorKind::TrailingBytes,
                            self.base + self.start as u64,
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn record(&mut self, avail: usize) -> Result<Option<Event<'_>>> {
        let limits = self.limits();
        let Core {
            buf,
            start,
            base,
            pending,
            need,
            header,
            db,
            digest,
            state,
            ..
        } = self;
        let header = header.expect("records follow the header");
        let at = *base + *start as u64;
        let data = &buf[*start..];
        let mut cur = if limits.input_ended {
            Cursor::new(data, at)
        } else {
            Cursor::partial(data, at)
        };
        let head = match read_head(&mut cur, header, db) {
            Ok(head) => head,
            Err(e) if e.is_incomplete() => {
                limits.short(avail, at, e, "record", false, need)?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        match head {
            Head::Item(item) => {
                *pending = cur.pos();
                Ok(Some(Event::Item(item)))
            }
            Head::Eof { at: eof_at } => {
                let checksum = if header.version >= 5 {
                    match cur.u64_le("the CRC64 checksum") {
                        Ok(stored) => Some(stored),
                        Err(e) => {
                            limits.short(avail, at, e, "record", false, need)?;
                            return Ok(None);
                        }
                    }
                } else {
                    None
                };
                if let (Some(stored), Some(digest)) = (checksum, digest.as_ref())
                    && stored != 0
                {
                    let mut digest = *digest;
                    digest.update(&[0xff]);
                    let computed = digest.finalize();
                    if computed != stored {
                        return Err(cur.error_at(
                            ErrorKind::ChecksumMismatch { stored, computed },
                            eof_at + 1,
                        ));
                    }
                }
                *pending = cur.pos();
                *state = State::End;
                Ok(Some(Event::Item(Item::End {
                    checksum,
                    len: cur.offset(),
                })))
            }
            Head::Key(head) => {
                let value_at = cur.pos();
                let attempt = match head.read_value(&mut cur, header) {
                    // Long records come in pieces even when they are all buffered,
                    // so what a caller gets does not depend on how input was cut.
                    Ok(_) if cur.pos() > limits.max_record => Attempt::Split,
                    Ok(item) => {
                        *pending = cur.pos();
                        return Ok(Some(Event::Item(item)));
                    }
                    Err(e) if e.is_incomplete() => {
                        limits.short(avail, at, e, "record", true, need)?
                    }
                    Err(e) => return Err(e),
                };
                match attempt {
                    Attempt::Wait => Ok(None),
                    Attempt::Split => {
                        let mut cur = Cursor::partial(data, at);
                        cur.skip(value_at as u64, "key")?;
                        let (big, start_event) = split(head, cur, header, limits.max_record)?;
                        *pending = start_event.raw.len() + value_at;
                        *state = State::Value(Box::new(big));
                        Ok(Some(Event::ValueStart(start_event)))
                    }
                }
            }
        }
    }

    /// The next piece of a value being delivered in pieces.
    fn piece(&mut self, avail: usize) -> Result<Option<Event<'_>>> {
        let limits = self.limits();
        let Core {
            buf,
            start,
            base,
            pending,
            need,
            header,
            state,
            ..
        } = self;
        let State::Value(big) = state else {
            unreachable!("piece is only called inside a value")
        };
        let version = header.expect("values follow the header").version;
        let at = *base + *start as u64;
        let data = &buf[*start..];
        let mut cur = if limits.input_ended {
            Cursor::new(data, at)
        } else {
            Cursor::partial(data, at)
        };
        let want = |left: u64| left.min(limits.piece_size as u64) as usize;
        let Big { key, stage } = &mut **big;
        let key: &[u8] = key;
        let event = match stage {
            Stage::Raw { left } | Stage::ModuleString { left } => {
                let n = want(*left);
                if avail < n {
                    if limits.input_ended {
                        return Err(cur
                            .error(ErrorKind::Incomplete {
                                expected: "string value",
                            })
                            .with_key(key));
                    }
                    *need = n;
                    return Ok(None);
                }
                *left -= n as u64;
                *pending = n;
                let bytes = &data[..n];
                let piece = if matches!(stage, Stage::Raw { .. }) {
                    Piece::Bytes(bytes)
                } else {
                    Piece::ModuleBytes(bytes)
                };
                Event::Piece { piece, raw: bytes }
            }
            Stage::Lzf {
                left,
                at: lzf_at,
                inflater,
            } => {
                let input = &data[..(*left).min(avail as u64) as usize];
                // Wait for a good piece of input unless it is all there.
                if input.len() < want(*left) && !limits.input_ended {
                    *need = want(*left);
                    return Ok(None);
                }
                let used = inflater
                    .step(input, limits.piece_size)
                    .map_err(|e| e.inside(*lzf_at).with_key(key))?;
                if used == 0 {
                    // A token cut by the end of what is buffered.
                    if input.len() as u64 == *left || limits.input_ended {
                        return Err(Error::new(ErrorKind::Lzf("token cut short"), at).with_key(key));
                    }
                    *need = avail + 1;
                    return Ok(None);
                }
                *left -= used as u64;
                *pending = used;
                Event::Piece {
                    piece: Piece::Bytes(inflater.output()),
                    raw: &data[..used],
                }
            }
            Stage::Entries { kind, layout, left } => {
                let found = run(&mut cur, *left, limits, "collection entry", |cur| {
                    skip_entry(*layout, cur, version)
                });
                let Some((count, end)) = whole(found, limits, avail, at, "collection entry", need)
                    .map_err(|e| e.with_key(key))?
                else {
                    return Ok(None);
                };
                *left -= count;
                *pending = end;
                let body = Body {
                    layout: *layout,
                    encoding: kind.encoding,
                    payload: &data[..end],
                    base: at,
                    version,
                    key: None,
                    count: Some(count),
                };
                Event::Piece {
                    piece: Piece::Entries(kind.view(body)),
                    raw: &data[..end],
                }
            }
            Stage::StreamNodes { left, .. } => {
                let found = run(&mut cur, *left, limits, "stream node", |cur| {
                    skip_node(cur, version)
                });
                let Some((count, end)) = whole(found, limits, avail, at, "stream node", need)
                    .map_err(|e| e.with_key(key))?
                else {
                    return Ok(None);
                };
                *left -= count;
                *pending = end;
                let nodes = StreamEntries::over(&data[..end], at, count, version, None);
                Event::Piece {
                    piece: Piece::StreamEntries(nodes),
                    raw: &data[..end],
                }
            }
            Stage::StreamMeta { format } => {
                let meta = Stream::read_meta(&mut cur, version, *format, None, (&[], at, 0));
                let found = meta.map(|m| (m, cur.pos()));
                let Some((meta, end)) =
                    whole(found, limits, avail, at, "stream consumer groups", need)
                        .map_err(|e| e.with_key(key))?
                else {
                    return Ok(None);
                };
                *pending = end;
                *stage = Stage::Done;
                Event::Piece {
                    piece: Piece::StreamMeta(Box::new(meta)),
                    raw: &data[..end],
                }
            }
            Stage::ModuleFields => {
                let mut end = 0;
                let mut last = false;
                while end < limits.piece_size {
                    match skip_field(&mut cur, version) {
                        Ok(more) => {
                            end = cur.pos();
                            if !more {
                                last = true;
                                break;
                            }
                        }
                        Err(e) if e.is_incomplete() && end > 0 => break,
                        Err(e) if e.is_incomplete() => {
                            // Nothing whole: a long string field is passed on in pieces.
                            let mut head = Cursor::partial(data, at);
                            if let Some(left) = string_field_head(&mut head, version)? {
                                end = head.pos();
                                *stage = Stage::ModuleString { left };
                                break;
                            }
                            limits.short(avail, at, e, "module field", false, need)?;
                            return Ok(None);
                        }
                        Err(e) => return Err(e.with_key(key)),
                    }
                }
                if last {
                    *stage = Stage::Done;
                }
                *pending = end;
                Event::Piece {
                    piece: Piece::ModuleBytes(&data[..end]),
                    raw: &data[..end],
                }
            }
            Stage::Done => unreachable!("handled by step"),
        };
        Ok(Some(event))
    }
}

/// Skips whole units (entries, nodes) at the cursor: at most `left`, stopping once
/// a piece's worth of bytes is covered; a unit over the record limit is refused. Returns how many and where they end; when not even
/// one is whole, the error that says why.
fn run(
    cur: &mut Cursor<'_>,
    left: u64,
    limits: Limits,
    what: &'static str,
    mut skip: impl FnMut(&mut Cursor<'_>) -> Result<()>,
) -> Result<(u64, usize)> {
    let begin = cur.pos();
    let (mut count, mut end) = (0, begin);
    while count < left && end - begin < limits.piece_size {
        match skip(cur) {
            // Refused even when buffered, so the outcome does not depend on chunking.
            Ok(()) if cur.pos() - end > limits.max_record => {
                return Err(Error::new(
                    ErrorKind::TooLarge {
                        what,
                        limit: limits.max_record as u64,
                    },
                    cur.offset() - (cur.pos() - end) as u64,
                ));
            }
            Ok(()) => {
                count += 1;
                end = cur.pos();
            }
            Err(e) if e.is_incomplete() && count > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok((count, end))
}

/// Turns a parse result over buffered input into "got it", "wait" (`None`) or an
/// error (a fault, input that ended, or a unit larger than the limit).
fn whole<T>(
    found: Result<T>,
    limits: Limits,
    avail: usize,
    at: u64,
    what: &'static str,
    need: &mut usize,
) -> Result<Option<T>> {
    match found {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_incomplete() => {
            limits.short(avail, at, e, what, false, need)?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Reads the head of a module STRING field (opcode, length prefix) and returns how
/// many stored bytes follow; `None` when the field is an integer-encoded string.
fn string_field_head(cur: &mut Cursor<'_>, v: u32) -> Result<Option<u64>> {
    let at = cur.pos();
    if read_len(cur, v, "module opcode")? != 5 {
        return Ok(None);
    }
    Ok(match read_length(cur, v, "module string")? {
        Length::Len(n) => Some(n),
        Length::Special(3) => {
            let clen = read_len(cur, v, "module string")?;
            read_len(cur, v, "module string")?;
            Some(clen)
        }
        Length::Special(0..=2) => None,
        Length::Special(_) => {
            return Err(cur.error_at(ErrorKind::Invalid("string encoding"), at));
        }
    })
}

/// Starts delivering a key's value in pieces: reads the value's head (length
/// prefixes) at `cur` and says what follows.
fn split<'a>(
    head: KeyHead<'a>,
    mut cur: Cursor<'a>,
    header: Header,
    limit: usize,
) -> Result<(Big, ValueStart<'a>)> {
    let v = header.version;
    let begin = cur.pos();
    let key: Box<[u8]> = head.key.to_cow()?.into();
    let ty = head.type_byte;
    let too_large = |what| {
        Error::new(
            ErrorKind::TooLarge {
                what,
                limit: limit as u64,
            },
            head.offset,
        )
    };
    let mut module_id = None;
    let (stage, value_type, encoding, len) = if ty == code::STRING {
        let at = cur.pos();
        match read_length(&mut cur, v, "string value")? {
            Length::Len(n) => (Stage::Raw { left: n }, Type::String, Encoding::Raw, Some(n)),
            Length::Special(3) => {
                let clen = read_len(&mut cur, v, "string value")?;
                let len = read_len(&mut cur, v, "string value")?;
                if len > clen.saturating_mul(MAX_LZF_RATIO) || (clen == 0) != (len == 0) {
                    let kind = ErrorKind::BadLength {
                        what: "LZF length",
                        len,
                    };
                    return Err(cur.error_at(kind, at).with_key(&key));
                }
                let stage = Stage::Lzf {
                    left: clen,
                    at: cur.offset(),
                    inflater: Inflater::new(len),
                };
                (stage, Type::String, Encoding::Lzf, Some(len))
            }
            _ => {
                return Err(cur
                    .error_at(ErrorKind::Invalid("string encoding"), at)
                    .with_key(&key));
            }
        }
    } else if let Some(kind) = collection_kind(ty, header.dialect) {
        if let Layout::Blob { .. } = kind.layout {
            return Err(too_large("compact encoded value").with_key(&key));
        }
        let min = if kind.min_expire_prefix {
            cur.i64_le("hash minimum expiry")?
        } else {
            0
        };
        let layout = kind.layout_with_min(min);
        let n = read_len(&mut cur, v, "collection length").map_err(|e| e.with_key(&key))?;
        let stage = Stage::Entries {
            kind,
            layout,
            left: n,
        };
        (stage, kind.value_type, kind.encoding, Some(n))
    } else if let Some(format) = stream_format(ty) {
        let n = read_count(&mut cur, v, 2, "stream node count").map_err(|e| e.with_key(&key))?;
        let stage = Stage::StreamNodes { format, left: n };
        (
            stage,
            Type::Stream,
            Encoding::StreamListpacks(format),
            Some(n),
        )
    } else if ty == code::MODULE_2 {
        module_id = Some(read_len(&mut cur, v, "module id").map_err(|e| e.with_key(&key))?);
        (Stage::ModuleFields, Type::Module, Encoding::Module, None)
    } else {
        return Err(too_large("value of this type").with_key(&key));
    };
    let start = ValueStart {
        db: head.db,
        key: head.key,
        expire_ms: head.expire_ms,
        idle: head.idle,
        freq: head.freq,
        meta: head.meta,
        type_byte: ty,
        value_type,
        encoding,
        len,
        module_id,
        header,
        offset: head.offset,
        raw: cur.slice(begin, cur.pos()),
    };
    Ok((Big { key, stage }, start))
}

/// The stream format revision of a stream type byte.
fn stream_format(ty: u8) -> Option<u8> {
    Some(match ty {
        code::STREAM_LISTPACKS => 1,
        code::STREAM_LISTPACKS_2 => 2,
        code::STREAM_LISTPACKS_3 => 3,
        code::STREAM_LISTPACKS_4 => 4,
        code::STREAM_LISTPACKS_5 => 5,
        _ => return None,
    })
}
