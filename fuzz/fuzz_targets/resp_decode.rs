//! Every decoder of resp-codec on arbitrary bytes: frames (from a mutable and an
//! immutable buffer, whole and split), commands, and the streaming codec (with or
//! without an RDB payload first). Decoding
//! must never panic, the split must not change the result, and every decoded frame
//! must encode and decode back to itself.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use resp_codec::{CommandCodec, Frame, FrameCodec, Limits, StreamingCodec};

fn frames(input: &[u8], split: usize) -> (Vec<Frame>, bool) {
    let mut codec = FrameCodec::with_limits(Limits::default().with_max_depth(32));
    let mut buf = BytesMut::from(&input[..split]);
    let mut out = Vec::new();
    let mut failed = false;
    for part in [&input[split..], &[][..]] {
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(f)) => out.push(f),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
        }
        buf.extend_from_slice(part);
    }
    (out, failed)
}

/// Equality that holds for NaN doubles too.
fn same(a: &Frame, b: &Frame) -> bool {
    match (a, b) {
        (Frame::Double(x), Frame::Double(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Frame::Array(x), Frame::Array(y))
        | (Frame::Set(x), Frame::Set(y))
        | (Frame::Push(x), Frame::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Frame::Map(x), Frame::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        (
            Frame::Attribute {
                attributes: x,
                frame: f,
            },
            Frame::Attribute {
                attributes: y,
                frame: g,
            },
        ) => {
            same(f, g)
                && x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let (whole, whole_failed) = frames(data, data.len());
    let (parts, parts_failed) = frames(data, split);
    assert_eq!(whole_failed, parts_failed);
    assert!(whole.len() == parts.len() && whole.iter().zip(&parts).all(|(a, b)| same(a, b)));

    let mut immutable = Bytes::copy_from_slice(data);
    let mut codec = FrameCodec::with_limits(Limits::default().with_max_depth(32));
    for f in &whole {
        let got = codec
            .decode_bytes(&mut immutable)
            .expect("decoded from the mutable buffer");
        assert!(same(got.as_ref().expect("a frame"), f));
    }

    for f in &whole {
        let mut wire = BytesMut::new();
        f.encode(&mut wire).expect("decoded frames are encodable");
        assert_eq!(wire.len(), f.encoded_len());
        let again = FrameCodec::new()
            .decode(&mut wire)
            .expect("re-encoded")
            .expect("whole");
        assert!(same(&again, f) && wire.is_empty());
    }

    let mut commands = CommandCodec::new();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(cmd)) = commands.decode(&mut buf) {
        let _ = cmd.iter().count();
    }

    let pick = data.get(1).copied().unwrap_or(0);
    let mut streaming =
        StreamingCodec::with_limits(usize::from(pick % 16), Limits::default().with_max_depth(32));
    if pick & 0x80 != 0 {
        streaming.expect_rdb_payload();
    }
    let mut buf = BytesMut::from(&data[..split]);
    while let Ok(Some(_)) = streaming.decode(&mut buf) {}
    buf.extend_from_slice(&data[split..]);
    while let Ok(Some(_)) = streaming.decode(&mut buf) {}
});
