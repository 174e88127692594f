//! Real-server tests: each supported server is filled with every type in every
//! encoding it writes, saved with `SAVE`, and the parsed file is compared, key by
//! key, with what the server returns through commands: the key set of every db,
//! types, values, TTLs, LRU/LFU metadata, stream metadata, groups and PELs, hash
//! field TTLs, function libraries, aux fields, the header and the checksum. Every
//! key is also sent back to the server as a `RESTORE` payload built by
//! [`rdb_parser::Key::dump_payload`], and every `DUMP` payload is decoded with
//! [`rdb_parser::parse_dump`].
//!
//! The comparison is generic: both sides are turned into the same canonical form
//! (`support::Canon`), so no key is hand-picked. The dataset says which encoding
//! each key must have in the file, so a server change that stops exercising an
//! encoding fails the test instead of shrinking its coverage silently.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use rdb_parser::{Dialect, Encoding, Function, Header, Item, Key, Rdb, RdbString, parse_dump};
use support::{Bytes, Canon, diff, from_parsed, from_server, query, select};
use testkit::redis::{self, Connection};
use testkit::{Server, Version};

/// An absolute expiry far in the future (2100-01-01 00:00:00.123 UTC, ms).
const FAR_EXPIRY_MS: i64 = 4_102_444_800_123;
/// The databases a default server has.
const DATABASES: u64 = 16;

/// Runs a command with arguments of any byte-like type.
macro_rules! run {
    ($f:expr, $($arg:expr),+ $(,)?) => {
        $f.run(&[$(AsRef::<[u8]>::as_ref(&$arg)),+])
    };
}

/// A small deterministic generator (xorshift64*), for incompressible bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Text of words from a small vocabulary: literal runs and back-references for LZF.
    fn words(&mut self, n: usize) -> Vec<u8> {
        const WORDS: [&str; 12] = [
            "redis",
            "valkey",
            "stream",
            "listpack",
            "ziplist",
            "quicklist",
            "intset",
            "zipmap",
            "lzf",
            "replica",
            "snapshot",
            "checksum",
        ];
        let mut out = Vec::with_capacity(n + 16);
        while out.len() < n {
            out.extend_from_slice(WORDS[(self.next() % 12) as usize].as_bytes());
            out.push(if self.next().is_multiple_of(5) {
                b'\n'
            } else {
                b' '
            });
        }
        out.truncate(n);
        out
    }
}

/// The encodings a version writes for the common cases.
struct Encodings {
    /// Any list (quicklist v1 on 6.2; v2 on 7.0+, including Valkey's listpack lists).
    list: Encoding,
    /// Small hashes and sorted sets (ziplist on 6.2, listpack on 7.0+).
    compact: Encoding,
    /// Small sets of strings (listpack from 7.2, so on Valkey 9.1).
    small_set: Encoding,
    /// Streams (format 1 on 6.2, 2 on 7.0, 3 on 7.2+ / Valkey).
    stream: Encoding,
}

impl Encodings {
    fn of(version: Version) -> Self {
        match version {
            Version::Redis6_2 => Encodings {
                list: Encoding::Quicklist,
                compact: Encoding::Ziplist,
                small_set: Encoding::Hashtable,
                stream: Encoding::StreamListpacks(1),
            },
            Version::Redis7_0 => Encodings {
                list: Encoding::Quicklist2,
                compact: Encoding::Listpack,
                small_set: Encoding::Hashtable,
                stream: Encoding::StreamListpacks(2),
            },
            Version::Valkey9_1 => Encodings {
                list: Encoding::Quicklist2,
                compact: Encoding::Listpack,
                small_set: Encoding::Listpack,
                stream: Encoding::StreamListpacks(3),
            },
        }
    }
}

/// Writes the dataset through a connection and records the encoding each key must
/// have in the RDB.
struct Filler<'c> {
    con: &'c mut Connection,
    version: Version,
    db: u64,
    expected: BTreeMap<(u64, Vec<u8>), Encoding>,
}

impl Filler<'_> {
    fn select(&mut self, db: u64) {
        select(self.con, db);
        self.db = db;
    }

    fn run(&mut self, args: &[&[u8]]) -> redis::Value {
        query(self.con, args)
    }

    /// Runs a command written as one line of space-separated words.
    fn cmd(&mut self, line: &str) {
        let args: Vec<&[u8]> = line.split_ascii_whitespace().map(str::as_bytes).collect();
        self.run(&args);
    }

    /// Runs `cmd key rest...` with owned arguments (for large collections).
    fn run_many(&mut self, cmd: &str, key: &[u8], rest: &[Vec<u8>]) {
        let mut args: Vec<&[u8]> = vec![cmd.as_bytes(), key];
        args.extend(rest.iter().map(Vec::as_slice));
        self.run(&args);
    }

    fn expect(&mut self, key: &[u8], encoding: Encoding) {
        let previous = self.expected.insert((self.db, key.to_vec()), encoding);
        assert!(
            previous.is_none(),
            "key {:?} written twice",
            Bytes(key.to_vec())
        );
    }

    /// `XREADGROUP` and the IDs it delivered.
    fn read_group(
        &mut self,
        key: &[u8],
        group: &[u8],
        consumer: &[u8],
        count: u32,
        from: &[u8],
    ) -> Vec<String> {
        let count = count.to_string();
        let args: [&[u8]; 9] = [
            b"XREADGROUP",
            b"GROUP",
            group,
            consumer,
            b"COUNT",
            count.as_bytes(),
            b"STREAMS",
            key,
            from,
        ];
        let reply = self.run(&args);
        let mut ids = Vec::new();
        if let redis::Value::Array(streams) = reply {
            for s in streams {
                let redis::Value::Array(s) = s else { continue };
                let Some(redis::Value::Array(entries)) = s.get(1) else {
                    continue;
                };
                for e in entries {
                    if let redis::Value::Array(e) = e
                        && let Some(redis::Value::BulkString(id)) = e.first()
                    {
                        ids.push(String::from_utf8(id.clone()).expect("stream IDs are text"));
                    }
                }
            }
        }
        ids
    }
}

/// Fills the server with the dataset and returns the expected encoding of every key.
fn fill(con: &mut Connection, version: Version) -> BTreeMap<(u64, Vec<u8>), Encoding> {
    let mut f = Filler {
        con,
        version,
        db: 0,
        expected: BTreeMap::new(),
    };
    f.select(0);
    fill_strings(&mut f);
    fill_lists(&mut f);
    fill_sets(&mut f);
    fill_sorted_sets(&mut f);
    fill_hashes(&mut f);
    fill_streams(&mut f);
    fill_expiring(&mut f);
    fill_other_dbs(&mut f);
    if version != Version::Redis6_2 {
        fill_plain_list_nodes(&mut f);
        fill_functions(&mut f);
    }
    if version.is_valkey() {
        fill_hash_field_ttls(&mut f);
    }
    f.select(0);
    f.expected
}

fn fill_strings(f: &mut Filler<'_>) {
    let mut rng = Rng(0x5eed_0001);
    // (key, value, encoding in the RDB)
    let cases: Vec<(&[u8], Vec<u8>, Encoding)> = vec![
        (b"str:short", b"hello world".to_vec(), Encoding::Raw),
        (b"str:empty", Vec::new(), Encoding::Raw),
        // Integers that fit 8, 16 and 32 bits are saved int-encoded.
        (b"str:int8", b"-7".to_vec(), Encoding::Int),
        (b"str:int16", b"12345".to_vec(), Encoding::Int),
        (b"str:int32-min", b"-2147483648".to_vec(), Encoding::Int),
        (b"str:int32-max", b"2147483647".to_vec(), Encoding::Int),
        (b"str:zero", b"0".to_vec(), Encoding::Int),
        // Wider integers and non-canonical digits are saved as text.
        (b"str:int33", b"2147483648".to_vec(), Encoding::Raw),
        (
            b"str:i64-max",
            i64::MAX.to_string().into_bytes(),
            Encoding::Raw,
        ),
        (
            b"str:i64-min",
            i64::MIN.to_string().into_bytes(),
            Encoding::Raw,
        ),
        (b"str:leading-zero", b"007".to_vec(), Encoding::Raw),
        (b"str:float", b"1.5".to_vec(), Encoding::Raw),
        // LZF needs more than 20 bytes, and a gain of at least 4.
        (b"str:20-a", vec![b'a'; 20], Encoding::Raw),
        (b"str:21-a", vec![b'a'; 21], Encoding::Lzf),
        (b"str:lzf", b"abc".repeat(40), Encoding::Lzf),
        (b"str:lzf-words", rng.words(50_000), Encoding::Lzf),
        (
            b"str:lzf-100k",
            b"0123456789abcdef".repeat(6400),
            Encoding::Lzf,
        ),
        (b"str:random-100k", rng.bytes(100_000), Encoding::Raw),
        (
            b"str:binary",
            b"\x00\x01\xfe\xff\x80 bad utf-8 \xc3\x28".to_vec(),
            Encoding::Raw,
        ),
        (
            b"str:utf8",
            "caf\u{e9} \u{2713} \u{1f980}".into(),
            Encoding::Raw,
        ),
        // Binary and odd key names: an integer key name is saved int-encoded, a
        // long repetitive one LZF-compressed.
        (b"\x00", b"nul key".to_vec(), Encoding::Raw),
        (
            b"\xff\xfe\xfd bad utf-8 key",
            b"\x00".to_vec(),
            Encoding::Raw,
        ),
        (b"12345", b"an int-encoded key".to_vec(), Encoding::Raw),
        (b"-1", b"another".to_vec(), Encoding::Raw),
        (LONG_KEY, b"its name is compressed".to_vec(), Encoding::Raw),
    ];
    for (key, value, encoding) in cases {
        run!(f, "SET", key, value);
        f.expect(key, encoding);
    }
    // Values changed in place.
    f.cmd("SET str:appended abc");
    f.cmd("APPEND str:appended def");
    f.expect(b"str:appended", Encoding::Raw);
    f.cmd("SET str:incr 41");
    f.cmd("INCR str:incr");
    f.expect(b"str:incr", Encoding::Int);
    f.cmd("SETRANGE str:setrange 5 x");
    f.expect(b"str:setrange", Encoding::Raw);
}

/// A key name long and repetitive enough to be saved LZF-compressed.
const LONG_KEY: &[u8] = b"key:kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";

/// Integers at every width boundary of ziplists (int8/16/24/32/64 and 0..12
/// immediates) and listpacks (7-bit, 13-bit, 16/24/32/64-bit), and strings that look
/// like integers but are not canonical.
fn int_elements() -> Vec<Vec<u8>> {
    let mut v: Vec<i64> = (-1..=13).collect();
    for bits in [7u32, 8, 12, 13, 15, 16, 23, 24, 31, 32, 63] {
        let m = ((1i128 << bits) - 1) as i64;
        v.extend([m, m.wrapping_add(1), -m, -m - 1]);
    }
    v.push(i64::MIN);
    let mut out: Vec<Vec<u8>> = v.iter().map(|i| i.to_string().into_bytes()).collect();
    let odd = [
        "007",
        "+5",
        "-0",
        " 1",
        "1e3",
        "0x10",
        "18446744073709551616",
        "",
    ];
    out.extend(odd.iter().map(|s| s.as_bytes().to_vec()));
    out
}

fn fill_lists(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    let mut rng = Rng(0x5eed_0002);
    f.cmd("RPUSH list:small a b 12345678901");
    run!(f, "RPUSH", "list:small", "", b"\x00bin\xff");
    f.expect(b"list:small", enc.list);
    f.run_many("RPUSH", b"list:ints", &int_elements());
    f.expect(b"list:ints", enc.list);
    // String lengths at every length-encoding boundary; incompressible bytes.
    let sizes = [
        1, 62, 63, 64, 65, 127, 128, 253, 254, 255, 4094, 4095, 4096, 4097, 16383, 16384, 16385,
        70_000,
    ];
    let elements: Vec<Vec<u8>> = sizes.iter().map(|&n| rng.bytes(n)).collect();
    f.run_many("RPUSH", b"list:sizes", &elements);
    f.expect(b"list:sizes", enc.list);
    let big: Vec<Vec<u8>> = (0..2000)
        .map(|i| match i % 2 {
            0 => format!("item:{i}").into_bytes(),
            _ => (i * 7919).to_string().into_bytes(),
        })
        .collect();
    f.run_many("RPUSH", b"list:big", &big);
    f.expect(b"list:big", enc.list);
    // Incompressible: its node is saved as a plain string, not LZF.
    let random: Vec<Vec<u8>> = (0..30).map(|_| rng.bytes(8)).collect();
    f.run_many("RPUSH", b"list:random", &random);
    f.expect(b"list:random", enc.list);
    // Pushed at both ends and edited in the middle.
    for i in 0..300 {
        f.cmd(&format!("LPUSH list:edited left-{i}"));
        f.cmd(&format!("RPUSH list:edited right-{i}"));
    }
    f.cmd("LINSERT list:edited BEFORE right-0 inserted");
    f.cmd("LSET list:edited 10 set-at-10");
    f.cmd("LREM list:edited 0 left-100");
    f.cmd("LTRIM list:edited 5 -5");
    f.expect(b"list:edited", enc.list);
    // Inner quicklist nodes compressed in memory (saved as LZF blobs).
    f.cmd("CONFIG SET list-compress-depth 1");
    let words: Vec<Vec<u8>> = (0..1500)
        .map(|i| format!("compressible element number {:05}", i % 50).into_bytes())
        .collect();
    f.run_many("RPUSH", b"list:compressed", &words);
    f.expect(b"list:compressed", enc.list);
    f.cmd("CONFIG SET list-compress-depth 0");
}

/// PLAIN quicklist nodes (7.0+): elements above the packed threshold. On Valkey a
/// list must also outgrow `list-max-listpack-size` (8 KB) to become a quicklist.
fn fill_plain_list_nodes(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    let mut rng = Rng(0x5eed_0003);
    f.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 1K");
    let elements = vec![
        b"a".to_vec(),
        rng.bytes(10_000),
        b"b".to_vec(),
        b"xyz".repeat(2000),
        b"c".to_vec(),
        rng.bytes(2000),
    ];
    f.run_many("RPUSH", b"list:plain", &elements);
    f.expect(b"list:plain", enc.list);
    f.run_many("RPUSH", b"list:plain-only", &[rng.bytes(10_000)]);
    f.expect(b"list:plain-only", enc.list);
    // PLAIN nodes in the compressed middle of a list.
    f.cmd("CONFIG SET list-compress-depth 1");
    let mut elements: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("small {i}").into_bytes())
        .collect();
    for i in 0..4 {
        elements.insert(50 + i * 30, i.to_string().repeat(3000).into_bytes());
    }
    f.run_many("RPUSH", b"list:plain-compressed", &elements);
    f.expect(b"list:plain-compressed", enc.list);
    f.cmd("CONFIG SET list-compress-depth 0");
    f.cmd("DEBUG QUICKLIST-PACKED-THRESHOLD 0");
}

fn fill_sets(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    let mut rng = Rng(0x5eed_0004);
    f.cmd("SADD set:intset16 1 2 3 10 -5 32767 -32768");
    f.expect(b"set:intset16", Encoding::Intset);
    f.cmd("SADD set:intset32 100000 -100000 1 2147483647 -2147483648");
    f.expect(b"set:intset32", Encoding::Intset);
    f.cmd(&format!(
        "SADD set:intset64 {} {} 0 2147483648",
        i64::MAX,
        i64::MIN
    ));
    f.expect(b"set:intset64", Encoding::Intset);
    let ints: Vec<Vec<u8>> = (0..500i64)
        .map(|i| (i * 1_000_003 - 250_000_000).to_string().into_bytes())
        .collect();
    f.run_many("SADD", b"set:intset-500", &ints);
    f.expect(b"set:intset-500", Encoding::Intset);
    // Beyond set-max-intset-entries (512).
    let ints: Vec<Vec<u8>> = (0..600i64)
        .map(|i| (i * 3).to_string().into_bytes())
        .collect();
    f.run_many("SADD", b"set:ints-600", &ints);
    f.expect(b"set:ints-600", Encoding::Hashtable);
    run!(f, "SADD", "set:strings", "a", "b", "c", "hello", "");
    f.expect(b"set:strings", enc.small_set);
    f.cmd("SADD set:mixed 1 x -5 12345678901");
    f.expect(b"set:mixed", enc.small_set);
    run!(f, "SADD", "set:binary", "\x00", b"\xff\xfe", "ok");
    f.expect(b"set:binary", enc.small_set);
    let random: Vec<Vec<u8>> = (0..20).map(|_| rng.bytes(8)).collect();
    f.run_many("SADD", b"set:random", &random);
    f.expect(b"set:random", enc.small_set);
    // Past set-max-listpack-entries (128) and set-max-listpack-value (64).
    let members: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("member:{i}").into_bytes())
        .collect();
    f.run_many("SADD", b"set:big", &members);
    f.expect(b"set:big", Encoding::Hashtable);
    f.cmd(&format!("SADD set:long-member short {}", "m".repeat(100)));
    f.expect(b"set:long-member", Encoding::Hashtable);
    // An intset that took a string member.
    f.cmd("SADD set:converted 1 2 3");
    f.cmd("SADD set:converted three");
    f.expect(b"set:converted", enc.small_set);
}

fn fill_sorted_sets(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    let mut rng = Rng(0x5eed_0005);
    f.cmd(concat!(
        "ZADD zset:small 1.5 a -2 b 0 c inf d -inf e 1e300 f -1e-300 g ",
        "3.141592653589793 pi 123456789 int 1e17 big 0.1 tenth -0 negzero",
    ));
    f.expect(b"zset:small", enc.compact);
    f.cmd("ZADD zset:ties 1 d 1 b 1 a 2 z");
    run!(f, "ZADD", "zset:ties", "1", "");
    f.expect(b"zset:ties", enc.compact);
    f.cmd("ZADD zset:binary 3 12345");
    run!(f, "ZADD", "zset:binary", "1", "\x00", "2", b"\xff\xfe");
    f.expect(b"zset:binary", enc.compact);
    let mut args = Vec::new();
    for _ in 0..20 {
        // Finite scores below 2 with random mantissas, subnormals included.
        let sign = if rng.next().is_multiple_of(2) {
            1.0
        } else {
            -1.0
        };
        let score = f64::from_bits(rng.next() >> 2) * sign;
        args.push(format!("{score:e}").into_bytes());
        args.push(rng.bytes(6));
    }
    f.run_many("ZADD", b"zset:random", &args);
    f.expect(b"zset:random", enc.compact);
    // Past zset-max-listpack-entries (128) and -value (64).
    let mut args = Vec::new();
    for i in 0..500 {
        args.push((f64::from(i) * 1.25 - 100.0).to_string().into_bytes());
        args.push(format!("member:{i}").into_bytes());
    }
    f.run_many("ZADD", b"zset:big", &args);
    f.expect(b"zset:big", Encoding::Skiplist);
    let long = "l".repeat(100);
    f.cmd(&format!(
        "ZADD zset:long-member 1 short -inf {long} inf top"
    ));
    f.expect(b"zset:long-member", Encoding::Skiplist);
    f.cmd("ZADD zset:incr 1 x");
    f.cmd("ZINCRBY zset:incr 0.25 x");
    f.expect(b"zset:incr", enc.compact);
}

fn fill_hashes(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    let mut rng = Rng(0x5eed_0006);
    f.cmd("HSET hash:small name Ada visits 7");
    run!(f, "HSET", "hash:small", "empty", "");
    f.expect(b"hash:small", enc.compact);
    let mut args = Vec::new();
    for (i, v) in int_elements().into_iter().enumerate() {
        args.push(i.to_string().into_bytes());
        args.push(v);
    }
    f.run_many("HSET", b"hash:ints", &args);
    f.expect(b"hash:ints", enc.compact);
    run!(f, "HSET", "hash:binary", "\x00f", b"\xff", "", "empty");
    run!(f, "HSET", "hash:binary", b"\xfe\xfd", "\x00");
    f.expect(b"hash:binary", enc.compact);
    // hash-max-listpack-value is 64.
    f.cmd(&format!("HSET hash:value-64 f {}", "v".repeat(64)));
    f.expect(b"hash:value-64", enc.compact);
    f.cmd(&format!("HSET hash:value-65 f {}", "v".repeat(65)));
    f.expect(b"hash:value-65", Encoding::Hashtable);
    let random: Vec<Vec<u8>> = (0..40).map(|_| rng.bytes(8)).collect();
    f.run_many("HSET", b"hash:random", &random);
    f.expect(b"hash:random", enc.compact);
    let mut args = Vec::new();
    for i in 0..600 {
        args.push(format!("field:{i}").into_bytes());
        args.push(match i % 3 {
            0 => i.to_string().into_bytes(),
            _ => format!("value {i}").into_bytes(),
        });
    }
    f.run_many("HSET", b"hash:big", &args);
    f.expect(b"hash:big", Encoding::Hashtable);
    f.cmd("HSET hash:edited a 1 b 2 c 3");
    f.cmd("HDEL hash:edited b");
    f.cmd("HINCRBY hash:edited a 41");
    f.cmd("HINCRBYFLOAT hash:edited f 0.5");
    f.expect(b"hash:edited", enc.compact);
}

fn fill_streams(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    let v7 = f.version != Version::Redis6_2;

    // Same-field entries (stored as SAMEFIELDS), different fields, binary and ints.
    f.cmd("XADD stream:basic 1-1 f1 v1 f2 v2");
    f.cmd("XADD stream:basic 1-2 f1 v3 f2 v4");
    f.cmd("XADD stream:basic 2-0 other 1");
    run!(
        f,
        "XADD",
        "stream:basic",
        "3-0",
        "bin\x00",
        b"\xff\xfe",
        "",
        "empty field"
    );
    f.cmd("XADD stream:basic 4-0 f1 12345 f2 -7");
    f.cmd("XADD stream:basic 1700000000000-18446744073709551614 f1 big-id f2 x");
    f.cmd("XGROUP CREATE stream:basic grp 0");
    f.read_group(b"stream:basic", b"grp", b"c\x00binary consumer", 2, b">");
    f.expect(b"stream:basic", enc.stream);

    // Several nodes (100 entries each at most), deletions, a trim, groups with PELs.
    let key = "stream:big";
    let base = 1_700_000_000_000u64;
    let id = |i: u64| format!("{}-{}", base + i / 3, i % 3);
    for i in 0..250u64 {
        if i % 10 == 0 {
            f.cmd(&format!("XADD {key} {} kind special note entry-{i}", id(i)));
        } else {
            let value = i as f64 * 1.5;
            f.cmd(&format!(
                "XADD {key} {} sensor {} value {value}",
                id(i),
                i % 7
            ));
        }
    }
    for i in (3..250u64).step_by(7) {
        f.cmd(&format!("XDEL {key} {}", id(i)));
    }
    f.cmd(&format!("XTRIM {key} MAXLEN 200"));
    f.cmd(&format!("XGROUP CREATE {key} g-all 0"));
    let alice = f.read_group(key.as_bytes(), b"g-all", b"alice", 20, b">");
    let bob = f.read_group(key.as_bytes(), b"g-all", b"bob", 10, b">");
    f.cmd(&format!(
        "XACK {key} g-all {} {} {}",
        alice[0], alice[3], alice[4]
    ));
    // Claimed by a new consumer: the owner changes, the delivery count goes up.
    let claimed = format!("{} {} {}", bob[0], bob[1], bob[2]);
    f.cmd(&format!("XCLAIM {key} g-all carol 0 {claimed}"));
    // Re-delivered from alice's history: delivery count 2.
    f.read_group(key.as_bytes(), b"g-all", b"alice", 100, b"0");
    // A pending entry whose stream entry is gone.
    f.cmd(&format!("XDEL {key} {}", bob[5]));
    f.cmd(&format!("XGROUP CREATECONSUMER {key} g-all dave"));
    f.cmd(&format!("XGROUP CREATE {key} g-tail $"));
    // Created at an arbitrary ID: 7.0+ save the "invalid" entries-read counter.
    f.cmd(&format!("XGROUP CREATE {key} g-mid {}", id(120)));
    f.read_group(key.as_bytes(), b"g-mid", b"erin", 3, b">");
    if v7 {
        f.cmd(&format!(
            "XGROUP CREATE {key} g-entriesread 0 ENTRIESREAD 3"
        ));
    }
    f.expect(key.as_bytes(), enc.stream);

    // Auto IDs, and values compressible enough for an LZF node.
    let payload = "repeat-".repeat(10);
    for i in 0..50 {
        f.cmd(&format!("XADD stream:auto * payload {payload} n {i}"));
    }
    f.expect(b"stream:auto", enc.stream);

    // Every entry deleted: no live entries, but a last ID and a group.
    f.cmd("XADD stream:emptied 5-5 x y");
    f.cmd("XDEL stream:emptied 5-5");
    f.cmd("XGROUP CREATE stream:emptied g 0");
    f.expect(b"stream:emptied", enc.stream);
    // Created empty by XGROUP ... MKSTREAM: no nodes at all.
    f.cmd("XGROUP CREATE stream:mkstream g $ MKSTREAM");
    f.expect(b"stream:mkstream", enc.stream);

    f.cmd("XADD stream:setid 1-0 a b");
    f.cmd("XADD stream:setid 2-0 a c");
    f.cmd("XDEL stream:setid 1-0");
    if v7 {
        f.cmd("XSETID stream:setid 100-5 ENTRIESADDED 50 MAXDELETEDID 90-0");
    } else {
        f.cmd("XSETID stream:setid 100-5");
    }
    f.expect(b"stream:setid", enc.stream);
}

fn fill_expiring(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    f.cmd("SET ttl:abs v");
    f.cmd(&format!("PEXPIREAT ttl:abs {FAR_EXPIRY_MS}"));
    f.expect(b"ttl:abs", Encoding::Raw);
    f.cmd("SET ttl:rel 12 EX 3600");
    f.expect(b"ttl:rel", Encoding::Int);
    f.cmd("SET ttl:px v PX 86400000");
    f.expect(b"ttl:px", Encoding::Raw);
    f.cmd("RPUSH ttl:list a b");
    f.cmd("EXPIRE ttl:list 7200");
    f.expect(b"ttl:list", enc.list);
    f.cmd("SADD ttl:set 1 2");
    f.cmd(&format!("PEXPIREAT ttl:set {FAR_EXPIRY_MS}"));
    f.expect(b"ttl:set", Encoding::Intset);
    f.cmd("HSET ttl:hash f v");
    f.cmd(&format!("EXPIREAT ttl:hash {}", FAR_EXPIRY_MS / 1000));
    f.expect(b"ttl:hash", enc.compact);
    f.cmd("ZADD ttl:zset 1 m");
    f.cmd("PEXPIRE ttl:zset 123456789");
    f.expect(b"ttl:zset", enc.compact);
    f.cmd("XADD ttl:stream 1-1 f v");
    f.cmd(&format!("PEXPIREAT ttl:stream {FAR_EXPIRY_MS}"));
    f.expect(b"ttl:stream", enc.stream);
    run!(f, "SET", b"ttl:\x00binary", "v");
    run!(f, "PEXPIREAT", b"ttl:\x00binary", FAR_EXPIRY_MS.to_string());
    f.expect(b"ttl:\x00binary", Encoding::Raw);
    // An expiry removed again.
    f.cmd("SET ttl:persisted v EX 100");
    f.cmd("PERSIST ttl:persisted");
    f.expect(b"ttl:persisted", Encoding::Raw);
}

fn fill_other_dbs(f: &mut Filler<'_>) {
    let enc = Encodings::of(f.version);
    f.select(1);
    // The name of a key of db 0, with another value.
    f.cmd("SET str:short in-db-1");
    f.expect(b"str:short", Encoding::Raw);
    f.cmd("SET ttl:db1 v");
    f.cmd(&format!("PEXPIREAT ttl:db1 {FAR_EXPIRY_MS}"));
    f.expect(b"ttl:db1", Encoding::Raw);
    f.cmd("HSET hash:db1 f v n 1");
    f.expect(b"hash:db1", enc.compact);
    f.select(2);
    run!(f, "SET", b"bin:\x00\xff key", b"\x00\x01");
    f.expect(b"bin:\x00\xff key", Encoding::Raw);
    f.cmd("RPUSH list:db2 x y z");
    f.expect(b"list:db2", enc.list);
    f.select(9);
    f.cmd("XADD stream:db9 1-1 f v");
    f.cmd("XGROUP CREATE stream:db9 g 0");
    f.read_group(b"stream:db9", b"g", b"c", 1, b">");
    f.expect(b"stream:db9", enc.stream);
    f.cmd("SADD set:db9 7");
    f.expect(b"set:db9", Encoding::Intset);
    f.select(0);
}

/// Function libraries (7.0+): one function, and several with flags.
const LIBRARIES: [&str; 2] = [
    "#!lua name=lib_one\nredis.register_function('one', function(keys, args) return 1 end)",
    concat!(
        "#!lua name=lib_two\n",
        "redis.register_function{\n",
        "  function_name='get_ro',\n",
        "  callback=function(keys, args) return redis.call('GET', keys[1]) end,\n",
        "  flags={'no-writes'}\n",
        "}\n",
        "redis.register_function('two', function() return 2 end)\n",
    ),
];

fn fill_functions(f: &mut Filler<'_>) {
    for code in LIBRARIES {
        run!(f, "FUNCTION", "LOAD", code);
    }
}

/// Valkey 9 hash field TTLs: hashes with volatile fields are saved as `HASH_2`.
fn fill_hash_field_ttls(f: &mut Filler<'_>) {
    let far = FAR_EXPIRY_MS;
    run!(
        f,
        "HSET",
        "hfe:some",
        "a",
        "1",
        "b",
        "2",
        "c",
        "3",
        "d",
        "",
        "e",
        "long value"
    );
    f.cmd(&format!("HPEXPIREAT hfe:some {far} FIELDS 2 a d"));
    f.expect(b"hfe:some", Encoding::Hash2);
    run!(
        f,
        "HSETEX",
        "hfe:all",
        "PXAT",
        "4102444800456",
        "FIELDS",
        "2",
        "x",
        "1",
        "z",
        b"\xff"
    );
    f.expect(b"hfe:all", Encoding::Hash2);
    f.cmd("HSET hfe:relative f v g w");
    f.cmd("HEXPIRE hfe:relative 3600 FIELDS 1 f");
    f.expect(b"hfe:relative", Encoding::Hash2);
    let mut args = Vec::new();
    for i in 0..300 {
        args.push(format!("field:{i}").into_bytes());
        args.push(format!("value {i}").into_bytes());
    }
    f.run_many("HSET", b"hfe:big", &args);
    for i in (0..300).step_by(7) {
        f.cmd(&format!(
            "HPEXPIREAT hfe:big {} FIELDS 1 field:{i}",
            far + i
        ));
    }
    f.expect(b"hfe:big", Encoding::Hash2);
    // Field TTLs and a key TTL together.
    f.cmd("HSETEX hfe:key-ttl EX 7200 FIELDS 1 f v");
    f.cmd("HSET hfe:key-ttl g w");
    f.cmd(&format!("PEXPIREAT hfe:key-ttl {far}"));
    f.expect(b"hfe:key-ttl", Encoding::Hash2);
    // Every field TTL removed: a plain hash again.
    f.cmd("HSET hfe:persisted a 1 b 2");
    f.cmd("HPEXPIRE hfe:persisted 100000 FIELDS 1 a");
    f.cmd("HPERSIST hfe:persisted FIELDS 1 a");
    f.expect(b"hfe:persisted", Encoding::Hashtable);
}

/// What one pass over the RDB found.
struct Parsed<'a> {
    header: Header,
    aux: BTreeMap<Vec<u8>, Vec<u8>>,
    functions: BTreeSet<Vec<u8>>,
    /// Per db: the RESIZEDB hint (keys, keys with an expiry).
    resize: BTreeMap<u64, (u64, u64)>,
    keys: Vec<Key<'a>>,
    checksum: Option<u64>,
    len: u64,
}

fn parse(bytes: &[u8], version: Version) -> Parsed<'_> {
    let rdb = Rdb::new(bytes).unwrap_or_else(|e| panic!("{version}: header: {e}"));
    let mut p = Parsed {
        header: rdb.header(),
        aux: BTreeMap::new(),
        functions: BTreeSet::new(),
        resize: BTreeMap::new(),
        keys: Vec::new(),
        checksum: None,
        len: 0,
    };
    let mut db = None;
    let mut ended = false;
    for item in rdb.items() {
        let item = item.unwrap_or_else(|e| panic!("{version}: parsing the RDB: {e}"));
        assert!(!ended, "{version}: an item after End");
        match item {
            Item::Aux { key, value } => {
                let text =
                    |s: RdbString<'_>| s.to_vec().unwrap_or_else(|e| panic!("{version}: aux: {e}"));
                p.aux.insert(text(key), text(value));
            }
            Item::Function(Function::Library { code }) => {
                let code = code.to_vec();
                p.functions
                    .insert(code.unwrap_or_else(|e| panic!("{version}: function: {e}")));
            }
            Item::SelectDb { db: n } => {
                assert!(db < Some(n), "{version}: SELECTDB {n} after db {db:?}");
                db = Some(n);
            }
            Item::ResizeDb {
                db_size,
                expires_size,
            } => {
                let n = db.expect("RESIZEDB before SELECTDB");
                assert!(
                    p.resize.insert(n, (db_size, expires_size)).is_none(),
                    "{version}: two RESIZEDB in db {n}"
                );
            }
            Item::Key(k) => {
                assert_eq!(Some(k.db), db, "{version}: key's db");
                p.keys.push(k);
            }
            Item::End { checksum, len } => {
                (p.checksum, p.len) = (checksum, len);
                ended = true;
            }
            other => panic!("{version}: unexpected item {other:?}"),
        }
    }
    assert!(ended, "{version}: no End item");
    p
}

/// A key's name (decompressed when it is stored LZF-compressed).
fn name_of(k: &Key<'_>) -> Vec<u8> {
    k.key
        .to_vec()
        .unwrap_or_else(|e| panic!("db {} key at byte {}: {e}", k.db, k.offset))
}

/// Failures gathered over a whole run, each naming the version, db and key.
struct Failures {
    version: Version,
    list: Vec<String>,
}

impl Failures {
    fn key(&mut self, db: u64, key: &[u8], what: impl std::fmt::Display) {
        self.list.push(format!(
            "{} db {db} key {:?}: {what}",
            self.version,
            Bytes(key.to_vec())
        ));
    }

    fn file(&mut self, what: impl std::fmt::Display) {
        self.list.push(format!("{}: {what}", self.version));
    }

    fn finish(self) {
        if !self.list.is_empty() {
            const SHOWN: usize = 40;
            let mut text = self
                .list
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            if self.list.len() > SHOWN {
                text.push_str(&format!("\n... and {} more", self.list.len() - SHOWN));
            }
            panic!("{} failure(s):\n{text}", self.list.len());
        }
    }
}

fn start(version: Version) -> Server {
    let builder = Server::builder(version);
    // The LRU idle time (IDLE) and the LFU counter (FREQ) are saved only under
    // an LRU or LFU eviction policy: one version each, one without.
    match version {
        Version::Redis6_2 => builder.start(),
        Version::Redis7_0 => builder.config("maxmemory-policy", "allkeys-lru").start(),
        Version::Valkey9_1 => builder.config("maxmemory-policy", "allkeys-lfu").start(),
    }
}

fn check_version(version: Version) {
    let started = Instant::now();
    let server = start(version);
    let mut con = server.client();
    let expected = fill(&mut con, version);
    let before_save = support::now_ms();
    let path = server.save();
    let saved_at = Instant::now();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = parse(&bytes, version);
    let mut fails = Failures {
        version,
        list: Vec::new(),
    };

    // LRU / LFU metadata first: reading a key through commands updates it.
    check_idle_and_freq(&mut con, &parsed, saved_at, &mut fails);
    check_file(&parsed, &bytes, version, before_save, &mut fails);
    check_keyspace(&mut con, &parsed, &mut fails);
    let server_values = check_keys(&mut con, &parsed, &expected, &mut fails);
    check_functions(&mut con, &parsed, &mut fails);
    check_coverage(&parsed, &mut fails);
    check_dump_and_restore(&mut con, &parsed, &server_values, &mut fails);
    fails.finish();
    eprintln!(
        "{version}: {} keys in {} bytes checked in {:?}",
        parsed.keys.len(),
        bytes.len(),
        started.elapsed()
    );
}

fn check_idle_and_freq(
    con: &mut Connection,
    parsed: &Parsed<'_>,
    saved_at: Instant,
    fails: &mut Failures,
) {
    let version = fails.version;
    for k in &parsed.keys {
        let name = name_of(k);
        select(con, k.db);
        match version {
            Version::Redis6_2 => {
                if k.idle.is_some() || k.freq.is_some() {
                    fails.key(
                        k.db,
                        &name,
                        format!("idle {:?} freq {:?} under noeviction", k.idle, k.freq),
                    );
                }
            }
            Version::Redis7_0 => {
                let server: u64 = query(con, &[b"OBJECT", b"IDLETIME", &name]);
                let slack = saved_at.elapsed().as_secs() + 2;
                let ok = k.freq.is_none()
                    && k.idle
                        .is_some_and(|idle| idle <= server && server <= idle + slack);
                if !ok {
                    fails.key(
                        k.db,
                        &name,
                        format!(
                            "idle {:?} freq {:?}, server idle {server} s",
                            k.idle, k.freq
                        ),
                    );
                }
            }
            Version::Valkey9_1 => {
                let server: u8 = query(con, &[b"OBJECT", b"FREQ", &name]);
                // The counter decays by one a minute: a boundary may pass after SAVE.
                let ok = k.idle.is_none()
                    && k.freq.is_some_and(|freq| {
                        freq == server || u16::from(freq) == u16::from(server) + 1
                    });
                if !ok {
                    fails.key(
                        k.db,
                        &name,
                        format!("idle {:?} freq {:?}, server freq {server}", k.idle, k.freq),
                    );
                }
            }
        }
    }
}

fn check_file(
    parsed: &Parsed<'_>,
    bytes: &[u8],
    version: Version,
    before_save: i64,
    fails: &mut Failures,
) {
    let dialect = if version.is_valkey() {
        Dialect::Valkey
    } else {
        Dialect::Redis
    };
    let header = Header {
        version: version.rdb_version(),
        dialect,
    };
    if parsed.header != header {
        fails.file(format!("header {:?}, expected {header:?}", parsed.header));
    }
    let ver_field: &[u8] = if version.is_valkey() {
        b"valkey-ver"
    } else {
        b"redis-ver"
    };
    let aux = |name: &[u8]| {
        parsed
            .aux
            .get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    if aux(ver_field).as_deref() != Some(version.release()) {
        fails.file(format!(
            "aux {} = {:?}",
            String::from_utf8_lossy(ver_field),
            aux(ver_field)
        ));
    }
    if aux(b"redis-bits").as_deref() != Some("64") {
        fails.file(format!("aux redis-bits = {:?}", aux(b"redis-bits")));
    }
    let ctime: Option<i64> = aux(b"ctime").and_then(|t| t.parse().ok());
    let now_s = support::now_ms() / 1000;
    if !ctime.is_some_and(|t| before_save / 1000 - 1 <= t && t <= now_s + 1) {
        fails.file(format!(
            "aux ctime = {ctime:?}, saved between {} and {now_s}",
            before_save / 1000
        ));
    }
    if parsed.checksum.is_none_or(|c| c == 0) {
        fails.file(format!("checksum {:?}: SAVE writes one", parsed.checksum));
    }
    if parsed.len != bytes.len() as u64 {
        fails.file(format!(
            "End at {} bytes, file has {}",
            parsed.len,
            bytes.len()
        ));
    }
    // RESIZEDB hints are the exact key and expiry counts of each db.
    let mut counts: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for k in &parsed.keys {
        let c = counts.entry(k.db).or_default();
        c.0 += 1;
        c.1 += u64::from(k.expire_ms.is_some());
    }
    if parsed.resize != counts {
        fails.file(format!(
            "RESIZEDB {:?}, keys and expiries per db {counts:?}",
            parsed.resize
        ));
    }
}

fn check_keyspace(con: &mut Connection, parsed: &Parsed<'_>, fails: &mut Failures) {
    for db in 0..DATABASES {
        select(con, db);
        let server: BTreeSet<Vec<u8>> = query::<Vec<Vec<u8>>>(con, &[b"KEYS", b"*"])
            .into_iter()
            .collect();
        let mut in_file = BTreeSet::new();
        for k in parsed.keys.iter().filter(|k| k.db == db) {
            let name = name_of(k);
            if !in_file.insert(name.clone()) {
                fails.key(db, &name, "saved twice");
            }
        }
        for name in server.difference(&in_file) {
            fails.key(db, name, "on the server, not in the file");
        }
        for name in in_file.difference(&server) {
            fails.key(db, name, "in the file, not on the server");
        }
    }
}

/// Compares every key's type, value, encoding and expiry; returns the server's
/// values, for the restore check.
fn check_keys(
    con: &mut Connection,
    parsed: &Parsed<'_>,
    expected: &BTreeMap<(u64, Vec<u8>), Encoding>,
    fails: &mut Failures,
) -> BTreeMap<(u64, Vec<u8>), Canon> {
    let version = fails.version;
    let mut seen = BTreeSet::new();
    let mut server_values = BTreeMap::new();
    for k in &parsed.keys {
        let name = name_of(k);
        let db = k.db;
        seen.insert((db, name.clone()));
        select(con, db);
        match expected.get(&(db, name.clone())) {
            None => fails.key(db, &name, "not in the dataset"),
            Some(&e) if e != k.value.encoding() => {
                let server: String = query(con, &[b"OBJECT", b"ENCODING", &name]);
                fails.key(
                    db,
                    &name,
                    format!(
                        "encoding {:?} (type byte {}), expected {e:?} (server holds it as {server})",
                        k.value.encoding(),
                        k.type_byte
                    ),
                );
            }
            Some(_) => {}
        }
        let server = from_server(con, version, &name);
        let server_type: String = query(con, &[b"TYPE", &name]);
        if server_type != k.value.value_type().as_str() {
            fails.key(
                db,
                &name,
                format!("type {:?}, server {server_type}", k.value.value_type()),
            );
        }
        match from_parsed(&k.value) {
            Ok(value) => {
                if let Some(d) = diff(&value, &server) {
                    fails.key(db, &name, d);
                }
                match k.value.validate() {
                    Ok(n) if n == value.len() => {}
                    other => fails.key(
                        db,
                        &name,
                        format!("validate() = {other:?}, walked {} elements", value.len()),
                    ),
                }
            }
            Err(e) => fails.key(db, &name, format!("decoding the value: {e}")),
        }
        let expiry = support::server_expiry(con, version, &name);
        if !expiry.matches(k.expire_ms) {
            fails.key(
                db,
                &name,
                format!("expiry {:?}, server {expiry:?}", k.expire_ms),
            );
        }
        server_values.insert((db, name), server);
    }
    for (db, name) in expected.keys().filter(|k| !seen.contains(*k)) {
        fails.key(*db, name, "written by the dataset, not in the file");
    }
    server_values
}

/// Encodings the comparison cannot see, checked on the stored bytes: the dataset
/// must keep producing them.
fn check_coverage(parsed: &Parsed<'_>, fails: &mut Failures) {
    let version = fails.version;
    let find = |db: u64, name: &[u8]| {
        parsed
            .keys
            .iter()
            .find(|k| k.db == db && k.key.to_vec().is_ok_and(|n| n == name))
    };
    let mut require = |db: u64, name: &[u8], what: &str, ok: &dyn Fn(&Key<'_>) -> bool| {
        if !find(db, name).is_some_and(ok) {
            fails.key(db, name, format!("the dataset no longer produces {what}"));
        }
    };
    require(0, b"12345", "an int-encoded key name", &|k| {
        matches!(k.key, RdbString::Int(12345))
    });
    require(0, LONG_KEY, "an LZF-compressed key name", &|k| {
        matches!(k.key, RdbString::Lzf { .. })
    });
    if version != Version::Redis6_2 {
        // One quicklist node (len 1), a PLAIN container (len 1).
        require(0, b"list:plain-only", "a PLAIN quicklist node", &|k| {
            k.raw_value.starts_with(&[1, 1])
        });
    }
}

fn check_functions(con: &mut Connection, parsed: &Parsed<'_>, fails: &mut Failures) {
    let mut server = BTreeSet::new();
    if fails.version != Version::Redis6_2 {
        let list: Vec<redis::Value> = query(con, &[b"FUNCTION", b"LIST", b"WITHCODE"]);
        for lib in &list {
            let redis::Value::Array(fields) = lib else {
                panic!("FUNCTION LIST: {lib:?}")
            };
            let code = fields
                .chunks(2)
                .find(|p| matches!(&p[0], redis::Value::BulkString(n) if n == b"library_code"))
                .map(|p| match &p[1] {
                    redis::Value::BulkString(code) => code.clone(),
                    other => panic!("library_code {other:?}"),
                })
                .expect("library_code");
            server.insert(code);
        }
        let written: BTreeSet<Vec<u8>> = LIBRARIES.iter().map(|c| c.as_bytes().to_vec()).collect();
        assert_eq!(server, written, "{}: FUNCTION LIST", fails.version);
    }
    if parsed.functions != server {
        let show = |s: &BTreeSet<Vec<u8>>| s.iter().map(|c| Bytes(c.clone())).collect::<Vec<_>>();
        fails.file(format!(
            "functions {:?}, server {:?}",
            show(&parsed.functions),
            show(&server)
        ));
    }
}

/// `DUMP` payloads decode to the parsed value; payloads built from the file restore
/// to the server's value and expiry.
fn check_dump_and_restore(
    con: &mut Connection,
    parsed: &Parsed<'_>,
    server_values: &BTreeMap<(u64, Vec<u8>), Canon>,
    fails: &mut Failures,
) {
    let version = fails.version;
    for k in &parsed.keys {
        let name = name_of(k);
        let db = k.db;
        let Ok(value) = from_parsed(&k.value) else {
            continue;
        };
        select(con, db);
        let dump: Vec<u8> = query(con, &[b"DUMP", &name]);
        match parse_dump(&dump) {
            Ok(d) => {
                if d.header != parsed.header || d.type_byte != k.type_byte {
                    fails.key(
                        db,
                        &name,
                        format!(
                            "DUMP header {:?} type {}, file {:?} type {}",
                            d.header, d.type_byte, parsed.header, k.type_byte
                        ),
                    );
                }
                match from_parsed(&d.value) {
                    Ok(dumped) => {
                        if let Some(d) = diff(&dumped, &value) {
                            fails.key(
                                db,
                                &name,
                                format!("DUMP payload vs file (as parsed vs file): {d}"),
                            );
                        }
                    }
                    Err(e) => fails.key(db, &name, format!("decoding the DUMP payload: {e}")),
                }
            }
            Err(e) => fails.key(db, &name, format!("parse_dump: {e}")),
        }

        let mut restored = b"restored:".to_vec();
        restored.extend_from_slice(&name);
        let ttl = k.expire_ms.unwrap_or(0).to_string();
        let payload = k.dump_payload();
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(&restored).arg(&ttl).arg(&payload).arg("ABSTTL");
        if let Err(e) = cmd.query::<()>(con) {
            fails.key(
                db,
                &name,
                format!("RESTORE of dump_payload() ({} bytes): {e}", payload.len()),
            );
            continue;
        }
        let again = from_server(con, version, &restored);
        if let Some(d) = diff(&again, &server_values[&(db, name.clone())]) {
            fails.key(
                db,
                &name,
                format!("restored from dump_payload() vs original (as restored vs original): {d}"),
            );
        }
        let expiry = support::server_expiry(con, version, &restored);
        if !expiry.matches(k.expire_ms) {
            fails.key(
                db,
                &name,
                format!("restored expiry {expiry:?}, file {:?}", k.expire_ms),
            );
        }
        let _: () = query(con, &[b"DEL", &restored]);
    }
}

#[test]
fn redis_6_2() {
    check_version(Version::Redis6_2);
}

#[test]
fn redis_7_0() {
    check_version(Version::Redis7_0);
}

#[test]
fn valkey_9_1() {
    check_version(Version::Valkey9_1);
}
