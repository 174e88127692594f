//! `decode --memory`: each key's estimate checked against `MEMORY USAGE key
//! SAMPLES 0` on the server that wrote the file (once it has loaded it), on every
//! server, for every type and encoding it writes; `--top`, `--by-prefix` and
//! `--csv` agree with the key lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use testkit::{Server, Version, redis};

fn decode(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_decode"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "decode {args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Keys of every type, in every encoding `version` writes, in sizes from a
/// few bytes to several quicklist nodes and hash table resizes; some expiring.
fn write_dataset(con: &mut redis::Connection, version: Version) {
    let mut p = redis::pipe();
    let long = |c: char, n: usize| c.to_string().repeat(n);
    p.cmd("SET").arg("s:int").arg(12345);
    p.cmd("SET").arg("s:long-int").arg(12_345_678_901_234_i64);
    p.cmd("SET").arg("s:embedded").arg("hello-world");
    p.cmd("SET").arg("s:raw").arg(long('x', 100));
    p.cmd("SET").arg("s:large").arg(long('y', 5000));
    p.cmd("SET")
        .arg("s:expiring")
        .arg("soon")
        .arg("EX")
        .arg(3600);
    p.cmd("SET")
        .arg("s:expiring-raw")
        .arg(long('e', 70))
        .arg("EX")
        .arg(3600);
    p.cmd("RPUSH")
        .arg("l:small")
        .arg(&["a", "b", "c", "d", "e"]);
    let elements: Vec<String> = (0..3000).map(|i| format!("element-{i:05}")).collect();
    p.cmd("RPUSH").arg("l:nodes").arg(&elements);
    p.cmd("RPUSH").arg("l:large").arg(long('z', 9000)).arg("a");
    p.cmd("SADD").arg("set:ints").arg(&[1, 2, 3, 4, 5, 100_000]);
    p.cmd("SADD").arg("set:small").arg(&["a", "b", "c", "d"]);
    let members: Vec<String> = (0..1000).map(|i| format!("member-{i:06}")).collect();
    p.cmd("SADD").arg("set:table").arg(&members);
    let numbers: Vec<i64> = (1..=1000).map(|i| i * 7919).collect();
    p.cmd("SADD").arg("set:int-table").arg(&numbers);
    p.cmd("ZADD")
        .arg("z:small")
        .arg(&[(1, "a"), (2, "b"), (3, "c")]);
    let scored: Vec<(i64, String)> = (0..1000).map(|i| (i, format!("zmember-{i:06}"))).collect();
    p.cmd("ZADD").arg("z:skiplist").arg(&scored);
    p.cmd("HSET").arg("h:small").arg(&[("a", "1"), ("b", "2")]);
    let fields: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("field-{i:06}"), format!("value-{i:06}")))
        .collect();
    p.cmd("HSET").arg("h:table").arg(&fields);
    p.cmd("HSET")
        .arg("h:long-value")
        .arg("f")
        .arg(long('v', 100));
    p.cmd("SELECT").arg(1);
    p.cmd("SET").arg("other:db").arg("one");
    p.cmd("HSET").arg("other:hash").arg(&fields[..10]);
    p.cmd("SELECT").arg(0);
    p.query::<()>(con).unwrap();
    for i in 0..3 {
        redis::cmd("XADD")
            .arg("st:small")
            .arg("*")
            .arg(&["f", "v", "n", &i.to_string()])
            .query::<()>(con)
            .unwrap();
    }
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.cmd("XADD").arg("st:groups").arg("*").arg(&[
            "field",
            &format!("value-{i}"),
            "n",
            &i.to_string(),
        ]);
    }
    p.cmd("XGROUP").arg(&["CREATE", "st:groups", "g1", "0"]);
    p.cmd("XGROUP").arg(&["CREATE", "st:groups", "g2", "0"]);
    for (group, consumer, count) in [("g1", "alice", 50), ("g1", "bob", 20), ("g2", "carol", 300)] {
        p.cmd("XREADGROUP")
            .arg(&["GROUP", group, consumer, "COUNT", &count.to_string()])
            .arg(&["STREAMS", "st:groups", ">"]);
    }
    p.query::<()>(con).unwrap();
    if version == Version::Valkey9_1 {
        redis::cmd("HSET")
            .arg("h:field-ttls")
            .arg(&fields[..100])
            .query::<()>(con)
            .unwrap();
        redis::cmd("HEXPIRE")
            .arg(&["h:field-ttls", "3600", "FIELDS", "50"])
            .arg(fields[..50].iter().map(|(f, _)| f).collect::<Vec<_>>())
            .query::<()>(con)
            .unwrap();
        redis::cmd("HSET")
            .arg("h:small-ttls")
            .arg(&[("a", "1"), ("b", "2")])
            .query::<()>(con)
            .unwrap();
        redis::cmd("HEXPIRE")
            .arg(&["h:small-ttls", "3600", "FIELDS", "1", "a"])
            .query::<()>(con)
            .unwrap();
    }
}

/// The key lines of `decode --memory` by (db, key), and its other lines.
fn report(args: &[&str]) -> (BTreeMap<(u64, String), Value>, Vec<Value>) {
    let mut keys = BTreeMap::new();
    let mut other = Vec::new();
    for line in decode(args).lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        match v["key"].as_str() {
            Some(k) => {
                keys.insert((v["db"].as_u64().unwrap(), k.to_owned()), v);
            }
            None => other.push(v),
        }
    }
    (keys, other)
}

fn memory_usage(con: &mut redis::Connection, db: u64, key: &str) -> u64 {
    redis::cmd("SELECT").arg(db).query::<()>(con).unwrap();
    redis::cmd("MEMORY")
        .arg(&["USAGE", key, "SAMPLES", "0"])
        .query(con)
        .unwrap()
}

/// The allocator of the servers the tests install: Debian's Redis 7.0 links
/// the system's jemalloc; the Redis 6.2 and Valkey wheels are built with libc's.
fn allocator(server: &Server) -> String {
    let named = server.info_field("memory", "mem_allocator");
    let (prefix, allocator) = match server.version() {
        Version::Redis7_0 => ("jemalloc", "system-jemalloc"),
        _ => ("libc", "libc"),
    };
    assert!(
        named.starts_with(prefix),
        "{:?} uses {named}",
        server.version()
    );
    allocator.to_owned()
}

/// Saves, restarts (the server loads its own file) and returns the file and
/// the allocator's name.
fn saved_and_loaded(server: &mut Server) -> (PathBuf, String) {
    let path = server.save();
    server.restart();
    (path, allocator(server))
}

#[test]
fn every_key_within_a_fifth_of_memory_usage_on_every_server() {
    for version in [Version::Redis7_0, Version::Redis6_2, Version::Valkey9_1] {
        let mut server = Server::start(version);
        write_dataset(&mut server.client(), version);
        let (path, allocator) = saved_and_loaded(&mut server);
        let file = path.to_str().unwrap();
        let (keys, totals) = report(&["--memory", "--allocator", &allocator, file]);
        let mut con = server.client();
        let mut encodings = BTreeSet::new();
        let mut off = Vec::new();
        for ((db, key), line) in &keys {
            let real = memory_usage(&mut con, *db, key);
            let estimate = line["memory"].as_u64().unwrap();
            let (ty, enc) = (
                line["type"].as_str().unwrap(),
                line["encoding"].as_str().unwrap(),
            );
            encodings.insert(format!("{ty}/{enc}"));
            // glibc hands out a chunk whole when the rest would be under 32
            // bytes, as its heap's history has it: a tiny key may measure a
            // chunk more than its requests.
            let slack = if allocator == "libc" { 32.0 } else { 0.0 };
            if (estimate as f64 - real as f64).abs() > real as f64 * 0.2 + slack {
                off.push(format!(
                    "{key} ({ty}/{enc}): {estimate} estimated, {real} real"
                ));
            }
        }
        assert!(off.is_empty(), "{version:?} ({allocator}): {off:#?}");
        // Every key of the server is reported, and every type it holds.
        let mut held = 0;
        for db in [0, 1] {
            redis::cmd("SELECT").arg(db).query::<()>(&mut con).unwrap();
            held += redis::cmd("DBSIZE").query::<u64>(&mut con).unwrap();
        }
        assert_eq!(keys.len() as u64, held, "{version:?}");
        for kind in ["string", "list", "set", "zset", "hash", "stream"] {
            assert!(
                encodings.iter().any(|e| e.starts_with(&format!("{kind}/"))),
                "{version:?}: no {kind} in {encodings:?}"
            );
        }
        // Elements and the largest element, as the server counts them.
        let nodes = &keys[&(0, "l:nodes".to_owned())];
        assert_eq!(nodes["elements"], 3000);
        assert_eq!(nodes["largest"], 13);
        assert_eq!(keys[&(0, "st:groups".to_owned())]["elements"], 1000);
        assert_eq!(keys[&(0, "s:large".to_owned())]["largest"], 5000);
        assert_eq!(keys[&(0, "h:table".to_owned())]["largest"], 24);
        // The totals add up the key lines.
        let total = totals.iter().find(|t| t["total"] == "all").unwrap();
        let sum: u64 = keys.values().map(|k| k["memory"].as_u64().unwrap()).sum();
        assert_eq!(total["memory"], sum);
        assert_eq!(total["keys"], keys.len());
        let db1 = totals
            .iter()
            .find(|t| t["total"] == "db" && t["db"] == 1)
            .unwrap();
        assert_eq!(db1["keys"], 2);
    }
}

#[test]
fn top_prefixes_and_csv_agree_with_the_key_lines() {
    let mut server = Server::start(Version::Redis7_0);
    write_dataset(&mut server.client(), Version::Redis7_0);
    let (path, _) = saved_and_loaded(&mut server);
    let file = path.to_str().unwrap();
    let (keys, _) = report(&["--memory", file]);

    // --top: the biggest keys, biggest first.
    let (top, _) = report(&["--memory", "--top", "3", file]);
    let mut sizes: Vec<u64> = keys
        .values()
        .map(|k| k["memory"].as_u64().unwrap())
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mut got: Vec<u64> = top
        .values()
        .map(|k| k["memory"].as_u64().unwrap())
        .collect();
    got.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(got, sizes[..3]);

    // --by-prefix: the sums of the key lines per name up to the separator.
    let (_, lines) = report(&["--memory", "--by-prefix", ":", file]);
    let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for ((_, key), line) in &keys {
        let prefix = key.split(':').next().unwrap().to_owned();
        let e = expected.entry(prefix).or_default();
        e.0 += 1;
        e.1 += line["memory"].as_u64().unwrap();
    }
    let got: BTreeMap<String, (u64, u64)> = lines
        .iter()
        .filter_map(|l| {
            let p = l["prefix"].as_str()?.to_owned();
            Some((p, (l["keys"].as_u64()?, l["memory"].as_u64()?)))
        })
        .collect();
    assert_eq!(got, expected);

    // On one thread or three, the same report byte for byte.
    for args in [
        vec![],
        vec!["--top", "3"],
        vec!["--by-prefix", ":", "--csv"],
    ] {
        let run = |threads: &str| {
            let mut all = vec!["--memory", "--threads", threads, file];
            all.extend(&args);
            decode(&all)
        };
        assert_eq!(run("1"), run("3"), "{args:?}");
    }

    // --csv: the same figures, one row per key after the header.
    let csv = decode(&["--memory", "--csv", file]);
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("db,key,type,encoding,memory,elements,largest")
    );
    let rows: BTreeMap<(u64, String), u64> = rows
        .map(|r| {
            let cells: Vec<&str> = r.split(',').collect();
            (
                (cells[0].parse().unwrap(), cells[1].to_owned()),
                cells[4].parse().unwrap(),
            )
        })
        .collect();
    let json: BTreeMap<(u64, String), u64> = keys
        .iter()
        .map(|(k, v)| (k.clone(), v["memory"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows, json);
}

#[test]
fn a_damaged_file_names_its_offset() {
    let server = Server::start(Version::Redis7_0);
    write_dataset(&mut server.client(), Version::Redis7_0);
    let path = server.save();
    let mut bytes = std::fs::read(&path).unwrap();
    let cut = bytes.len() * 2 / 3;
    bytes.truncate(cut);
    let damaged = server.data_dir().join("damaged.rdb");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_decode"))
        .args(["--memory", damaged.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at byte"), "{stderr}");
}
