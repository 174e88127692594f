//! The `restore` program against real servers: RDB files into standalone and
//! cluster targets, Redis 7.0 multi-part AOF directories and a Redis 6.2 AOF with an
//! RDB preamble replayed, filters, `--seed` through replication, and the summary it
//! prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{
    Cluster, Load, LoadOptions, Server, Snapshot, Version, redis, write_mixed, write_sample,
};

fn restore(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_restore"))
        .args(args)
        .output()
        .expect("run restore");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn same(a: &Snapshot, b: &Snapshot, what: &str) {
    assert!(a.keys.len() > 100, "{what}: {} keys", a.keys.len());
    // Keys that expired before an AOF was replayed live on for the grace period.
    let slack = migrate::AOF_EXPIRY_GRACE.as_millis() as i64 + 2000;
    let d = a.diff(b, slack);
    assert!(d.is_empty(), "{what}: {d:#?}");
}

const DBS: [u64; 4] = [0, 1, 2, 3];

/// A server of `version` holding the sample and `mixed` keys in db 0, and the RDB
/// it saved.
fn saved_sample(version: Version, mixed: usize) -> (Server, PathBuf) {
    let src = Server::start(version);
    let mut con = src.client();
    write_sample(&mut con, version);
    redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    write_mixed(&mut con, mixed);
    let rdb = src.save();
    (src, rdb)
}

#[test]
fn rdb_into_standalone_and_cluster() {
    let (src, rdb) = saved_sample(Version::Valkey9_1, 2000);
    let target = Server::start(Version::Valkey9_1);
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--check-empty",
        rdb.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    assert!(log.contains("keys restored"), "{log}");
    same(
        &Snapshot::of_server(&src, &DBS),
        &Snapshot::of_server(&target, &DBS),
        "standalone",
    );
    // Not empty any more: --check-empty refuses.
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--check-empty",
        rdb.to_str().unwrap(),
    ]);
    assert!(!ok && log.contains("not empty"), "{log}");

    let cluster = Cluster::start(Version::Valkey9_1, 3);
    let (ok, log) = restore(&[
        "--target",
        &cluster.nodes()[2].url(),
        "--db",
        "0",
        rdb.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    same(
        &Snapshot::of_server(&src, &[0]),
        &Snapshot::of_cluster(&cluster),
        "cluster",
    );
}

#[test]
fn seed_through_replication() {
    let (src, rdb) = saved_sample(Version::Redis7_0, 2000);
    let target = Server::builder(Version::Redis7_0)
        .password("s3cret-seed")
        .start();
    let (ok, log) = restore(&["--target", &target.url(), "--seed", rdb.to_str().unwrap()]);
    assert!(ok, "{log}");
    assert!(log.contains("through replication"), "{log}");
    assert!(!log.contains("s3cret-seed"), "{log}");
    same(
        &Snapshot::of_server(&src, &DBS),
        &Snapshot::of_server(&target, &DBS),
        "seed",
    );
    // Refused with a reason: filters, and a target that is not empty any more.
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--seed",
        "--db",
        "0",
        rdb.to_str().unwrap(),
    ]);
    assert!(!ok && log.contains("loads the file whole"), "{log}");
    let (ok, log) = restore(&["--target", &target.url(), "--seed", rdb.to_str().unwrap()]);
    assert!(!ok && log.contains("not empty"), "{log}");
    assert!(!log.contains("s3cret-seed"), "{log}");
}

/// A file the target cannot read is converted for it first (a Redis 7.0 RDB for
/// Redis 6.2, which reads RDB 9), then loaded by the target itself.
#[test]
fn seed_converts_for_an_older_target() {
    let (src, rdb) = saved_sample(Version::Redis7_0, 2000);
    let target = Server::start(Version::Redis6_2);
    let (ok, log) = restore(&["--target", &target.url(), "--seed", rdb.to_str().unwrap()]);
    assert!(!ok && log.contains("function library \"sample\""), "{log}");
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--seed",
        "--drop-functions",
        rdb.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    assert!(
        log.contains("convert: 1 function libraries left out") && log.contains("re-encoded"),
        "{log}"
    );
    assert!(log.contains("through replication"), "{log}");
    same(
        &Snapshot::of_server(&src, &DBS),
        &Snapshot::of_server(&target, &DBS),
        "seeded into 6.2",
    );
}

#[test]
fn filters_and_db_mapping() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    write_mixed(&mut con, 500);
    for db in [1, 2] {
        redis::cmd("SELECT").arg(db).query::<()>(&mut con).unwrap();
        redis::cmd("SET")
            .arg(format!("user:{db}"))
            .arg(db)
            .query::<()>(&mut con)
            .unwrap();
        redis::cmd("SET")
            .arg(format!("other:{db}"))
            .arg(db)
            .query::<()>(&mut con)
            .unwrap();
    }
    let rdb = src.save();
    let target = Server::start(Version::Redis7_0);
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--skip-db",
        "0",
        "--prefix",
        "user:",
        "--db-map",
        "all:5",
        rdb.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    let snap = Snapshot::of_server(&target, &[0, 5]);
    let keys: Vec<_> = snap
        .keys
        .keys()
        .map(|(db, k)| (*db, String::from_utf8_lossy(k).into_owned()))
        .collect();
    assert_eq!(keys, [(5, "user:1".to_owned()), (5, "user:2".to_owned())]);
    assert!(log.contains("filtered"), "{log}");
}

/// A server with AOF on, written to in several phases so the AOF has a base and
/// several increments (a multi-part directory on 7.0, one file on 6.2).
fn aof_source(version: Version, preamble: bool) -> Server {
    let server = Server::builder(version)
        .config("appendonly", "yes")
        .config("aof-use-rdb-preamble", if preamble { "yes" } else { "no" })
        .config("appendfsync", "always")
        .start();
    let mut con = server.client();
    write_mixed(&mut con, 300);
    for seed in 1..=2 {
        let load = Load::start(
            &server,
            LoadOptions {
                dbs: DBS.to_vec(),
                seed,
                max_commands: Some(1500),
                ..LoadOptions::default()
            },
        );
        load.finish();
        redis::cmd("BGREWRITEAOF").query::<()>(&mut con).unwrap();
        wait_rewrite(&mut con);
    }
    let load = Load::start(
        &server,
        LoadOptions {
            dbs: DBS.to_vec(),
            seed: 9,
            max_commands: Some(1500),
            ..LoadOptions::default()
        },
    );
    load.finish();
    server
}

fn wait_rewrite(con: &mut redis::Connection) {
    for _ in 0..500 {
        let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("AOF rewrite did not finish");
}

fn replayed(version: Version, aof: &Path, src: &Server, what: &str) {
    let target = Server::start(version);
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--database-commands",
        "apply",
        aof.to_str().unwrap(),
    ]);
    assert!(ok, "{what}: {log}");
    same(
        &Snapshot::of_server(src, &DBS),
        &Snapshot::of_server(&target, &DBS),
        what,
    );
}

#[test]
fn redis_7_multi_part_aof_directories() {
    for preamble in [true, false] {
        let src = aof_source(Version::Redis7_0, preamble);
        let dir = src.data_dir().join("appendonlydir");
        assert!(dir.is_dir());
        replayed(
            Version::Redis7_0,
            &dir,
            &src,
            &format!("7.0 AOF preamble={preamble}"),
        );
    }
}

#[test]
fn redis_6_2_single_aof_files() {
    for preamble in [true, false] {
        let src = aof_source(Version::Redis6_2, preamble);
        let file = src.data_dir().join("appendonly.aof");
        assert!(file.is_file());
        replayed(
            Version::Redis6_2,
            &file,
            &src,
            &format!("6.2 AOF preamble={preamble}"),
        );
    }
}

/// An RDB a server would load: a key holding an empty set (which it skips, with a
/// warning) and bytes after the checksum (which it ignores). `restore` does the
/// same, where `RESTORE` of the empty set would fail with "Bad data format".
#[test]
fn empty_collections_and_bytes_after_the_checksum_as_a_server_loads_them() {
    let mut rdb = b"REDIS0009".to_vec();
    rdb.extend_from_slice(&[0xfe, 0x00]); // SELECTDB 0
    rdb.extend_from_slice(&[0x02, 0x05]); // a set, its name:
    rdb.extend_from_slice(b"empty");
    rdb.push(0x00); // no member
    rdb.extend_from_slice(&[0x00, 0x01, b'k', 0x01, b'v']); // the string k = v
    rdb.push(0xff); // EOF
    rdb.extend_from_slice(&[0; 8]); // no checksum
    rdb.extend_from_slice(b"\n\0 left by a copy tool");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("odd.rdb");
    std::fs::write(&file, &rdb).unwrap();
    let target = Server::start(Version::Redis7_0);
    let (ok, log) = restore(&["--target", &target.url(), file.to_str().unwrap()]);
    assert!(ok, "{log}");
    assert!(log.contains("1 empty collections skipped"), "{log}");
    assert!(
        log.contains("bytes after the RDB's checksum were ignored"),
        "{log}"
    );
    let mut con = target.client();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert_eq!(keys, ["k"]);
}

/// A Redis 7.0 RDB with a function library into Redis 6.2, and a Valkey 9.1 RDB
/// with hash field TTLs into Redis 7.0: refused with a clear error, then restored
/// with `--drop-functions` / `--drop-field-ttls`, what was left out counted in
/// the summary.
#[test]
fn lossy_options_into_older_targets() {
    let (src, rdb) = saved_sample(Version::Redis7_0, 200);
    let target = Server::start(Version::Redis6_2);
    let (ok, log) = restore(&["--target", &target.url(), rdb.to_str().unwrap()]);
    assert!(!ok && log.contains("functions need Redis 7.0"), "{log}");
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--drop-functions",
        rdb.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    assert!(
        log.contains("restore: 1 function libraries and 0 hash field TTLs left out"),
        "{log}"
    );
    // RDB 10's listpacks re-encoded for 6.2, which reads RDB 9.
    assert!(
        log.contains("of the keys restored re-encoded for the target's older RDB version"),
        "{log}"
    );
    same(
        &Snapshot::of_server(&src, &DBS),
        &Snapshot::of_server(&target, &DBS),
        "functions left out",
    );

    let src = Server::start(Version::Valkey9_1);
    let mut con = src.client();
    write_mixed(&mut con, 200);
    redis::cmd("HSET")
        .arg("h")
        .arg(&["a", "1", "b", "2"])
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("HPEXPIRE")
        .arg("h")
        .arg(100_000_000)
        .arg("FIELDS")
        .arg(2)
        .arg(&["a", "b"])
        .query::<()>(&mut con)
        .unwrap();
    let rdb = src.save();
    let target = Server::start(Version::Redis7_0);
    let (ok, log) = restore(&["--target", &target.url(), rdb.to_str().unwrap()]);
    assert!(!ok && log.contains("hash field TTLs"), "{log}");
    redis::cmd("FLUSHALL")
        .query::<()>(&mut target.client())
        .unwrap();
    let (ok, log) = restore(&[
        "--target",
        &target.url(),
        "--drop-field-ttls",
        rdb.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    assert!(
        log.contains("restore: 0 function libraries and 2 hash field TTLs left out"),
        "{log}"
    );
    let h: Vec<String> = redis::cmd("HGETALL")
        .arg("h")
        .query(&mut target.client())
        .unwrap();
    assert_eq!(h, ["a", "1", "b", "2"]);
}
