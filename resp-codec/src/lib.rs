//! RESP2/RESP3 frame and command codec for Redis and Valkey.
//!
//! Every byte the workspace sends to or reads from a server goes through this
//! crate: commands to targets, replies, the replication stream, AOF files. Its core
//! is sans-IO (feed bytes, get frames), zero-copy (decoded strings are
//! [`Bytes`](bytes::Bytes) slices of the input buffer) and resumable (a frame cut
//! short by the end of a read is not read again from its start); each codec also
//! implements [`tokio_util::codec`]'s `Decoder` and `Encoder` for `Framed`.
//!
//! Reading AOF files is the `aof` crate's job; it decodes their commands with
//! [`CommandCodec`].
//!
//! # Overview
//! - [`Frame`]: every RESP2 and RESP3 type. [`FrameCodec`] decodes them (replies,
//!   or any frame); [`Frame::encode`] writes them.
//! - [`Command`]: a request as a server reads it, multibulk or inline, with its
//!   exact [`wire_len`](Command::wire_len) for replication offsets. [`CommandCodec`]
//!   decodes them; [`encode_command`] writes one straight from borrowed arguments,
//!   [`Pipeline`] batches many, [`encode_inline`] writes the inline form and
//!   [`split_inline`] splits a line as the server does.
//! - [`DbCommand`]: a command of a change log (a replication stream or an AOF) with
//!   the database it applies to and its offset in the log.
//! - [`StreamingCodec`]: frames whose bulks over a threshold arrive as chunks
//!   ([`Event`]s), so huge values are never buffered whole.
//! - [`Limits`]: maximum frame and bulk sizes, nesting depth, element counts and
//!   inline line length, checked before anything is buffered.
//! - [`Error`]: one error type; every variant about input carries the byte offset.
//!   No input makes a decoder panic, and no length read from the input reserves
//!   memory before the bytes are there.
//!
//! # Example
//! ```
//! use bytes::BytesMut;
//! use resp_codec::{CommandCodec, Frame, FrameCodec, encode_command};
//!
//! // A client writes a command from borrowed arguments...
//! let mut wire = BytesMut::new();
//! encode_command(&mut wire, &["SET", "greeting", "hello"]);
//!
//! // ...a server (or a replica, or an AOF loader) reads it, with its length...
//! let cmd = CommandCodec::new().decode(&mut wire)?.expect("a whole command");
//! assert!(cmd.name_is("set"));
//! assert_eq!(cmd.get(2), Some(&b"hello"[..]));
//! assert_eq!(cmd.wire_len(), 38);
//!
//! // ...and the client decodes the reply, here RESP3, arriving in two reads.
//! let mut codec = FrameCodec::new();
//! let mut replies = BytesMut::from(&b"%1\r\n+role\r\n$6\r\nma"[..]);
//! assert_eq!(codec.decode(&mut replies)?, None);
//! replies.extend_from_slice(b"ster\r\n");
//! let reply = codec.decode(&mut replies)?.expect("a whole frame");
//! assert_eq!(reply, Frame::Map(vec![(Frame::simple("role"), Frame::bulk("master"))]));
//! # Ok::<(), resp_codec::Error>(())
//! ```
//!
//! # Features
//! None: the `tokio-util` codec traits are always implemented (they need no
//! runtime).
//!
//! The benchmark against `redis-protocol` and `resp-rs` is
//! `benches/benches/resp_decode.rs`; the crate's README has the measured ratios.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod command;
mod db_command;
mod decode;
mod encode;
mod error;
mod frame;
mod inline;
mod limits;
mod line;
mod payload;
mod pipeline;
mod streaming;

pub use command::{Command, CommandCodec, command_len, encode_command, encode_inline};
pub use db_command::DbCommand;
pub use decode::FrameCodec;
pub use error::{Error, Result};
pub use frame::{AggregateKind, BulkKind, Frame};
pub use inline::split_inline;
pub use limits::{
    DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_FRAME_LEN,
    DEFAULT_MAX_INLINE_LEN, Limits,
};
pub use pipeline::Pipeline;
pub use streaming::{Event, StreamingCodec, encode_bulk_header};
