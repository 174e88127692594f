//! The sans-IO AOF decoder: the items of one AOF file from its bytes, fed in any
//! pieces.
//!
//! Read as the server loads a file (`aof.c`, `loadSingleAppendOnlyFile`): an RDB
//! preamble if the file starts with one; then commands, each a multibulk array;
//! lines starting with `#` are annotations (`#TS:<unix time>`) and are skipped. A
//! file that ends inside a command, or inside a `MULTI` without its `EXEC`, is what
//! a crash leaves: everything before is delivered, then the rest is reported.
//!
//! # Wire format
//! ```text
//! [REDIS0011 ... <EOF opcode> <checksum>]       optional RDB preamble
//! #TS:1700000000\r\n                           annotation, skipped
//! *2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n            consumed: the db of what follows
//! *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n    a command (db 3)
//! ```

use bytes::{Buf, BytesMut};
use resp_codec::{Command, CommandCodec, DbCommand, Limits};

use crate::error::{Error, Result};
use crate::item::{AofItem, Truncation};
use crate::preamble::{Preamble, Start};

/// Longest annotation line the server reads (`AOF_ANNOTATION_LINE_MAX_LEN`).
const MAX_ANNOTATION: usize = 1024;

/// What the decoder expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The file's first bytes: an RDB preamble or not.
    Start,
    /// Commands and annotations.
    Commands,
    /// The end was reported.
    Done,
}

/// The sans-IO core of the AOF reader: decodes the items of one AOF file from its
/// bytes, fed in any pieces.
///
/// `SELECT` is consumed, as a replica consumes it from its master's stream: it sets
/// the [`db`](DbCommand::db) of the commands after it (0 before the first, as the
/// server starts loading each file in database 0). Each command's
/// [`offset`](DbCommand::offset) is the number of bytes of the file up to its end,
/// the preamble and annotations included.
///
/// ```
/// use bytes::BytesMut;
/// use aof::{AofDecoder, AofItem};
///
/// let mut buf = BytesMut::from(&b"#TS:1700000000\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n\
///     *2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nPIN"[..]);
/// let mut aof = AofDecoder::new();
/// let Some(AofItem::Command(incr)) = aof.decode(&mut buf, true)? else { panic!() };
/// assert!(incr.name_is("incr"));
/// assert_eq!((incr.db, incr.offset), (3, 60));
/// let Some(AofItem::Truncated(t)) = aof.decode(&mut buf, true)? else { panic!() };
/// assert_eq!((t.offset, t.len), (60, 11));
/// assert!(aof.decode(&mut buf, true)?.is_none());
/// # Ok::<(), aof::Error>(())
/// ```
#[derive(Debug)]
pub struct AofDecoder {
    commands: CommandCodec,
    state: State,
    preamble: Preamble,
    /// The database of the last `SELECT`.
    db: u64,
    /// Offset of the `MULTI` of a transaction still open.
    multi: Option<u64>,
}

impl Default for AofDecoder {
    fn default() -> Self {
        Self::with_limits(Self::default_limits())
    }
}

impl AofDecoder {
    /// A decoder with [`AofDecoder::default_limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder enforcing `limits` on commands.
    pub fn with_limits(limits: Limits) -> Self {
        AofDecoder {
            commands: CommandCodec::with_limits(limits).inline(false),
            state: State::Start,
            preamble: Preamble::default(),
            db: 0,
            multi: None,
        }
    }

    /// The limits of an AOF: the server loads any command it once accepted,
    /// whatever `proto-max-bulk-len` says now, so bulks may reach 4 GiB.
    pub fn default_limits() -> Limits {
        Limits::default()
            .with_max_bulk_len(u32::MAX as usize)
            .with_max_frame_len(u32::MAX as usize)
    }

    /// Bytes of the file consumed so far.
    pub fn consumed(&self) -> u64 {
        self.commands.consumed()
    }

    /// The database of the last `SELECT` read (0 before any).
    pub fn db(&self) -> u64 {
        self.db
    }

    /// Takes the next item off the front of `buf`, which holds the file's bytes
    /// from where the last call stopped; `eof` says that no more will come.
    ///
    /// # Returns
    /// `Ok(None)` when more bytes are needed (or, with `eof`, at the end).
    ///
    /// # Errors
    /// [`Error::Rdb`] for a corrupt or truncated preamble; [`Error::Resp`] where
    /// the server reports a bad file format; [`Error::Invalid`] for an annotation
    /// line that is too long, a command with no arguments, or a `SELECT` without a
    /// valid database number.
    pub fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<AofItem>> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    let start = self.preamble.take(buf, eof).map_err(|source| Error::Rdb {
                        offset: self.consumed(),
                        source,
                    })?;
                    match start {
                        Start::Wait => return Ok(None),
                        Start::Commands => self.state = State::Commands,
                        Start::Rdb(rdb) => {
                            self.state = State::Commands;
                            self.commands.count_skipped(rdb.len());
                            return Ok(Some(AofItem::Rdb(rdb)));
                        }
                    }
                }
                State::Commands => {
                    if buf.first() == Some(&b'#') {
                        if self.annotation(buf, eof)? {
                            continue;
                        }
                        return Ok(None);
                    }
                    let start = self.consumed();
                    match self.commands.decode(buf)? {
                        Some(cmd) => {
                            if let Some(item) = self.command(&cmd, start)? {
                                return Ok(Some(item));
                            }
                        }
                        None if !eof => return Ok(None),
                        None => {
                            self.state = State::Done;
                            return Ok(self.end(buf, start).map(AofItem::Truncated));
                        }
                    }
                }
            }
        }
    }

    /// Skips the annotation line at the front of `buf`; `false` when its end has
    /// not arrived yet.
    fn annotation(&mut self, buf: &mut BytesMut, eof: bool) -> Result<bool> {
        let window = buf.get(..MAX_ANNOTATION).unwrap_or(&buf[..]);
        let skip = match window.iter().position(|&c| c == b'\n') {
            Some(lf) => lf + 1,
            None if buf.len() < MAX_ANNOTATION && !eof => return Ok(false),
            // The server's `fgets` reads an unterminated last line too.
            None if buf.len() < MAX_ANNOTATION => buf.len(),
            None => {
                return Err(Error::invalid(
                    "annotation line (too long)",
                    self.consumed(),
                ));
            }
        };
        buf.advance(skip);
        self.commands.count_skipped(skip);
        Ok(true)
    }

    /// The item for a command that starts at `start`: none for a `SELECT`, which
    /// changes the database of the commands after it.
    fn command(&mut self, cmd: &Command, start: u64) -> Result<Option<AofItem>> {
        if cmd.is_empty() {
            return Err(Error::invalid("command (no arguments)", start));
        }
        if cmd.name_is("select") {
            self.db = cmd
                .get(1)
                .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok())
                .ok_or_else(|| Error::invalid("SELECT (no valid database number)", start))?;
            return Ok(None);
        }
        if cmd.name_is("multi") {
            self.multi = Some(start);
        } else if cmd.name_is("exec") {
            self.multi = None;
        }
        let args = (0..cmd.len()).filter_map(|i| cmd.arg_bytes(i)).collect();
        Ok(Some(AofItem::Command(DbCommand {
            db: self.db,
            args,
            offset: self.consumed(),
        })))
    }

    /// At the end of the file, with `buf` holding what follows the last complete
    /// command (which starts at `start`): the part the server would drop, if any.
    fn end(&mut self, buf: &mut BytesMut, start: u64) -> Option<Truncation> {
        if buf.is_empty() && self.multi.is_none() {
            return None;
        }
        let end = start + buf.len() as u64;
        let offset = self.multi.unwrap_or(start);
        buf.clear();
        Some(Truncation {
            path: None,
            offset,
            len: end - offset,
            in_transaction: self.multi.is_some(),
        })
    }
}
