//! The `decode` program on the sample RDB (written by Redis 7.0 from
//! `testkit::write_sample`), and on a fresh file from each server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use testkit::{SAMPLE_EXPIRE_MS, Server, Version, redis, write_mixed, write_sample};

fn decode(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_decode"))
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.success(),
    )
}

/// Keys by (db, name), and the other lines, from `decode FILE`.
fn lines(path: &Path) -> (BTreeMap<(u64, String), Value>, Vec<Value>) {
    let (stdout, stderr, ok) = decode(&[path.to_str().unwrap()]);
    assert!(ok, "decode failed: {stderr}");
    let mut keys = BTreeMap::new();
    let mut other = Vec::new();
    for line in stdout.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line}: {e}"));
        match v.get("key") {
            Some(k) => {
                let name = k
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| k.to_string());
                keys.insert((v["db"].as_u64().unwrap(), name), v);
            }
            None => other.push(v),
        }
    }
    (keys, other)
}

fn check_sample(path: &Path, version: Version) {
    let (keys, other) = lines(path);
    let key = |name: &str| &keys[&(0, name.to_owned())];
    assert_eq!(key("greeting")["value"], "hello world");
    assert_eq!(key("greeting")["type"], "string");
    assert_eq!(key("counter")["value"], "12345");
    assert_eq!(key("counter")["encoding"], "int");
    assert_eq!(key("compressible")["value"], "abc".repeat(40));
    assert_eq!(key("compressible")["encoding"], "lzf");
    assert_eq!(key("binary")["value"], json!({"base64": "AAH+/w=="}));
    assert_eq!(key("session:42")["expire_ms"], SAMPLE_EXPIRE_MS);
    assert_eq!(key("greeting")["expire_ms"], Value::Null);
    assert_eq!(key("colors")["value"], json!(["red", "green", "blue"]));
    let mut primes: Vec<_> = key("primes")["value"].as_array().unwrap().clone();
    primes.sort_by_key(|v| v.as_str().unwrap().parse::<i64>().unwrap());
    assert_eq!(
        primes,
        json!(["2", "3", "5", "7", "11"])
            .as_array()
            .unwrap()
            .clone()
    );
    assert_eq!(key("primes")["encoding"], "intset");
    assert_eq!(
        key("scores")["value"],
        json!([["alice", 1.5], ["bob", 2.0], ["carol", "inf"]])
    );
    let mut user = key("user:1")["value"].as_array().unwrap().clone();
    user.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    assert_eq!(
        user,
        json!([
            ["email", "ada@example.com"],
            ["name", "Ada"],
            ["visits", "7"]
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    let events = &key("events")["value"];
    assert_eq!(events["length"], 3);
    assert_eq!(
        events["entries"][0],
        json!(["1700000000000-0", ["type", "login", "user", "1"]])
    );
    assert_eq!(
        events["entries"][2],
        json!(["1700000000002-0", ["note", "different fields"]])
    );
    assert_eq!(events["groups"][0]["name"], "workers");
    assert_eq!(events["groups"][0]["pending"][0][0], "1700000000000-0");
    assert_eq!(events["groups"][0]["consumers"][0]["name"], "w1");
    assert_eq!(keys[&(1, "other-db".to_owned())]["value"], "db 1");
    assert_eq!(keys.len(), 12);

    let release = other
        .iter()
        .find(|v| v["aux"] == "redis-ver" || v["aux"] == "valkey-ver");
    if version.is_valkey() {
        assert!(
            other
                .iter()
                .any(|v| v["aux"] == "valkey-ver" && v["value"] == version.release())
        );
    } else {
        assert_eq!(release.unwrap()["value"], version.release());
    }
    let functions: Vec<_> = other
        .iter()
        .filter(|v| v.get("function").is_some())
        .collect();
    assert_eq!(functions.len(), usize::from(version != Version::Redis6_2));
}

#[test]
fn sample_rdb_as_json_lines() {
    check_sample(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.rdb"),
        Version::Redis7_0,
    );
}

#[test]
fn fresh_files_from_every_server() {
    for version in Version::ALL {
        let server = Server::start(version);
        write_sample(&mut server.client(), version);
        check_sample(&server.save(), version);
    }
}

#[test]
fn stats_count_every_key() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.rdb");
    let (stdout, stderr, ok) = decode(&["--stats", sample.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("keys 12 (expiring 1), aux "), "{stdout}");
    assert!(stdout.contains("functions 1"), "{stdout}");
    let stream_line = stdout.lines().find(|l| l.starts_with("stream")).unwrap();
    let cols: Vec<&str> = stream_line.split_whitespace().collect();
    assert_eq!(&cols[..4], &["stream", "stream", "1", "3"], "{stream_line}");
}

#[test]
fn corrupt_file_fails_with_offset() {
    let sample =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.rdb")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.rdb");
    std::fs::write(&path, &sample[..sample.len() / 2]).unwrap();
    let (_, stderr, ok) = decode(&[path.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("at byte"), "{stderr}");
    let (_, stderr, ok) = decode(&["/nonexistent/file.rdb"]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/file.rdb"), "{stderr}");
}

/// On several threads the counts and the JSON lines are those of one, and a
/// corrupt value is reported at the same offset, after the same lines.
#[test]
fn stats_on_several_threads_are_those_of_one() {
    let server = Server::start(Version::Redis7_0);
    let mut con = server.client();
    write_sample(&mut con, Version::Redis7_0);
    redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    write_mixed(&mut con, 20_000);
    let rdb = server.save();
    let file = rdb.to_str().unwrap();
    let (one, stderr, ok) = decode(&["--stats", "--threads", "1", file]);
    assert!(ok, "{stderr}");
    assert!(one.starts_with("keys 200"), "{one}");
    let (lines, stderr, ok) = decode(&["--threads", "1", file]);
    assert!(ok, "{stderr}");
    assert!(lines.lines().count() > 20_000, "{stderr}");
    for threads in ["2", "3"] {
        let (many, stderr, ok) = decode(&["--stats", "--threads", threads, file]);
        assert!(ok, "{stderr}");
        assert_eq!(many, one, "{threads} threads");
        let (many, stderr, ok) = decode(&["--threads", threads, file]);
        assert!(ok, "{stderr}");
        assert!(many == lines, "JSON lines on {threads} threads differ");
    }
    // A byte of a value in the last third changed: the same fault, the same
    // offset, whichever thread meets it.
    let mut bytes = std::fs::read(&rdb).unwrap();
    let at = bytes.len() * 2 / 3;
    bytes[at..at + 64].fill(0xff);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.rdb");
    std::fs::write(&bad, &bytes).unwrap();
    let bad = bad.to_str().unwrap();
    let (_, one, ok) = decode(&["--stats", "--no-checksum", "--threads", "1", bad]);
    assert!(!ok && one.contains("at byte"), "{one}");
    let (_, many, ok) = decode(&["--stats", "--no-checksum", "--threads", "2", bad]);
    assert!(!ok);
    let first_line = |s: &str| s.lines().next().unwrap_or_default().to_owned();
    assert_eq!(first_line(&many), first_line(&one));
    // As JSON lines: the same lines up to the fault, and the same fault.
    let (out_one, err_one, ok) = decode(&["--no-checksum", "--threads", "1", bad]);
    assert!(!ok && err_one.contains("at byte"), "{err_one}");
    let (out_many, err_many, ok) = decode(&["--no-checksum", "--threads", "2", bad]);
    assert!(!ok);
    assert!(out_many == out_one, "JSON lines before the fault differ");
    assert_eq!(first_line(&err_many), first_line(&err_one));
}
