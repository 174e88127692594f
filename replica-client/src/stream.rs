//! The replication stream after `PSYNC`: the RDB payload of a full resync, then the
//! commands, with the replication offset kept exactly as the master counts it.
//!
//! Sans-IO: feed the bytes read from the master, take [`Item`]s. `PING` and `SELECT`
//! advance the offset (and the current db) without being items; `REPLCONF GETACK`
//! becomes [`Item::GetAck`] with the offset to acknowledge, which excludes the
//! `GETACK` itself, as a real replica does. The RDB payload's bytes and the keepalive
//! newlines before it do not count (`replication.c`: `master_repl_offset` counts the
//! command stream only).

use bytes::{Bytes, BytesMut};
use resp_codec::{DbCommand as Command, Event, Frame, Limits, StreamingCodec};

use crate::error::{Error, Result};

/// What the stream yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// The RDB payload starts; `len` is `None` for a diskless transfer.
    RdbStart { len: Option<u64> },
    /// The next bytes of the RDB payload.
    RdbChunk(Bytes),
    /// The RDB payload is complete.
    RdbEnd,
    /// A command.
    Command(Command),
    /// The master asks for an acknowledgement; `offset` precedes the request.
    GetAck { offset: u64 },
}

/// The decoder of one connection's replication stream.
#[derive(Debug)]
pub(crate) struct ReplicationStream {
    codec: StreamingCodec,
    offset: u64,
    db: u64,
    in_rdb: bool,
}

impl ReplicationStream {
    /// A stream that starts with the RDB payload of a full resync at `offset`.
    pub(crate) fn full(offset: u64) -> Self {
        let mut stream = Self::commands(offset, 0);
        stream.codec.expect_rdb_payload();
        stream.in_rdb = true;
        stream
    }

    /// A stream of commands continuing at `offset`, in database `db`.
    pub(crate) fn commands(offset: u64, db: u64) -> Self {
        // Commands are delivered whole: no argument is split, up to the server's own
        // limit on a bulk (proto-max-bulk-len, 512 MiB by default).
        let limits = Limits::default().with_max_frame_len(usize::MAX);
        ReplicationStream {
            codec: StreamingCodec::with_limits(usize::MAX, limits),
            offset,
            db,
            in_rdb: false,
        }
    }

    /// The offset after the last complete command.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The current database.
    pub(crate) fn db(&self) -> u64 {
        self.db
    }

    /// Whether the RDB payload is being read.
    pub(crate) fn in_rdb(&self) -> bool {
        self.in_rdb
    }

    /// Takes the next item off the front of `buf`; `None` when more bytes are needed.
    pub(crate) fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Item>> {
        loop {
            let at = self.codec.consumed();
            let event = self.codec.decode(buf).map_err(|e| Error::Protocol {
                offset: e.offset().unwrap_or(at),
                what: e.to_string(),
            })?;
            let Some(event) = event else {
                return Ok(None);
            };
            let (frame, wire_len) = match event {
                Event::Payload { len } => return Ok(Some(Item::RdbStart { len })),
                Event::BulkChunk(bytes) if self.in_rdb => return Ok(Some(Item::RdbChunk(bytes))),
                Event::PayloadEnd => {
                    self.in_rdb = false;
                    return Ok(Some(Item::RdbEnd));
                }
                Event::Frame { frame, wire_len } => (frame, wire_len as u64),
                _ => return Err(self.fault(at, "a command split into pieces")),
            };
            let Frame::Array(parts) = frame else {
                return Err(self.fault(at, "a frame that is not a command"));
            };
            let mut args = Vec::with_capacity(parts.len());
            for part in parts {
                match part {
                    Frame::BulkString(b) => args.push(b),
                    _ => return Err(self.fault(at, "a command argument that is not a bulk string")),
                }
            }
            let before = self.offset;
            self.offset += wire_len;
            let name = args
                .first()
                .map(|n| n.to_ascii_lowercase())
                .unwrap_or_default();
            match &name[..] {
                b"ping" => continue,
                b"select" => {
                    self.db = args
                        .get(1)
                        .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok())
                        .ok_or_else(|| self.fault(at, "a SELECT without a database number"))?;
                    continue;
                }
                b"replconf"
                    if args
                        .get(1)
                        .is_some_and(|a| a.eq_ignore_ascii_case(b"getack")) =>
                {
                    return Ok(Some(Item::GetAck { offset: before }));
                }
                b"" => return Err(self.fault(at, "an empty command")),
                _ => {
                    return Ok(Some(Item::Command(Command {
                        db: self.db,
                        args,
                        offset: self.offset,
                    })));
                }
            }
        }
    }

    fn fault(&self, at: u64, what: &str) -> Error {
        Error::Protocol {
            offset: at,
            what: what.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use resp_codec::encode_command;

    /// A master's stream: keepalives, a diskless or disk-based payload, commands.
    fn wire(diskless: bool, rdb: &[u8], commands: &[Vec<&[u8]>]) -> (Vec<u8>, Vec<usize>) {
        let mut out = b"\n\n".to_vec();
        if diskless {
            // A real mark is 40 random hex digits: it never overlaps itself.
            let mark = *b"8f14e45fceea167a5a36dedd4bea2543c4cda2ff";
            out.extend_from_slice(b"$EOF:");
            out.extend_from_slice(&mark);
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(rdb);
            out.extend_from_slice(&mark);
        } else {
            out.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
            out.extend_from_slice(rdb);
        }
        let mut lens = Vec::new();
        for c in commands {
            let mut b = BytesMut::new();
            encode_command(&mut b, c);
            lens.push(b.len());
            out.extend_from_slice(&b);
        }
        (out, lens)
    }

    fn run(input: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Item>) {
        let mut stream = ReplicationStream::full(1000);
        let mut buf = BytesMut::new();
        let (mut rdb, mut items) = (Vec::new(), Vec::new());
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            buf.extend_from_slice(&input[last..cut]);
            last = cut;
            while let Some(item) = stream.next(&mut buf).unwrap() {
                match item {
                    Item::RdbChunk(b) => rdb.extend_from_slice(&b),
                    other => items.push(other),
                }
            }
        }
        (rdb, items)
    }

    proptest! {
        /// Split anywhere, the same payload, commands, dbs and offsets.
        #[test]
        fn stream_split_anywhere(
            diskless: bool,
            rdb in proptest::collection::vec(any::<u8>(), 0..300),
            mut cuts in proptest::collection::vec(0usize..2000, 0..6),
        ) {
            let commands: Vec<Vec<&[u8]>> = vec![
                vec![b"PING"],
                vec![b"SELECT", b"3"],
                vec![b"SET", b"k", b"v\r\n"],
                vec![b"REPLCONF", b"GETACK", b"*"],
                vec![b"SELECT", b"0"],
                vec![b"INCR", b"n"],
            ];
            let (input, lens) = wire(diskless, &rdb, &commands);
            cuts.iter_mut().for_each(|c| *c %= input.len() + 1);
            cuts.sort();
            let (payload, items) = run(&input, &cuts);
            prop_assert_eq!(payload, rdb.clone());
            let at = |n: usize| 1000 + lens[..n].iter().sum::<usize>() as u64;
            let expected = vec![
                Item::RdbStart { len: (!diskless).then_some(rdb.len() as u64) },
                Item::RdbEnd,
                Item::Command(Command {
                    db: 3,
                    args: vec![Bytes::from_static(b"SET"), Bytes::from_static(b"k"), Bytes::from_static(b"v\r\n")],
                    offset: at(3),
                }),
                Item::GetAck { offset: at(3) },
                Item::Command(Command {
                    db: 0,
                    args: vec![Bytes::from_static(b"INCR"), Bytes::from_static(b"n")],
                    offset: at(6),
                }),
            ];
            prop_assert_eq!(items, expected);
        }
    }

    #[test]
    fn non_commands_are_protocol_errors() {
        let mut stream = ReplicationStream::commands(0, 0);
        let mut buf = BytesMut::from(&b"+OK\r\n"[..]);
        assert!(matches!(stream.next(&mut buf), Err(Error::Protocol { .. })));
        let mut stream = ReplicationStream::commands(0, 0);
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n:1\r\n"[..]);
        assert!(matches!(stream.next(&mut buf), Err(Error::Protocol { .. })));
    }
}
