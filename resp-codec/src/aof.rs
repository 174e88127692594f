//! Append-only files: a classic single file (optionally with an RDB preamble), or a
//! Redis 7 multi-part directory read through its [`Manifest`].
//!
//! Read as the server loads them (`aof.c`, `loadSingleAppendOnlyFile` and
//! `loadAppendOnlyFiles`): a file that starts with `REDIS` (or Valkey's `VALKEY`)
//! starts with an RDB; then come commands, each a multibulk array; lines starting
//! with `#` are annotations (`#TS:<unix time>`) and are skipped. A last file that
//! ends inside a command, or inside a `MULTI` without its `EXEC`, is what a crash
//! leaves: everything before is delivered, then the rest is reported.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::{Buf, Bytes, BytesMut};

use crate::command::{Command, CommandCodec};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::line;
use crate::manifest::Manifest;

/// Longest annotation line the server reads (`AOF_ANNOTATION_LINE_MAX_LEN`).
const MAX_ANNOTATION: usize = 1024;
/// Bytes read from a file at a time.
const READ_CHUNK: usize = 256 << 10;

/// One item of an AOF, in file order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AofItem {
    /// An RDB: the preamble of an AOF file, or a multi-part base `.rdb` file. The
    /// bytes run from the magic through the checksum; decode them with
    /// `rdb_parser::Rdb::new`.
    Rdb(Bytes),
    /// A command, with its exact bytes ([`Command::wire_len`]).
    Command(Command),
    /// The last file ends with an incomplete command or transaction.
    Truncated(Truncation),
}

/// The incomplete end of an AOF: what the server drops when it loads the file
/// (with `aof-load-truncated yes`, the default).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncation {
    /// The file, when reading files.
    pub path: Option<PathBuf>,
    /// Where the dropped part starts in the file.
    pub offset: u64,
    /// Its length: up to the end of the file.
    pub len: u64,
    /// Whether the dropped part starts with a `MULTI` whose `EXEC` is missing.
    /// The transaction's commands were delivered before the end was reached; the
    /// server would not apply them (replaying over a connection that then closes
    /// has the same effect: the server discards the open transaction).
    pub in_transaction: bool,
}

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
/// ```
/// use bytes::BytesMut;
/// use resp_codec::{AofDecoder, AofItem};
///
/// let mut buf = BytesMut::from(&b"#TS:1700000000\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$4\r\nPIN"[..]);
/// let mut aof = AofDecoder::new();
/// let Some(AofItem::Command(select)) = aof.decode(&mut buf, true)? else { panic!() };
/// assert!(select.name_is("select"));
/// let Some(AofItem::Truncated(t)) = aof.decode(&mut buf, true)? else { panic!() };
/// assert_eq!((t.offset, t.len), (39, 11));
/// assert!(aof.decode(&mut buf, true)?.is_none());
/// # Ok::<(), resp_codec::Error>(())
/// ```
#[derive(Debug)]
pub struct AofDecoder {
    commands: CommandCodec,
    state: State,
    /// Offset of the `MULTI` of a transaction still open.
    multi: Option<u64>,
    /// Don't measure an RDB preamble again before the buffer holds this much.
    measure_at: usize,
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
            multi: None,
            measure_at: 0,
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

    /// Takes the next item off the front of `buf`, which holds the file's bytes
    /// from where the last call stopped; `eof` says that no more will come.
    ///
    /// # Returns
    /// `Ok(None)` when more bytes are needed (or, with `eof`, at the end).
    ///
    /// # Errors
    /// [`Error::Rdb`] for a corrupt or truncated preamble; [`Error::UnknownType`]
    /// or [`Error::Invalid`] where the server reports a bad file format.
    pub fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<AofItem>> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    if let Some(rdb) = self.preamble(buf, eof)? {
                        return Ok(Some(AofItem::Rdb(rdb)));
                    }
                    if self.state == State::Start {
                        return Ok(None);
                    }
                }
                State::Commands => {
                    if buf.first() == Some(&b'#') {
                        match line::find_lf(buf, 0) {
                            Some(lf) if lf < MAX_ANNOTATION => {
                                buf.advance(lf + 1);
                                self.commands.count_skipped(lf + 1);
                                continue;
                            }
                            None if buf.len() < MAX_ANNOTATION && !eof => return Ok(None),
                            // The server's `fgets` reads an unterminated last line too.
                            None if buf.len() < MAX_ANNOTATION => {
                                let n = buf.len();
                                buf.advance(n);
                                self.commands.count_skipped(n);
                                continue;
                            }
                            _ => {
                                return Err(Error::invalid(
                                    "annotation line (too long)",
                                    self.consumed(),
                                ));
                            }
                        }
                    }
                    let start = self.consumed();
                    match self.commands.decode(buf)? {
                        Some(cmd) if cmd.is_empty() => {
                            return Err(Error::invalid("command (no arguments)", start));
                        }
                        Some(cmd) => {
                            if cmd.name_is("multi") {
                                self.multi = Some(start);
                            } else if cmd.name_is("exec") {
                                self.multi = None;
                            }
                            return Ok(Some(AofItem::Command(cmd)));
                        }
                        None if !eof => return Ok(None),
                        None => {
                            self.state = State::Done;
                            let end = start + buf.len() as u64;
                            if buf.is_empty() && self.multi.is_none() {
                                return Ok(None);
                            }
                            let offset = self.multi.unwrap_or(start);
                            buf.clear();
                            return Ok(Some(AofItem::Truncated(Truncation {
                                path: None,
                                offset,
                                len: end - offset,
                                in_transaction: self.multi.is_some(),
                            })));
                        }
                    }
                }
            }
        }
    }

    /// Reads the RDB preamble if the file starts with one; moves on to commands
    /// once it is known not to.
    fn preamble(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Bytes>> {
        const MAGICS: [&[u8]; 2] = [b"REDIS", b"VALKEY"];
        let n = buf.len();
        if !MAGICS.iter().any(|m| buf.starts_with(m)) {
            // Wait while what is there could still be the start of a magic.
            if !eof && n < 6 && MAGICS.iter().any(|m| m.starts_with(buf)) {
                return Ok(None);
            }
            self.state = State::Commands;
            return Ok(None);
        }
        // Measuring reads the whole RDB: wait for the buffer to double between
        // attempts, so that a large preamble arriving in pieces is read a few times,
        // not once per piece.
        if !eof && n < self.measure_at {
            return Ok(None);
        }
        match preamble_len(buf) {
            Ok(len) => {
                self.state = State::Commands;
                self.commands.count_skipped(len);
                Ok(Some(buf.split_to(len).freeze()))
            }
            // A prefix of a valid RDB can also fail as a length too large for the
            // input: until the end, any failure may be lack of input.
            Err(_) if !eof => {
                self.measure_at = n.saturating_mul(2);
                Ok(None)
            }
            Err(source) => Err(Error::Rdb {
                offset: self.consumed(),
                source,
            }),
        }
    }
}

/// The length of the RDB at the start of `input` (magic through checksum).
fn preamble_len(input: &[u8]) -> std::result::Result<usize, rdb_parser::Error> {
    rdb_parser::measure(input)
}

/// Reads an AOF from disk: a single file, or a Redis 7 multi-part directory (or its
/// manifest), as an iterator of [`AofItem`]s.
///
/// Files are read in chunks; only an RDB (preamble or base) is held whole, as
/// `rdb-parser` needs it. Errors carry the file's path and the offset in that file.
///
/// ```no_run
/// use resp_codec::{AofItem, AofReader};
///
/// for item in AofReader::open("/var/lib/redis/appendonlydir")? {
///     match item? {
///         AofItem::Rdb(rdb) => println!("RDB of {} bytes", rdb.len()),
///         AofItem::Command(cmd) => println!("{} args", cmd.len()),
///         AofItem::Truncated(t) => println!("{} bytes dropped at {}", t.len, t.offset),
///         _ => {}
///     }
/// }
/// # Ok::<(), resp_codec::Error>(())
/// ```
#[derive(Debug)]
pub struct AofReader {
    manifest: Option<Manifest>,
    files: VecDeque<PathBuf>,
    current: Option<Open>,
    limits: Limits,
}

#[derive(Debug)]
struct Open {
    path: PathBuf,
    file: File,
    buf: BytesMut,
    eof: bool,
    decoder: AofDecoder,
}

impl AofReader {
    /// Opens `path`: an AOF file, a multi-part AOF directory (holding one
    /// `*.manifest` file), or a manifest file.
    ///
    /// # Errors
    /// When the path cannot be read, a directory holds no manifest or several, or
    /// the manifest is invalid.
    pub fn open(path: impl AsRef<Path>) -> Result<AofReader> {
        let path = path.as_ref();
        if path.is_dir() {
            let mut manifests = Vec::new();
            for entry in std::fs::read_dir(path)? {
                let p = entry?.path();
                if p.extension().is_some_and(|e| e == "manifest") && p.is_file() {
                    manifests.push(p);
                }
            }
            return match manifests.as_slice() {
                [one] => Self::open_manifest(one),
                [] => Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no *.manifest file in {}", path.display()),
                ))),
                _ => Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "several *.manifest files in {}: open one of them",
                        path.display()
                    ),
                ))),
            };
        }
        if path.extension().is_some_and(|e| e == "manifest") {
            return Self::open_manifest(path);
        }
        Ok(AofReader {
            manifest: None,
            files: VecDeque::from([path.to_path_buf()]),
            current: None,
            limits: AofDecoder::default_limits(),
        })
    }

    fn open_manifest(path: &Path) -> Result<AofReader> {
        let text = std::fs::read(path).map_err(|e| Error::from(e).in_file(path.to_path_buf()))?;
        let manifest = Manifest::parse(&text).map_err(|e| e.in_file(path.to_path_buf()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let files = manifest.load_order().map(|e| dir.join(&e.file)).collect();
        Ok(AofReader {
            manifest: Some(manifest),
            files,
            current: None,
            limits: AofDecoder::default_limits(),
        })
    }

    /// Enforces `limits` on commands instead of [`AofDecoder::default_limits`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The manifest, for a multi-part AOF.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// The file being read and the offset in it of the next item.
    pub fn position(&self) -> Option<(&Path, u64)> {
        self.current
            .as_ref()
            .map(|o| (o.path.as_path(), o.decoder.consumed()))
    }

    fn next_item(&mut self) -> Result<Option<AofItem>> {
        loop {
            let Some(open) = &mut self.current else {
                let Some(path) = self.files.pop_front() else {
                    return Ok(None);
                };
                let file = File::open(&path).map_err(|e| Error::from(e).in_file(path.clone()))?;
                self.current = Some(Open {
                    path,
                    file,
                    buf: BytesMut::new(),
                    eof: false,
                    decoder: AofDecoder::with_limits(self.limits),
                });
                continue;
            };
            let item = open
                .decoder
                .decode(&mut open.buf, open.eof)
                .map_err(|e| e.in_file(open.path.clone()))?;
            match item {
                Some(AofItem::Truncated(mut t)) => {
                    if !self.files.is_empty() {
                        // The server refuses to load a truncated file that is not the last.
                        return Err(Error::Truncated {
                            offset: t.offset,
                            len: t.len,
                        }
                        .in_file(open.path.clone()));
                    }
                    t.path = Some(open.path.clone());
                    return Ok(Some(AofItem::Truncated(t)));
                }
                Some(item) => return Ok(Some(item)),
                None if open.eof => self.current = None,
                None => {
                    let old = open.buf.len();
                    open.buf.resize(old + READ_CHUNK, 0);
                    let n = open
                        .file
                        .read(&mut open.buf[old..])
                        .map_err(|e| Error::from(e).in_file(open.path.clone()))?;
                    open.buf.truncate(old + n);
                    open.eof = n == 0;
                }
            }
        }
    }
}

impl Iterator for AofReader {
    type Item = Result<AofItem>;

    /// The next item; after an error, `None`.
    fn next(&mut self) -> Option<Result<AofItem>> {
        match self.next_item() {
            Ok(item) => item.map(Ok),
            Err(e) => {
                self.files.clear();
                self.current = None;
                Some(Err(e))
            }
        }
    }
}
