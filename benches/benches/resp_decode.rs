//! Decoding throughput of resp-codec side by side with `redis-protocol` 6 (its
//! `Bytes` frames and its offset-only `RangeFrame` decoder) and `resp-rs`, on the
//! same inputs in the same run:
//!
//! - a pipelined command stream: a million `SET` commands with 16-byte keys and
//!   32-160 byte values, as a server reads them from a client or a replica from its
//!   master;
//! - a reply stream: a million RESP2 replies of the kinds pipelined workloads get
//!   (`+OK`, integers, bulk strings, nulls, arrays of bulks, errors).
//!
//! Every decoder produces a frame per command or reply, each string a slice of the
//! input (offsets for `RangeFrame`), and drops it. Inputs are generated from a
//! fixed seed. Ratios are in `resp-codec/README.md`.

use std::hint::black_box;

use bytes::{Buf, Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use resp_codec::{CommandCodec, FrameCodec, Pipeline};

const COUNT: usize = 1_000_000;

/// A small deterministic generator (xorshift), so every run sees the same input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// Lowercase letters, `lo..=hi` of them.
    fn text(&mut self, lo: usize, hi: usize) -> Vec<u8> {
        let len = self.range(lo, hi);
        (0..len).map(|_| b'a' + (self.next() % 26) as u8).collect()
    }
}

fn command_stream() -> Bytes {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut p = Pipeline::with_capacity(COUNT * 140);
    for i in 0..COUNT {
        let key = format!("key:{i:012}");
        let value = rng.text(32, 160);
        p.push(&[b"SET", key.as_bytes(), &value[..]]);
    }
    p.take()
}

fn reply_stream() -> Bytes {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::with_capacity(COUNT * 64);
    for _ in 0..COUNT {
        match rng.next() % 100 {
            0..30 => out.extend_from_slice(b"+OK\r\n"),
            30..50 => out.extend_from_slice(format!(":{}\r\n", rng.next() % 1_000_000).as_bytes()),
            50..75 => {
                let v = rng.text(32, 160);
                out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                out.extend_from_slice(&v);
                out.extend_from_slice(b"\r\n");
            }
            75..80 => out.extend_from_slice(b"$-1\r\n"),
            80..95 => {
                let n = rng.range(2, 10);
                out.extend_from_slice(format!("*{n}\r\n").as_bytes());
                for _ in 0..n {
                    let v = rng.text(8, 64);
                    out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                    out.extend_from_slice(&v);
                    out.extend_from_slice(b"\r\n");
                }
            }
            _ => out.extend_from_slice(
                b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
        }
    }
    Bytes::from(out)
}

fn ours_frames(mut input: Bytes) -> usize {
    let mut codec = FrameCodec::new();
    let mut n = 0;
    while let Some(f) = codec.decode_bytes(&mut input).expect("valid input") {
        black_box(f);
        n += 1;
    }
    n
}

fn ours_frames_mut(mut input: BytesMut) -> usize {
    let mut codec = FrameCodec::new();
    let mut n = 0;
    while let Some(f) = codec.decode(&mut input).expect("valid input") {
        black_box(f);
        n += 1;
    }
    n
}

fn ours_commands(mut input: Bytes) -> usize {
    let mut codec = CommandCodec::new();
    let mut n = 0;
    while let Some(c) = codec.decode_bytes(&mut input).expect("valid input") {
        black_box(c);
        n += 1;
    }
    n
}

fn redis_protocol_bytes(mut input: Bytes) -> usize {
    let mut n = 0;
    while let Some((f, len)) =
        redis_protocol::resp2::decode::decode_bytes(&input).expect("valid input")
    {
        black_box(f);
        input.advance(len);
        n += 1;
    }
    n
}

fn redis_protocol_range(input: &[u8]) -> usize {
    let (mut pos, mut n) = (0, 0);
    while let Some((f, len)) =
        redis_protocol::resp2::decode::decode_range(&input[pos..]).expect("valid input")
    {
        black_box(f);
        pos += len;
        n += 1;
    }
    n
}

fn resp_rs(mut input: Bytes) -> usize {
    let mut n = 0;
    while !input.is_empty() {
        let (f, rest) = resp_rs::resp2::parse_frame(input).expect("valid input");
        black_box(f);
        input = rest;
        n += 1;
    }
    n
}

fn bench_stream(c: &mut Criterion, name: &str, input: Bytes, commands: bool) {
    // Every decoder must see every frame before its speed means anything.
    assert_eq!(ours_frames(input.clone()), COUNT);
    assert_eq!(ours_frames_mut(BytesMut::from(&input[..])), COUNT);
    assert_eq!(redis_protocol_bytes(input.clone()), COUNT);
    assert_eq!(redis_protocol_range(&input), COUNT);
    assert_eq!(resp_rs(input.clone()), COUNT);

    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("resp-codec Frame", |b| {
        b.iter(|| ours_frames(input.clone()))
    });
    group.bench_function("resp-codec Frame (BytesMut)", |b| {
        b.iter_batched(
            || BytesMut::from(&input[..]),
            ours_frames_mut,
            BatchSize::LargeInput,
        )
    });
    if commands {
        assert_eq!(ours_commands(input.clone()), COUNT);
        group.bench_function("resp-codec Command", |b| {
            b.iter(|| ours_commands(input.clone()))
        });
    }
    group.bench_function("redis-protocol BytesFrame", |b| {
        b.iter(|| redis_protocol_bytes(input.clone()))
    });
    group.bench_function("redis-protocol RangeFrame", |b| {
        b.iter(|| redis_protocol_range(&input))
    });
    group.bench_function("resp-rs Frame", |b| b.iter(|| resp_rs(input.clone())));
    group.finish();
}

fn bench(c: &mut Criterion) {
    bench_stream(c, "resp decode: 1M SET commands", command_stream(), true);
    bench_stream(c, "resp decode: 1M replies", reply_stream(), false);
}

criterion_group!(benches, bench);
criterion_main!(benches);
