//! Frame decoding and encoding: every type, round trips, input split at every byte,
//! limits and malformed input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use resp_codec::{Error, Frame, FrameCodec, Limits};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Decodes every frame of `input`, which must end on a frame boundary.
fn decode_all(input: &[u8]) -> Result<Vec<Frame>, Error> {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(input);
    let mut frames = Vec::new();
    while let Some(f) = codec.decode_eof(&mut buf)? {
        frames.push(f);
    }
    assert_eq!(codec.consumed(), input.len() as u64);
    Ok(frames)
}

/// Decodes `input` fed in two parts split at `at`, the first decoded as far as it goes.
fn decode_split(input: &[u8], at: usize) -> Vec<Frame> {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&input[..at]);
    let mut frames = Vec::new();
    while let Some(f) = codec.decode(&mut buf).unwrap() {
        frames.push(f);
    }
    buf.extend_from_slice(&input[at..]);
    while let Some(f) = codec.decode(&mut buf).unwrap() {
        frames.push(f);
    }
    assert!(buf.is_empty());
    frames
}

/// Decodes `input` arriving one byte at a time.
fn decode_bytewise(input: &[u8]) -> Vec<Frame> {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for &byte in input {
        buf.extend_from_slice(&[byte]);
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            frames.push(f);
        }
    }
    assert!(buf.is_empty());
    frames
}

fn encode(frames: &[Frame]) -> BytesMut {
    let mut buf = BytesMut::new();
    for f in frames {
        f.encode(&mut buf).unwrap();
    }
    buf
}

#[test]
fn every_resp2_type() {
    let input =
        b"+OK\r\n-ERR unknown command 'x'\r\n:-42\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n\
                  *3\r\n:1\r\n*1\r\n$1\r\na\r\n$-1\r\n";
    let frames = decode_all(input).unwrap();
    assert_eq!(
        frames,
        vec![
            Frame::simple("OK"),
            Frame::Error(b("ERR unknown command 'x'")),
            Frame::Integer(-42),
            Frame::bulk("hello"),
            Frame::bulk(""),
            Frame::NullBulkString,
            Frame::NullArray,
            Frame::Array(vec![]),
            Frame::Array(vec![
                Frame::Integer(1),
                Frame::Array(vec![Frame::bulk("a")]),
                Frame::NullBulkString
            ]),
        ]
    );
    assert_eq!(encode(&frames), &input[..]);
}

#[test]
fn every_resp3_type() {
    let input = b"_\r\n#t\r\n#f\r\n,1.5\r\n,inf\r\n,-inf\r\n,-0\r\n(-3492890328409238509324850943850943825024385\r\n\
                  !21\r\nSYNTAX invalid syntax\r\n=15\r\ntxt:Some string\r\n%2\r\n+first\r\n:1\r\n+second\r\n_\r\n\
                  ~2\r\n:1\r\n#f\r\n|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n\
                  >3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    let frames = decode_all(input).unwrap();
    let expected = vec![
        Frame::Null,
        Frame::Boolean(true),
        Frame::Boolean(false),
        Frame::Double(1.5),
        Frame::Double(f64::INFINITY),
        Frame::Double(f64::NEG_INFINITY),
        Frame::Double(-0.0),
        Frame::BigNumber(b("-3492890328409238509324850943850943825024385")),
        Frame::BulkError(b("SYNTAX invalid syntax")),
        Frame::VerbatimString {
            format: *b"txt",
            text: b("Some string"),
        },
        Frame::Map(vec![
            (Frame::simple("first"), Frame::Integer(1)),
            (Frame::simple("second"), Frame::Null),
        ]),
        Frame::Set(vec![Frame::Integer(1), Frame::Boolean(false)]),
        Frame::Attribute {
            attributes: vec![(
                Frame::simple("key-popularity"),
                Frame::Map(vec![(Frame::bulk("a"), Frame::Double(0.1923))]),
            )],
            frame: Box::new(Frame::Array(vec![
                Frame::Integer(2039123),
                Frame::Integer(9543892),
            ])),
        },
        Frame::Push(vec![
            Frame::bulk("message"),
            Frame::bulk("ch"),
            Frame::bulk("hi"),
        ]),
    ];
    assert_eq!(frames, expected);
    assert_eq!(encode(&frames), &input[..]);
    assert!(Frame::Double(-0.0).encoded_len() == 5);
}

#[test]
fn doubles_in_every_form_the_servers_write() {
    for (text, value) in [
        ("3.0000000000000001e+20", 3e20),
        ("0.10000000000000001", 0.1),
        ("1e-7", 1e-7),
        ("-12", -12.0),
        ("nan", f64::NAN),
    ] {
        let frames = decode_all(format!(",{text}\r\n").as_bytes()).unwrap();
        let Frame::Double(v) = frames[0] else {
            panic!("{frames:?}")
        };
        assert!(v == value || (v.is_nan() && value.is_nan()), "{text}");
    }
    for bad in [",\r\n", ",1.5x\r\n", ",0x10\r\n", ", 1\r\n"] {
        assert!(
            matches!(
                decode_all(bad.as_bytes()),
                Err(Error::Invalid {
                    what: "double",
                    offset: 0
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn attributes_inside_aggregates_count_as_one_element() {
    let input = b"*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n";
    let frames = decode_all(input).unwrap();
    assert_eq!(
        frames,
        vec![Frame::Array(vec![
            Frame::Attribute {
                attributes: vec![(Frame::simple("ttl"), Frame::Integer(3600))],
                frame: Box::new(Frame::bulk("v")),
            },
            Frame::Integer(7),
        ])]
    );
    assert_eq!(encode(&frames), &input[..]);
}

#[test]
fn decoded_strings_share_the_input_buffer() {
    let mut buf = BytesMut::from(&b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let Some(Frame::Array(items)) = FrameCodec::new().decode(&mut buf).unwrap() else {
        panic!()
    };
    let Frame::BulkString(hello) = &items[0] else {
        panic!()
    };
    let Frame::BulkString(world) = &items[1] else {
        panic!()
    };
    assert_eq!(hello.as_ptr() as usize, start + 8);
    assert_eq!(world.as_ptr() as usize, start + 19);
}

#[test]
fn decode_bytes_advances_an_immutable_buffer() {
    let mut input = Bytes::from_static(b":1\r\n$3\r\nabc\r\n:2");
    let mut codec = FrameCodec::new();
    assert_eq!(
        codec.decode_bytes(&mut input).unwrap(),
        Some(Frame::Integer(1))
    );
    let Some(Frame::BulkString(abc)) = codec.decode_bytes(&mut input).unwrap() else {
        panic!()
    };
    assert_eq!(abc, "abc");
    assert_eq!(codec.decode_bytes(&mut input).unwrap(), None);
    assert_eq!(input, ":2");
}

#[test]
fn malformed_input_is_a_typed_error_with_its_offset() {
    let cases: &[(&[u8], &str, u64)] = &[
        (b"$3\r\nabcde\r\n", "bulk terminator", 7),
        (b"$x\r\n", "bulk length", 0),
        (b"$-2\r\n", "bulk length", 0),
        (b"!-1\r\n", "bulk length", 0),
        (b"$01\r\na\r\n", "bulk length", 0),
        (b"*1\r\n$+1\r\na\r\n", "bulk length", 4),
        (b"*-2\r\n", "aggregate length", 0),
        (b"%-1\r\n", "aggregate length", 0),
        (b":12a\r\n", "integer", 0),
        (b":99999999999999999999\r\n", "integer", 0),
        (b"#x\r\n", "boolean", 0),
        (b"_x\r\n", "null", 0),
        (b"+a\nb\r\n", "line ending", 0),
        (b"+ab\rc\r\n", "line ending", 0),
        (b"=3\r\ntxt\r\n", "verbatim string length", 0),
        (b"=5\r\ntxt-x\r\n", "verbatim string format", 4),
        (b"*2\r\n:1\r\n:2\rx", "integer", 8),
    ];
    for &(input, what, offset) in cases {
        match decode_all(input) {
            Err(Error::Invalid { what: w, offset: o }) => {
                assert_eq!((w, o), (what, offset), "{}", input.escape_ascii())
            }
            other => panic!("{}: {other:?}", input.escape_ascii()),
        }
    }
    assert!(matches!(
        decode_all(b"*1\r\n?x\r\n"),
        Err(Error::UnknownType {
            byte: b'?',
            offset: 4
        })
    ));
}

#[test]
fn errors_count_from_the_start_of_the_stream() {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&b"+OK\r\n:1\r\n*1\r\n@"[..]);
    codec.decode(&mut buf).unwrap();
    codec.decode(&mut buf).unwrap();
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err.offset(), Some(13));
    assert_eq!(err.to_string(), "unknown RESP type byte 0x40 at byte 13");
    // Nothing was consumed: the error repeats.
    assert_eq!(codec.decode(&mut buf).unwrap_err().offset(), Some(13));
}

#[test]
fn truncated_input_is_incomplete_until_the_end() {
    let input = b"*2\r\n$5\r\nhello\r\n$5\r\nwor";
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&input[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), input.len(), "nothing consumed");
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Err(Error::Truncated { offset: 0, len: 22 })
    ));
}

#[test]
fn limits_are_checked_before_buffering() {
    let limits = Limits::default().with_max_bulk_len(10);
    let mut codec = FrameCodec::with_limits(limits);
    // Only the header has arrived: the length alone is refused.
    let mut buf = BytesMut::from(&b"*1\r\n$11\r\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(Error::TooLarge {
            what: "bulk length",
            len: 11,
            limit: 10,
            offset: 4
        })
    ));

    let mut codec = FrameCodec::with_limits(Limits::default().with_max_frame_len(20));
    let mut buf = BytesMut::from(&b"*2\r\n$8\r\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(Error::TooLarge {
            what: "frame length",
            len: 16,
            limit: 20,
            offset: 0
        }) | Ok(None)
    ));
    let mut buf = BytesMut::from(&b"*2\r\n$8\r\n12345678\r\n$5\r\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(Error::TooLarge {
            what: "frame length",
            len: 29,
            limit: 20,
            offset: 0
        })
    ));
    // A simple string that never ends.
    let mut buf = BytesMut::from(&b"+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(Error::TooLarge {
            what: "frame length",
            ..
        })
    ));

    let mut codec = FrameCodec::with_limits(Limits::default().with_max_elements(3));
    let mut buf = BytesMut::from(&b"%2\r\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    // Another buffer: the frame in progress must be forgotten first.
    codec.reset();
    let mut buf = BytesMut::from(&b"*4\r\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(Error::TooLarge {
            what: "aggregate length",
            len: 4,
            limit: 3,
            offset: 0
        })
    ));
    // A huge count is refused without reserving anything for it.
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&b"*9223372036854775807\r\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(Error::TooLarge {
            what: "aggregate length",
            ..
        })
    ));
    let mut buf = BytesMut::from(&b"*2147483647\r\n:1\r\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
}

#[test]
fn nesting_depth_is_limited() {
    let deep = |n: usize| {
        let mut v = b"*1\r\n".repeat(n);
        v.extend_from_slice(b":1\r\n");
        v
    };
    let mut codec = FrameCodec::with_limits(Limits::default().with_max_depth(3));
    assert!(
        codec
            .decode(&mut BytesMut::from(&deep(3)[..]))
            .unwrap()
            .is_some()
    );
    let mut codec = FrameCodec::with_limits(Limits::default().with_max_depth(3));
    assert!(matches!(
        codec.decode(&mut BytesMut::from(&deep(4)[..])),
        Err(Error::TooDeep {
            limit: 3,
            offset: 12
        })
    ));
    // The default limit holds against a deep hostile frame, without recursion.
    let mut codec = FrameCodec::new();
    assert!(matches!(
        codec.decode(&mut BytesMut::from(&deep(100_000)[..])),
        Err(Error::TooDeep { limit: 128, .. })
    ));
}

#[test]
fn unencodable_frames_are_refused() {
    for f in [
        Frame::SimpleString(b("a\r\n")),
        Frame::Error(b("\n")),
        Frame::BigNumber(b("1\r")),
    ] {
        assert!(matches!(
            f.encode(&mut BytesMut::new()),
            Err(Error::Unencodable { .. })
        ));
    }
}

/// A string with no CR or LF.
fn line_text() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |c| *c != b'\r' && *c != b'\n'),
        0..12,
    )
    .prop_map(Bytes::from)
}

fn blob() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from)
}

fn scalar() -> impl Strategy<Value = Frame> {
    prop_oneof![
        line_text().prop_map(Frame::SimpleString),
        line_text().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        blob().prop_map(Frame::BulkString),
        Just(Frame::NullBulkString),
        Just(Frame::NullArray),
        Just(Frame::Null),
        any::<bool>().prop_map(Frame::Boolean),
        // NaN != NaN: covered by its own test.
        any::<f64>()
            .prop_filter("not NaN", |v| !v.is_nan())
            .prop_map(Frame::Double),
        prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0)]
            .prop_map(Frame::Double),
        "-?[0-9]{1,60}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
        blob().prop_map(Frame::BulkError),
        (any::<[u8; 3]>(), blob())
            .prop_map(|(format, text)| Frame::VerbatimString { format, text }),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        let pairs = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            pairs.clone().prop_map(Frame::Map),
            (pairs, inner).prop_map(|(attributes, f)| Frame::Attribute {
                attributes,
                frame: Box::new(f)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_frame_round_trips(frames in proptest::collection::vec(frame(), 1..5)) {
        let wire = encode(&frames);
        prop_assert_eq!(wire.len(), frames.iter().map(Frame::encoded_len).sum::<usize>());
        prop_assert_eq!(&decode_all(&wire).unwrap(), &frames);
        let mut immutable = wire.clone().freeze();
        let mut codec = FrameCodec::new();
        for f in &frames {
            let got = codec.decode_bytes(&mut immutable).unwrap();
            prop_assert_eq!(got.as_ref(), Some(f));
        }
    }

    #[test]
    fn split_at_every_byte_gives_the_same_frames(frames in proptest::collection::vec(frame(), 1..4)) {
        let wire = encode(&frames);
        for at in 0..=wire.len() {
            prop_assert_eq!(&decode_split(&wire, at), &frames, "split at {}", at);
        }
        prop_assert_eq!(&decode_bytewise(&wire), &frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut codec = FrameCodec::with_limits(Limits::default().with_max_depth(16));
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }
}
