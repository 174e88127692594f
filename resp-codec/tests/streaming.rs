//! Streaming mode: large bulks arrive in chunks; reassembling the events gives back
//! the frames, whatever the threshold and wherever the input is split.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use resp_codec::{AggregateKind, BulkKind, Error, Event, Frame, Limits, StreamingCodec};

/// Rebuilds frames from events, checking the wire lengths they report.
#[derive(Default)]
struct Rebuild {
    /// Open aggregates: kind, declared length, elements so far.
    stack: Vec<(AggregateKind, usize, Vec<Frame>)>,
    bulk: Option<(BulkKind, u64, Vec<u8>)>,
    frames: Vec<Frame>,
    wire_lens: Vec<u64>,
    /// A top-level frame assembled from pieces, waiting for its `End`.
    done: Option<Frame>,
}

impl Rebuild {
    fn push(&mut self, event: Event) {
        match event {
            Event::Frame { frame, wire_len } => {
                assert!(self.stack.is_empty() && self.bulk.is_none() && self.done.is_none());
                self.frames.push(frame);
                self.wire_lens.push(wire_len as u64);
            }
            Event::Aggregate { kind, len } => self.stack.push((kind, len, Vec::new())),
            Event::Element(f) => self.element(f),
            Event::BulkStart { kind, len } => self.bulk = Some((kind, len, Vec::new())),
            Event::BulkChunk(c) => {
                assert!(!c.is_empty());
                self.bulk.as_mut().unwrap().2.extend_from_slice(&c)
            }
            Event::BulkEnd => {
                let (kind, len, data) = self.bulk.take().unwrap();
                assert_eq!(data.len() as u64, len);
                let data = Bytes::from(data);
                self.element(match kind {
                    BulkKind::String => Frame::BulkString(data),
                    BulkKind::Error => Frame::BulkError(data),
                    BulkKind::Verbatim => Frame::VerbatimString {
                        format: data[..3].try_into().unwrap(),
                        text: data.slice(4..),
                    },
                });
            }
            Event::End { wire_len } => {
                self.frames
                    .push(self.done.take().expect("End after a whole frame"));
                self.wire_lens.push(wire_len);
            }
            Event::Payload { .. } | Event::PayloadEnd => panic!("no payload was expected"),
        }
    }

    fn element(&mut self, f: Frame) {
        let Some((kind, len, items)) = self.stack.last_mut() else {
            self.done = Some(f);
            return;
        };
        items.push(f);
        let want = match kind {
            AggregateKind::Map => *len * 2,
            AggregateKind::Attribute => *len * 2 + 1,
            _ => *len,
        };
        if items.len() == want {
            let (kind, _, mut items) = self.stack.pop().unwrap();
            let pairs = |items: Vec<Frame>| {
                let mut it = items.into_iter();
                std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect::<Vec<_>>()
            };
            let f = match kind {
                AggregateKind::Array => Frame::Array(items),
                AggregateKind::Set => Frame::Set(items),
                AggregateKind::Push => Frame::Push(items),
                AggregateKind::Map => Frame::Map(pairs(items)),
                AggregateKind::Attribute => {
                    let last = items.pop().unwrap();
                    Frame::Attribute {
                        attributes: pairs(items),
                        frame: Box::new(last),
                    }
                }
            };
            self.element(f);
        }
    }
}

/// Feeds `wire` in pieces cut at `cuts` and rebuilds the frames.
fn stream(wire: &[u8], threshold: usize, cuts: &[usize]) -> Rebuild {
    let mut codec = StreamingCodec::new(threshold);
    let mut rebuild = Rebuild::default();
    let mut buf = BytesMut::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&wire.len())) {
        buf.extend_from_slice(&wire[from..to]);
        from = to;
        while let Some(e) = codec.decode(&mut buf).unwrap() {
            rebuild.push(e);
        }
    }
    assert!(buf.is_empty() && codec.at_frame_boundary());
    assert_eq!(codec.consumed(), wire.len() as u64);
    rebuild
}

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    frames.iter().for_each(|f| f.encode(&mut buf).unwrap());
    buf.to_vec()
}

#[test]
fn a_large_value_in_a_command_comes_in_chunks() {
    let value = vec![b'x'; 100_000];
    let cmd = Frame::command(&[&b"SET"[..], b"k", &value]);
    let wire = encode(&[cmd.clone(), Frame::simple("OK")]);
    let mut codec = StreamingCodec::new(65536);
    let mut buf = BytesMut::from(&wire[..40]);
    let mut events = Vec::new();
    while let Some(e) = codec.decode(&mut buf).unwrap() {
        events.push(e);
    }
    assert_eq!(
        events,
        vec![
            Event::Aggregate {
                kind: AggregateKind::Array,
                len: 3
            },
            Event::Element(Frame::bulk("SET")),
            Event::Element(Frame::bulk("k")),
            Event::BulkStart {
                kind: BulkKind::String,
                len: 100_000
            },
            Event::BulkChunk(Bytes::from(vec![b'x'; 40 - 29])),
        ]
    );
    assert!(!codec.at_frame_boundary());
    buf.extend_from_slice(&wire[40..]);
    let rest: Vec<_> = std::iter::from_fn(|| codec.decode(&mut buf).unwrap()).collect();
    assert_eq!(rest.len(), 4);
    assert_eq!(
        rest[2],
        Event::End {
            wire_len: (wire.len() - 5) as u64
        }
    );
    assert_eq!(
        rest[3],
        Event::Frame {
            frame: Frame::simple("OK"),
            wire_len: 5
        }
    );
    assert_eq!(
        stream(&wire, 65536, &[7, 1000, 50_000]).frames,
        vec![cmd, Frame::simple("OK")]
    );
}

#[test]
fn limits_still_apply() {
    let mut codec = StreamingCodec::with_limits(16, Limits::default().with_max_bulk_len(1000));
    assert!(matches!(
        codec.decode(&mut BytesMut::from(&b"$1001\r\n"[..])),
        Err(Error::TooLarge {
            what: "bulk length",
            len: 1001,
            ..
        })
    ));
    let mut codec = StreamingCodec::new(4);
    let mut buf = BytesMut::from(&b"$5\r\nhelloXY"[..]);
    while let Ok(Some(_)) = codec.decode(&mut buf) {}
    assert!(matches!(
        codec.decode(&mut buf),
        Err(Error::Invalid {
            what: "bulk terminator",
            offset: 9
        })
    ));
    let mut codec = StreamingCodec::with_limits(4, Limits::default().with_max_depth(2));
    let mut buf = BytesMut::from(&b"*1\r\n*1\r\n$5\r\nhello\r\n*1\r\n*1\r\n*1\r\n"[..]);
    let mut last = Ok(None);
    for _ in 0..10 {
        last = codec.decode(&mut buf);
        if last.is_err() {
            break;
        }
    }
    assert!(matches!(
        last,
        Err(Error::TooDeep {
            limit: 2,
            offset: 27
        })
    ));
}

#[test]
fn truncated_stream_at_eof() {
    use tokio_util::codec::Decoder;
    let mut codec = StreamingCodec::new(4);
    let mut buf = BytesMut::from(&b":1\r\n*2\r\n$6\r\nabc"[..]);
    let mut events = 0;
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(_)) => events += 1,
            Err(Error::Truncated { offset, len }) => {
                assert_eq!((events, offset, len), (4, 4, 11));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
}

fn blob() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn frame() -> impl Strategy<Value = Frame> {
    let leaf = prop_oneof![
        blob().prop_map(Frame::BulkString),
        blob().prop_map(Frame::BulkError),
        (any::<[u8; 3]>(), blob())
            .prop_map(|(format, text)| Frame::VerbatimString { format, text }),
        any::<i64>().prop_map(Frame::Integer),
        Just(Frame::Null),
        Just(Frame::NullBulkString),
        "[a-z]{0,5}".prop_map(|s| Frame::SimpleString(Bytes::from(s))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Array),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Frame::Push),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..3).prop_map(Frame::Map),
            (
                proptest::collection::vec((inner.clone(), inner.clone()), 0..2),
                inner
            )
                .prop_map(|(attributes, f)| {
                    Frame::Attribute {
                        attributes,
                        frame: Box::new(f),
                    }
                }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn events_rebuild_the_frames_at_every_split(frames in proptest::collection::vec(frame(), 1..4), threshold in 0usize..16) {
        let wire = encode(&frames);
        let mut lens = Vec::new();
        for f in &frames {
            lens.push(f.encoded_len() as u64);
        }
        for at in 0..=wire.len() {
            let r = stream(&wire, threshold, &[at]);
            prop_assert_eq!(&r.frames, &frames);
            prop_assert_eq!(&r.wire_lens, &lens);
        }
        let bytewise: Vec<usize> = (1..wire.len()).collect();
        prop_assert_eq!(&stream(&wire, threshold, &bytewise).frames, &frames);
    }
}

/// Feeds `wire` cut at `at`, after `expect_rdb_payload`: the payload and the
/// frames after it.
fn payload_events(wire: &[u8], at: usize) -> (Option<u64>, Vec<u8>, Vec<Event>) {
    let mut codec = StreamingCodec::new(1024);
    codec.expect_rdb_payload();
    let mut buf = BytesMut::from(&wire[..at]);
    let (mut len, mut data, mut rest) = (None, Vec::new(), Vec::new());
    let mut ended = false;
    for part in [&wire[at..], &[][..]] {
        while let Some(e) = codec.decode(&mut buf).unwrap() {
            match e {
                Event::Payload { len: l } => len = l,
                Event::BulkChunk(c) if !ended => {
                    assert!(!c.is_empty());
                    data.extend_from_slice(&c)
                }
                Event::PayloadEnd => ended = true,
                other => rest.push(other),
            }
        }
        buf.extend_from_slice(part);
    }
    assert!(ended && codec.at_frame_boundary() && buf.is_empty());
    assert_eq!(codec.consumed(), wire.len() as u64);
    (len, data, rest)
}

#[test]
fn rdb_payloads_disk_based_and_diskless() {
    let rdb: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    let ping = Event::Frame {
        frame: Frame::command(&["PING"]),
        wire_len: 14,
    };

    let mut disk = b"\n\n\n".to_vec();
    disk.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
    disk.extend_from_slice(&rdb);
    disk.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    for at in 0..=disk.len() {
        assert_eq!(
            payload_events(&disk, at),
            (Some(300), rdb.clone(), vec![ping.clone()]),
            "split at {at}"
        );
    }

    let mark = b"0123456789abcdef0123456789abcdef01234567";
    // The payload holds a prefix of the mark: it must not end early.
    let mut content = rdb.clone();
    content.extend_from_slice(&mark[..39]);
    let mut diskless = b"\n$EOF:".to_vec();
    diskless.extend_from_slice(mark);
    diskless.extend_from_slice(b"\r\n");
    diskless.extend_from_slice(&content);
    diskless.extend_from_slice(mark);
    diskless.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    for at in 0..=diskless.len() {
        assert_eq!(
            payload_events(&diskless, at),
            (None, content.clone(), vec![ping.clone()]),
            "split at {at}"
        );
    }
}

#[test]
fn bad_payload_headers() {
    for bad in [
        &b"+FULLRESYNC x 0\r\n"[..],
        b"$-1\r\n",
        b"$EOF:short\r\n",
        b"$12x\r\n",
    ] {
        let mut codec = StreamingCodec::new(16);
        codec.expect_rdb_payload();
        assert!(
            matches!(
                codec.decode(&mut BytesMut::from(bad)),
                Err(Error::Invalid {
                    what: "replication payload header",
                    ..
                })
            ),
            "{}",
            bad.escape_ascii()
        );
    }
}
