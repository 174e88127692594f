//! Real AOF files: written by Redis 6.2 (one file, with and without an RDB
//! preamble) and by Redis 7.0 and Valkey 9.1 (multi-part directories, with and
//! without a preamble, several incr files, timestamp annotations), read with
//! `AofReader`, replayed into a fresh server of the same version (a `SELECT` before
//! each command of another database than the last), and compared with the source
//! by `DEBUG DIGEST`.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use aof::{AofItem, AofReader};
use bytes::{Bytes, BytesMut};
use resp_codec::{DbCommand, FrameCodec, Pipeline, command_len};
use testkit::redis::{self, Connection};
use testkit::{Server, Version, write_mixed, write_sample};

fn run(con: &mut Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn info_field(con: &mut Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("INFO has no {field}"))
        .trim()
        .to_owned()
}

fn wait_for_rewrite(con: &mut Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(con, "aof_rewrite_in_progress") != "0"
        || info_field(con, "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "AOF rewrite did not finish");
        sleep(Duration::from_millis(20));
    }
}

fn digest(con: &mut Connection) -> String {
    redis::cmd("DEBUG").arg("DIGEST").query(con).unwrap()
}

/// Writes that exercise what an AOF holds after the sample data: a transaction,
/// relative expiries (stored as absolute ones), deletions, another db.
fn write_more(con: &mut Connection, tag: &str) {
    run(con, &["SET", &format!("more:{tag}"), "1"]);
    let _: () = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg(format!("counter:{tag}"))
        .cmd("RPUSH")
        .arg("more:list")
        .arg(tag)
        .query(con)
        .unwrap();
    run(con, &["EXPIRE", &format!("more:{tag}"), "100000"]);
    run(con, &["SELECT", "2"]);
    run(con, &["HSET", "more:hash", tag, "value with spaces\r\n"]);
    run(con, &["SELECT", "0"]);
    run(con, &["DEL", "more:nothing"]);
}

/// The pid of the server's forked child (the AOF rewrite), from /proc.
fn child_of(pid: &str) -> Option<String> {
    for entry in fs::read_dir("/proc").ok()? {
        let path = entry.ok()?.path();
        let Ok(stat) = fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses: state, ppid, ...
        let rest = stat.rsplit_once(')')?.1;
        if rest.split_whitespace().nth(1) == Some(pid) {
            return Some(path.file_name()?.to_string_lossy().into_owned());
        }
    }
    None
}

/// Starts a rewrite, makes it slow, writes meanwhile, then kills it: the server
/// keeps the incr file it opened for the rewrite, so the manifest lists one more.
fn add_incr_file_by_failed_rewrite(con: &mut Connection, tag: &str) {
    run(con, &["CONFIG", "SET", "rdb-key-save-delay", "100000"]);
    run(con, &["BGREWRITEAOF"]);
    let pid = info_field(con, "process_id");
    let deadline = Instant::now() + Duration::from_secs(10);
    let child = loop {
        if let Some(child) = child_of(&pid) {
            break child;
        }
        assert!(Instant::now() < deadline, "no rewrite child appeared");
        sleep(Duration::from_millis(10));
    };
    write_more(con, tag);
    std::process::Command::new("kill")
        .args(["-9", &child])
        .status()
        .unwrap();
    run(con, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_for_rewrite(con);
}

/// Reads the AOF at `path` and replays it into a fresh server of `version`:
/// the RDB (preamble or base) as the new server's dump file, then every command in
/// its database.
fn replay(version: Version, path: &Path) -> (Server, usize, bool) {
    let mut rdb = None;
    let mut commands: Vec<DbCommand> = Vec::new();
    for item in AofReader::open(path).unwrap() {
        match item.unwrap() {
            AofItem::Rdb(bytes) => {
                assert!(
                    rdb.is_none() && commands.is_empty(),
                    "the RDB comes first, once"
                );
                rdb = Some(bytes);
            }
            AofItem::Command(cmd) => commands.push(cmd),
            AofItem::Truncated(t) => panic!("unexpected truncation {t:?}"),
            other => panic!("{other:?}"),
        }
    }
    let mut target = Server::start(version);
    let had_rdb = rdb.is_some();
    if let Some(rdb) = rdb {
        fs::write(target.rdb_path(), &rdb).unwrap();
        target.restart();
    }
    let mut stream = TcpStream::connect(target.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The commands as sent: a SELECT where the database changes.
    let mut sent: Vec<Vec<Bytes>> = Vec::new();
    let mut db = 0;
    for cmd in &commands {
        if cmd.db != db {
            db = cmd.db;
            sent.push(vec!["SELECT".into(), db.to_string().into()]);
        }
        sent.push(cmd.args.clone());
    }
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    for batch in sent.chunks(500) {
        let mut p = Pipeline::new();
        for args in batch {
            p.push(args);
        }
        stream.write_all(&p.take()).unwrap();
        for args in batch {
            let reply = loop {
                if let Some(f) = codec.decode(&mut buf).unwrap() {
                    break f;
                }
                let mut chunk = [0u8; 65536];
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            };
            assert!(
                !reply.is_error(),
                "{} failed: {reply:?}",
                String::from_utf8_lossy(&args[0])
            );
        }
    }
    (target, commands.len(), had_rdb)
}

fn assert_same_data(source: &Server, target: &Server) {
    let (mut s, mut t) = (source.client(), target.client());
    let (ds, dt) = (digest(&mut s), digest(&mut t));
    assert_ne!(ds, "0".repeat(40), "the source holds data");
    assert_eq!(
        ds, dt,
        "DEBUG DIGEST of the source and of the replayed copy"
    );
}

fn multi_part(version: Version, preamble: bool) {
    let source = Server::builder(version)
        .config("appendonly", "yes")
        // Every write reaches the file before the test reads it (with everysec a
        // slow background fsync may postpone writes on a loaded machine).
        .config("appendfsync", "always")
        .config("aof-use-rdb-preamble", if preamble { "yes" } else { "no" })
        .config("aof-timestamp-enabled", "yes")
        .start();
    let mut con = source.client();
    write_sample(&mut con, version);
    write_mixed(&mut con, 300);
    run(&mut con, &["BGREWRITEAOF"]);
    wait_for_rewrite(&mut con);
    write_more(&mut con, "a");
    add_incr_file_by_failed_rewrite(&mut con, "b");
    // The server annotates the first write of each new second.
    sleep(Duration::from_millis(1100));
    write_more(&mut con, "c");

    let dir = source.data_dir().join("appendonlydir");
    let reader = AofReader::open(&dir).unwrap();
    let manifest = reader.manifest().unwrap();
    let base = manifest.base().unwrap();
    assert!(
        base.file
            .ends_with(if preamble { ".base.rdb" } else { ".base.aof" }),
        "{manifest:?}"
    );
    let incrs = manifest.load_order().count() - 1;
    assert!(incrs >= 2, "several incr files: {manifest:?}");
    let annotated = manifest.load_order().skip(1).any(|e| {
        fs::read(dir.join(&e.file))
            .unwrap()
            .windows(5)
            .any(|w| w == b"\n#TS:" || w.starts_with(b"#TS:"))
    });
    assert!(annotated, "timestamps annotate the incr files");

    let (target, commands, had_rdb) = replay(version, &dir);
    assert_eq!(had_rdb, preamble);
    assert!(commands > 10);
    assert_same_data(&source, &target);
}

#[test]
fn redis_7_0_multi_part_with_preamble() {
    multi_part(Version::Redis7_0, true);
}

#[test]
fn redis_7_0_multi_part_without_preamble() {
    multi_part(Version::Redis7_0, false);
}

#[test]
fn valkey_9_1_multi_part_with_preamble() {
    multi_part(Version::Valkey9_1, true);
}

fn single_file(preamble: bool) -> (Server, PathBuf) {
    let version = Version::Redis6_2;
    let source = Server::builder(version)
        .config("appendonly", "yes")
        // Every write reaches the file before the test reads it (with everysec a
        // slow background fsync may postpone writes on a loaded machine).
        .config("appendfsync", "always")
        .config("aof-use-rdb-preamble", if preamble { "yes" } else { "no" })
        .start();
    let mut con = source.client();
    write_sample(&mut con, version);
    write_mixed(&mut con, 300);
    run(&mut con, &["BGREWRITEAOF"]);
    wait_for_rewrite(&mut con);
    write_more(&mut con, "a");
    write_more(&mut con, "b");
    let file = source.data_dir().join("appendonly.aof");
    assert_eq!(fs::read(&file).unwrap().starts_with(b"REDIS"), preamble);
    let (target, commands, had_rdb) = replay(version, &file);
    assert_eq!(had_rdb, preamble);
    assert!(commands > 10);
    assert_same_data(&source, &target);
    (source, file)
}

#[test]
fn redis_6_2_single_file_with_preamble() {
    single_file(true);
}

#[test]
fn redis_6_2_single_file_without_preamble() {
    single_file(false);
}

/// A file cut inside its last command, as a crash leaves it: every command before
/// is delivered, then the cut is reported where the server would truncate.
#[test]
fn a_real_file_cut_inside_its_last_command() {
    let (_source, file) = single_file(true);
    let mut last_start = 0;
    let mut last_end = 0;
    let mut count = 0;
    for item in AofReader::open(&file).unwrap() {
        if let AofItem::Command(cmd) = item.unwrap() {
            // An AOF command is the multibulk encoding of its arguments.
            last_start = cmd.offset - command_len(&cmd.args) as u64;
            last_end = cmd.offset;
            count += 1;
        }
    }
    let bytes = fs::read(&file).unwrap();
    assert_eq!(
        last_end,
        bytes.len() as u64,
        "the last command ends the file"
    );
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("appendonly.aof");
    fs::write(&cut, &bytes[..last_start as usize + 7]).unwrap();
    let items: Vec<AofItem> = AofReader::open(&cut).unwrap().map(Result::unwrap).collect();
    let commands = items
        .iter()
        .filter(|i| matches!(i, AofItem::Command(_)))
        .count();
    let Some(AofItem::Truncated(t)) = items.last() else {
        panic!("{:?}", items.last())
    };
    // Seven bytes of the last command remain: they are the dropped part.
    assert_eq!(t.len + t.offset, last_start + 7);
    assert!(commands < count);
    assert_eq!(t.path.as_deref(), Some(cut.as_path()));
}
