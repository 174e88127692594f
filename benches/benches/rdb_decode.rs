//! Full-decode throughput of rdb-parser (bytes/s and keys/s) on a mixed-type RDB
//! written by a real Redis 7.0 (`testkit::write_mixed`), single thread.
//!
//! `scripts/rdb_vs_check_rdb.sh` compares the same work with `redis-check-rdb`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rdb_parser::{Item, Rdb};
use testkit::{Server, Version, write_mixed};

const KEYS: usize = 100_000;

/// Parses every item and decodes every value; returns the number of keys.
fn decode_all(file: &[u8]) -> u64 {
    let mut keys = 0;
    Rdb::new(file)
        .expect("header")
        .items()
        .try_for_each_ref(|item| {
            if let Item::Key(k) = item {
                black_box(k.value.validate()?);
                keys += 1;
            }
            Ok::<_, rdb_parser::Error>(())
        })
        .expect("decode");
    keys
}

fn bench(c: &mut Criterion) {
    let server = Server::start(Version::Redis7_0);
    write_mixed(&mut server.client(), KEYS);
    let file = std::fs::read(server.save()).expect("read the RDB");
    drop(server);
    assert_eq!(decode_all(&file), KEYS as u64);

    let mut group = c.benchmark_group("rdb full decode");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function("bytes", |b| b.iter(|| decode_all(black_box(&file))));
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("keys", |b| b.iter(|| decode_all(black_box(&file))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
