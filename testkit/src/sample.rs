//! A small, deterministic dataset with one key of each type, for sample files.

use redis::Connection;

use crate::version::Version;

/// Fixed absolute expiry (2100-01-01 UTC, ms) so generated files are reproducible.
pub const SAMPLE_EXPIRE_MS: i64 = 4_102_444_800_000;

/// Writes the sample dataset: strings (plain, integer, compressible, binary,
/// expiring), a list, sets (intset and strings), a sorted set with an infinite
/// score, a hash, a stream with a consumer group and a pending entry, a key in db 1,
/// and on 7.0+ a function library.
///
/// # Panics
/// When a command fails.
pub fn write_sample(con: &mut Connection, version: Version) {
    let run = |con: &mut Connection, args: &[&[u8]]| {
        let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<redis::Value>(con)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(args[0])));
    };
    let compressible = "abc".repeat(40);
    let expire = SAMPLE_EXPIRE_MS.to_string();
    let commands: Vec<Vec<&[u8]>> = vec![
        vec![b"SELECT", b"0"],
        vec![b"SET", b"greeting", b"hello world"],
        vec![b"SET", b"counter", b"12345"],
        vec![b"SET", b"compressible", compressible.as_bytes()],
        vec![b"SET", b"binary", b"\x00\x01\xfe\xff"],
        vec![b"SET", b"session:42", b"active"],
        vec![b"PEXPIREAT", b"session:42", expire.as_bytes()],
        vec![b"RPUSH", b"colors", b"red", b"green", b"blue"],
        vec![b"SADD", b"primes", b"2", b"3", b"5", b"7", b"11"],
        vec![b"SADD", b"tags", b"rust", b"redis", b"valkey"],
        vec![
            b"ZADD", b"scores", b"1.5", b"alice", b"2", b"bob", b"inf", b"carol",
        ],
        vec![
            b"HSET",
            b"user:1",
            b"name",
            b"Ada",
            b"email",
            b"ada@example.com",
            b"visits",
            b"7",
        ],
        vec![
            b"XADD",
            b"events",
            b"1700000000000-0",
            b"type",
            b"login",
            b"user",
            b"1",
        ],
        vec![
            b"XADD",
            b"events",
            b"1700000000001-0",
            b"type",
            b"logout",
            b"user",
            b"1",
        ],
        vec![
            b"XADD",
            b"events",
            b"1700000000002-0",
            b"note",
            b"different fields",
        ],
        vec![b"XGROUP", b"CREATE", b"events", b"workers", b"0"],
        vec![
            b"XREADGROUP",
            b"GROUP",
            b"workers",
            b"w1",
            b"COUNT",
            b"1",
            b"STREAMS",
            b"events",
            b">",
        ],
        vec![b"SELECT", b"1"],
        vec![b"SET", b"other-db", b"db 1"],
        vec![b"SELECT", b"0"],
    ];
    for c in &commands {
        run(con, c);
    }
    if version != Version::Redis6_2 {
        run(
            con,
            &[
                b"FUNCTION",
                b"LOAD",
                b"#!lua name=sample\nredis.register_function('hello', function() return 'hi' end)",
            ],
        );
    }
}
