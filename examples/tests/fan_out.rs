//! One source's stream written to several targets at once (`Sync::also_to`, and
//! `sync` with `--target` repeated): a standalone Valkey, a Redis cluster and a
//! Redis server with a database map, under a write load; one of them down for a
//! while and back, the others going on meanwhile; all end equal to the source.

use std::time::{Duration, Instant};

use migrate::{DbMap, Sync, SyncOptions, SyncStatus};
use testkit::{Cluster, Load, LoadOptions, Server, Snapshot, Version};
use tokio::sync::{oneshot, watch};

mod support;
use support::{CHECKPOINTS, converge};

/// The status entry of the target whose address ends with `port`.
fn entry(status: &watch::Receiver<SyncStatus>, port: u16) -> migrate::ShardStatus {
    let suffix = format!(":{port}");
    status
        .borrow()
        .shards
        .iter()
        .find(|s| s.target.ends_with(&suffix))
        .cloned()
        .unwrap_or_else(|| panic!("no entry for {port}: {:?}", status.borrow()))
}

/// Waits until `ready` holds for the status (60 s at most).
fn wait(status: &watch::Receiver<SyncStatus>, what: &str, ready: impl Fn(&SyncStatus) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&status.borrow()) {
        assert!(Instant::now() < deadline, "{what}: {:#?}", status.borrow());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_stream_three_targets_one_of_them_down_for_a_while() {
    let src = Server::builder(Version::Redis7_0)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .config("repl-backlog-size", "64mb")
        .start();
    testkit::write_mixed(&mut src.client(), 2000);
    let valkey = Server::start(Version::Valkey9_1);
    let cluster = Cluster::start(Version::Redis7_0, 3);
    // Kept on disk at every write, so that it comes back with its checkpoints.
    let mut mapped = Server::builder(Version::Redis7_0)
        .config("appendonly", "yes")
        .config("appendfsync", "always")
        .start();
    let url = |s: &Server| s.url().parse().unwrap();
    let mut options = SyncOptions::default();
    options.writer.connect = options
        .writer
        .connect
        .io_timeout(Some(Duration::from_secs(1)));
    let mut to_mapped = options.writer.clone();
    to_mapped.hooks.push("0:5".parse::<DbMap>().unwrap());
    let sync = Sync::new([url(&src)], url(&valkey))
        .options(options.clone())
        .also_to(url(&cluster.nodes()[0]), options.writer.clone())
        .also_to(url(&mapped), to_mapped);
    let status = sync.status();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(sync.run(async {
            let _ = stopped.await;
        }))
    });
    wait(&status, "three targets streaming", |s| {
        s.shards.len() == 3 && s.shards.iter().all(|s| s.streaming)
    });
    for s in &status.borrow().shards {
        assert_eq!(s.full_syncs, 1, "one full sync each: {s}");
    }
    let load = Load::start(
        &src,
        LoadOptions {
            seed: 71,
            ..LoadOptions::default()
        },
    );
    // The mapped target goes down; the others keep going meanwhile.
    let (valkey_port, cluster_port, mapped_port) =
        (valkey.port(), cluster.nodes()[0].port(), mapped.port());
    wait(&status, "commands everywhere", |_| {
        entry(&status, mapped_port).commands > 100
    });
    mapped.kill();
    let (valkey_before, cluster_before) = (
        entry(&status, valkey_port).applied,
        entry(&status, cluster_port).applied,
    );
    wait(&status, "the others going on", |_| {
        entry(&status, valkey_port).applied > valkey_before + 100_000
            && entry(&status, cluster_port).applied > cluster_before + 100_000
    });
    mapped.restart();
    let commands = load.stop();
    wait(&status, "the mapped target streaming again", |_| {
        let back = entry(&status, mapped_port);
        assert!(back.failed.is_none(), "{back}");
        back.streaming && back.partial_syncs == 1
    });
    assert!(commands > 1000, "the load ran");
    let source = || Snapshot::of_server(&src, &[0]);
    converge(source, || Snapshot::of_server(&valkey, &[0]), "Valkey");
    converge(source, || Snapshot::of_cluster(&cluster), "the cluster");
    let moved = || {
        let mut s = Snapshot::of_server(&mapped, &[5]).without(CHECKPOINTS);
        s.keys = s.keys.into_iter().map(|((_, k), v)| ((0, k), v)).collect();
        s
    };
    converge(source, moved, "the mapped target, db 0 moved to 5");
    let back = entry(&status, mapped_port);
    assert_eq!(
        back.full_syncs, 0,
        "resumed on a link of its own, no full sync: {back}"
    );
    assert_eq!(back.partial_syncs, 1, "{back}");
    let _ = stop.send(());
    let report = running.join().unwrap().unwrap();
    assert_eq!(report.shards.len(), 3);
    let left = Snapshot::of_server(&mapped, &[0]).without(CHECKPOINTS);
    assert!(
        left.keys.is_empty(),
        "db 0 of the mapped target holds only its checkpoint"
    );
}

/// The program: `--target` repeated, one status line per source and target.
#[test]
fn the_program_with_two_targets() {
    let src = support::loaded_source(Version::Redis7_0, 1000);
    let (first, second) = (
        Server::start(Version::Redis7_0),
        Server::start(Version::Valkey9_1),
    );
    let port = support::free_port();
    let run = support::Sync::start(&[
        "--source",
        &src.url(),
        "--target",
        &first.url(),
        "--target",
        &second.url(),
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
    ]);
    run.wait_for("both RDBs", |log| log.matches("sync rdb done").count() == 2);
    // Each target's figures under its own label.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = support::scrape(port).unwrap_or_default();
        let streaming = |t: &Server| {
            let label = format!("target=\"{}\"", t.url());
            text.lines().any(|l| {
                l.starts_with("migrate_sync_streaming{") && l.contains(&label) && l.ends_with(" 1")
            })
        };
        if streaming(&first) && streaming(&second) {
            break;
        }
        assert!(Instant::now() < deadline, "metrics: {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let during = support::load(&src, 81);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(during.stop() > 100, "the load ran");
    let dbs: Vec<u64> = (0..16).collect();
    for target in [&first, &second] {
        converge(
            || Snapshot::of_server(&src, &dbs),
            || Snapshot::of_server(target, &dbs),
            "each target",
        );
    }
    let log = run.stop();
    let arrow = format!(" -> {}", second.url());
    assert!(
        log.lines()
            .any(|l| l.starts_with("sync: ") && l.contains(&arrow)),
        "{log}"
    );
}
