//! Reads AOF files: single files, RDB preambles, Redis 7 multi-part directories.
//!
//! An append-only file is the log a Redis or Valkey server replays to rebuild its
//! dataset. This crate reads one as the server loads it (`aof.c`): an RDB preamble
//! when the file starts with one (handed over whole, for `rdb-parser`), then
//! commands, `#TS:` annotations skipped; a Redis 7 multi-part directory through its
//! manifest (the base file, then the incr files in order). What a crash leaves, a
//! last command cut short or a `MULTI` without its `EXEC`, is reported after
//! everything complete. Commands come as [`resp_codec::DbCommand`]s: `SELECT` is
//! consumed and sets each command's database, and each command has its offset in
//! the AOF.
//!
//! # Overview
//! - [`AofReader`]: an AOF from disk (a file, a multi-part directory, or its
//!   manifest) as an iterator of [`AofItem`]s; offsets grow over the files of a
//!   multi-part AOF.
//! - [`AofDecoder`]: its sans-IO core, the items of one file from its bytes fed in
//!   any pieces.
//! - [`AofItem`]: an RDB ([`AofItem::Rdb`]), a command ([`AofItem::Command`]), or
//!   the incomplete end ([`AofItem::Truncated`], a [`Truncation`]).
//! - [`Manifest`]: a multi-part AOF's list of [`ManifestEntry`]s, each a file and
//!   its [`FileKind`].
//! - [`Error`]: one error type; every variant about input carries the byte offset,
//!   and [`Error::File`] the file. No input makes the decoder panic.
//!
//! # Example
//! ```
//! use bytes::BytesMut;
//! use aof::{AofDecoder, AofItem};
//!
//! // An RDB preamble (one key, no checksum), then the commands logged after it.
//! let mut file = BytesMut::from(
//!     &b"REDIS0009\xfe\x00\x00\x05hello\x05world\xff\0\0\0\0\0\0\0\0\
//!        *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n\
//!        *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"[..],
//! );
//! let mut aof = AofDecoder::new();
//! let Some(AofItem::Rdb(rdb)) = aof.decode(&mut file, true)? else { panic!() };
//! assert_eq!(rdb.len(), 33); // for rdb_parser::Rdb::new(&rdb)
//! let Some(AofItem::Command(set)) = aof.decode(&mut file, true)? else { panic!() };
//! assert_eq!(set.args, [&b"SET"[..], b"k", b"v"]);
//! assert_eq!((set.db, set.offset), (2, 83));
//! assert_eq!(aof.decode(&mut file, true)?, None);
//! # Ok::<(), aof::Error>(())
//! ```
//!
//! # Features
//! None.
//!
//! The `restore` program (`examples/src/restore.rs`) replays an AOF into a target
//! through `key-writer`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod decode;
mod error;
mod item;
mod manifest;
mod preamble;
mod reader;

pub use decode::AofDecoder;
pub use error::{Error, Result};
pub use item::{AofItem, Truncation};
pub use manifest::{FileKind, Manifest, ManifestEntry};
pub use reader::AofReader;
