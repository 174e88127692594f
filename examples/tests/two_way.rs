//! `sync --bidirectional` against real servers: A and B both take writes (loads on
//! disjoint keys in several dbs, non-idempotent commands, transactions, scripts)
//! and end identical; once the loads stop, neither replication stream carries
//! anything more (no write goes round in a loop); killed and started again under
//! load, nothing is lost or applied twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use testkit::{Cluster, Load, LoadOptions, Server, Snapshot, Version, redis};

mod support;
use support::{CHECKPOINTS, DBS, Sync, converge, free_port, sample_sum, scrape};

/// A server both sides of a two-way sync can be: it serves its replica at once,
/// keeps a backlog large enough for a slow machine, and sends its replica a
/// `PING` every second (which must not set the two directions off).
fn side(version: Version) -> Server {
    Server::builder(version)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .config("repl-backlog-size", "64mb")
        .config("repl-ping-replica-period", "1")
        .start()
}

/// What a `PING` adds to a replication stream: `*1\r\n$4\r\nPING\r\n`.
const PING: u64 = 14;

/// A write load on [`DBS`] of `server`, on keys under `prefix` only, without keys
/// expiring on their own (each side would delete them: see `TwoWay`).
fn load(server: &Server, prefix: &str, seed: u64) -> Load {
    Load::start(
        server,
        LoadOptions {
            dbs: DBS.to_vec(),
            seed,
            prefix: prefix.into(),
            expiring: false,
            ..LoadOptions::default()
        },
    )
}

/// Both sides' keys, each sync direction's checkpoints left out.
fn snapshot(server: &Server) -> Snapshot {
    let dbs: Vec<u64> = (0..16).collect();
    Snapshot::of_server(server, &dbs).without(CHECKPOINTS)
}

/// Waits until, for 3 s, neither side's replication stream carries anything but
/// its server's `PING`s (60 s at most): a write going round in a loop, or
/// checkpoints answering each other, never let them rest.
fn streams_rest(servers: &[&Server], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let offsets = || servers.iter().map(|s| s.repl_offset()).collect::<Vec<_>>();
    let mut last = offsets();
    loop {
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(3));
        let now = offsets();
        // One PING a second, and one more for the second the window started in.
        let pings = started.elapsed().as_secs() + 1;
        let only_pings = |grown: u64| grown.is_multiple_of(PING) && grown <= pings * PING;
        if now.iter().zip(&last).all(|(n, l)| only_pings(n - l)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the streams never rest: {last:?} then {now:?}"
        );
        last = now;
    }
}

/// `sync --bidirectional` between `a` and `b` (and `more` options), once both
/// directions stream.
fn two_way(a: &Server, b: &Server, more: &[&str]) -> Sync {
    let (a_url, b_url) = (a.url(), b.url());
    let args = ["--bidirectional", "--source", &a_url, "--target", &b_url];
    let sync = Sync::start(&[&args[..], more].concat());
    sync.wait_for("both directions", |log| rdbs_done(log) == 2);
    sync
}

/// The number of `sync rdb done` lines: one per direction once both stream.
fn rdbs_done(log: &str) -> usize {
    log.matches("sync rdb done").count()
}

#[test]
fn both_sides_written_at_once_end_equal_without_loops() {
    for (a_version, b_version) in [
        (Version::Redis7_0, Version::Redis7_0),
        (Version::Redis7_0, Version::Valkey9_1),
    ] {
        let what = format!("{a_version:?} and {b_version:?}");
        let a = side(a_version);
        testkit::write_mixed(&mut a.client(), 2000);
        let b = side(b_version);
        let sync = two_way(&a, &b, &[]);
        let (on_a, on_b) = (load(&a, "a:", 31), load(&b, "b:", 32));
        std::thread::sleep(Duration::from_millis(2000));
        let (sent_a, sent_b) = (on_a.stop(), on_b.stop());
        assert!(sent_a > 100 && sent_b > 100, "{what}: the loads ran");
        converge(|| snapshot(&a), || snapshot(&b), &what);
        // Each side's keys are there: both directions carried writes.
        let keys = snapshot(&a).keys;
        for prefix in ["a:", "b:"] {
            assert!(
                keys.keys().any(|(_, k)| k.starts_with(prefix.as_bytes())),
                "{what}: no {prefix} key"
            );
        }
        streams_rest(&[&a, &b], &what);
        // And `verify` proves it, each direction's checkpoints left out on both
        // sides.
        let verified = std::process::Command::new(env!("CARGO_BIN_EXE_verify"))
            .args(["--source", &a.url(), "--target", &b.url(), "--rounds", "2"])
            .output()
            .expect("run verify");
        assert!(
            verified.status.success()
                && verified.stdout.iter().filter(|&&c| c == b'\n').count() == 1,
            "{what}: {}{}",
            String::from_utf8_lossy(&verified.stdout),
            String::from_utf8_lossy(&verified.stderr)
        );
        let log = sync.stop();
        assert!(log.contains("returning dropped"), "{what}: {log}");
    }
}

/// A standalone A and a 3-master cluster B: A's stream goes to B in one batch
/// per slot (each with its slot's checkpoint, and a floor), B's three streams
/// come back to A; each direction drops the other's.
#[test]
fn a_standalone_server_and_a_cluster() {
    let a = side(Version::Redis7_0);
    testkit::write_mixed(&mut a.client(), 1000);
    let b = Cluster::builder(Version::Redis7_0)
        .masters(3)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .config("repl-backlog-size", "64mb")
        .config("repl-ping-replica-period", "1")
        .start();
    let sync = Sync::start(&[
        "--bidirectional",
        "--source",
        &a.url(),
        "--target",
        &b.nodes()[0].url(),
    ]);
    // One RDB from A, one from each of B's masters.
    sync.wait_for("both directions", |log| rdbs_done(log) == 4);
    let options = |prefix: &str, seed| LoadOptions {
        seed,
        prefix: prefix.into(),
        expiring: false,
        ..LoadOptions::default()
    };
    let on_a = Load::start(&a, options("a:", 51));
    let on_b = Load::start_cluster(&b, options("b:", 52));
    std::thread::sleep(Duration::from_millis(2000));
    let (sent_a, sent_b) = (on_a.stop(), on_b.stop());
    assert!(sent_a > 100 && sent_b > 100, "the loads ran");
    let what = "a standalone server and a cluster";
    converge(
        || Snapshot::of_server(&a, &[0]).without(CHECKPOINTS),
        || Snapshot::of_cluster(&b).without(CHECKPOINTS),
        what,
    );
    let mut servers = b.masters();
    servers.push(&a);
    streams_rest(&servers, what);
    let log = sync.stop();
    assert!(log.contains("returning dropped"), "{log}");
    // Conflicts on the cluster's slots: keys written on both sides while stopped,
    // B winning this time.
    let mut on_a = a.client();
    for i in 0..30 {
        let key = format!("x:{{{i}}}");
        redis::cmd("SET")
            .arg(&key)
            .arg("a")
            .query::<()>(&mut on_a)
            .unwrap();
        // The master serving the key's slot takes it; the others answer MOVED.
        let taken = b.masters().into_iter().any(|m| {
            redis::cmd("SET")
                .arg(&key)
                .arg("b")
                .query::<()>(&mut m.client())
                .is_ok()
        });
        assert!(taken, "a master serves {key}");
    }
    let url = b.nodes()[0].url();
    let run = Sync::start(&[
        "--bidirectional",
        "--source",
        &a.url(),
        "--target",
        &url,
        "--conflict-policy",
        "b-wins",
    ]);
    run.wait_for("resumed", |log| log.matches(" commands, ").count() >= 4);
    converge(
        || Snapshot::of_server(&a, &[0]).without(CHECKPOINTS),
        || Snapshot::of_cluster(&b).without(CHECKPOINTS),
        "conflicts on a cluster",
    );
    let value: String = redis::cmd("GET").arg("x:{7}").query(&mut on_a).unwrap();
    assert_eq!(value, "b", "B won");
    let log = run.stop();
    assert!(log.contains("30 conflicts settled"), "{log}");
}

/// Killed twice while both sides take writes, and started again each time: each
/// direction resumes from its checkpoint; the non-idempotent commands (`INCR`,
/// `APPEND`, `LPUSH`...) show that none was lost or applied twice.
#[test]
fn killed_under_load_and_started_again() {
    let (a, b) = (side(Version::Redis7_0), side(Version::Redis7_0));
    testkit::write_mixed(&mut a.client(), 1000);
    let first = two_way(&a, &b, &[]);
    let (a_url, b_url) = (a.url(), b.url());
    let args = ["--bidirectional", "--source", &a_url, "--target", &b_url];
    let (on_a, on_b) = (load(&a, "a:", 41), load(&b, "b:", 42));
    let mut run = first;
    for round in 0..2 {
        // Kill it once it has carried writes both ways since it started.
        run.wait_for("writes both ways", |log| {
            log.lines()
                .rev()
                .take(8)
                .filter(|l| l.contains(" commands, ") && !l.contains(": 0 commands"))
                .count()
                >= 2
        });
        run.kill();
        run = Sync::start(&args);
        run.wait_for("resumed", |log| log.contains(" commands, "));
        assert_eq!(
            rdbs_done(&run.log()),
            0,
            "round {round}: resumed, no full sync"
        );
    }
    let (sent_a, sent_b) = (on_a.stop(), on_b.stop());
    assert!(sent_a > 100 && sent_b > 100, "the loads ran");
    converge(|| snapshot(&a), || snapshot(&b), "killed twice");
    streams_rest(&[&a, &b], "killed twice");
    let log = run.stop();
    assert!(log.contains("0 full syncs, 1 partial resyncs"), "{log}");
}

/// Writes that overwrite (`SET`, `DEL`, `HSET` of one field, `MSET`, and a
/// transaction of them) on `keys` keys under `prefix`, the values naming `side`,
/// until `stop`: a conflict between two of them is settled by applying the
/// winner's again, which no such write minds.
fn overwrite(server: &Server, side: &str, keys: u64, seed: u64, stop: &AtomicBool) -> u64 {
    let mut con = server.client();
    let mut n = seed;
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        n = n
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let (i, j) = ((n >> 33) % keys, (n >> 40) % keys);
        let value = format!("{side}-{sent}");
        let mut pipe = redis::pipe();
        match (n >> 20) % 5 {
            0 => pipe.cmd("SET").arg(format!("c:{i}")).arg(&value),
            1 => pipe.cmd("DEL").arg(format!("c:{i}")),
            2 => pipe.cmd("HSET").arg(format!("h:{i}")).arg("f").arg(&value),
            3 => pipe
                .cmd("MSET")
                .arg(format!("c:{i}"))
                .arg(&value)
                .arg(format!("c:{j}"))
                .arg(&value),
            _ => pipe
                .atomic()
                .cmd("SET")
                .arg(format!("c:{i}"))
                .arg(&value)
                .cmd("HSET")
                .arg(format!("h:{j}"))
                .arg("f")
                .arg(&value),
        };
        pipe.query::<()>(&mut con).unwrap();
        sent += 1;
    }
    sent
}

/// The value of string key `key` on `server`.
fn get(server: &Server, key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut server.client())
        .unwrap()
}

/// Stopped, then each key `x:i` written on both sides (a conflict by
/// definition: neither write can cross before the other is made), and started
/// again: both sides end with the winner's value, and each conflict is one JSON
/// line; keys written on one side only are copied as they are. Then the same with
/// the other policy.
#[test]
fn conflicts_are_settled_for_the_winner() {
    let (a, b) = (side(Version::Redis7_0), side(Version::Valkey9_1));
    testkit::write_mixed(&mut a.client(), 500);
    let first = two_way(&a, &b, &[]);
    let (a_url, b_url) = (a.url(), b.url());
    let args = ["--bidirectional", "--source", &a_url, "--target", &b_url];
    first.stop();
    let dir = tempfile::tempdir().unwrap();
    for (round, (policy, winner)) in [("a-wins", "a"), ("b-wins", "b")].into_iter().enumerate() {
        let what = format!("policy {policy}");
        for (server, side) in [(&a, "a"), (&b, "b")] {
            let mut con = server.client();
            for i in 0..50 {
                redis::cmd("SET")
                    .arg(format!("x:{i}"))
                    .arg(format!("{side}-{round}"))
                    .query::<()>(&mut con)
                    .unwrap();
            }
            redis::cmd("SET")
                .arg(format!("only-{side}:{round}"))
                .arg(side)
                .query::<()>(&mut con)
                .unwrap();
        }
        let out = dir.path().join(format!("conflicts-{round}"));
        let file = std::fs::File::create(&out).unwrap();
        let port = free_port();
        let metrics = ["--metrics-addr", &format!("127.0.0.1:{port}")];
        let policy_args = ["--conflict-policy", policy];
        let run = Sync::start_with_stdout(&[&args[..], &policy_args, &metrics].concat(), file);
        run.wait_for("resumed both ways", |log| {
            log.matches(" commands, ").count() >= 2
        });
        converge(|| snapshot(&a), || snapshot(&b), &what);
        for i in [0, 17, 49] {
            let expected = format!("{winner}-{round}");
            let key = format!("x:{i}");
            assert_eq!(
                get(&a, &key).as_deref(),
                Some(&*expected),
                "{what}: {key} on A"
            );
            assert_eq!(
                get(&b, &key).as_deref(),
                Some(&*expected),
                "{what}: {key} on B"
            );
        }
        for side in ["a", "b"] {
            let key = format!("only-{side}:{round}");
            assert_eq!(get(&a, &key).as_deref(), Some(side), "{what}: {key}");
        }
        // The conflicts' commands applied again, and the other direction's batches
        // dropped on their way back, in the metrics too.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = scrape(port).unwrap_or_default();
            let settled = sample_sum(&text, "migrate_sync_conflicts_total");
            if settled == 50 && sample_sum(&text, "migrate_sync_returned_total") > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{what}: metrics: {text}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = run.stop();
        let lines = std::fs::read_to_string(&out).unwrap();
        let conflicts: Vec<&str> = lines.lines().collect();
        assert_eq!(conflicts.len(), 50, "{what}: {lines}\n{log}");
        let expected = format!(r#"{{"db":0,"key":"x:7","kind":"conflict","winner":"{winner}"}}"#);
        assert!(conflicts.contains(&expected.as_str()), "{what}: {lines}");
        assert!(log.contains("50 conflicts settled"), "{what}: {log}");
    }
}

/// Both sides overwrite the same keys at once for a while: whatever crossed
/// when, both end equal.
#[test]
fn both_sides_overwriting_the_same_keys_end_equal() {
    let (a, b) = (side(Version::Redis7_0), side(Version::Redis7_0));
    testkit::write_mixed(&mut a.client(), 500);
    let sync = two_way(&a, &b, &[]);
    let stop = AtomicBool::new(false);
    let (sent_a, sent_b) = std::thread::scope(|s| {
        let on_a = s.spawn(|| overwrite(&a, "a", 64, 1, &stop));
        let on_b = s.spawn(|| overwrite(&b, "b", 64, 2, &stop));
        std::thread::sleep(Duration::from_millis(2000));
        stop.store(true, Ordering::Relaxed);
        (on_a.join().unwrap(), on_b.join().unwrap())
    });
    assert!(sent_a > 100 && sent_b > 100, "the writes ran");
    converge(
        || snapshot(&a),
        || snapshot(&b),
        "overwriting the same keys",
    );
    streams_rest(&[&a, &b], "overwriting the same keys");
    sync.stop();
}

/// B holding keys of its own at the first start is refused (they would never
/// reach A), with a message that says so.
#[test]
fn a_b_holding_keys_is_refused_at_the_first_start() {
    let (a, b) = (side(Version::Redis7_0), side(Version::Redis7_0));
    testkit::write_mixed(&mut a.client(), 100);
    redis::cmd("SET")
        .arg("b-only")
        .arg(1)
        .query::<()>(&mut b.client())
        .unwrap();
    let run = Sync::start(&[
        "--bidirectional",
        "--source",
        &a.url(),
        "--target",
        &b.url(),
    ]);
    let (ok, log) = run.wait();
    assert!(!ok && log.contains("B holds keys"), "{log}");
    let keys: u64 = redis::cmd("DBSIZE").query(&mut a.client()).unwrap();
    assert_eq!(keys, 100, "A untouched: {log}");
}

/// A two-way pair where B is also the source of a third deployment C: both
/// sides' writes reach C (A's through B's stream).
#[test]
fn a_two_way_side_feeding_a_third_deployment() {
    let (a, b) = (side(Version::Redis7_0), side(Version::Redis7_0));
    let c = Server::start(Version::Valkey9_1);
    testkit::write_mixed(&mut a.client(), 1000);
    let two_way = two_way(&a, &b, &[]);
    let onward = Sync::start(&["--source", &b.url(), "--target", &c.url()]);
    onward.wait_for("the onward RDB", |log| log.contains("sync rdb done"));
    let (on_a, on_b) = (load(&a, "a:", 61), load(&b, "b:", 62));
    std::thread::sleep(Duration::from_millis(1500));
    let (sent_a, sent_b) = (on_a.stop(), on_b.stop());
    assert!(sent_a > 100 && sent_b > 100, "the loads ran");
    converge(|| snapshot(&a), || snapshot(&b), "A and B");
    converge(|| snapshot(&a), || snapshot(&c), "A and C");
    onward.stop();
    two_way.stop();
}
