//! Zero-copy decoding of Redis and Valkey RDB files and DUMP payloads.
//!
//! Reads every RDB that Redis (RDB 1 to 14, up to 8.8) and Valkey (RDB 11 and the
//! `VALKEY080` files of Valkey 9) write: every opcode, type and encoding. The input is
//! a byte slice, for example a memory-mapped file; items borrow from it and values are
//! decoded only as the caller walks them.
//!
//! # Overview
//! - [`Rdb`] reads the header; [`Rdb::items`] yields [`Item`]s: aux fields, functions,
//!   db changes, and [`Key`]s, ending with [`Item::End`]. [`Items::try_for_each_ref`]
//!   hands each to a closure where it lies, the fastest way through a whole file.
//! - A key's [`Value`] is a view: a [`List`], [`Set`], [`SortedSet`] or [`struct@Hash`]
//!   folds its entries into a closure with `try_fold` ([`List::try_fold`]), the
//!   fastest walk (the encoding is matched once per value, not once per entry), or
//!   gives a cursor over them that steps with `next` (and has `try_for_each` /
//!   `try_fold` for the rest). Ziplists, listpacks and intsets are decoded during the
//!   walk; LZF data is decompressed when reached, into reusable buffers;
//!   a [`Stream`] has its metadata and groups decoded and its entries walked lazily; a
//!   [`Module`] value is kept raw with its module's name, so it can be passed on
//!   without the module.
//! - [`Key::dump_payload`] turns a key's stored bytes into a `RESTORE` payload without
//!   re-encoding; [`parse_dump`] reads a `DUMP` payload. [`payload_for`] and
//!   [`value_for`] re-encode a value for a server that reads only older RDB versions.
//! - [`RdbWriter`] writes an RDB file of any version or dialect.
//! - [`Reader`] reads an RDB that arrives in pieces (a socket, a replication stream),
//!   sans-IO and in bounded memory: records up to [`Reader::max_record`] bytes come
//!   whole as the same [`Item`]s; longer keys come as [`Event::ValueStart`], then
//!   [`Piece`]s (string bytes, runs of entries viewed like values, stream nodes, raw
//!   module bytes), then [`Event::ValueEnd`]. Its docs state the memory bound.
//!   `AsyncReader`, with the `tokio` feature, fills a reader from an `AsyncRead`.
//! - Errors are one type, [`Error`], with the byte offset, the key being decoded and
//!   what was expected. No input makes the parser panic, and no length read from the
//!   input sizes an allocation beyond what the remaining input can hold.
//! - The CRC64 footer is verified (skipped when it is 0, as Redis does, and before
//!   RDB 5, which has none); see [`ParseOptions`].
//!
//! Type byte 22 and opcode 243 mean different things in Redis and Valkey files; the
//! magic decides ([`Dialect`]).
//!
//! # Example
//! ```
//! use rdb_parser::{Item, Rdb, Value};
//!
//! // An RDB 9 file with one string key, saved without a checksum (8 zero bytes).
//! let file = b"REDIS0009\xfe\x00\x00\x05hello\x05world\xff\0\0\0\0\0\0\0\0";
//! let rdb = Rdb::new(file)?;
//! for item in rdb.items() {
//!     if let Item::Key(key) = item? {
//!         let Value::String(value) = key.value else { unreachable!() };
//!         assert_eq!(key.key.to_vec()?, b"hello");
//!         assert_eq!(value.to_vec()?, b"world");
//!     }
//! }
//! # Ok::<(), rdb_parser::Error>(())
//! ```
//!
//! # Features
//! - `tokio`: `AsyncReader`, the streaming reader over a tokio `AsyncRead`.
//!
//! The `decode` program in the workspace's `examples` package prints an RDB as JSON
//! lines with this crate.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod array;
#[cfg(feature = "tokio")]
mod async_reader;
mod checksum;
mod collection;
mod cursor;
mod dump;
mod element;
mod entries;
mod error;
mod header;
mod intset;
mod item;
mod length;
mod listpack;
mod lzf;
mod module;
mod opcode;
mod packed;
mod rdb;
mod reader;
mod record;
mod spare;
mod stream;
mod string;
mod transcode;
mod value;
mod writer;
mod ziplist;
mod zipmap;

pub use array::{Array, ArrayValue, Slots};
#[cfg(feature = "tokio")]
pub use async_reader::AsyncReader;
pub use checksum::crc64;
pub use collection::{Blob, Elements, Field, Fields, Hash, List, ScoredMembers, Set, SortedSet};
pub use dump::{Dump, parse_dump};
pub use element::Element;
pub use error::{Error, ErrorKind, Result};
pub use header::{Dialect, Header, MAX_REDIS_VERSION, VALKEY_VERSION};
pub use item::{Item, Key};
pub use module::{Module, ModuleField, module_name};
pub use opcode::{Function, KeyMeta, SlotImport};
pub use rdb::{Items, ParseOptions, Rdb, measure};
pub use reader::{DEFAULT_MAX_RECORD, DEFAULT_PIECE_SIZE, Event, Piece, Reader, ValueStart};
pub use stream::{
    Consumer, ConsumerGroup, Idempotency, PendingEntry, Producer, Stream, StreamEntries,
    StreamEntry, StreamId,
};
pub use string::RdbString;
pub use transcode::{
    hash_without_field_ttls, payload_for, valkey_payload_for, valkey_value_for, value_for,
};
pub use value::{Encoding, Type, Value};
pub use writer::RdbWriter;

#[cfg(test)]
mod tests;
