//! The fuzz corpus of `resp_decode` (`fuzz/corpus/resp_decode`) replayed with the
//! fuzz target's checks, and the fuzzer's findings as named regressions. The
//! `aof_read` corpus is replayed by the `aof` crate's tests.

use testkit::fuzz_corpus;

use bytes::{Bytes, BytesMut};
use resp_codec::{CommandCodec, Frame, FrameCodec, Limits, StreamingCodec};

/// Frames of `input` fed in two parts, and whether decoding stopped on an error.
fn frames(input: &[u8], split: usize) -> (Vec<Frame>, bool) {
    let mut codec = FrameCodec::with_limits(Limits::default().with_max_depth(32));
    let mut buf = BytesMut::from(&input[..split]);
    let mut out = Vec::new();
    for part in [&input[split..], &[][..]] {
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(f)) => out.push(f),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
        buf.extend_from_slice(part);
    }
    (out, false)
}

/// Frames compare by their encoding, so that NaN doubles are equal.
fn encoded(frames: &[Frame]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    frames.iter().for_each(|f| f.encode(&mut buf).unwrap());
    buf.to_vec()
}

fn check_resp(data: &[u8]) {
    let (whole, failed) = frames(data, data.len());
    for split in 0..=data.len() {
        let (parts, parts_failed) = frames(data, split);
        assert_eq!(failed, parts_failed, "split at {split}");
        assert_eq!(encoded(&whole), encoded(&parts), "split at {split}");
    }
    let mut immutable = Bytes::copy_from_slice(data);
    let mut codec = FrameCodec::with_limits(Limits::default().with_max_depth(32));
    for f in &whole {
        let got = codec.decode_bytes(&mut immutable).unwrap().unwrap();
        assert_eq!(encoded(&[got]), encoded(std::slice::from_ref(f)));
    }
    let wire = encoded(&whole);
    let (again, again_failed) = frames(&wire, wire.len());
    assert!(!again_failed && encoded(&again) == wire);

    let mut commands = CommandCodec::new();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_)) = commands.decode(&mut buf) {}
    for (threshold, payload) in [(0, false), (3, true), (64, false)] {
        let mut streaming =
            StreamingCodec::with_limits(threshold, Limits::default().with_max_depth(32));
        if payload {
            streaming.expect_rdb_payload();
        }
        let mut buf = BytesMut::from(data);
        while let Ok(Some(_)) = streaming.decode(&mut buf) {}
    }
}

#[test]
fn resp_decode_corpus() {
    for (name, data) in fuzz_corpus("resp_decode") {
        eprintln!("{name}");
        check_resp(&data);
    }
}

/// Found by `resp_decode`: a simple line scanned in part by the parser, then
/// completed by the fast path for scalars, left the parser's scan position behind;
/// the next line was then searched for its end past it.
#[test]
fn regression_stale_line_scan_after_fast_path() {
    let input = b"+OK\r\n-ERR x\r\n(5\r\n";
    let (whole, _) = frames(input, input.len());
    assert_eq!(whole.len(), 3);
    let (parts, failed) = frames(input, 11);
    assert!(!failed);
    assert_eq!(parts, whole);
}
