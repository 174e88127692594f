//! The `verify` program against real servers: identical deployments give exit 0
//! and no line; each kind of difference injected one at a time is found exactly
//! once with its kind; under a running `sync` with a write load nothing is
//! reported; cluster against standalone, Redis 6.2 against Valkey 9.1, an RDB file
//! against a live server; a big hash compared in pieces.

use std::process::Command;

use testkit::{Server, Version, redis, write_mixed, write_sample};

mod support;

/// Runs `verify` with `args`: its exit code, the JSON lines that are not the
/// summary, the summary, and stderr.
fn verify(args: &[&str]) -> (i32, Vec<serde_json::Value>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .output()
        .expect("run verify");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{stderr}")))
        .collect();
    let summary = lines.pop().unwrap_or_default();
    (out.status.code().unwrap_or(-1), lines, summary, stderr)
}

fn scan(source: &str, target: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_scan"))
        .args(["--source", source, "--target", target])
        .output()
        .expect("run scan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(con: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<redis::Value>(con)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// Copies key `key` of db 0 from `src` to `dst` again (same version), undoing an
/// injected difference.
fn restore_key(src: &Server, dst: &Server, key: &str) {
    let mut s = src.client();
    let mut d = dst.client();
    let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(key).query(&mut s).unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg(key).query(&mut s).unwrap();
    match dump {
        Some(payload) => redis::cmd("RESTORE")
            .arg(key)
            .arg(pttl.max(0))
            .arg(payload)
            .arg("REPLACE")
            .query::<()>(&mut d)
            .unwrap(),
        None => redis::cmd("DEL").arg(key).query::<()>(&mut d).unwrap(),
    }
}

fn sample_source(version: Version, mixed: usize) -> Server {
    let src = Server::start(version);
    let mut con = src.client();
    write_sample(&mut con, version);
    run(&mut con, &["SELECT", "0"]);
    write_mixed(&mut con, mixed);
    write_big(&mut con, 2000);
    src
}

/// One value of each type larger than a piece (`n` elements).
fn write_big(con: &mut redis::Connection, n: usize) {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("RPUSH")
            .arg("big:list")
            .arg(format!("e{i}"))
            .ignore();
        pipe.cmd("HSET")
            .arg("big:hash")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
        pipe.cmd("ZADD")
            .arg("big:zset")
            .arg(i as f64 / 3.0)
            .arg(format!("m{i}"))
            .ignore();
        pipe.cmd("SADD")
            .arg("big:set")
            .arg(format!("m{i}"))
            .ignore();
        pipe.cmd("XADD")
            .arg("big:stream")
            .arg(format!("1-{i}"))
            .arg("n")
            .arg(i)
            .ignore();
    }
    pipe.cmd("ZADD")
        .arg("big:zset")
        .arg("+inf")
        .arg("top")
        .ignore();
    pipe.cmd("ZADD")
        .arg("big:zset")
        .arg("-inf")
        .arg("bottom")
        .ignore();
    pipe.cmd("SET")
        .arg("big:string")
        .arg("s".repeat(200_000))
        .ignore();
    pipe.cmd("XGROUP")
        .arg("CREATE")
        .arg("big:stream")
        .arg("g")
        .arg("0")
        .ignore();
    pipe.cmd("XREADGROUP")
        .arg("GROUP")
        .arg("g")
        .arg("c")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg("big:stream")
        .arg(">")
        .ignore();
    pipe.query::<()>(con).unwrap();
}

fn assert_equal(what: &str, args: &[&str]) {
    let (code, lines, summary, log) = verify(args);
    assert_eq!((code, lines.len()), (0, 0), "{what}: {lines:#?}\n{log}");
    assert!(
        summary["summary"]["keys"]["0"].as_u64().unwrap_or(0) > 0,
        "{what}: {summary}"
    );
}

#[test]
fn identical_then_each_difference_found_once() {
    let src = sample_source(Version::Redis7_0, 2000);
    let dst = Server::start(Version::Redis7_0);
    scan(&src.url(), &dst.url());
    run(
        &mut dst.client(),
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=sample\nredis.register_function('hello', function() return 'hi' end)",
        ],
    );
    let base = [
        "--source",
        &src.url(),
        "--target",
        &dst.url(),
        "--rounds",
        "1",
    ];
    assert_equal("identical", &base);
    let mut t = dst.client();
    // (what is done on the target, the key, the kind expected)
    let cases: &[(&[&[&str]], &str, &str)] = &[
        (&[&["DEL", "greeting"]], "greeting", "missing"),
        (&[&["SET", "newcomer", "x"]], "newcomer", "extra"),
        (
            &[&["DEL", "colors"], &["SET", "colors", "x"]],
            "colors",
            "type",
        ),
        (&[&["SET", "greeting", "hello world!"]], "greeting", "value"),
        (&[&["LSET", "colors", "1", "grey"]], "colors", "value"),
        (
            &[&["SREM", "tags", "rust"], &["SADD", "tags", "go"]],
            "tags",
            "value",
        ),
        (&[&["ZADD", "scores", "2.5", "bob"]], "scores", "value"),
        (&[&["HSET", "user:1", "visits", "8"]], "user:1", "value"),
        (&[&["PEXPIRE", "greeting", "100000000"]], "greeting", "ttl"),
        (&[&["XDEL", "events", "1700000000001-0"]], "events", "value"),
        (
            &[&["XGROUP", "SETID", "events", "workers", "1700000000002-0"]],
            "events",
            "value",
        ),
        // Large values, compared in pieces.
        (
            &[&["LSET", "big:list", "1500", "changed"]],
            "big:list",
            "value",
        ),
        (
            &[&["HSET", "big:hash", "f1234", "changed"]],
            "big:hash",
            "value",
        ),
        (&[&["ZADD", "big:zset", "-7", "m99"]], "big:zset", "value"),
        (
            &[&["SREM", "big:set", "m5"], &["SADD", "big:set", "other"]],
            "big:set",
            "value",
        ),
        (
            &[&["SETRANGE", "big:string", "150000", "Z"]],
            "big:string",
            "value",
        ),
        (&[&["XDEL", "big:stream", "1-1000"]], "big:stream", "value"),
    ];
    for (commands, key, kind) in cases {
        for c in *commands {
            run(&mut t, c);
        }
        let (code, lines, _, log) = verify(&base);
        assert_eq!(code, 1, "{commands:?}: {lines:?}\n{log}");
        assert_eq!(lines.len(), 1, "{commands:?}: {lines:#?}");
        assert_eq!(lines[0]["key"], *key, "{commands:?}: {lines:?}");
        assert_eq!(lines[0]["kind"], *kind, "{commands:?}: {lines:?}");
        restore_key(&src, &dst, key);
        assert_equal(&format!("{commands:?} undone"), &base);
    }
    // A different function library.
    run(
        &mut t,
        &[
            "FUNCTION",
            "LOAD",
            "REPLACE",
            "#!lua name=sample\nredis.register_function('hello', function() return 'bye' end)",
        ],
    );
    let (code, lines, _, _) = verify(&base);
    assert_eq!((code, lines.len()), (1, 1), "{lines:?}");
    assert_eq!(
        (&lines[0]["function"], &lines[0]["kind"]),
        (&"sample".into(), &"value".into())
    );
}
