//! Command decoding as the server does it, the borrowed-argument encoder, inline
//! commands and pipelines.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use resp_codec::{
    Command, CommandCodec, Error, Frame, FrameCodec, Limits, Pipeline, command_len, encode_command,
    encode_inline,
};

fn args(c: &Command) -> Vec<Vec<u8>> {
    c.iter().map(<[u8]>::to_vec).collect()
}

fn decode_all(input: &[u8]) -> Vec<Command> {
    let mut codec = CommandCodec::new();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(c) = codec.decode_eof(&mut buf).unwrap() {
        out.push(c);
    }
    out
}

#[test]
fn multibulk_and_inline_commands_with_exact_wire_lengths() {
    let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\nPING\r\n  set  \"a b\" 'c'\nGET x\r\n*0\r\n\r\n";
    let cmds = decode_all(input);
    let got: Vec<_> = cmds
        .iter()
        .map(|c| (args(c), c.wire_len(), c.is_inline()))
        .collect();
    let v = |xs: &[&str]| xs.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (v(&["SET", "key", ""]), 28, false),
            (v(&["PING"]), 6, true),
            (v(&["set", "a b", "c"]), 17, true),
            (v(&["GET", "x"]), 7, true),
            (v(&[]), 4, false),
            (v(&[]), 2, true),
        ]
    );
    assert_eq!(
        cmds.iter().map(Command::wire_len).sum::<usize>(),
        input.len()
    );
    assert_eq!(cmds[0].wire(), &input[..28]);
    assert!(cmds[0].name_is("set"));
    assert_eq!(cmds[0].to_frame(), Frame::command(&["SET", "key", ""]));
}

#[test]
fn arguments_are_slices_of_the_input() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let cmd = CommandCodec::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.arg_bytes(1).unwrap().as_ptr() as usize, start + 17);
    assert_eq!(cmd.get(1).unwrap().as_ptr() as usize, start + 17);
    assert_eq!(cmd.get(2), None);
}

#[test]
fn many_arguments_spill_to_the_heap() {
    let argv: Vec<String> = (0..100).map(|i| format!("arg{i}")).collect();
    let mut buf = BytesMut::new();
    encode_command(&mut buf, &argv);
    let cmd = CommandCodec::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.len(), 100);
    assert!(cmd.iter().zip(&argv).all(|(a, b)| a == b.as_bytes()));
    assert_eq!(cmd, Command::from_args(&argv));
}

#[test]
fn protocol_errors_as_the_server_reports_them() {
    let cases: &[(&[u8], &str, u64)] = &[
        (b"*1\r\n:1\r\n", "command argument (expected '$')", 4),
        (b"*x\r\n", "multibulk length", 0),
        (b"*1\r\n$-1\r\n", "bulk length", 4),
        (b"*1\r\n$2\r\nabc\r\n", "bulk terminator", 10),
        (b"SET \"a\r\n", "inline command (unbalanced quotes)", 0),
        (b"SET \"a\"b\r\n", "inline command (unbalanced quotes)", 0),
        (b"SET a\0b\r\n", "inline command (NUL byte)", 0),
    ];
    for &(input, what, offset) in cases {
        match CommandCodec::new().decode(&mut BytesMut::from(input)) {
            Err(Error::Invalid { what: w, offset: o }) => {
                assert_eq!((w, o), (what, offset), "{}", input.escape_ascii())
            }
            other => panic!("{}: {other:?}", input.escape_ascii()),
        }
    }
    let mut no_inline = CommandCodec::new().inline(false);
    assert!(matches!(
        no_inline.decode(&mut BytesMut::from(&b"PING\r\n"[..])),
        Err(Error::UnknownType {
            byte: b'P',
            offset: 0
        })
    ));
}

#[test]
fn command_limits() {
    let mut codec = CommandCodec::with_limits(Limits::default().with_max_bulk_len(4));
    assert!(matches!(
        codec.decode(&mut BytesMut::from(&b"*1\r\n$5\r\n"[..])),
        Err(Error::TooLarge {
            what: "bulk length",
            len: 5,
            limit: 4,
            offset: 4
        })
    ));
    let mut codec = CommandCodec::with_limits(Limits::default().with_max_inline_len(8));
    assert!(matches!(
        codec.decode(&mut BytesMut::from(&b"GET aaaaaa"[..])),
        Err(Error::TooLarge {
            what: "inline command length",
            ..
        })
    ));
    let mut codec = CommandCodec::with_limits(Limits::default().with_max_elements(2));
    assert!(matches!(
        codec.decode(&mut BytesMut::from(&b"*3\r\n"[..])),
        Err(Error::TooLarge {
            what: "multibulk length",
            len: 3,
            ..
        })
    ));
    let mut codec = CommandCodec::with_limits(Limits::default().with_max_frame_len(16));
    assert!(matches!(
        codec.decode(&mut BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\n"[..])),
        Err(Error::TooLarge {
            what: "command length",
            len: 22,
            ..
        })
    ));
}

#[test]
fn truncated_command_at_eof() {
    let mut codec = CommandCodec::new();
    let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nk"[..]);
    assert!(codec.decode_eof(&mut buf).unwrap().is_some());
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Err(Error::Truncated {
            offset: 14,
            len: 18
        })
    ));
}

#[test]
fn debug_never_shows_arguments() {
    let cmd = Command::from_args(&["AUTH", "user", "s3cret"]);
    let shown = format!("{cmd:?}");
    assert!(
        shown.contains("AUTH") && !shown.contains("s3cret"),
        "{shown}"
    );
    let mut p = Pipeline::new();
    p.push(&["AUTH", "s3cret"]);
    assert!(!format!("{p:?}").contains("s3cret"));
}

#[test]
fn pipeline_replies_come_back_in_order() {
    let mut p = Pipeline::with_capacity(64);
    p.push(&["SET", "a", "1"]).push(&[&b"GET"[..], b"a"]);
    p.push_command(&Command::from_args(&["PING"]));
    assert_eq!(p.len(), 3);
    let bytes = p.take();
    let cmds = decode_all(&bytes);
    assert_eq!(cmds.len(), 3);
    assert_eq!(args(&cmds[1]), vec![b"GET".to_vec(), b"a".to_vec()]);
    assert!(p.is_empty() && p.as_bytes().is_empty());
}

#[test]
fn a_frame_codec_reads_encoded_commands_as_arrays() {
    let mut buf = BytesMut::new();
    encode_command(&mut buf, &["HSET", "h", "f", "v"]);
    let frame = FrameCodec::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(frame, Frame::command(&["HSET", "h", "f", "v"]));
}

fn argv() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multibulk_round_trip_and_split(commands in proptest::collection::vec(argv(), 1..4)) {
        let mut wire = BytesMut::new();
        for c in &commands {
            let before = wire.len();
            encode_command(&mut wire, c);
            prop_assert_eq!(wire.len() - before, command_len(c));
        }
        for at in 0..=wire.len() {
            let mut codec = CommandCodec::new();
            let mut buf = BytesMut::from(&wire[..at]);
            let mut got = Vec::new();
            while let Some(c) = codec.decode(&mut buf).unwrap() { got.push(c); }
            buf.extend_from_slice(&wire[at..]);
            while let Some(c) = codec.decode(&mut buf).unwrap() { got.push(c); }
            prop_assert!(buf.is_empty());
            let got: Vec<_> = got.iter().map(args).collect();
            prop_assert_eq!(&got, &commands);
        }
    }

    #[test]
    fn inline_round_trip(commands in proptest::collection::vec(argv(), 1..4)) {
        let mut wire = BytesMut::new();
        for c in &commands {
            encode_inline(&mut wire, c);
        }
        let total = wire.len();
        let mut codec = CommandCodec::new();
        let mut immutable = wire.freeze();
        let mut got = Vec::new();
        while let Some(c) = codec.decode_bytes(&mut immutable).unwrap() {
            prop_assert!(c.is_inline());
            got.push(args(&c));
        }
        prop_assert_eq!(codec.consumed(), total as u64);
        prop_assert_eq!(got, commands);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut codec = CommandCodec::new();
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
        let mut bytes = Bytes::from(input);
        let mut codec = CommandCodec::new();
        while let Ok(Some(_)) = codec.decode_bytes(&mut bytes) {}
    }
}

#[test]
fn tokio_codec_traits_delegate() {
    use tokio_util::codec::{Decoder, Encoder};
    let mut codec = CommandCodec::new();
    let mut buf = BytesMut::new();
    Encoder::<&[&str]>::encode(&mut codec, &["ECHO", "hi"][..], &mut buf).unwrap();
    let cmd = Decoder::decode(&mut codec, &mut buf).unwrap().unwrap();
    Encoder::<&Command>::encode(&mut codec, &cmd, &mut buf).unwrap();
    assert_eq!(&buf[..], cmd.wire().as_ref());
    let mut frames = FrameCodec::new();
    let frame = Decoder::decode(&mut frames, &mut buf).unwrap().unwrap();
    Encoder::<&Frame>::encode(&mut frames, &frame, &mut buf).unwrap();
    Encoder::<Frame>::encode(&mut frames, frame.clone(), &mut buf).unwrap();
    assert_eq!(
        Decoder::decode_eof(&mut frames, &mut buf).unwrap(),
        Some(frame.clone())
    );
    assert_eq!(
        Decoder::decode_eof(&mut frames, &mut buf).unwrap(),
        Some(frame)
    );
    assert_eq!(Decoder::decode_eof(&mut frames, &mut buf).unwrap(), None);
}
