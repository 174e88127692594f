//! Reading an AOF from disk: a classic single file, or a Redis 7 multi-part
//! directory whose [`Manifest`] lists its files (`aof.c`, `loadAppendOnlyFiles`:
//! the base, then the incr files in sequence order).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use resp_codec::Limits;

use crate::decode::AofDecoder;
use crate::error::{Error, Result};
use crate::item::AofItem;
use crate::manifest::Manifest;

/// Bytes read from a file at a time.
const READ_CHUNK: usize = 256 << 10;

/// Reads an AOF from disk: a single file, or a Redis 7 multi-part directory (or its
/// manifest), as an iterator of [`AofItem`]s.
///
/// Files are read in chunks; only an RDB (preamble or base) is held whole, as
/// `rdb-parser` needs it. Each file is decoded as the server loads it, starting in
/// database 0. Command offsets ([`DbCommand::offset`]) count the bytes read from
/// the start of the AOF, summed over the files of a multi-part AOF, so that they
/// keep growing from one file to the next; [`position`](Self::position) and
/// [`Truncation`](crate::Truncation) give offsets in the current file. Errors name
/// the file and the offset in it.
///
/// [`DbCommand::offset`]: resp_codec::DbCommand::offset
///
/// ```no_run
/// use aof::{AofItem, AofReader};
///
/// for item in AofReader::open("/var/lib/redis/appendonlydir")? {
///     match item? {
///         AofItem::Rdb(rdb) => println!("RDB of {} bytes", rdb.len()),
///         AofItem::Command(cmd) => println!("{} in db {} at {}", cmd.name(), cmd.db, cmd.offset),
///         AofItem::Truncated(t) => println!("{} bytes dropped at {}", t.len, t.offset),
///         _ => {}
///     }
/// }
/// # Ok::<(), aof::Error>(())
/// ```
#[derive(Debug)]
pub struct AofReader {
    manifest: Option<Manifest>,
    files: VecDeque<PathBuf>,
    current: Option<Open>,
    limits: Limits,
    /// Bytes of the files read before the current one.
    base: u64,
}

/// The file being read.
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
    /// [`Error::Directory`] when a directory holds no manifest or several;
    /// [`Error::File`] when the directory or the manifest cannot be read, or the
    /// manifest is invalid ([`Error::Manifest`] inside).
    pub fn open(path: impl AsRef<Path>) -> Result<AofReader> {
        let path = path.as_ref();
        if path.is_dir() {
            let mut manifests = Vec::new();
            let entries = std::fs::read_dir(path).map_err(|e| Error::from(e).in_file(path))?;
            for entry in entries {
                let p = entry.map_err(|e| Error::from(e).in_file(path))?.path();
                if p.extension().is_some_and(|e| e == "manifest") && p.is_file() {
                    manifests.push(p);
                }
            }
            return match manifests.as_slice() {
                [one] => Self::open_manifest(one),
                _ => Err(Error::Directory {
                    dir: path.to_path_buf(),
                    manifests: manifests.len(),
                }),
            };
        }
        if path.extension().is_some_and(|e| e == "manifest") {
            return Self::open_manifest(path);
        }
        Ok(Self::of_files(None, VecDeque::from([path.to_path_buf()])))
    }

    fn open_manifest(path: &Path) -> Result<AofReader> {
        let text = std::fs::read(path).map_err(|e| Error::from(e).in_file(path))?;
        let manifest = Manifest::parse(&text).map_err(|e| e.in_file(path))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let files = manifest.load_order().map(|e| dir.join(&e.file)).collect();
        Ok(Self::of_files(Some(manifest), files))
    }

    fn of_files(manifest: Option<Manifest>, files: VecDeque<PathBuf>) -> AofReader {
        AofReader {
            manifest,
            files,
            current: None,
            limits: AofDecoder::default_limits(),
            base: 0,
        }
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
                let file = File::open(&path).map_err(|e| Error::from(e).in_file(&path))?;
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
                .map_err(|e| e.in_file(&open.path))?;
            match item {
                Some(AofItem::Command(mut cmd)) => {
                    cmd.offset += self.base;
                    return Ok(Some(AofItem::Command(cmd)));
                }
                Some(AofItem::Truncated(mut t)) => {
                    if !self.files.is_empty() {
                        // The server refuses to load a truncated file that is not the last.
                        return Err(Error::Truncated {
                            offset: t.offset,
                            len: t.len,
                        }
                        .in_file(&open.path));
                    }
                    t.path = Some(open.path.clone());
                    return Ok(Some(AofItem::Truncated(t)));
                }
                Some(item) => return Ok(Some(item)),
                None if open.eof => {
                    self.base += open.decoder.consumed();
                    self.current = None;
                }
                None => {
                    let old = open.buf.len();
                    open.buf.resize(old + READ_CHUNK, 0);
                    let n = open
                        .file
                        .read(&mut open.buf[old..])
                        .map_err(|e| Error::from(e).in_file(&open.path))?;
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
