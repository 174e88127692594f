//! The `convert` program: RDB files written by real servers rewritten for other
//! servers, which load them at start-up (the oracle); every key read back through
//! commands equals the source's. Items the output cannot hold stop the conversion
//! naming them, or are left out and counted with the lossy options.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{Server, Snapshot, Version, redis, write_mixed, write_sample};

const DBS: [u64; 3] = [0, 1, 2];

/// Runs `convert` with `args`: whether it succeeded, and its stderr.
fn convert(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_convert"))
        .args(args)
        .output()
        .expect("run convert");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(con: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<redis::Value>(con)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// A server of `version` holding the sample, mixed keys of every type and
/// encoding in dbs 0 and 2, and larger values; and the file it saved.
fn saved_source(version: Version) -> (Server, PathBuf) {
    let src = Server::start(version);
    let mut con = src.client();
    write_sample(&mut con, version);
    for db in ["0", "2"] {
        run(&mut con, &["SELECT", db]);
        write_mixed(&mut con, 1500);
    }
    run(&mut con, &["SELECT", "0"]);
    let items: Vec<String> = (0..3000).map(|i| format!("element-{i}")).collect();
    let mut rpush = vec!["RPUSH", "long:list"];
    rpush.extend(items.iter().map(String::as_str));
    run(&mut con, &rpush);
    let rdb = src.save();
    (src, rdb)
}

/// A server of `version` started on `file`: it loads the file at start-up, or
/// the start panics with the end of its log.
fn loaded(version: Version, file: &Path) -> Server {
    let mut server = Server::start(version);
    server.kill();
    std::fs::copy(file, server.rdb_path()).expect("copy the converted file");
    server.restart();
    server
}

fn assert_same(source: &Server, target: &Server, what: &str) {
    let a = Snapshot::of_server(source, &DBS);
    let b = Snapshot::of_server(target, &DBS);
    assert!(a.keys.len() > 3000, "{what}: {} keys", a.keys.len());
    let d = a.diff(&b, 1000);
    assert!(d.is_empty(), "{what}: {d:#?}");
}

/// The number in `log` just before `what` (`"4 re-encoded"` -> 4).
fn count(log: &str, what: &str) -> u64 {
    let at = log
        .find(what)
        .unwrap_or_else(|| panic!("{what:?} in {log}"));
    log[..at]
        .trim_end()
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count before {what:?} in {log}"))
}

/// Redis 7.0's file (RDB 10: listpacks, quicklist 2, streams of format 2, a
/// function library) for Redis 6.2 (RDB 9) and for Valkey 9.1 (its own format).
#[test]
fn a_redis_7_0_file_for_redis_6_2_and_valkey_9_1() {
    let (src, rdb) = saved_source(Version::Redis7_0);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("for-6.2.rdb");
    let (input, output) = (rdb.to_str().unwrap(), out.to_str().unwrap());

    // The library stops it, naming itself and the option; no file is left.
    let (ok, log) = convert(&[input, output, "--rdb-version", "9"]);
    assert!(!ok, "{log}");
    assert!(
        log.contains("function library \"sample\"") && log.contains("--drop-functions"),
        "{log}"
    );
    assert!(!out.exists() && std::fs::read_dir(dir.path()).unwrap().count() == 0);

    let (ok, log) = convert(&[input, output, "--rdb-version", "9", "--drop-functions"]);
    assert!(ok, "{log}");
    assert!(
        log.contains("convert: 1 function libraries left out (--drop-functions)"),
        "{log}"
    );
    assert!(count(&log, "re-encoded") > 1000, "{log}");
    let target = loaded(Version::Redis6_2, &out);
    assert_same(&src, &target, "7.0 into 6.2");

    let out = dir.path().join("for-valkey.rdb");
    let (ok, log) = convert(&[input, out.to_str().unwrap(), "--valkey"]);
    assert!(ok, "{log}");
    assert_eq!(count(&log, "re-encoded"), 0, "{log}");
    assert!(std::fs::read(&out).unwrap().starts_with(b"VALKEY080"));
    let target = loaded(Version::Valkey9_1, &out);
    assert_same(&src, &target, "7.0 into Valkey 9.1");
    let libraries: Vec<redis::Value> = redis::cmd("FUNCTION")
        .arg("LIST")
        .query(&mut target.client())
        .unwrap();
    assert_eq!(libraries.len(), 1, "{libraries:?}");
}

/// Valkey 9.1's file (its own format: set listpacks, hash field TTLs) for Redis
/// 7.0 (RDB 10), and Redis 6.2's (RDB 9) for Redis 7.0, with a filter and a
/// database map.
#[test]
fn valkey_and_6_2_files_for_redis_7_0() {
    let (src, _) = saved_source(Version::Valkey9_1);
    let mut con = src.client();
    run(&mut con, &["HSET", "fields", "a", "1", "b", "2", "c", "3"]);
    run(
        &mut con,
        &["HPEXPIRE", "fields", "100000000", "FIELDS", "2", "a", "b"],
    );
    let rdb = src.save();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("for-7.0.rdb");
    let (input, output) = (rdb.to_str().unwrap(), out.to_str().unwrap());

    let (ok, log) = convert(&[input, output, "--rdb-version", "10"]);
    assert!(!ok, "{log}");
    assert!(
        log.contains("key \"fields\"") && log.contains("--drop-field-ttls"),
        "{log}"
    );
    let (ok, log) = convert(&[input, output, "--rdb-version", "10", "--drop-field-ttls"]);
    assert!(ok, "{log}");
    assert!(
        log.contains("convert: 1 hashes written without their field TTLs"),
        "{log}"
    );
    let target = loaded(Version::Redis7_0, &out);
    let fields: Vec<String> = redis::cmd("HGETALL")
        .arg("fields")
        .query(&mut target.client())
        .unwrap();
    assert_eq!(fields, ["a", "1", "b", "2", "c", "3"]);
    run(&mut con, &["DEL", "fields"]);
    run(&mut target.client(), &["DEL", "fields"]);
    assert_same(&src, &target, "Valkey 9.1 into 7.0");

    // Upward, keys of db 2 only, into db 1.
    let (src, rdb) = saved_source(Version::Redis6_2);
    let out = dir.path().join("6.2-for-7.0.rdb");
    let (ok, log) = convert(&[
        rdb.to_str().unwrap(),
        out.to_str().unwrap(),
        "--rdb-version",
        "10",
        "--db",
        "2",
        "--db-map",
        "2:1",
    ]);
    assert!(ok, "{log}");
    assert_eq!(count(&log, "re-encoded"), 0, "{log}");
    assert!(count(&log, "filtered") > 1500, "{log}");
    let target = loaded(Version::Redis7_0, &out);
    let a = Snapshot::of_server(&src, &[2]);
    let b = Snapshot::of_server(&target, &[0, 1, 2]);
    assert_eq!(a.keys.len(), 1500);
    let moved = Snapshot {
        keys: a.keys.into_iter().map(|((_, k), e)| ((1, k), e)).collect(),
    };
    let d = moved.diff(&b, 1000);
    assert!(d.is_empty(), "{d:#?}");
}

/// Bad input and impossible versions are errors naming what and where.
#[test]
fn corrupt_input_and_unknown_versions_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rdb-parser/tests/fixtures/redis-7.0.15/sample.rdb"
    );
    let out = dir.path().join("out.rdb");
    let output = out.to_str().unwrap();
    let (ok, log) = convert(&[fixture, output, "--rdb-version", "6"]);
    assert!(!ok && log.contains("RDB version 6"), "{log}");
    let mut bytes = std::fs::read(fixture).unwrap();
    bytes.truncate(bytes.len() / 2);
    let cut = dir.path().join("cut.rdb");
    std::fs::write(&cut, &bytes).unwrap();
    let (ok, log) = convert(&[cut.to_str().unwrap(), output]);
    assert!(!ok && log.contains("cut.rdb"), "{log}");
    assert!(!out.exists());
}

/// Redis 7.4's hashes with field TTLs (RDB 12 `HASH_METADATA`, as the format
/// describes it: no server here writes it): into Valkey 9.1 with every field's
/// expiry, as a converted file and restored as payloads; into Redis 7.0 and 6.2
/// without them when told to.
#[test]
fn redis_7_4_field_ttls_for_valkey_and_older_redis() {
    const T: i64 = 4_102_444_800_000;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("redis-7.4.rdb");
    // min expiry, count, then (expiry - min + 1 or 0, field, value).
    let mut hash = T.to_le_bytes().to_vec();
    hash.extend_from_slice(&[3, 0, 4]);
    hash.extend_from_slice(b"keep");
    hash.extend_from_slice(&[1, b'1', 11, 1, b'f', 1, b'2', 1, 1, b'g', 1, b'3']);
    let mut rdb = rdb_parser::RdbWriter::new(
        std::fs::File::create(&input).unwrap(),
        rdb_parser::Header {
            version: 12,
            dialect: rdb_parser::Dialect::Redis,
        },
    )
    .unwrap();
    rdb.select_db(0).unwrap();
    rdb.key(b"fields", None, 24, &hash).unwrap();
    rdb.key(b"plain", Some(T), 0, b"\x05hello").unwrap();
    rdb.finish().unwrap();
    let input = input.to_str().unwrap();
    let expiries = |server: &Server| -> Vec<i64> {
        redis::cmd("HPEXPIRETIME")
            .arg("fields")
            .arg("FIELDS")
            .arg(3)
            .arg(&["keep", "f", "g"])
            .query(&mut server.client())
            .unwrap()
    };
    let hash_of = |server: &Server| -> Vec<String> {
        redis::cmd("HGETALL")
            .arg("fields")
            .query(&mut server.client())
            .unwrap()
    };
    let all = ["keep", "1", "f", "2", "g", "3"];

    let out = dir.path().join("for-valkey.rdb");
    let (ok, log) = convert(&[input, out.to_str().unwrap(), "--valkey"]);
    assert!(ok, "{log}");
    assert_eq!(count(&log, "re-encoded"), 1, "{log}");
    let valkey = loaded(Version::Valkey9_1, &out);
    assert_eq!(hash_of(&valkey), all);
    assert_eq!(expiries(&valkey), [-1, T + 10, T]);
    let pexpiretime: i64 = redis::cmd("PEXPIRETIME")
        .arg("plain")
        .query(&mut valkey.client())
        .unwrap();
    assert_eq!(pexpiretime, T);

    let valkey = Server::start(Version::Valkey9_1);
    let out = Command::new(env!("CARGO_BIN_EXE_restore"))
        .args(["--target", &valkey.url(), input])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("restore: 2 keys restored, 0 written as commands"),
        "{log}"
    );
    assert_eq!(hash_of(&valkey), all);
    assert_eq!(expiries(&valkey), [-1, T + 10, T]);

    for (version, rdb_version) in [(Version::Redis7_0, "10"), (Version::Redis6_2, "9")] {
        let out = dir.path().join(format!("for-{rdb_version}.rdb"));
        let output = out.to_str().unwrap();
        let (ok, log) = convert(&[input, output, "--rdb-version", rdb_version]);
        assert!(!ok && log.contains("--drop-field-ttls"), "{log}");
        let (ok, log) = convert(&[
            input,
            output,
            "--rdb-version",
            rdb_version,
            "--drop-field-ttls",
        ]);
        assert!(ok, "{log}");
        let server = loaded(version, &out);
        assert_eq!(hash_of(&server), all, "{version:?}");
    }
}

/// Valkey 9.1's file for Redis 6.2, and Redis 6.2's for Valkey 9.1.
#[test]
fn valkey_9_1_and_redis_6_2_files_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let (src, rdb) = saved_source(Version::Valkey9_1);
    let out = dir.path().join("for-6.2.rdb");
    let (ok, log) = convert(&[
        rdb.to_str().unwrap(),
        out.to_str().unwrap(),
        "--rdb-version",
        "9",
        "--drop-functions",
    ]);
    assert!(ok, "{log}");
    assert!(count(&log, "re-encoded") > 1000, "{log}");
    let target = loaded(Version::Redis6_2, &out);
    assert_same(&src, &target, "Valkey 9.1 into 6.2");

    let (src, rdb) = saved_source(Version::Redis6_2);
    let out = dir.path().join("for-valkey.rdb");
    let (ok, log) = convert(&[rdb.to_str().unwrap(), out.to_str().unwrap(), "--valkey"]);
    assert!(ok, "{log}");
    assert_eq!(count(&log, "re-encoded"), 0, "{log}");
    let target = loaded(Version::Valkey9_1, &out);
    assert_same(&src, &target, "6.2 into Valkey 9.1");
}
