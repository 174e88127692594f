//! LZF decompression: rdb-parser's decoder side by side with the `lzf` (1.0) and
//! `lzf-rust` (0.1) crates, GB/s of decompressed output, single thread.
//!
//! Inputs are values shaped like those Redis compresses in an RDB (it tries LZF on
//! every string over 20 bytes, and on every ziplist / listpack blob): JSON documents
//! and text from 1 KiB to 1 MiB, an 8 KiB listpack and ziplist (a quicklist node at
//! the default `list-max-listpack-size -2`), and a sparse bitmap (long runs, so
//! overlapping back-references). They are compressed with the `lzf` crate, whose
//! compressor writes the same bytes as Redis's `lzf_c.c`.
//!
//! rdb-parser's decoder is reached through its public API: an RDB string
//! (`RdbString::bytes`) decompressing into one reused buffer. `lzf-rust` also writes
//! into a reused buffer (resized to the output length per call); `lzf` returns a new
//! vector per call, its only API.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rdb_parser::{Item, Rdb, RdbString, Value};

/// A small deterministic generator (xorshift), so every run sees the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const NAMES: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];
const WORDS: &[&str] = &[
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "redis",
    "replication",
    "stream",
    "key",
    "value",
    "session",
    "cache",
    "token",
];

/// An array of JSON user records, `size` bytes.
fn json(size: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed);
    let mut out = b"[".to_vec();
    while out.len() < size {
        let id = r.next() % 1_000_000;
        let name = r.pick(NAMES);
        let record = format!(
            r#"{{"id":{id},"name":"{name}","email":"{name}{id}@example.com","tags":["{}"],"score":{}.{},"active":{}}},"#,
            r.pick(WORDS),
            r.next() % 100,
            r.next() % 1000,
            r.next().is_multiple_of(2)
        );
        out.extend_from_slice(record.as_bytes());
    }
    out.truncate(size);
    out
}

/// Words separated by spaces, `size` bytes.
fn text(size: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed);
    let mut out = Vec::new();
    while out.len() < size {
        out.extend_from_slice(r.pick(WORDS).as_bytes());
        out.push(b' ');
    }
    out.truncate(size);
    out
}

/// Hash-like (field, value) strings for the blobs, each under 64 bytes.
fn entries(size: usize, seed: u64) -> Vec<String> {
    let mut r = Rng(seed);
    let mut out = Vec::new();
    let mut total = 0;
    while total < size {
        let field = format!("field:{}", r.next() % 10_000);
        let value = format!("{}-{}-{}", r.pick(NAMES), r.next() % 100, r.pick(WORDS));
        total += field.len() + value.len() + 4;
        out.push(field);
        out.push(value);
    }
    out
}

/// A listpack of about `size` bytes (6-bit strings only).
fn listpack(size: usize, seed: u64) -> Vec<u8> {
    let items = entries(size, seed);
    let mut out = vec![0; 6];
    for s in &items {
        out.push(0x80 | s.len() as u8);
        out.extend_from_slice(s.as_bytes());
        out.push(s.len() as u8 + 1);
    }
    out.push(0xFF);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    out[4..6].copy_from_slice(&(items.len() as u16).to_le_bytes());
    out
}

/// A ziplist of about `size` bytes (6-bit strings only).
fn ziplist(size: usize, seed: u64) -> Vec<u8> {
    let items = entries(size, seed);
    let mut out = vec![0; 10];
    let (mut prev, mut tail) = (0u8, 10);
    for s in &items {
        tail = out.len();
        out.extend_from_slice(&[prev, s.len() as u8]);
        out.extend_from_slice(s.as_bytes());
        prev = s.len() as u8 + 2;
    }
    out.push(0xFF);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    out[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
    out[8..10].copy_from_slice(&(items.len() as u16).to_le_bytes());
    out
}

/// A bitmap (`SETBIT`) of `size` bytes with one bit in 2000 set.
fn bitmap(size: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed);
    let mut out = vec![0; size];
    for _ in 0..size * 8 / 2000 {
        let bit = (r.next() % (size as u64 * 8)) as usize;
        out[bit / 8] |= 0x80 >> (bit % 8);
    }
    out
}

/// An RDB length (6-bit, 14-bit or 32-bit form).
fn rdb_len(out: &mut Vec<u8>, n: usize) {
    match n {
        0..64 => out.push(n as u8),
        64..16384 => out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]),
        _ => {
            out.push(0x80);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
}

/// An RDB 9 file with one string key whose value is LZF-compressed, no checksum.
fn rdb_with_lzf_string(compressed: &[u8], len: usize) -> Vec<u8> {
    let mut file = b"REDIS0009\xfe\x00\x00\x01v\xc3".to_vec();
    rdb_len(&mut file, compressed.len());
    rdb_len(&mut file, len);
    file.extend_from_slice(compressed);
    file.push(0xFF);
    file.extend_from_slice(&[0; 8]);
    file
}

/// The LZF string value of the file's only key.
fn lzf_value(file: &[u8]) -> RdbString<'_> {
    for item in Rdb::new(file).expect("header").items() {
        if let Item::Key(key) = item.expect("item")
            && let Value::String(s @ RdbString::Lzf { .. }) = key.value
        {
            return s;
        }
    }
    panic!("no LZF string in the file")
}

fn bench(c: &mut Criterion) {
    let inputs = [
        ("json 1 KiB", json(1 << 10, 1)),
        ("json 16 KiB", json(16 << 10, 2)),
        ("json 1 MiB", json(1 << 20, 3)),
        ("text 4 KiB", text(4 << 10, 4)),
        ("text 1 MiB", text(1 << 20, 5)),
        ("listpack 8 KiB", listpack(8 << 10, 6)),
        ("ziplist 8 KiB", ziplist(8 << 10, 7)),
        ("bitmap 128 KiB", bitmap(128 << 10, 8)),
    ];
    let mut group = c.benchmark_group("lzf decompress");
    group.sample_size(30);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(2));
    for (name, data) in &inputs {
        let compressed = lzf::compress(data).expect("compressible input");
        let file = rdb_with_lzf_string(&compressed, data.len());
        let value = lzf_value(&file);
        let len = data.len();
        println!(
            "{name}: {len} bytes, compressed {} ({:.2}x)",
            compressed.len(),
            len as f64 / compressed.len() as f64
        );

        // All three decode the input exactly before anything is timed.
        let mut scratch = Vec::new();
        assert_eq!(value.bytes(&mut scratch).expect("rdb-parser"), &data[..]);
        assert_eq!(lzf::decompress(&compressed, len).expect("lzf"), *data);
        let mut buf = vec![0; len];
        assert_eq!(
            lzf_rust::decompress(&compressed, &mut buf).expect("lzf-rust"),
            len
        );
        assert_eq!(buf, *data);

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("rdb-parser", name), |b| {
            b.iter(|| black_box(value.bytes(&mut scratch).expect("rdb-parser").len()))
        });
        group.bench_function(BenchmarkId::new("lzf-rust", name), |b| {
            b.iter(|| {
                buf.clear();
                buf.resize(len, 0);
                black_box(lzf_rust::decompress(black_box(&compressed), &mut buf).expect("lzf-rust"))
            })
        });
        group.bench_function(BenchmarkId::new("lzf", name), |b| {
            b.iter(|| {
                black_box(
                    lzf::decompress(black_box(&compressed), len)
                        .expect("lzf")
                        .len(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
