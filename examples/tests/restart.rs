//! The `sync` program killed and started again with the same command line, against
//! real servers: under a non-idempotent load (INCR, APPEND, LPUSH, HINCRBY,
//! MULTI/EXEC, scripts, deletes, expiries) on several dbs, it resumes from the
//! target's checkpoints without a full resync, and the target ends equal to the
//! source, counters exact; a restart after the source's backlog lost the stream,
//! or after an RDB load was cut short, refuses to leave stale keys, and with
//! `--on-full-resync flush` ends equal to the source. Standalone and cluster
//! targets.

use testkit::{Cluster, Load, LoadOptions, Server, Snapshot, Version, redis, write_mixed};

mod support;
use support::{CHECKPOINTS, Sync, commands, converge, load, loaded_source};

fn all_dbs() -> Vec<u64> {
    (0..16).collect()
}

/// The checkpoint the target holds (db 0).
fn checkpoint(target: &Server) -> Option<String> {
    let mut con = target.client();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", String::from_utf8_lossy(CHECKPOINTS)))
        .query(&mut con)
        .unwrap();
    let key = keys.first()?;
    redis::cmd("GET").arg(key).query(&mut con).unwrap()
}

/// Runs `sync args`, kills it once it streams, three more times after it
/// resumed, then starts it a last time and returns it; no restart may take a full
/// resync.
fn killed_three_times(what: &str, args: &[&str]) -> Sync {
    let first = Sync::start(args);
    first.wait_for(what, |log| {
        log.contains("sync rdb done") && commands(log) > 100
    });
    first.kill();
    for round in 1..=3 {
        let run = Sync::start(args);
        run.wait_for(what, |log| commands(log) > 100);
        let log = run.kill();
        assert!(
            !log.contains("sync rdb done"),
            "{what}: round {round} took a full resync: {log}"
        );
    }
    let last = Sync::start(args);
    last.wait_for(what, |log| commands(log) > 0);
    last
}

#[test]
fn killed_three_times_under_load_it_loses_nothing_and_repeats_nothing() {
    for (from, to) in [
        (Version::Redis7_0, Version::Redis7_0),
        (Version::Redis6_2, Version::Valkey9_1),
        (Version::Valkey9_1, Version::Redis7_0),
    ] {
        let what = format!("{from:?} to {to:?}");
        let src = loaded_source(from, 3000);
        let target = Server::start(to);
        let during = load(&src, 31);
        let (source_url, target_url) = (src.url(), target.url());
        let last = killed_three_times(&what, &["--source", &source_url, "--target", &target_url]);
        assert!(during.stop() > 1000, "{what}: the load ran");
        converge(
            || Snapshot::of_server(&src, &all_dbs()),
            || Snapshot::of_server(&target, &all_dbs()),
            &what,
        );
        let log = last.stop();
        assert!(
            log.contains("0 full syncs, 1 partial resyncs"),
            "{what}: {log}"
        );
    }
}

/// The same onto a 3-master cluster, where each slot's commands carry that slot's
/// checkpoint.
#[test]
fn killed_three_times_under_load_into_a_cluster() {
    let what = "Redis6_2 to a Redis7_0 cluster";
    let src = Server::builder(Version::Redis6_2)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .config("repl-backlog-size", "64mb")
        .start();
    write_mixed(&mut src.client(), 3000);
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let during = Load::start(
        &src,
        LoadOptions {
            seed: 37,
            ..LoadOptions::default()
        },
    );
    let (source_url, target_url) = (src.url(), cluster.nodes()[1].url());
    let last = killed_three_times(what, &["--source", &source_url, "--target", &target_url]);
    assert!(during.stop() > 1000, "{what}: the load ran");
    converge(
        || Snapshot::of_server(&src, &[0]),
        || Snapshot::of_cluster(&cluster),
        what,
    );
    let log = last.stop();
    assert!(
        log.contains("0 full syncs, 1 partial resyncs"),
        "{what}: {log}"
    );
}

#[test]
fn a_stream_the_backlog_lost_is_not_resumed_onto_stale_keys() {
    let src = Server::builder(Version::Redis7_0)
        .config("repl-backlog-size", "16kb")
        .start();
    let mut con = src.client();
    write_mixed(&mut con, 2000);
    let target = Server::start(Version::Redis7_0);
    let (source_url, target_url) = (src.url(), target.url());
    let args = ["--source", &source_url, "--target", &target_url];
    let run = Sync::start(&args);
    run.wait_for("the first load", |log| log.contains("sync rdb done"));
    run.stop();
    // While the sync is down: keys deleted, and more written than the backlog holds.
    redis::cmd("SET")
        .arg("gone")
        .arg(1)
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap();
    write_mixed(&mut con, 500);
    let refused = Sync::start(&args);
    let (ok, log) = refused.wait();
    assert!(!ok && log.contains("deleted since"), "{log}");
    let flushed = Sync::start(&[&args[..], &["--on-full-resync", "flush"]].concat());
    flushed.wait_for("the second load", |log| log.contains("sync rdb done"));
    converge(
        || Snapshot::of_server(&src, &[0]),
        || Snapshot::of_server(&target, &all_dbs()),
        "after the backlog was lost",
    );
    flushed.stop();
}

#[test]
fn an_rdb_load_cut_short_is_not_resumed() {
    let src = loaded_source(Version::Redis7_0, 150_000);
    let target = Server::start(Version::Redis7_0);
    let (source_url, target_url) = (src.url(), target.url());
    let args = ["--source", &source_url, "--target", &target_url];
    let run = Sync::start(&args);
    let mut t = target.client();
    let dbsize = |t: &mut redis::Connection| redis::cmd("DBSIZE").query::<u64>(t).unwrap();
    while dbsize(&mut t) < 1000 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Hold the target's writes so the load stops halfway, then kill the sync.
    redis::cmd("CLIENT")
        .arg(&["PAUSE", "20000", "WRITE"])
        .query::<()>(&mut t)
        .unwrap();
    let log = run.kill();
    redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query::<()>(&mut t)
        .unwrap();
    assert!(!log.contains("sync rdb done"), "{log}");
    let held = checkpoint(&target).expect("a checkpoint");
    assert!(held.ends_with(" loading"), "{held}");
    let refused = Sync::start(&args);
    let (ok, log) = refused.wait();
    assert!(!ok && log.contains("cut short"), "{log}");
    let flushed = Sync::start(&[&args[..], &["--on-full-resync", "flush"]].concat());
    flushed.wait_for("the second load", |log| log.contains("sync rdb done"));
    converge(
        || Snapshot::of_server(&src, &all_dbs()),
        || Snapshot::of_server(&target, &all_dbs()),
        "after a load cut short",
    );
    let log = flushed.stop();
    assert!(log.contains("1 full syncs, 0 partial resyncs"), "{log}");
    assert!(checkpoint(&target).is_some_and(|c| c.ends_with(" loaded")));
    // After the cutover.
    let (ok, log) = Sync::start(&["--target", &target_url, "--remove-checkpoints"]).wait();
    assert!(ok && log.contains("1 checkpoint keys removed"), "{log}");
    assert_eq!(checkpoint(&target), None);
}

/// The sync's connections to the target killed again and again under load: the
/// batches whose replies were lost are resent only where the target's checkpoint
/// says they were not applied, so the counters end exact.
#[test]
fn lost_replies_are_neither_lost_nor_applied_twice() {
    let src = loaded_source(Version::Redis7_0, 2000);
    let target = Server::start(Version::Redis7_0);
    let during = load(&src, 41);
    let (source_url, target_url) = (src.url(), target.url());
    let run = Sync::start(&["--source", &source_url, "--target", &target_url]);
    run.wait_for("streaming", |log| commands(log) > 100);
    let mut t = target.client();
    let others = |t: &mut redis::Connection| {
        let list: String = redis::cmd("CLIENT")
            .arg(&["LIST", "TYPE", "normal"])
            .query(t)
            .unwrap();
        list.lines().count().saturating_sub(1)
    };
    // Ten kills of the writer's connection (every client but this one is the
    // sync's; a short-lived one may be gone before the kill, then it counts none).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut killed = 0;
    while killed < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "{killed} kills in 60 s"
        );
        if others(&mut t) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            continue;
        }
        killed += redis::cmd("CLIENT")
            .arg(&["KILL", "TYPE", "normal"])
            .query::<u64>(&mut t)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(during.stop() > 1000, "the load ran");
    converge(
        || Snapshot::of_server(&src, &all_dbs()),
        || Snapshot::of_server(&target, &all_dbs()),
        "connections killed",
    );
    let log = run.stop();
    assert!(log.contains("1 full syncs, 0 partial resyncs"), "{log}");
    assert!(
        log.contains("checked against the node's checkpoint"),
        "{log}"
    );
}

/// A master of a cluster target fails over (`CLUSTER FAILOVER` on its replica)
/// while the sync streams under load: batches refused by the demoted master
/// follow their slots to the new one, and the counters end exact.
#[test]
fn a_target_failover_loses_nothing_and_repeats_nothing() {
    let src = Server::builder(Version::Redis7_0)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .start();
    write_mixed(&mut src.client(), 3000);
    let cluster = Cluster::builder(Version::Redis7_0)
        .masters(3)
        .replicas(1)
        .start();
    let during = Load::start(
        &src,
        LoadOptions {
            seed: 43,
            ..LoadOptions::default()
        },
    );
    let (source_url, target_url) = (src.url(), cluster.nodes()[0].url());
    let run = Sync::start(&["--source", &source_url, "--target", &target_url]);
    run.wait_for("streaming", |log| commands(log) > 100);
    let replica = cluster.fail_over();
    let after = commands(&run.log());
    run.wait_for("streaming after the failover", |log| {
        commands(log) > after + 1000
    });
    // The demoted master sent the sync's batches on (MOVED).
    let moved: u64 = redis::cmd("INFO")
        .arg("errorstats")
        .query::<String>(&mut first_replica_of(&cluster, replica).client())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("errorstat_MOVED:count="))
        .map_or(0, |n| n.parse().unwrap());
    assert!(moved > 0, "the sync wrote to the demoted master");
    assert!(during.stop() > 1000, "the load ran");
    converge(
        || Snapshot::of_server(&src, &[0]),
        || Snapshot::of_cluster(&cluster),
        "a target failover",
    );
    let log = run.stop();
    assert!(log.contains("1 full syncs, 0 partial resyncs"), "{log}");
}

/// The first replica of `node` (after a failover: the master it replaced).
fn first_replica_of<'a>(cluster: &'a Cluster, node: &Server) -> &'a Server {
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut node.client())
        .unwrap();
    let port = info
        .lines()
        .find_map(|l| l.strip_prefix("slave0:"))
        .and_then(|l| l.split(',').find_map(|f| f.strip_prefix("port=")))
        .and_then(|p| p.parse::<u16>().ok())
        .expect("a replica after the failover");
    cluster
        .nodes()
        .iter()
        .find(|n| n.port() == port)
        .expect("a node of the cluster")
}

/// The target goes down while the sync streams under load, and comes back; then it
/// stops answering for a while (a blackholed peer): the sync says what it retries
/// and since when, then carries on; the counters end exact.
#[test]
fn a_target_down_or_silent_for_a_while_is_retried_and_nothing_is_lost() {
    let src = loaded_source(Version::Redis7_0, 2000);
    let mut target = Server::builder(Version::Redis7_0)
        .config("appendonly", "yes")
        .config("appendfsync", "always")
        .start();
    let during = load(&src, 47);
    let (source_url, target_url) = (src.url(), target.url());
    let run = Sync::start(&[
        "--source",
        &source_url,
        "--target",
        &target_url,
        "--io-timeout",
        "1",
    ]);
    run.wait_for("streaming", |log| commands(log) > 100);
    target.kill();
    run.wait_for("retrying", |log| {
        log.contains("retrying the target for") && log.contains("(attempt ")
    });
    target.restart();
    let before = commands(&run.log());
    run.wait_for("streaming again", |log| commands(log) > before + 1000);
    // Silent: replies held back longer than the I/O timeout.
    redis::cmd("CLIENT")
        .arg(&["PAUSE", "4000", "ALL"])
        .query::<()>(&mut target.client())
        .unwrap();
    run.wait_for("a timeout", |log| log.contains("timed out after 1s"));
    let before = commands(&run.log());
    run.wait_for("streaming after the silence", |log| {
        commands(log) > before + 1000
    });
    assert!(during.stop() > 1000, "the load ran");
    converge(
        || Snapshot::of_server(&src, &all_dbs()),
        || Snapshot::of_server(&target, &all_dbs()),
        "a target down for a while",
    );
    let log = run.stop();
    assert!(log.contains("1 full syncs, 0 partial resyncs"), "{log}");
}

/// Only the keys in scope (`app:*` in db 0 here).
fn in_scope(mut snapshot: Snapshot) -> Snapshot {
    snapshot
        .keys
        .retain(|(db, key), _| *db == 0 && key.starts_with(b"app:"));
    snapshot
}

/// A target shared with another writer: after the source's backlog lost the
/// stream, `--on-full-resync delete-in-scope` deletes the keys the sync covers
/// (its filter's) and loads the new snapshot; keys the source deleted meanwhile
/// are gone, the other writer's keys stay.
#[test]
fn a_shared_target_keeps_the_other_keys_when_the_scope_is_reloaded() {
    let src = Server::builder(Version::Redis7_0)
        .config("repl-backlog-size", "16kb")
        .start();
    let mut con = src.client();
    for i in 0..500 {
        redis::cmd("SET")
            .arg(format!("app:{i}"))
            .arg(i)
            .query::<()>(&mut con)
            .unwrap();
        redis::cmd("RPUSH")
            .arg(format!("noise:{i}"))
            .arg(i)
            .query::<()>(&mut con)
            .unwrap();
    }
    let target = Server::start(Version::Redis7_0);
    let mut t = target.client();
    for i in 0..100 {
        redis::cmd("SET")
            .arg(format!("other:{i}"))
            .arg("theirs")
            .query::<()>(&mut t)
            .unwrap();
    }
    let (source_url, target_url) = (src.url(), target.url());
    let args = [
        "--source",
        &source_url,
        "--target",
        &target_url,
        "--prefix",
        "app:",
    ];
    let run = Sync::start(&args);
    run.wait_for("the first load", |log| log.contains("sync rdb done"));
    run.stop();
    // While the sync is down: app keys deleted, and more written than the
    // backlog holds.
    for i in 0..100 {
        redis::cmd("DEL")
            .arg(format!("app:{i}"))
            .query::<()>(&mut con)
            .unwrap();
    }
    for i in 0..200 {
        redis::cmd("SET")
            .arg(format!("app:new:{i}"))
            .arg("x".repeat(200))
            .query::<()>(&mut con)
            .unwrap();
    }
    let (ok, log) = Sync::start(&args).wait();
    assert!(!ok && log.contains("delete-in-scope"), "{log}");
    let reloaded = Sync::start(&[&args[..], &["--on-full-resync", "delete-in-scope"]].concat());
    reloaded.wait_for("the second load", |log| log.contains("sync rdb done"));
    converge(
        || in_scope(Snapshot::of_server(&src, &[0])),
        || in_scope(Snapshot::of_server(&target, &all_dbs())),
        "the scope reloaded",
    );
    reloaded.stop();
    let target_keys = Snapshot::of_server(&target, &all_dbs());
    let theirs = target_keys
        .keys
        .keys()
        .filter(|(_, k)| k.starts_with(b"other:"))
        .count();
    assert_eq!(theirs, 100, "the other writer's keys stay");
    assert!(
        !target_keys
            .keys
            .keys()
            .any(|(_, k)| k.starts_with(b"noise:")),
        "nothing out of scope was copied"
    );
    assert!(!target_keys.keys.contains_key(&(0, b"app:7".to_vec())));
}

/// A sync started before its target is up waits for it, its status saying so,
/// and goes on once the target answers; stopped meanwhile, it stops at once.
#[test]
fn a_target_not_up_yet_is_waited_for() {
    let src = loaded_source(Version::Redis7_0, 500);
    let mut target = Server::start(Version::Redis7_0);
    target.kill();
    let (source_url, target_url) = (src.url(), target.url());
    let args = ["--source", &source_url, "--target", &target_url];
    // Stopped while it waits.
    let waiting = Sync::start(&args);
    waiting.wait_for("retrying", |log| {
        log.contains("retrying the target for") && log.contains("(attempt ")
    });
    let (stopped, stop) = std::sync::mpsc::channel();
    std::thread::spawn(move || stopped.send(waiting.stop()));
    let log = stop
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("stopped while it waits for the target");
    assert!(!log.contains("sync rdb done"), "{log}");
    // Left waiting until the target is up.
    let run = Sync::start(&args);
    run.wait_for("retrying", |log| {
        log.contains("retrying the target for") && log.contains("(attempt ")
    });
    target.restart();
    run.wait_for("the RDB", |log| log.contains("sync rdb done"));
    converge(
        || Snapshot::of_server(&src, &all_dbs()),
        || Snapshot::of_server(&target, &all_dbs()),
        "a target up late",
    );
    let log = run.stop();
    assert!(log.contains("1 full syncs, 0 partial resyncs"), "{log}");
}
