//! The `verify` program against real servers: identical deployments give exit 0
//! and no line; each kind of difference injected one at a time is found exactly
//! once with its kind; under a running `sync` with a write load nothing is
//! reported; cluster against standalone, Redis 6.2 against Valkey 9.1, an RDB file
//! against a live server; a big hash compared in pieces, the program's peak
//! memory measured against the bound the docs state.

use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Cluster, Server, Version, redis, write_mixed, write_sample};

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

/// The library `write_sample` loads (7.0 and later); `scan` copies keys only.
const SAMPLE_LIBRARY: &str =
    "#!lua name=sample\nredis.register_function('hello', function() return 'hi' end)";

/// `scan` from `src` to `dst`, and the sample's function library.
fn copy(src: &Server, dst: &Server) {
    scan(&src.url(), &dst.url());
    if ![src.version(), dst.version()].contains(&Version::Redis6_2) {
        run(
            &mut dst.client(),
            &["FUNCTION", "LOAD", "REPLACE", SAMPLE_LIBRARY],
        );
    }
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
    let keys: u64 = summary["summary"]["keys"]
        .as_object()
        .map_or(0, |dbs| dbs.values().filter_map(|n| n.as_u64()).sum());
    assert!(keys > 0, "{what}: {summary}");
}

#[test]
fn identical_then_each_difference_found_once() {
    let src = sample_source(Version::Redis7_0, 2000);
    let dst = Server::start(Version::Redis7_0);
    copy(&src, &dst);
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
        // Mode `full` reads types with the values: a type difference comes
        // before the time-to-live difference of the same key.
        (
            &[
                &["DEL", "colors"],
                &["SET", "colors", "x", "PX", "100000000"],
            ],
            "colors",
            "type",
        ),
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
        // A large value against a small one, and a large value's time to live.
        (
            &[&["DEL", "big:list"], &["SET", "big:list", "x"]],
            "big:list",
            "type",
        ),
        (&[&["PEXPIRE", "big:hash", "100000000"]], "big:hash", "ttl"),
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

/// Modes `length` and `keys` against `full` on the same injected change: what each
/// reports (`None`: nothing). `full` reporting every change proves the change is
/// real, so a mode that stays silent is silent because it does not look.
#[test]
fn mode_length_counts_and_mode_keys_existence_and_type() {
    let src = sample_source(Version::Redis7_0, 0);
    let dst = Server::start(Version::Redis7_0);
    copy(&src, &dst);
    let (source, target) = (src.url(), dst.url());
    let args = |mode: &'static str| {
        vec![
            "--source".to_owned(),
            source.clone(),
            "--target".to_owned(),
            target.clone(),
            "--rounds".to_owned(),
            "1".to_owned(),
            "--mode".to_owned(),
            mode.to_owned(),
        ]
    };
    let modes = ["full", "length", "keys"];
    for mode in modes {
        let a = args(mode);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        assert_equal(&format!("identical, mode {mode}"), &a);
    }
    let mut t = dst.client();
    // (what is done on the target, the key, the kind each of full, length, keys reports)
    type Case<'c> = (&'c [&'c [&'c str]], &'c str, [Option<&'c str>; 3]);
    let cases: &[Case] = &[
        // An element changed, the count kept.
        (
            &[&["SETRANGE", "greeting", "0", "J"]],
            "greeting",
            [Some("value"), None, None],
        ),
        (
            &[&["LSET", "colors", "1", "grey"]],
            "colors",
            [Some("value"), None, None],
        ),
        (
            &[&["HSET", "user:1", "visits", "8"]],
            "user:1",
            [Some("value"), None, None],
        ),
        (
            &[&["ZADD", "scores", "9", "bob"]],
            "scores",
            [Some("value"), None, None],
        ),
        (
            &[&["HSET", "big:hash", "f1234", "changed"]],
            "big:hash",
            [Some("value"), None, None],
        ),
        (
            &[&["SREM", "big:set", "m5"], &["SADD", "big:set", "other"]],
            "big:set",
            [Some("value"), None, None],
        ),
        // The count changed.
        (
            &[&["RPUSH", "colors", "violet"]],
            "colors",
            [Some("value"), Some("length"), None],
        ),
        (
            &[&["SADD", "primes", "13"]],
            "primes",
            [Some("value"), Some("length"), None],
        ),
        (
            &[&["APPEND", "greeting", "!"]],
            "greeting",
            [Some("value"), Some("length"), None],
        ),
        (
            &[&["HDEL", "big:hash", "f7"]],
            "big:hash",
            [Some("value"), Some("length"), None],
        ),
        (
            &[&["XDEL", "big:stream", "1-1000"]],
            "big:stream",
            [Some("value"), Some("length"), None],
        ),
        // A time to live.
        (
            &[&["PEXPIRE", "greeting", "100000000"]],
            "greeting",
            [Some("ttl"), Some("ttl"), None],
        ),
        // Existence and type, in every mode.
        (
            &[&["DEL", "tags"]],
            "tags",
            [Some("missing"), Some("missing"), Some("missing")],
        ),
        (
            &[&["SET", "newcomer", "x"]],
            "newcomer",
            [Some("extra"), Some("extra"), Some("extra")],
        ),
        (
            &[&["DEL", "colors"], &["SET", "colors", "x"]],
            "colors",
            [Some("type"), Some("type"), Some("type")],
        ),
    ];
    for (commands, key, kinds) in cases {
        for c in *commands {
            run(&mut t, c);
        }
        for (mode, kind) in modes.into_iter().zip(kinds) {
            let a = args(mode);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let (code, lines, _, log) = verify(&a);
            let what = format!("{commands:?}, mode {mode}");
            match kind {
                None => assert_eq!((code, lines.len()), (0, 0), "{what}: {lines:#?}\n{log}"),
                Some(kind) => {
                    assert_eq!((code, lines.len()), (1, 1), "{what}: {lines:#?}\n{log}");
                    assert_eq!(
                        (&lines[0]["key"], &lines[0]["kind"]),
                        (&(*key).into(), &(*kind).into()),
                        "{what}"
                    );
                }
            }
        }
        restore_key(&src, &dst, key);
    }
    let a = args("full");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    assert_equal("every change undone", &a);
}

#[test]
fn across_versions_and_vendors_values_not_bytes() {
    for (from, to) in [
        (Version::Redis6_2, Version::Valkey9_1),
        (Version::Valkey9_1, Version::Redis6_2),
    ] {
        let what = format!("{from:?} against {to:?}");
        let src = sample_source(from, 1000);
        let dst = Server::start(to);
        copy(&src, &dst);
        let base = [
            "--source",
            &src.url(),
            "--target",
            &dst.url(),
            "--rounds",
            "1",
        ];
        if from == Version::Valkey9_1 {
            // Functions do not exist on Redis 6.2: the library is not synced there.
            run(&mut src.client(), &["FUNCTION", "FLUSH"]);
        }
        assert_equal(&what, &base);
        run(&mut dst.client(), &["ZADD", "big:zset", "1", "m1"]);
        let (code, lines, _, log) = verify(&base);
        assert_eq!((code, lines.len()), (1, 1), "{what}: {lines:?}\n{log}");
        assert_eq!(
            (&lines[0]["key"], &lines[0]["kind"]),
            (&"big:zset".into(), &"value".into())
        );
    }
}

#[test]
fn hash_field_ttls_on_valkey() {
    let src = Server::start(Version::Valkey9_1);
    let mut con = src.client();
    run(&mut con, &["HSET", "h", "a", "1", "b", "2"]);
    run(
        &mut con,
        &["HPEXPIRE", "h", "100000000", "FIELDS", "1", "a"],
    );
    let dst = Server::start(Version::Valkey9_1);
    scan(&src.url(), &dst.url());
    let base = [
        "--source",
        &src.url(),
        "--target",
        &dst.url(),
        "--rounds",
        "1",
    ];
    assert_equal("field TTLs copied", &base);
    run(&mut dst.client(), &["HPERSIST", "h", "FIELDS", "1", "a"]);
    let (code, lines, _, log) = verify(&base);
    assert_eq!((code, lines.len()), (1, 1), "{lines:?}\n{log}");
    assert_eq!(lines[0]["kind"], "value", "{lines:?}");
    assert!(
        lines[0]["detail"].as_str().unwrap().contains("expiry"),
        "{lines:?}"
    );
}

#[test]
fn cluster_against_standalone_both_ways() {
    let src = Cluster::start(Version::Redis7_0, 3);
    for m in src.masters() {
        let mut con = m.client();
        for i in 0..300 {
            // Only keys this master serves are accepted; the others answer MOVED.
            let _ = redis::cmd("RPUSH")
                .arg(format!("k{i}:{}", m.port()))
                .arg(i)
                .arg("x")
                .query::<()>(&mut con);
        }
    }
    let standalone = Server::start(Version::Redis7_0);
    let cluster_url = src.nodes()[0].url();
    scan(&cluster_url, &standalone.url());
    assert_equal(
        "cluster source",
        &[
            "--source",
            &cluster_url,
            "--target",
            &standalone.url(),
            "--rounds",
            "1",
        ],
    );
    assert_equal(
        "cluster target",
        &[
            "--source",
            &standalone.url(),
            "--target",
            &cluster_url,
            "--rounds",
            "1",
        ],
    );
    run(&mut standalone.client(), &["SET", "only-here", "1"]);
    let (code, lines, _, log) = verify(&[
        "--source",
        &cluster_url,
        "--target",
        &standalone.url(),
        "--rounds",
        "1",
    ]);
    assert_eq!((code, lines.len()), (1, 1), "{lines:?}\n{log}");
    assert_eq!(
        (&lines[0]["key"], &lines[0]["kind"]),
        (&"only-here".into(), &"extra".into())
    );
    let (code, lines, _, log) = verify(&[
        "--source",
        &standalone.url(),
        "--target",
        &cluster_url,
        "--rounds",
        "1",
    ]);
    assert_eq!((code, lines.len()), (1, 1), "{lines:?}\n{log}");
    assert_eq!(
        (&lines[0]["key"], &lines[0]["kind"]),
        (&"only-here".into(), &"missing".into())
    );
}

/// The target's `INFO commandstats`.
fn command_stats(server: &Server) -> String {
    redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut server.client())
        .unwrap()
}

/// Calls of `command` the server counted since its statistics were reset.
fn calls(server: &Server, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    command_stats(server)
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

/// The target's key counts stand in for the scan for extra keys only where they
/// prove there is none: a target holding exactly the source keys is not scanned
/// (unless `--always-scan-target`), and one where a key is gone and another has
/// come (the same count) is scanned, both found.
#[test]
fn key_counts_stand_in_for_the_target_scan_only_when_they_prove_it() {
    let src = sample_source(Version::Redis7_0, 2000);
    let dst = Server::start(Version::Redis7_0);
    copy(&src, &dst);
    let (src_url, dst_url) = (src.url(), dst.url());
    let base = ["--source", &src_url, "--target", &dst_url, "--rounds", "1"];
    let reset = || run(&mut dst.client(), &["CONFIG", "RESETSTAT"]);
    reset();
    assert_equal("identical", &base);
    assert_eq!(calls(&dst, "scan"), 0, "{}", command_stats(&dst));
    let always = [&base[..], &["--always-scan-target"]].concat();
    assert_equal("identical, scanned", &always);
    assert!(calls(&dst, "scan") > 0, "{}", command_stats(&dst));
    let mut t = dst.client();
    run(&mut t, &["DEL", "greeting"]);
    run(&mut t, &["SET", "newcomer", "x"]);
    let (code, mut lines, _, log) = verify(&base);
    lines.sort_by_key(|l| l["key"].to_string());
    let found: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["key"].as_str().unwrap(), l["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        (code, found),
        (1, vec![("greeting", "missing"), ("newcomer", "extra")]),
        "{log}"
    );
}

/// A proxy is one address that routes by itself: it is asked no `CLUSTER`
/// command and no `SELECT`, and holds database 0 only. (No proxy is installable on
/// the test machines; a one-node cluster serving every slot stands for one: it
/// calls itself a cluster node, so it would be asked `CLUSTER` commands unless
/// treated as a proxy.)
#[test]
fn a_proxy_target_gets_no_cluster_commands_and_db_0_only() {
    let src = sample_source(Version::Redis7_0, 500);
    let proxy = Server::builder(Version::Redis7_0)
        .config("cluster-enabled", "yes")
        // Alone, a node does not learn its address from a peer.
        .config("cluster-announce-ip", "127.0.0.1")
        .start();
    let mut p = proxy.client();
    run(&mut p, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut p).unwrap();
        if info.contains("cluster_state:ok") {
            break;
        }
        assert!(Instant::now() < deadline, "the one-node cluster: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_scan"))
        .args(["--source", &src.url(), "--target", &proxy.url()])
        .args(["--proxy", "--db", "0"])
        .output()
        .expect("run scan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run(&mut p, &["FUNCTION", "LOAD", SAMPLE_LIBRARY]);
    let url = proxy.url();
    let base = [
        "--source",
        &src.url(),
        "--target",
        &url,
        "--rounds",
        "1",
        "--db",
        "0",
    ];
    let through_proxy = [&base[..], &["--proxy"]].concat();
    run(&mut p, &["CONFIG", "RESETSTAT"]);
    assert_equal("through a proxy", &through_proxy);
    let stats = command_stats(&proxy);
    assert!(!stats.contains("cmdstat_cluster"), "{stats}");
    assert!(!stats.contains("cmdstat_select"), "{stats}");
    // Without --proxy the same address is asked its cluster layout.
    assert_equal("as a cluster", &base);
    let stats = command_stats(&proxy);
    assert!(stats.contains("cmdstat_cluster"), "{stats}");
    // A difference through the proxy.
    run(&mut p, &["HSET", "big:hash", "f3", "changed"]);
    let (code, lines, _, log) = verify(&through_proxy);
    assert_eq!((code, lines.len()), (1, 1), "{lines:?}\n{log}");
    assert_eq!(
        (&lines[0]["key"], &lines[0]["kind"]),
        (&"big:hash".into(), &"value".into())
    );
    // The source's database 1 has nowhere to go through a proxy.
    let (code, lines, _, log) = verify(&[
        "--source",
        &src.url(),
        "--target",
        &url,
        "--rounds",
        "1",
        "--proxy",
    ]);
    assert_eq!((code, lines.len()), (2, 0), "{lines:?}\n{log}");
    assert!(
        log.contains("has database 0 only (a cluster or a proxy), not database 1"),
        "{log}"
    );
}

#[test]
fn an_rdb_file_against_a_live_server() {
    let src = sample_source(Version::Redis7_0, 1000);
    let file = src.save();
    let dst = Server::start(Version::Redis7_0);
    copy(&src, &dst);
    let file = file.to_str().unwrap();
    assert_equal(
        "file",
        &["--source", file, "--target", &dst.url(), "--rounds", "1"],
    );
    let mut t = dst.client();
    run(&mut t, &["HSET", "big:hash", "f3", "changed"]);
    run(&mut t, &["SADD", "primes", "13"]);
    run(&mut t, &["SET", "stray", "1"]);
    let (code, mut lines, _, log) =
        verify(&["--source", file, "--target", &dst.url(), "--rounds", "1"]);
    assert_eq!((code, lines.len()), (1, 3), "{lines:?}\n{log}");
    lines.sort_by_key(|l| l["key"].as_str().unwrap_or_default().to_owned());
    let found: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["key"].as_str().unwrap(), l["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("big:hash", "value"),
            ("primes", "value"),
            ("stray", "extra")
        ]
    );
}

#[test]
fn filters_are_inverted_for_extra_keys() {
    let src = sample_source(Version::Redis7_0, 0);
    let dst = Server::start(Version::Redis7_0);
    restore_key(&src, &dst, "user:1");
    run(&mut dst.client(), &["FUNCTION", "LOAD", SAMPLE_LIBRARY]);
    run(&mut dst.client(), &["SET", "unrelated", "1"]);
    let base = [
        "--source",
        &src.url(),
        "--target",
        &dst.url(),
        "--rounds",
        "1",
        "--prefix",
        "user:",
    ];
    assert_equal("prefix", &base);
    run(&mut dst.client(), &["SET", "user:2", "1"]);
    let (code, lines, _, log) = verify(&base);
    assert_eq!((code, lines.len()), (1, 1), "{lines:?}\n{log}");
    assert_eq!(
        (&lines[0]["key"], &lines[0]["kind"]),
        (&"user:2".into(), &"extra".into())
    );
    // Database 1 mapped into database 5.
    let mut t = dst.client();
    run(&mut t, &["SELECT", "5"]);
    run(&mut t, &["SET", "other-db", "db 1"]);
    assert_equal(
        "db map",
        &[
            "--source",
            &src.url(),
            "--target",
            &dst.url(),
            "--rounds",
            "1",
            "--db",
            "1",
            "--db-map",
            "1:5",
        ],
    );
}

#[test]
fn nothing_reported_under_a_running_sync_with_a_load() {
    let src = support::loaded_source(Version::Redis7_0, 3000);
    let dst = Server::start(Version::Redis7_0);
    let load = support::load(&src, 5);
    let sync = support::Sync::start(&["--source", &src.url(), "--target", &dst.url()]);
    sync.wait_for("the RDB loaded", |log| log.contains("sync rdb done"));
    // The sync's grace (support::Sync gives it 10 s), so that keys the load sets
    // to expire at once and the sync keeps are not reported. The rounds go on
    // while the load writes, then after it stopped: a hot key may differ in every
    // round while writes keep coming, never once they have reached the target.
    let (src_url, dst_url) = (src.url(), dst.url());
    let verifying = std::thread::spawn(move || {
        verify(&[
            "--source",
            &src_url,
            "--target",
            &dst_url,
            "--expiry-grace-ms",
            "10000",
            "--rounds",
            "40",
            "--interval-ms",
            "500",
        ])
    });
    let before = support::commands(&sync.log());
    sync.wait_for("the load running during the check", |log| {
        support::commands(log) > before + 2000
    });
    load.stop();
    let (code, lines, summary, log) = verifying.join().unwrap();
    sync.stop();
    assert_eq!((code, lines.len()), (0, 0), "{lines:#?}\n{summary}\n{log}");
}

/// A target far from its source: the differences past `--max-differences` are
/// counted by kind in the summary, not listed (nor kept for the next round).
#[test]
fn differences_past_the_cap_are_counted_not_listed() {
    let src = Server::start(Version::Redis7_0);
    let dst = Server::start(Version::Redis7_0);
    write_mixed(&mut src.client(), 300);
    let args = [
        "--source",
        &src.url(),
        "--target",
        &dst.url(),
        "--rounds",
        "2",
        "--interval-ms",
        "10",
        "--max-differences",
        "10",
    ];
    let (code, lines, summary, log) = verify(&args);
    assert_eq!((code, lines.len()), (1, 10), "{lines:#?}\n{log}");
    assert!(lines.iter().all(|l| l["kind"] == "missing"), "{lines:#?}");
    let s = &summary["summary"];
    assert_eq!(s["differences"]["missing"], 300, "{summary}");
    assert_eq!(s["unlisted"], 290, "{summary}");
    assert_eq!(s["rounds"], 2, "{summary}");
}

/// `--qps` holds each side to its rate, `SCAN` steps included: 1,000 keys in mode
/// `keys` take a `TYPE` each on each side, so at 500 commands a second (a
/// second's worth in the bucket at the start) the run lasts a second at least.
#[test]
fn the_read_rate_is_held() {
    let src = Server::start(Version::Redis7_0);
    let dst = Server::start(Version::Redis7_0);
    write_mixed(&mut src.client(), 1000);
    scan(&src.url(), &dst.url());
    let start = Instant::now();
    let (code, lines, _, log) = verify(&[
        "--source",
        &src.url(),
        "--target",
        &dst.url(),
        "--mode",
        "keys",
        "--qps",
        "500",
    ]);
    assert_eq!((code, lines.len()), (0, 0), "{lines:#?}\n{log}");
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
}

/// Slots moving between a cluster target's masters while a verification reads
/// it (`redis-cli --cluster reshard`, keys migrated one by one with MIGRATE):
/// nothing is reported, the keys followed wherever they are (MOVED, ASK).
#[test]
fn slots_moving_during_a_verification() {
    let src = Server::start(Version::Redis7_0);
    write_mixed(&mut src.client(), 3000);
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let target = cluster.nodes()[0].url();
    scan(&src.url(), &target);
    let id = |m: &Server| -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut m.client())
            .unwrap()
    };
    let masters = cluster.masters();
    let (from, to) = (id(masters[0]), id(masters[1]));
    // At most 1000 reads a second on each side: the verification of 3000 keys
    // lasts over ten seconds (several reads a key), the slots move meanwhile.
    let mut verifying = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(["--source", &src.url(), "--target", &target, "--qps", "1000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run verify");
    let reshard = Command::new("redis-cli")
        .args(["--cluster", "reshard", &masters[0].addr()])
        .args(["--cluster-from", &from, "--cluster-to", &to])
        .args(["--cluster-slots", "1000", "--cluster-yes"])
        .output()
        .expect("run redis-cli --cluster reshard");
    assert!(
        reshard.status.success(),
        "{}",
        String::from_utf8_lossy(&reshard.stderr)
    );
    assert!(
        verifying.try_wait().unwrap().is_none(),
        "the slots moved while the verification ran"
    );
    let out = verifying.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the summary: {stdout}");
    let summary: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(summary["summary"]["keys"]["0"], 3000, "{summary}");
}
