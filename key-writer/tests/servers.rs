//! The writer against real targets: RDBs written by Redis 6.2, 7.0 and Valkey 9.1
//! restored into standalone and cluster targets of the same and of other versions
//! (through the command fallback), compared key by key with the source; the
//! existing-key policies; forwarded commands split by slot; large values in pieces;
//! error replies named.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use endpoint::Endpoint;
use key_writer::{DbCommand, DbMap, Error, ExistingKeys, Writer, WriterOptions};
use rdb_parser::{Item, Rdb};
use testkit::{Cluster, Server, Snapshot, Version, redis, write_mixed, write_sample};

fn endpoint(server: &Server) -> Endpoint {
    server.url().parse().unwrap()
}

/// Every key of the RDB at `path` written through `writer`.
async fn restore_file(writer: &mut Writer, path: &Path) {
    let file = std::fs::read(path).unwrap();
    for item in Rdb::new(&file).unwrap().items() {
        match item.unwrap() {
            Item::Key(key) => writer.write_key(&key).await.unwrap(),
            Item::Function(rdb_parser::Function::Library { code }) => {
                match writer.write_function(&code.to_vec().unwrap()).await {
                    // Redis 6.2 has no functions: the caller is told, and goes on.
                    Err(Error::Unsupported { .. }) if writer.target().version < (7, 0, 0) => {}
                    other => other.unwrap(),
                }
            }
            _ => {}
        }
    }
    writer.flush().await.unwrap();
}

/// A source with every type (the sample in several dbs, the mixed dataset in db 0).
fn source(version: Version, dbs: bool) -> Server {
    let server = Server::start(version);
    let mut con = server.client();
    if dbs {
        write_sample(&mut con, version);
    }
    redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    write_mixed(&mut con, 3000);
    server
}

const ALL_DBS: [u64; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn assert_same(a: &Snapshot, b: &Snapshot, what: &str) {
    assert!(a.keys.len() > 1000, "{what}: only {} keys", a.keys.len());
    let d = a.diff(b, 1000);
    assert!(d.is_empty(), "{what}: {d:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_version_into_standalone_and_cluster() {
    for version in [Version::Redis6_2, Version::Redis7_0, Version::Valkey9_1] {
        let src = source(version, true);
        let rdb = src.save();
        let target = Server::start(version);
        let mut writer = Writer::connect(&endpoint(&target), WriterOptions::default())
            .await
            .unwrap();
        restore_file(&mut writer, &rdb).await;
        assert!(writer.stats().keys_restored > 1000);
        assert_eq!(writer.stats().keys_as_commands, 0, "{version:?}");
        assert_same(
            &Snapshot::of_server(&src, &ALL_DBS),
            &Snapshot::of_server(&target, &ALL_DBS),
            &format!("{version:?} standalone"),
        );

        let src = source(version, false);
        let rdb = src.save();
        let cluster = Cluster::start(version, 3);
        let mut writer = Writer::connect(&endpoint(&cluster.nodes()[1]), WriterOptions::default())
            .await
            .unwrap();
        assert!(writer.is_cluster());
        restore_file(&mut writer, &rdb).await;
        assert_same(
            &Snapshot::of_server(&src, &[0]),
            &Snapshot::of_cluster(&cluster),
            &format!("{version:?} cluster"),
        );
        // Function libraries reach every master.
        if version != Version::Redis6_2 {
            writer
                .write_function(
                    b"#!lua name=everywhere\nredis.register_function('f', function() return 1 end)",
                )
                .await
                .unwrap();
            let mut forwarded = Vec::new();
            for part in [
                "FUNCTION",
                "LOAD",
                "#!lua name=forwarded\nredis.register_function('g', function() return 2 end)",
            ] {
                forwarded.push(Bytes::from(part));
            }
            writer
                .write_command(&DbCommand::new(0, (forwarded).to_vec()))
                .await
                .unwrap();
            writer.flush().await.unwrap();
            for m in cluster.masters() {
                let list: Vec<redis::Value> = redis::cmd("FUNCTION")
                    .arg("LIST")
                    .query(&mut m.client())
                    .unwrap();
                assert_eq!(
                    list.len(),
                    2,
                    "{version:?}: every master has both libraries"
                );
            }
        }
    }
}

/// Newer RDBs into older targets: the values re-encoded in the older forms and
/// restored as payloads (the target loading them is the check), streams and what
/// else has no older form as commands; and everything as commands when forced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_files_into_older_targets_as_payloads_and_commands() {
    for (from, to) in [
        (Version::Redis7_0, Version::Redis6_2),
        (Version::Valkey9_1, Version::Redis7_0),
        (Version::Redis7_0, Version::Valkey9_1),
    ] {
        let src = source(from, true);
        let rdb = src.save();
        for force_commands in [false, true] {
            let target = Server::start(to);
            let options = WriterOptions {
                force_commands,
                ..WriterOptions::default()
            };
            let mut writer = Writer::connect(&endpoint(&target), options).await.unwrap();
            restore_file(&mut writer, &rdb).await;
            let what = format!("{from:?} into {to:?}, forced commands: {force_commands}");
            let s = writer.stats();
            let all = s.keys_restored + s.keys_as_commands;
            if force_commands {
                assert_eq!(s.keys_as_commands, all, "{what}: {s:?}");
            } else if (from, to) != (Version::Redis7_0, Version::Valkey9_1) {
                assert_eq!(s.keys_transcoded, all, "{what}: {s:?}");
            }
            // Stream metadata the older target cannot hold is left out: compare
            // entries and groups only (what Snapshot reads).
            assert_same(
                &Snapshot::of_server(&src, &ALL_DBS),
                &Snapshot::of_server(&target, &ALL_DBS),
                &what,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_key_policies() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    for i in 0..50 {
        redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg("source")
            .query::<()>(&mut con)
            .unwrap();
    }
    redis::cmd("RPUSH")
        .arg("list")
        .arg("a")
        .arg("b")
        .query::<()>(&mut con)
        .unwrap();
    let rdb = src.save();
    for (policy, force_commands) in [
        (ExistingKeys::Rewrite, false),
        (ExistingKeys::Ignore, false),
        (ExistingKeys::Fail, false),
        (ExistingKeys::Ignore, true),
        (ExistingKeys::Fail, true),
    ] {
        let target = Server::start(Version::Redis7_0);
        let mut t = target.client();
        redis::cmd("SET")
            .arg("k7")
            .arg("target")
            .query::<()>(&mut t)
            .unwrap();
        redis::cmd("SET")
            .arg("list")
            .arg("target")
            .query::<()>(&mut t)
            .unwrap();
        let options = WriterOptions {
            existing: policy,
            force_commands,
            ..WriterOptions::default()
        };
        let mut writer = Writer::connect(&endpoint(&target), options).await.unwrap();
        let file = std::fs::read(&rdb).unwrap();
        let mut result = Ok(());
        for item in Rdb::new(&file).unwrap().items() {
            if let Item::Key(key) = item.unwrap() {
                result = writer.write_key(&key).await;
                if result.is_err() {
                    break;
                }
            }
        }
        if result.is_ok() {
            result = writer.flush().await.map(|_| ());
        }
        let k7: String = redis::cmd("GET").arg("k7").query(&mut t).unwrap();
        let what = format!("{policy:?} commands={force_commands}");
        match policy {
            ExistingKeys::Rewrite => {
                result.unwrap();
                assert_eq!(k7, "source");
                let list: Vec<String> = redis::cmd("LRANGE")
                    .arg("list")
                    .arg(0)
                    .arg(-1)
                    .query(&mut t)
                    .unwrap();
                assert_eq!(list, ["a", "b"]);
            }
            ExistingKeys::Ignore => {
                result.unwrap();
                assert_eq!(k7, "target", "{what}");
                assert_eq!(writer.stats().keys_existing, 2, "{what}");
                let n: u64 = redis::cmd("DBSIZE").query(&mut t).unwrap();
                assert_eq!(n, 51, "{what}: no temporary key may stay behind");
            }
            _ => {
                let e = result.unwrap_err();
                assert!(
                    matches!(&e, Error::Reply { key, .. } if key.contains("k7") || key.contains("list")),
                    "{what}: {e}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_commands_are_split_by_slot_on_a_cluster() {
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let mut writer = Writer::connect(&endpoint(&cluster.nodes()[0]), WriterOptions::default())
        .await
        .unwrap();
    let cmd = |s: &str| -> Vec<Bytes> { s.split(' ').map(|a| Bytes::from(a.to_owned())).collect() };
    for c in [
        "MSET a 1 b 2 c 3 d 4 e 5",
        "INCR a",
        "DEL b c",
        "SELECT 0",
        "MULTI",
        "INCR {x}1",
        "LPUSH {x}2 v",
        "EXEC",
        "RPUSH list 1 2 3",
    ] {
        writer
            .write_command(&DbCommand::new(0, (cmd(c)).to_vec()))
            .await
            .unwrap();
    }
    writer.flush().await.unwrap();
    let snap = Snapshot::of_cluster(&cluster);
    let keys: Vec<String> = snap
        .keys
        .keys()
        .map(|(_, k)| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(keys, ["a", "d", "e", "list", "{x}1", "{x}2"]);
    assert_eq!(
        snap.keys[&(0, b"a".to_vec())].data,
        testkit::Data::String(b"2".to_vec())
    );
    let e = writer
        .write_command(&DbCommand::new(0, (cmd("MSETNX a 1 b 2 c 3")).to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::CrossSlot { .. }), "{e}");
    let e = writer
        .write_command(&DbCommand::new(3, (cmd("SET k v")).to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Database { db: 3 }), "{e}");
    let e = writer
        .write_command(&DbCommand::new(0, (cmd("FLUSHALL")).to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_values_in_pieces_and_db_mapping() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    let big: Vec<u8> = (0..5u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    redis::cmd("SET")
        .arg("big-string")
        .arg(&big)
        .query::<()>(&mut con)
        .unwrap();
    for batch in 0..20 {
        let mut hset = redis::cmd("HSET");
        let mut zadd = redis::cmd("ZADD");
        hset.arg("big-hash");
        zadd.arg("big-zset");
        for i in batch * 1000..(batch + 1) * 1000 {
            hset.arg(format!("field{i}")).arg(i);
            zadd.arg(i).arg(format!("m{i}"));
        }
        hset.query::<()>(&mut con).unwrap();
        zadd.query::<()>(&mut con).unwrap();
    }
    redis::cmd("PEXPIRE")
        .arg("big-hash")
        .arg(600_000)
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("SELECT").arg(5).query::<()>(&mut con).unwrap();
    redis::cmd("SET")
        .arg("in-db-5")
        .arg(1)
        .query::<()>(&mut con)
        .unwrap();
    let rdb = src.save();
    let target = Server::start(Version::Redis7_0);
    let mut options = WriterOptions {
        large_value: 64 << 10,
        ..WriterOptions::default()
    };
    options.hooks.push(DbMap::AllTo(2));
    let mut writer = Writer::connect(&endpoint(&target), options).await.unwrap();
    restore_file(&mut writer, &rdb).await;
    assert_eq!(writer.stats().keys_as_commands, 3);
    let a = Snapshot::of_server(&src, &[0, 5]);
    let b = Snapshot::of_server(&target, &[2]);
    let remap: BTreeMap<_, _> = b.keys.into_iter().map(|((_, k), v)| (k, v)).collect();
    assert_eq!(a.keys.len(), remap.len());
    for ((_, k), v) in &a.keys {
        let w = &remap[k];
        assert_eq!(v.data, w.data);
        assert_eq!(v.expire_at_ms.is_some(), w.expire_at_ms.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_and_readonly_targets_give_clear_errors() {
    let src = source(Version::Redis7_0, false);
    let rdb = src.save();
    let full = Server::builder(Version::Redis7_0)
        .config("maxmemory", "1")
        .config("maxmemory-policy", "noeviction")
        .start();
    let mut writer = Writer::connect(&endpoint(&full), WriterOptions::default())
        .await
        .unwrap();
    let file = std::fs::read(&rdb).unwrap();
    let mut error = None;
    for item in Rdb::new(&file).unwrap().items() {
        if let Item::Key(key) = item.unwrap()
            && let Err(e) = writer.write_key(&key).await
        {
            error = Some(e);
            break;
        }
    }
    let e = match error {
        Some(e) => e,
        None => writer.flush().await.unwrap_err(),
    };
    assert!(
        matches!(&e, Error::Reply { message, .. } if message.starts_with("OOM")),
        "{e}"
    );
    assert!(e.to_string().contains("RESTORE on key"), "{e}");

    let master = Server::start(Version::Redis7_0);
    let replica = Server::start(Version::Redis7_0);
    redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port())
        .query::<()>(&mut replica.client())
        .unwrap();
    let mut writer = Writer::connect(&endpoint(&replica), WriterOptions::default())
        .await
        .unwrap();
    writer
        .write_command(&DbCommand::new(
            0,
            ([Bytes::from("SET"), Bytes::from("k"), Bytes::from("v")]).to_vec(),
        ))
        .await
        .unwrap();
    let e = writer.flush().await.unwrap_err();
    assert!(
        matches!(&e, Error::Reply { message, .. } if message.starts_with("READONLY")),
        "{e}"
    );
}

/// A slot migrated (CLUSTER SETSLOT + MIGRATE) while keys of that slot are being
/// restored into it: ASK and MOVED are followed and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_during_a_slot_migration() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    for batch in 0..40 {
        let mut pipe = redis::pipe();
        for i in batch * 500..(batch + 1) * 500 {
            pipe.cmd("SET").arg(format!("{{mig}}:{i}")).arg(i).ignore();
        }
        pipe.cmd("RPUSH")
            .arg(format!("{{mig}}:list{batch}"))
            .arg("a")
            .arg("b")
            .ignore();
        pipe.query::<()>(&mut con).unwrap();
    }
    let rdb = src.save();
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let slot = endpoint::slot(b"{mig}");
    let id = |s: &Server| -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut s.client())
            .unwrap()
    };
    let masters = cluster.masters();
    let owner = masters
        .iter()
        .find(|m| {
            let keys: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut m.client()).unwrap();
            keys.iter().any(|r| match r {
                redis::Value::Array(p) => matches!((&p[0], &p[1]), (redis::Value::Int(a), redis::Value::Int(b)) if (*a..=*b).contains(&i64::from(slot)))
                    && matches!(&p[2], redis::Value::Array(n) if n[1] == redis::Value::Int(i64::from(m.port()))),
                _ => false,
            })
        })
        .copied()
        .unwrap();
    let dest = masters
        .iter()
        .find(|m| m.port() != owner.port())
        .copied()
        .unwrap();
    let (owner_id, dest_id) = (id(owner), id(dest));
    let dest_port = dest.port();
    // The keys are there before the migration starts, and written again during it:
    // some are migrated first (ASK, MIGRATE), the rest after (MOVED).
    let mut first = Writer::connect(&endpoint(&cluster.nodes()[0]), WriterOptions::default())
        .await
        .unwrap();
    restore_file(&mut first, &rdb).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The writer starts once some keys have moved, so it meets ASK for sure.
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let migrator = {
        let done = done.clone();
        let (mut o, mut d) = (owner.client(), dest.client());
        let all: Vec<u16> = masters.iter().map(|m| m.port()).collect();
        std::thread::spawn(move || {
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("IMPORTING")
                .arg(&owner_id)
                .query::<()>(&mut d)
                .unwrap();
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("MIGRATING")
                .arg(&dest_id)
                .query::<()>(&mut o)
                .unwrap();
            let mut moved = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::Relaxed);
                let keys: Vec<String> = redis::cmd("CLUSTER")
                    .arg("GETKEYSINSLOT")
                    .arg(slot)
                    .arg(200)
                    .query(&mut o)
                    .unwrap();
                if !keys.is_empty() {
                    let mut m = redis::cmd("MIGRATE");
                    m.arg("127.0.0.1")
                        .arg(dest_port)
                        .arg("")
                        .arg(0)
                        .arg(5000)
                        .arg("REPLACE")
                        .arg("KEYS")
                        .arg(&keys);
                    m.query::<()>(&mut o).unwrap();
                    moved += keys.len();
                    if moved >= 1000 {
                        let _ = started_tx.send(());
                    }
                } else if finished {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            for port in all {
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}"))
                    .unwrap()
                    .get_connection()
                    .unwrap();
                redis::cmd("CLUSTER")
                    .arg("SETSLOT")
                    .arg(slot)
                    .arg("NODE")
                    .arg(&dest_id)
                    .query::<()>(&mut c)
                    .unwrap();
            }
            moved
        })
    };
    started_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the migration started");
    let mut writer = Writer::connect(
        &endpoint(&cluster.nodes()[0]),
        WriterOptions {
            max_batch_commands: 64,
            ..WriterOptions::default()
        },
    )
    .await
    .unwrap();
    restore_file(&mut writer, &rdb).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let moved = migrator.join().unwrap();
    assert!(moved > 0, "the migration moved nothing");
    assert!(writer.stats().redirections > 0, "{:?}", writer.stats());
    let n: u64 = redis::cmd("DBSIZE").query(&mut dest.client()).unwrap();
    assert_eq!(n, 20_040, "every key is on the new owner");
    assert_same(
        &Snapshot::of_server(&src, &[0]),
        &Snapshot::of_cluster(&cluster),
        "after the migration",
    );
}

/// A proxy is one address that routes by itself: the writer sends it everything,
/// splits nothing by slot, asks it no `CLUSTER` command, and writes db 0 only.
/// (No proxy is installable on the test machines; a standalone server answers as
/// one would for these commands.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_mode_sends_everything_to_one_address() {
    let src = source(Version::Redis7_0, false);
    let rdb = src.save();
    let target = Server::start(Version::Redis7_0);
    let options = WriterOptions {
        mode: key_writer::TargetMode::Proxy,
        ..WriterOptions::default()
    };
    let mut writer = Writer::connect(&endpoint(&target), options).await.unwrap();
    assert!(!writer.is_cluster());
    restore_file(&mut writer, &rdb).await;
    assert_same(
        &Snapshot::of_server(&src, &[0]),
        &Snapshot::of_server(&target, &[0]),
        "proxy",
    );
    let mset: Vec<Bytes> = ["MSET", "{a}1", "x", "{b}2", "y"]
        .into_iter()
        .map(Bytes::from)
        .collect();
    writer
        .write_command(&DbCommand::new(0, (mset).to_vec()))
        .await
        .unwrap();
    writer.flush().await.unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut target.client())
        .unwrap();
    assert!(stats.contains("cmdstat_mset:calls=1,"), "{stats}");
    assert!(!stats.contains("cmdstat_cluster"), "{stats}");
    let set: Vec<Bytes> = ["SET", "k", "v"].into_iter().map(Bytes::from).collect();
    match writer
        .write_command(&DbCommand::new(1, (set).to_vec()))
        .await
    {
        Err(Error::Database { db: 1 }) => {}
        other => panic!("db 1 through a proxy: {other:?}"),
    }
}

fn logged(db: u64, offset: u64, text: &str) -> DbCommand {
    let args = text.split(' ').map(|a| Bytes::from(a.to_owned())).collect();
    DbCommand { db, args, offset }
}

fn get(con: &mut redis::Connection, db: u64, key: &str) -> Option<String> {
    redis::cmd("SELECT").arg(db).query::<()>(con).unwrap();
    redis::cmd("GET").arg(key).query(con).unwrap()
}

/// A source transaction is held until its EXEC: flush never reports an offset
/// inside it; its commands keep the databases the source selected inside it; a
/// database command inside it follows the policy; a MULTI inside it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_held_whole_with_their_databases() {
    let target = Server::start(Version::Redis7_0);
    let mut con = target.client();
    let mut writer = Writer::connect(&endpoint(&target), WriterOptions::default())
        .await
        .unwrap();
    writer
        .write_command(&logged(0, 10, "SET before 1"))
        .await
        .unwrap();
    writer.write_command(&logged(0, 20, "MULTI")).await.unwrap();
    writer
        .write_command(&logged(0, 30, "INCR a"))
        .await
        .unwrap();
    writer
        .write_command(&logged(2, 40, "INCR b"))
        .await
        .unwrap();
    assert_eq!(
        writer.flush().await.unwrap(),
        Some(10),
        "not inside the transaction"
    );
    assert_eq!(get(&mut con, 0, "before").as_deref(), Some("1"));
    assert_eq!(get(&mut con, 0, "a"), None, "held until EXEC");
    writer.write_command(&logged(2, 50, "EXEC")).await.unwrap();
    assert_eq!(writer.flush().await.unwrap(), Some(50));
    assert_eq!(get(&mut con, 0, "a").as_deref(), Some("1"));
    assert_eq!(
        get(&mut con, 2, "b").as_deref(),
        Some("1"),
        "in the db selected inside"
    );
    assert_eq!(get(&mut con, 0, "b"), None);

    writer.write_command(&logged(0, 60, "MULTI")).await.unwrap();
    let e = writer
        .write_command(&logged(0, 70, "FLUSHALL"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Refused { command, .. } if command == "FLUSHALL"),
        "{e}"
    );
    assert_eq!(
        get(&mut con, 0, "a").as_deref(),
        Some("1"),
        "nothing flushed"
    );

    let mut writer = Writer::connect(&endpoint(&target), WriterOptions::default())
        .await
        .unwrap();
    writer.write_command(&logged(0, 80, "MULTI")).await.unwrap();
    let e = writer
        .write_command(&logged(0, 90, "MULTI"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Refused { command, .. } if command == "MULTI"),
        "{e}"
    );
    assert_eq!(writer.discard_transaction(), Some(0));
}

/// EXEC calls the target's nodes counted (`INFO commandstats`).
fn execs(nodes: &[&Server]) -> u64 {
    nodes
        .iter()
        .map(|n| {
            let text: String = redis::cmd("INFO")
                .arg("commandstats")
                .query(&mut n.client())
                .unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix("cmdstat_exec:calls="))
                .and_then(|v| v.split(',').next()?.parse().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// Runs `args` on whichever master of `cluster` serves its key.
fn on_cluster(cluster: &Cluster, args: &[&str]) -> redis::Value {
    for node in cluster.masters() {
        if let Ok(v) = redis::cmd(args[0])
            .arg(&args[1..])
            .query(&mut node.client())
        {
            return v;
        }
    }
    panic!("no master serves {args:?}");
}

/// On a cluster target every slot's commands go in a MULTI/EXEC with the slot's
/// checkpoint (a source transaction stays whole), and a floor follows once all
/// nodes hold everything up to it. A writer started again from an old floor
/// skips, slot by slot, all it finds applied: counters stay exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_checkpoints_cover_each_slot() {
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let name = "a-source";
    let options = || WriterOptions {
        checkpoint: Some(key_writer::CheckpointOptions::new(name)),
        ..WriterOptions::default()
    };
    let mut writer = Writer::connect(&endpoint(&cluster.nodes()[0]), options())
        .await
        .unwrap();
    assert_eq!(writer.read_checkpoints().await.unwrap(), vec![None]);
    writer.begin_full_resync("r1", 0).await.unwrap();
    writer.mark(0);
    assert_eq!(writer.flush().await.unwrap(), Some(0));
    let before = execs(&cluster.masters());

    let mut stream = vec![
        (10, "MULTI".to_owned()),
        (20, "INCR {a}x".into()),
        (30, "LPUSH {a}y 1".into()),
        (40, "EXEC".into()),
    ];
    let keys = 300;
    for i in 0..keys {
        stream.push((100 + i * 10, format!("INCR counter:{i}")));
    }
    let last = 100 + keys * 10;
    stream.push((last, "DEL counter:0 counter:1 counter:2".into()));
    for (offset, text) in &stream {
        writer
            .write_command(&logged(0, *offset, text))
            .await
            .unwrap();
    }
    assert_eq!(writer.flush().await.unwrap(), Some(last));
    let slots: std::collections::BTreeSet<u16> = (0..keys)
        .map(|i| endpoint::slot(format!("counter:{i}").as_bytes()))
        .collect();
    assert!(
        execs(&cluster.masters()) - before >= slots.len() as u64,
        "a MULTI/EXEC per slot at least"
    );
    let floor_key = format!("{}:{name}", key_writer::DEFAULT_CHECKPOINT_NAME);
    let slot_key = |s: u16| format!("{floor_key}:{{{}}}", endpoint::slot_tag(s));
    let held = |key: &str| match on_cluster(&cluster, &["GET", key]) {
        redis::Value::BulkString(v) => String::from_utf8(v).unwrap(),
        other => panic!("{key}: {other:?}"),
    };
    // Each slot's checkpoint: the last command of that slot.
    let mut expected = BTreeMap::new();
    for (offset, text) in &stream {
        for key in text.split(' ').skip(1).filter(|k| k.contains(':')) {
            expected.insert(endpoint::slot(key.as_bytes()), *offset);
        }
    }
    expected.insert(endpoint::slot(b"{a}x"), 40);
    for (slot, offset) in &expected {
        assert_eq!(held(&slot_key(*slot)), format!("1 r1 {offset} 0 loaded"));
    }
    let del_parts: std::collections::BTreeSet<u16> = (0..3)
        .map(|i| endpoint::slot(format!("counter:{i}").as_bytes()))
        .collect();

    // A crash before the floor caught up: a restart resumes from the old floor.
    on_cluster(&cluster, &["SET", &floor_key, "1 r1 0 0 loaded"]);
    let mut again = Writer::connect(&endpoint(&cluster.nodes()[1]), options())
        .await
        .unwrap();
    let found = again.read_checkpoints().await.unwrap();
    assert_eq!(found, vec![Some(key_writer::Checkpoint::new("r1", 0, 0))]);
    again.continue_stream("r1");
    for (offset, text) in &stream {
        again
            .write_command(&logged(0, *offset, text))
            .await
            .unwrap();
    }
    assert_eq!(again.flush().await.unwrap(), Some(last));
    // Every request skipped: 2 in the transaction, one per counter, the DEL's parts.
    let stats = again.stats();
    assert_eq!(
        stats.already_applied,
        2 + keys + del_parts.len() as u64,
        "{stats:?}"
    );
    let incr = |key: &str| on_cluster(&cluster, &["GET", key]);
    assert_eq!(incr("{a}x"), redis::Value::BulkString(b"1".to_vec()));
    assert_eq!(incr("counter:5"), redis::Value::BulkString(b"1".to_vec()));
    assert_eq!(incr("counter:1"), redis::Value::Nil);
    assert_eq!(
        on_cluster(&cluster, &["LLEN", "{a}y"]),
        redis::Value::Int(1)
    );
    // A floor written now covers it all.
    assert!(held(&floor_key).starts_with(&format!("1 r1 {last} 0 ")));
    // A new full resync: the slots' checkpoints of the old stream are gone (a
    // restart must not skip by them), the floor says loading.
    again.begin_full_resync("r2", 5).await.unwrap();
    for slot in expected.keys() {
        assert_eq!(
            on_cluster(&cluster, &["EXISTS", &slot_key(*slot)]),
            redis::Value::Int(0)
        );
    }
    assert_eq!(held(&floor_key), "1 r2 5 0 loading");
    let removed = again
        .remove_checkpoints(key_writer::DEFAULT_CHECKPOINT_NAME)
        .await
        .unwrap();
    assert_eq!(removed, 1, "the floor");
}

fn cmd(server: &Server, args: &[&str]) -> redis::Value {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(&mut server.client()).unwrap()
}

/// Each item of an RDB written with `options` into `target`: the writer's stats,
/// or the first error.
async fn restore_with(
    target: &Server,
    options: WriterOptions,
    rdb: &Path,
) -> Result<key_writer::Stats, Error> {
    let mut writer = Writer::connect(&endpoint(target), options).await?;
    let file = std::fs::read(rdb).unwrap();
    for item in Rdb::new(&file).unwrap().items() {
        writer.write_item(&item.unwrap()).await?;
    }
    writer.flush().await?;
    Ok(writer.stats())
}

/// Hash field TTLs and function libraries a target cannot hold stop the writer
/// unless the lossy options say to leave them out; then they are counted, and the
/// rest is written. A large hash's field TTLs are kept field by field wherever
/// they are in the hash (not only when its first field has one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_options_leave_out_what_the_target_cannot_hold() {
    // Field TTLs: Valkey 9.1 into Redis 7.0.
    let src = Server::start(Version::Valkey9_1);
    cmd(&src, &["HSET", "small", "a", "1", "b", "2", "c", "3"]);
    cmd(
        &src,
        &["HPEXPIRE", "small", "100000000", "FIELDS", "1", "b"],
    );
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        pipe.cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
    }
    pipe.query::<()>(&mut src.client()).unwrap();
    cmd(
        &src,
        &["HPEXPIRE", "big", "100000000", "FIELDS", "1", "f2000"],
    );
    let rdb = src.save();
    let small_values = WriterOptions {
        large_value: 1024,
        ..WriterOptions::default()
    };
    let old = Server::start(Version::Redis7_0);
    match restore_with(&old, small_values.clone(), &rdb).await {
        Err(Error::Unsupported { reason, .. }) => {
            assert!(reason.contains("field TTLs"), "{reason}")
        }
        other => panic!("field TTLs into 7.0 without the option: {other:?}"),
    }
    cmd(&old, &["FLUSHALL"]);
    let lossy = WriterOptions {
        drop_field_ttls: true,
        ..small_values.clone()
    };
    let stats = restore_with(&old, lossy, &rdb).await.unwrap();
    assert_eq!(stats.field_ttls_dropped, 2, "{stats:?}");
    assert_eq!(cmd(&old, &["HLEN", "small"]), redis::Value::Int(3));
    assert_eq!(cmd(&old, &["HLEN", "big"]), redis::Value::Int(3000));
    // A target that keeps them: the large hash's one field TTL is there.
    let same = Server::start(Version::Valkey9_1);
    let stats = restore_with(&same, small_values, &rdb).await.unwrap();
    assert_eq!(stats.field_ttls_dropped, 0, "{stats:?}");
    let ttls = |field: &str| cmd(&same, &["HPTTL", "big", "FIELDS", "1", field]);
    assert!(
        matches!(&ttls("f2000"), redis::Value::Array(v) if matches!(v[0], redis::Value::Int(ms) if ms > 0)),
        "{:?}",
        ttls("f2000")
    );
    assert_eq!(
        ttls("f1999"),
        redis::Value::Array(vec![redis::Value::Int(-1)])
    );

    // Functions: Redis 7.0 into Redis 6.2.
    let src = Server::start(Version::Redis7_0);
    write_sample(&mut src.client(), Version::Redis7_0);
    let rdb = src.save();
    let older = Server::start(Version::Redis6_2);
    match restore_with(&older, WriterOptions::default(), &rdb).await {
        Err(Error::Unsupported { reason, .. }) => assert!(reason.contains("functions"), "{reason}"),
        other => panic!("a library into 6.2 without the option: {other:?}"),
    }
    let lossy = WriterOptions {
        drop_functions: true,
        ..WriterOptions::default()
    };
    let stats = restore_with(&older, lossy.clone(), &rdb).await.unwrap();
    assert_eq!(
        (stats.functions_dropped, stats.functions),
        (1, 0),
        "{stats:?}"
    );
    assert!(
        stats.keys_restored + stats.keys_as_commands > 5,
        "{stats:?}"
    );

    // The same in a stream: FUNCTION into 6.2; field expiries into 7.0, HSETEX
    // written as HSET.
    let mut writer = Writer::connect(&endpoint(&older), lossy).await.unwrap();
    writer
        .write_command(&logged(0, 10, "FUNCTION DELETE sample"))
        .await
        .unwrap();
    writer
        .write_command(&logged(0, 20, "SET after 1"))
        .await
        .unwrap();
    writer.flush().await.unwrap();
    assert_eq!(writer.stats().functions_dropped, 1);
    assert_eq!(get(&mut older.client(), 0, "after").as_deref(), Some("1"));
    let lossy = WriterOptions {
        drop_field_ttls: true,
        ..WriterOptions::default()
    };
    let mut writer = Writer::connect(&endpoint(&old), lossy).await.unwrap();
    for (offset, text) in [
        (10, "HSET h a 1"),
        (20, "HPEXPIRE h 100000 FIELDS 1 a"),
        (30, "HSETEX h PX 100000 FIELDS 2 x 1 y 2"),
        (40, "HPERSIST h FIELDS 1 a"),
    ] {
        writer
            .write_command(&logged(0, offset, text))
            .await
            .unwrap();
    }
    writer.flush().await.unwrap();
    assert_eq!(writer.stats().field_ttls_dropped, 3);
    assert_eq!(cmd(&old, &["HLEN", "h"]), redis::Value::Int(3));
    let mut strict = Writer::connect(&endpoint(&old), WriterOptions::default())
        .await
        .unwrap();
    let refused = async {
        strict
            .write_command(&logged(0, 10, "HPEXPIRE h 100000 FIELDS 1 a"))
            .await?;
        strict.flush().await
    };
    assert!(
        refused.await.is_err(),
        "HPEXPIRE into 7.0 without the option"
    );
}

/// `DUMP` payloads the target cannot read, re-encoded for it through the scan
/// path (`write_dump`): Redis 7.0's (RDB 10) into Redis 6.2, and the same values
/// under the footer of Redis 7.4 (RDB 12, same bytes for these types) into
/// Valkey 9.1, which refuses RDB 12 but reads those types at 11.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_dump_payloads_restored_as_older() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    for c in [
        "HSET h f v n 12",
        "ZADD z 1.5 a -2 b inf c",
        "RPUSH l x y 7",
        "SET s hello",
    ] {
        let args: Vec<&str> = c.split(' ').collect();
        cmd(&src, &args);
    }
    let dumps: Vec<(String, Vec<u8>)> = ["h", "z", "l", "s"]
        .iter()
        .map(|k| {
            let payload: Vec<u8> = redis::cmd("DUMP").arg(*k).query(&mut con).unwrap();
            (k.to_string(), payload)
        })
        .collect();
    let refooter = |payload: &[u8], version: u16| {
        let mut p = payload[..payload.len() - 10].to_vec();
        p.extend_from_slice(&version.to_le_bytes());
        let crc = rdb_parser::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    for (to, footer) in [(Version::Redis6_2, 10), (Version::Valkey9_1, 12)] {
        let target = Server::start(to);
        let mut writer = Writer::connect(&endpoint(&target), WriterOptions::default())
            .await
            .unwrap();
        for (key, payload) in &dumps {
            let payload = Bytes::from(refooter(payload, footer));
            writer
                .write_dump(0, &Bytes::from(key.clone()), payload, -1)
                .await
                .unwrap();
        }
        writer.flush().await.unwrap();
        let s = writer.stats();
        assert_eq!(
            (s.keys_restored, s.keys_transcoded),
            (4, 4),
            "{to:?}: {s:?}"
        );
        let same =
            |args: &[&str]| assert_eq!(cmd(&src, args), cmd(&target, args), "{to:?}: {args:?}");
        same(&["HGETALL", "h"]);
        same(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
        same(&["LRANGE", "l", "0", "-1"]);
        same(&["GET", "s"]);
    }
}

/// A writer keeping checkpoints named `name` on `target`, replies awaited 0.2 s
/// at most, 20 commands a batch, its stream begun at offset 0.
async fn impatient_writer(target: &Server, name: &str) -> Writer {
    let options = WriterOptions {
        checkpoint: Some(key_writer::CheckpointOptions::new(name)),
        connect: endpoint::ConnectOptions::default()
            .io_timeout(Some(std::time::Duration::from_millis(200))),
        max_batch_commands: 20,
        ..WriterOptions::default()
    };
    let mut writer = Writer::connect(&endpoint(target), options).await.unwrap();
    writer.begin_full_resync("r1", 0).await.unwrap();
    writer.mark(0);
    writer.flush().await.unwrap();
    writer
}

/// The target's `list` holds 1 to `n`, each once, in order.
fn assert_list_in_order(target: &Server, n: u64) {
    let list: Vec<u64> = redis::cmd("LRANGE")
        .arg(&["list", "0", "-1"])
        .query(&mut target.client())
        .unwrap();
    let expected: Vec<u64> = (1..=n).collect();
    let first_wrong = list.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(
        list == expected,
        "{} elements, first out of place at {first_wrong:?}",
        list.len()
    );
}

/// A target silent for longer than the I/O timeout (`CLIENT PAUSE`): a batch
/// whose reply was lost stays in doubt until the target answers again, and
/// nothing after it is sent meanwhile (a later batch's checkpoint would pass it
/// off as applied, and batches settled apart would be queued again out of
/// order): the list ends with every element once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_target_loses_and_reorders_no_batch_in_doubt() {
    let target = Server::start(Version::Redis7_0);
    let mut writer = impatient_writer(&target, "silent").await;
    let n = 2000;
    for i in 1..=n {
        if i == 500 {
            redis::cmd("CLIENT")
                .arg(&["PAUSE", "1500", "ALL"])
                .query::<()>(&mut target.client())
                .unwrap();
        }
        writer
            .write_command(&logged(0, i * 10, &format!("RPUSH list {i}")))
            .await
            .unwrap();
    }
    assert_eq!(writer.flush().await.unwrap(), Some(n * 10));
    assert_list_in_order(&target, n);
    assert!(writer.stats().retries > 0, "the pause was felt");
}

/// A script that keeps the server to itself for a second.
const BUSY_FOR_A_SECOND: &str = "local t = redis.call('TIME') \
    local start = t[1] * 1000000 + t[2] \
    while true do \
        local now = redis.call('TIME') \
        if now[1] * 1000000 + now[2] - start > 1000000 then break end \
    end \
    return 1";

/// A target busy past the I/O timeout (a long script, four times): a batch
/// already sent is still in the server's hands when the writer gives up on its
/// reply, and runs once the server is free, ahead of the checkpoint read that
/// came after it: found applied, it is not sent again. The list ends with
/// every element once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_target_applies_a_batch_in_doubt_once() {
    let target = Server::start(Version::Redis7_0);
    let mut writer = impatient_writer(&target, "busy").await;
    let n = 2000;
    let mut busy = Vec::new();
    for i in 1..=n {
        if i % 500 == 0 {
            // The server runs nothing else for a second.
            let url = target.url();
            busy.push(std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                redis::cmd("EVAL")
                    .arg(BUSY_FOR_A_SECOND)
                    .arg(0)
                    .query::<i64>(&mut con)
                    .unwrap();
            }));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        writer
            .write_command(&logged(0, i * 10, &format!("RPUSH list {i}")))
            .await
            .unwrap();
    }
    assert_eq!(writer.flush().await.unwrap(), Some(n * 10));
    for b in busy {
        b.join().unwrap();
    }
    assert_list_in_order(&target, n);
    assert!(
        writer.stats().retries + writer.stats().already_applied > 0,
        "the wait was felt"
    );
}
