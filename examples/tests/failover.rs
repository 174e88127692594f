//! The `sync` program through source outages and failovers, against real servers:
//! a standalone source's replica promoted under load is followed with a partial
//! resync (`--source-replica`), and a source down for a while is retried, the
//! status line saying what is retried and since when, without its password.

use testkit::{Load, LoadOptions, Server, Snapshot, Version, redis};

mod support;
use support::{DBS, Sync, commands, converge, load, loaded_source};

#[test]
fn a_promoted_source_replica_is_followed_without_a_full_resync() {
    for version in [Version::Redis7_0, Version::Valkey9_1] {
        let what = format!("{version:?}");
        let src = loaded_source(version, 2000);
        let standby = Server::builder(version)
            .config("repl-backlog-size", "64mb")
            .start();
        redis::cmd("REPLICAOF")
            .arg(src.host())
            .arg(src.port())
            .query::<()>(&mut standby.client())
            .unwrap();
        let target = Server::start(version);
        let during = load(&src, 51);
        let (source_url, standby_url, target_url) = (src.url(), standby.url(), target.url());
        let run = Sync::start(&[
            "--source",
            &source_url,
            "--source-replica",
            &standby_url,
            "--target",
            &target_url,
        ]);
        run.wait_for(&what, |log| {
            log.contains("sync rdb done") && commands(log) > 100
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while standby.info_field("replication", "master_link_status") != "up" {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: standby never synced"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Writes pause until the standby has them all, then the roles swap; the
        // load's later writes to the old master are refused (READONLY). The
        // target is named: the sync acknowledges everything too.
        redis::cmd("FAILOVER")
            .arg("TO")
            .arg(standby.host())
            .arg(standby.port())
            .query::<()>(&mut src.client())
            .unwrap();
        while standby.info_field("replication", "role") != "master" {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: never promoted"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let sent = during.stop();
        assert!(sent > 100, "{what}: the load ran");
        Load::start(
            &standby,
            LoadOptions {
                dbs: DBS.to_vec(),
                seed: 52,
                max_commands: Some(3000),
                ..LoadOptions::default()
            },
        )
        .finish();
        let all: Vec<u64> = (0..16).collect();
        converge(
            || Snapshot::of_server(&standby, &all),
            || Snapshot::of_server(&target, &all),
            &what,
        );
        let log = run.stop();
        assert!(
            log.contains("1 full syncs, 1 partial resyncs"),
            "{what}: {log}"
        );
    }
}

#[test]
fn a_source_down_is_retried_and_shown_then_resumed() {
    let mut src = Server::builder(Version::Redis7_0)
        .password("pw-not-shown")
        .config("repl-diskless-sync-delay", "0")
        .start();
    testkit::write_mixed(&mut src.client(), 1000);
    let target = Server::start(Version::Redis7_0);
    let (source_url, target_url) = (src.url(), target.url());
    let args = [
        "--source",
        &source_url,
        "--target",
        &target_url,
        "--source-retry-for",
        "600",
    ];
    let run = Sync::start(&args);
    run.wait_for("the first load", |log| log.contains("sync rdb done"));
    // Saved with its replication id, so it can continue the stream once back.
    src.save();
    src.kill();
    let down = format!(", reconnecting to {} for ", src.addr());
    run.wait_for("the outage shown", |log| {
        log.lines()
            .any(|l| l.starts_with("sync: ") && l.contains(&down) && l.contains("(attempt "))
    });
    src.restart();
    redis::cmd("SET")
        .arg("after-the-outage")
        .arg(1)
        .query::<()>(&mut src.client())
        .unwrap();
    converge(
        || Snapshot::of_server(&src, &[0]),
        || Snapshot::of_server(&target, &[0]),
        "after the outage",
    );
    let log = run.stop();
    assert!(log.contains("1 full syncs, 1 partial resyncs"), "{log}");
    assert!(!log.contains("pw-not-shown"), "{log}");
}

/// A master of a cluster source fails over (`CLUSTER FAILOVER` on its replica):
/// the sync finds the promoted replica through discovery and continues its shard
/// with a partial resync; the target ends equal to the cluster.
#[test]
fn a_cluster_source_failover_is_followed_without_a_full_resync() {
    let cluster = testkit::Cluster::builder(Version::Redis7_0)
        .masters(3)
        .replicas(1)
        .config("repl-backlog-size", "64mb")
        .start();
    let target = Server::start(Version::Redis7_0);
    let writes = |seed| {
        Load::start_cluster(
            &cluster,
            LoadOptions {
                seed,
                max_commands: Some(3000),
                ..LoadOptions::default()
            },
        )
        .finish()
    };
    writes(61);
    let (source_url, target_url) = (cluster.nodes()[0].url(), target.url());
    let run = Sync::start(&["--source", &source_url, "--target", &target_url]);
    run.wait_for("three shards loaded", |log| {
        log.matches("sync rdb done").count() == 3
    });
    writes(62);
    cluster.fail_over();
    writes(63);
    converge(
        || Snapshot::of_cluster(&cluster),
        || Snapshot::of_server(&target, &[0]),
        "a cluster source failover",
    );
    let log = run.stop();
    assert!(log.contains("1 full syncs, 1 partial resyncs"), "{log}");
    assert!(!log.contains("2 full syncs"), "{log}");
}
