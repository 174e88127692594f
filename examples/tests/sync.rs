//! The `sync` program against real servers: a source with every type under a
//! concurrent load (non-idempotent commands, transactions, scripts, expiring keys,
//! deletes, several dbs) kept in sync with a target until the target equals the
//! source; across versions; cluster to cluster; standalone to cluster with
//! multi-key commands; the source link killed and resumed; a target master failing
//! over.

use std::time::{Duration, Instant};

use testkit::{Cluster, Load, LoadOptions, Server, Snapshot, Version, redis, write_mixed};

mod support;
use support::{Sync, converge, load, loaded_source};

#[test]
fn standalone_to_standalone_under_load_with_a_link_cut() {
    for (from, to) in [
        (Version::Redis7_0, Version::Redis7_0),
        (Version::Redis6_2, Version::Valkey9_1),
    ] {
        let what = format!("{from:?} to {to:?}");
        let src = loaded_source(from, 3000);
        let target = Server::start(to);
        let during = load(&src, 11);
        let sync = Sync::start(&["--source", &src.url(), "--target", &target.url()]);
        std::thread::sleep(Duration::from_millis(1500));
        // Cut the replication link: the sync resumes with a partial resync.
        let kind = if from == Version::Redis6_2 {
            "slave"
        } else {
            "replica"
        };
        let killed: u64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg(kind)
            .query(&mut src.client())
            .unwrap();
        assert_eq!(killed, 1, "{what}");
        std::thread::sleep(Duration::from_millis(1000));
        during.stop();
        let dbs: Vec<u64> = (0..16).collect();
        converge(
            || Snapshot::of_server(&src, &dbs),
            || Snapshot::of_server(&target, &dbs),
            &what,
        );
        let log = sync.stop();
        assert!(log.contains("sync rdb done"), "{log}");
        assert!(
            log.contains("1 full syncs, 1 partial resyncs"),
            "{what}: {log}"
        );
    }
}

#[test]
fn cluster_to_cluster_with_another_layout() {
    let src = Cluster::builder(Version::Redis7_0)
        .masters(3)
        .config("repl-diskless-sync-delay", "0")
        .start();
    let target = Cluster::start(Version::Redis7_0, 4);
    let before = Load::start_cluster(
        &src,
        LoadOptions {
            max_commands: Some(5000),
            ..LoadOptions::default()
        },
    );
    before.finish();
    let sync = Sync::start(&[
        "--source",
        &src.nodes()[0].url(),
        "--target",
        &target.nodes()[0].url(),
    ]);
    let during = Load::start_cluster(
        &src,
        LoadOptions {
            seed: 5,
            ..LoadOptions::default()
        },
    );
    std::thread::sleep(Duration::from_millis(2000));
    during.stop();
    converge(
        || Snapshot::of_cluster(&src),
        || Snapshot::of_cluster(&target),
        "cluster to cluster",
    );
    let log = sync.stop();
    assert_eq!(log.matches("sync rdb done").count(), 3, "{log}");
}

#[test]
fn standalone_to_cluster_with_multi_key_commands_and_a_failover() {
    let src = Server::builder(Version::Redis7_0)
        .config("repl-diskless-sync-delay", "0")
        .start();
    write_mixed(&mut src.client(), 2000);
    let mut target = Cluster::builder(Version::Redis7_0)
        .masters(3)
        .replicas(1)
        .start();
    let options = LoadOptions {
        cross_slot: true,
        seed: 3,
        ..LoadOptions::default()
    };
    let during = Load::start(&src, options);
    let sync = Sync::start(&["--source", &src.url(), "--target", &target.nodes()[0].url()]);
    std::thread::sleep(Duration::from_millis(1500));
    // A target master dies; its replica takes over after the node timeout.
    let victim = target
        .nodes()
        .iter()
        .position(|n| target.masters().iter().any(|m| m.port() == n.port()))
        .unwrap();
    target.nodes_mut()[victim].kill();
    std::thread::sleep(Duration::from_millis(1500));
    during.stop();
    // The replica is promoted after the node timeout (3 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    while target.masters().len() < 3 {
        assert!(Instant::now() < deadline, "no replica took over");
        std::thread::sleep(Duration::from_millis(200));
    }
    target.wait_healthy();
    converge(
        || Snapshot::of_server(&src, &[0]),
        || Snapshot::of_cluster(&target),
        "standalone to cluster",
    );
    sync.stop();
}

/// Several standalone sources (e.g. the backends of a proxy) merged into one target.
#[test]
fn several_sources_merged_into_one_target() {
    let a = Server::start(Version::Redis7_0);
    let b = Server::start(Version::Redis6_2);
    for (server, prefix) in [(&a, "a"), (&b, "b")] {
        let mut con = server.client();
        for i in 0..300 {
            redis::cmd("SET")
                .arg(format!("{prefix}:{i}"))
                .arg(i)
                .query::<()>(&mut con)
                .unwrap();
        }
    }
    let target = Server::start(Version::Redis7_0);
    let sync = Sync::start(&[
        "--source",
        &a.url(),
        "--source",
        &b.url(),
        "--target",
        &target.url(),
    ]);
    std::thread::sleep(Duration::from_millis(500));
    for (server, prefix) in [(&a, "a"), (&b, "b")] {
        redis::cmd("INCR")
            .arg(format!("{prefix}:live"))
            .query::<()>(&mut server.client())
            .unwrap();
    }
    let union = || {
        let mut s = Snapshot::of_server(&a, &[0]);
        s.keys.extend(Snapshot::of_server(&b, &[0]).keys);
        s
    };
    converge(union, || Snapshot::of_server(&target, &[0]), "two sources");
    let log = sync.stop();
    assert_eq!(log.matches("sync rdb done").count(), 2, "{log}");
}

/// A cascade: A -> B by one sync, B -> C by another. The writes the first applies
/// on B reach C through B's own replication stream, its checkpoints too (left out
/// of the comparison, as each sync's are).
#[test]
fn a_cascade_of_two_syncs() {
    let a = loaded_source(Version::Redis7_0, 2000);
    let b = Server::builder(Version::Redis7_0)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .config("repl-backlog-size", "64mb")
        .start();
    let c = Server::start(Version::Valkey9_1);
    let first = Sync::start(&["--source", &a.url(), "--target", &b.url()]);
    first.wait_for("the first RDB", |log| log.contains("sync rdb done"));
    let second = Sync::start(&["--source", &b.url(), "--target", &c.url()]);
    second.wait_for("the second RDB", |log| log.contains("sync rdb done"));
    let during = load(&a, 21);
    std::thread::sleep(Duration::from_millis(1500));
    during.stop();
    let dbs: Vec<u64> = (0..16).collect();
    converge(
        || Snapshot::of_server(&a, &dbs),
        || Snapshot::of_server(&c, &dbs),
        "A to C through B",
    );
    let log = second.stop();
    assert!(support::commands(&log) > 0, "{log}");
    first.stop();
}
