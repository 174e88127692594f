//! Measures the copy pipelines against the servers' own, side by side in one run:
//! `copy-bench [KEYS] [--no-checkpoints]` (default 300000 mixed keys from
//! `testkit::write_mixed`; `--no-checkpoints` runs the sync without its checkpoints,
//! to measure what they cost).
//!
//! - restore: the `restore` path (RDB into an empty standalone server) against the
//!   time the same server version takes to load that RDB at start-up (the "DB
//!   loaded from disk" line of its log), which is the floor;
//! - restore --seed: the same file loaded by the target through replication
//!   (`replica_client::seed`), against the same floor;
//! - restore into a 3-master cluster, and `scan` (SCAN + DUMP + RESTORE), in keys/s;
//! - sync: `sync` until the target holds every key, against a native full sync
//!   (`REPLICAOF` until the link is up and loading is done), both from a source with
//!   `repl-diskless-sync-delay 0`;
//! - the sync's incremental throughput and lag under `redis-benchmark -P 16`, into
//!   a standalone server and into a 3-master cluster.
//!
//! Prints a table of times and ratios. Build with `--release`.

use std::process::Command;
use std::time::{Duration, Instant};

use endpoint::Endpoint;
use migrate::{Restore, Scan, SeedOptions, ShardStatus, Sync, SyncOptions};
use testkit::{Cluster, Server, Version, redis, write_mixed};

fn ep(server: &Server) -> Endpoint {
    server.url().parse().expect("url")
}

fn dbsize(server: &Server) -> u64 {
    redis::cmd("DBSIZE")
        .query(&mut server.client())
        .expect("DBSIZE")
}

fn info(server: &Server, field: &str) -> String {
    let text: String = redis::cmd("INFO")
        .query(&mut server.client())
        .expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// The load time the server logged at start-up, in seconds.
fn logged_load_time(server: &Server) -> f64 {
    server
        .log()
        .lines()
        .find_map(|l| {
            let rest = l.split("DB loaded from disk: ").nth(1)?;
            rest.split(' ').next()?.parse().ok()
        })
        .expect("a 'DB loaded from disk' line")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let no_checkpoints = args.iter().any(|a| a == "--no-checkpoints");
    let keys: usize = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or(300_000, |k| k.parse().expect("KEYS must be a number"));
    let source = Server::builder(Version::Redis7_0)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .start();
    write_mixed(&mut source.client(), keys);
    let rdb = source.save();
    let size = std::fs::metadata(&rdb).expect("stat").len();
    println!("dataset: {keys} keys, RDB {size} bytes (Redis 7.0.15)");

    // The floor: the server loading the RDB at start-up.
    let mut loader = Server::start(Version::Redis7_0);
    loader.kill();
    std::fs::copy(&rdb, loader.rdb_path()).expect("copy");
    loader.restart();
    let native_load = logged_load_time(&loader);

    // restore into an empty standalone server.
    let target = Server::start(Version::Redis7_0);
    let started = Instant::now();
    Restore::new(ep(&target), [&rdb])
        .run(std::future::pending())
        .await
        .expect("restore");
    let restore = started.elapsed().as_secs_f64();
    assert_eq!(dbsize(&target), dbsize(&source));

    // restore --seed: the same file through replication into an empty server.
    let seeded = Server::start(Version::Redis7_0);
    let started = Instant::now();
    replica_client::seed(&ep(&seeded), &rdb, &SeedOptions::default())
        .await
        .expect("seed");
    let seed = started.elapsed().as_secs_f64();
    assert_eq!(dbsize(&seeded), dbsize(&source));
    drop(seeded);

    // restore into a cluster.
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let started = Instant::now();
    Restore::new(ep(&cluster.nodes()[0]), [&rdb])
        .run(std::future::pending())
        .await
        .expect("restore");
    let restore_cluster = started.elapsed().as_secs_f64();

    // scan from the source.
    let scanned = Server::start(Version::Redis7_0);
    let started = Instant::now();
    Scan::new(ep(&source), ep(&scanned))
        .run(std::future::pending())
        .await
        .expect("scan");
    let scan = started.elapsed().as_secs_f64();

    // Native full sync.
    let replica = Server::start(Version::Redis7_0);
    let started = Instant::now();
    redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(source.port())
        .query::<()>(&mut replica.client())
        .expect("REPLICAOF");
    while info(&replica, "master_link_status") != "up" || info(&replica, "loading") != "0" {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let native_sync = started.elapsed().as_secs_f64();

    // sync until the target holds every key.
    let synced = Server::start(Version::Redis7_0);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let mut options = SyncOptions::default();
    if no_checkpoints {
        options.checkpoint_name = None;
    }
    let sync = Sync::new([ep(&source)], ep(&synced)).options(options);
    let status = sync.status();
    let shard = move || status.borrow().shards.first().cloned().unwrap_or_default();
    let task = tokio::spawn(sync.run(async move {
        let _ = stop_rx.await;
    }));
    let expected = dbsize(&source);
    while !shard().streaming || dbsize(&synced) < expected {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sync = started.elapsed().as_secs_f64();

    let (forwarded, incremental, max_lag_bytes, max_lag_ms) =
        measure_incremental(&source, &shard).await;
    let _ = stop_tx.send(());
    task.await.expect("join").expect("sync");

    // The same into a 3-master cluster (each slot's commands a transaction of
    // their own with checkpoints).
    let synced = Cluster::start(Version::Redis7_0, 3);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut options = SyncOptions::default();
    if no_checkpoints {
        options.checkpoint_name = None;
    }
    let cluster_sync = Sync::new([ep(&source)], ep(&synced.nodes()[0])).options(options);
    let status = cluster_sync.status();
    let shard = move || status.borrow().shards.first().cloned().unwrap_or_default();
    let task = tokio::spawn(cluster_sync.run(async move {
        let _ = stop_rx.await;
    }));
    while !shard().streaming {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (cluster_forwarded, cluster_incremental, cluster_lag_bytes, cluster_lag_ms) =
        measure_incremental(&source, &shard).await;
    let _ = stop_tx.send(());
    task.await.expect("join").expect("sync");

    let n = keys as f64;
    println!("| What | Time | Ratio |");
    println!("|---|---|---|");
    println!(
        "| restore into standalone / server load at start-up | {restore:.2} s / {native_load:.2} s | {:.2}x |",
        restore / native_load
    );
    println!(
        "| restore --seed (through replication) into standalone / server load at start-up | {seed:.2} s / {native_load:.2} s | {:.2}x |",
        seed / native_load
    );
    println!(
        "| restore into a 3-master cluster | {restore_cluster:.2} s | {:.0} keys/s |",
        n / restore_cluster
    );
    println!(
        "| scan (SCAN + DUMP + RESTORE) | {scan:.2} s | {:.0} keys/s |",
        n / scan
    );
    println!(
        "| sync until the target holds every key / native full sync | {sync:.2} s / {native_sync:.2} s | {:.2}x |",
        sync / native_sync
    );
    println!(
        "| sync incremental under redis-benchmark -P 16 | {forwarded} commands in {incremental:.2} s | {:.0} commands/s, max lag {max_lag_bytes} bytes / {max_lag_ms} ms |",
        forwarded as f64 / incremental
    );
    println!(
        "| sync incremental into a 3-master cluster, same load | {cluster_forwarded} commands in {cluster_incremental:.2} s | {:.0} commands/s, max lag {cluster_lag_bytes} bytes / {cluster_lag_ms} ms |",
        cluster_forwarded as f64 / cluster_incremental
    );
}

/// `redis-benchmark -P 16` on the source while a sync runs, until the sync has
/// applied all of it: commands forwarded, seconds, the largest lag in bytes and
/// in milliseconds.
async fn measure_incremental(
    source: &Server,
    shard: &impl Fn() -> ShardStatus,
) -> (u64, f64, u64, u64) {
    let before = shard().commands;
    let bench_started = Instant::now();
    let mut bench = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &source.port().to_string()])
        .args([
            "-P",
            "16",
            "-n",
            "400000",
            "-r",
            "100000",
            "-t",
            "set,incr,lpush,hset",
            "-q",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run redis-benchmark");
    let mut max_lag_bytes = 0;
    let mut max_lag_ms = 0;
    while bench.try_wait().expect("wait").is_none() {
        let s = shard();
        max_lag_bytes = max_lag_bytes.max(s.received.saturating_sub(s.applied));
        max_lag_ms = max_lag_ms.max(s.lag_ms);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let source_offset: u64 = info(source, "master_repl_offset").parse().expect("offset");
    while shard().applied < source_offset {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = bench_started.elapsed().as_secs_f64();
    (
        shard().commands - before,
        elapsed,
        max_lag_bytes,
        max_lag_ms,
    )
}
