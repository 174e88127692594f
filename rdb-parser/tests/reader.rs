//! The streaming reader on real servers' files: a server is filled with the sample
//! dataset and long values of every type (megabytes of raw and LZF strings, large
//! sets, hashes, sorted sets, lists and a stream with a consumer group), saved, and
//! the file is read through [`AsyncReader`] from disk with a small record limit.
//! Every key must equal what the server returns through commands, the pieces of a
//! long value must add up to its stored bytes, and the reader's buffer must stay
//! within the stated bound however large the values are.

mod support;

use std::collections::BTreeMap;

use rdb_parser::{AsyncReader, Event, Item, Piece, Rdb, Reader, Type, Value};
use support::{Bytes, Canon, diff, from_parsed, from_server, select};
use testkit::redis::{self, Connection};
use testkit::{Server, Version, write_sample};

const MAX_RECORD: usize = 256 << 10;
const PIECE: usize = 16 << 10;
/// The async reader's read size.
const READ: usize = 64 << 10;

/// Long values of every type, pipelined.
fn write_long_values(con: &mut Connection, version: Version) {
    let words: Vec<u8> = (0..400_000u32)
        .flat_map(|i| format!("w{} ", i.wrapping_mul(7919) % 5000).into_bytes())
        .take(3 << 20)
        .collect();
    let noise: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let mut pipe = redis::pipe();
    pipe.cmd("SET").arg("long:raw").arg(&noise).ignore();
    pipe.cmd("SET").arg("long:lzf").arg(&words).ignore();
    for batch in 0..60 {
        let mut sadd = redis::cmd("SADD");
        let mut hset = redis::cmd("HSET");
        let mut zadd = redis::cmd("ZADD");
        let mut rpush = redis::cmd("RPUSH");
        sadd.arg("long:set");
        hset.arg("long:hash");
        zadd.arg("long:zset");
        rpush.arg("long:list");
        for i in batch * 1000..(batch + 1) * 1000 {
            sadd.arg(format!("member:{i}"));
            hset.arg(format!("field:{i}")).arg(format!("value:{i}"));
            zadd.arg(i % 977).arg(format!("member:{i}"));
            rpush.arg(format!("element:{i}")).arg(i);
        }
        pipe.add_command(sadd).ignore();
        pipe.add_command(hset).ignore();
        pipe.add_command(zadd).ignore();
        pipe.add_command(rpush).ignore();
    }
    for i in 0..60_000 {
        pipe.cmd("XADD")
            .arg("long:stream")
            .arg("*")
            .arg("n")
            .arg(i)
            .arg("text")
            .arg(format!("entry {i}"))
            .ignore();
    }
    pipe.cmd("XGROUP")
        .arg("CREATE")
        .arg("long:stream")
        .arg("readers")
        .arg("0")
        .ignore();
    pipe.cmd("XREADGROUP")
        .arg("GROUP")
        .arg("readers")
        .arg("alice")
        .arg("COUNT")
        .arg(300)
        .arg("STREAMS")
        .arg("long:stream")
        .arg(">")
        .ignore();
    if version == Version::Valkey9_1 {
        // Field TTLs make a HASH_2 value.
        pipe.cmd("HEXPIRE")
            .arg("long:hash")
            .arg(100_000)
            .arg("FIELDS")
            .arg(2)
            .arg("field:1")
            .arg("field:2")
            .ignore();
    }
    pipe.query::<()>(con).expect("write long values");
}

/// A key read through the streaming reader: whole or assembled from pieces.
struct Streamed {
    value: Canon,
    raw: Vec<u8>,
    pieces: usize,
}

fn sort(canon: &mut Canon) {
    match canon {
        Canon::Set(v) => v.sort(),
        Canon::SortedSet(v) => v.sort_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.0.cmp(&b.0))
        }),
        Canon::Hash(v) => v.sort_by(|a, b| a.0.cmp(&b.0)),
        _ => {}
    }
}

/// Adds a piece to a value being assembled.
fn add(value: &mut Canon, piece: Piece<'_>) {
    match (value, piece) {
        (Canon::String(s), Piece::Bytes(b)) => s.0.extend_from_slice(b),
        (Canon::Stream(s), Piece::StreamEntries(mut entries)) => {
            while let Some(e) = entries.next().unwrap() {
                let fields = e
                    .fields()
                    .map(|(f, v)| (Bytes(f.to_vec()), Bytes(v.to_vec())))
                    .collect();
                s.entries.push((e.id, fields));
            }
        }
        (Canon::Stream(s), Piece::StreamMeta(meta)) => {
            let Canon::Stream(whole) = from_parsed(&Value::Stream(meta)).unwrap() else {
                unreachable!()
            };
            let entries = std::mem::take(&mut s.entries);
            **s = *whole;
            s.entries = entries;
        }
        (value, Piece::Entries(run)) => match (value, from_parsed(&run).unwrap()) {
            (Canon::List(a), Canon::List(b)) | (Canon::Set(a), Canon::Set(b)) => a.extend(b),
            (Canon::SortedSet(a), Canon::SortedSet(b)) => a.extend(b),
            (Canon::Hash(a), Canon::Hash(b)) => a.extend(b),
            (a, b) => panic!("entries {b:?} in {a:?}"),
        },
        (value, piece) => panic!("{piece:?} in {value:?}"),
    }
}

/// Reads `path` with the async reader; returns its keys by (db, name).
async fn stream_file(path: &std::path::Path) -> BTreeMap<(u64, Vec<u8>), Streamed> {
    let file = tokio::fs::File::open(path).await.unwrap();
    let size = file.metadata().await.unwrap().len() as usize;
    let reader = Reader::new().max_record(MAX_RECORD).piece_size(PIECE);
    let mut rdb = AsyncReader::new(file, reader);
    let mut keys = BTreeMap::new();
    let mut current: Option<((u64, Vec<u8>), Streamed)> = None;
    let mut ended = false;
    let mut largest_buffer = 0;
    while rdb.fill().await.unwrap() {
        while let Some(event) = rdb.next_event().unwrap() {
            match event {
                Event::Item(Item::Key(k)) => {
                    let streamed = Streamed {
                        value: from_parsed(&k.value).unwrap(),
                        raw: k.raw_value.to_vec(),
                        pieces: 0,
                    };
                    keys.insert((k.db, k.key.to_vec().unwrap()), streamed);
                }
                Event::Item(Item::End { len, .. }) => {
                    assert_eq!(len as usize, size);
                    ended = true;
                }
                Event::Item(_) => {}
                Event::ValueStart(s) => {
                    let empty = match s.value_type {
                        Type::String => Canon::String(Bytes(Vec::new())),
                        Type::List => Canon::List(Vec::new()),
                        Type::Set => Canon::Set(Vec::new()),
                        Type::SortedSet => Canon::SortedSet(Vec::new()),
                        Type::Hash => Canon::Hash(Vec::new()),
                        Type::Stream => Canon::Stream(Box::default()),
                        other => panic!("{other:?} in pieces"),
                    };
                    let key = (s.db, s.key.to_vec().unwrap());
                    let streamed = Streamed {
                        value: empty,
                        raw: s.raw.to_vec(),
                        pieces: 0,
                    };
                    assert!(current.replace((key, streamed)).is_none());
                }
                Event::Piece { piece, raw } => {
                    let (_, streamed) = current.as_mut().expect("a piece outside a value");
                    streamed.raw.extend_from_slice(raw);
                    streamed.pieces += 1;
                    add(&mut streamed.value, piece);
                }
                Event::ValueEnd => {
                    let (key, mut streamed) = current.take().expect("an end outside a value");
                    sort(&mut streamed.value);
                    keys.insert(key, streamed);
                }
                other => panic!("unexpected {other:?}"),
            }
            largest_buffer = largest_buffer.max(rdb.reader().buffer_capacity());
        }
    }
    assert!(ended, "no End item");
    // The bound the reader's docs state: undelivered input up to the record limit
    // plus one read, with room for the vector's growth.
    let bound = 4 * (MAX_RECORD + READ);
    assert!(
        largest_buffer <= bound,
        "buffer grew to {largest_buffer} bytes, bound {bound}, file {size}"
    );
    assert!(
        size > 4 * bound,
        "the file ({size} bytes) must dwarf the bound"
    );
    keys
}

fn check(version: Version) {
    let server = Server::start(version);
    let mut con = server.client();
    write_sample(&mut con, version);
    select(&mut con, 0);
    write_long_values(&mut con, version);
    let path = server.save();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let streamed = runtime.block_on(stream_file(&path));

    // The same keys and stored bytes as the slice API, and the server's values.
    let file = std::fs::read(&path).unwrap();
    let rdb = Rdb::new(&file).unwrap();
    let mut sliced = 0;
    let mut split = Vec::new();
    for item in rdb.items() {
        let Item::Key(k) = item.unwrap() else {
            continue;
        };
        sliced += 1;
        let name = k.key.to_vec().unwrap();
        let s = &streamed[&(k.db, name.clone())];
        assert!(
            s.raw == k.raw_value,
            "{:?}: stored bytes differ",
            Bytes(name)
        );
        if s.pieces > 0 {
            split.push(String::from_utf8_lossy(&name).into_owned());
        }
        select(&mut con, k.db);
        let on_server = from_server(&mut con, version, &name);
        if let Some(d) = diff(&s.value, &on_server) {
            panic!("{version:?} {:?}: {d}", Bytes(name));
        }
    }
    assert_eq!(sliced, streamed.len());
    split.sort();
    assert_eq!(
        split,
        [
            "long:hash",
            "long:list",
            "long:lzf",
            "long:raw",
            "long:set",
            "long:stream",
            "long:zset"
        ],
        "{version:?}: the long values must come in pieces, the others whole"
    );
}

#[test]
fn redis_6_2() {
    check(Version::Redis6_2);
}

#[test]
fn redis_7_0() {
    check(Version::Redis7_0);
}

#[test]
fn valkey_9_1() {
    check(Version::Valkey9_1);
}
