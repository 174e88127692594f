//! Measures `restore` of one Redis 7.0 RDB into Redis 7.0, Redis 6.2 and Valkey
//! 9.1, side by side in one run: `cross-bench [KEYS] [RUNS]` (default 360000 mixed
//! keys of `testkit::write_mixed`, 3 runs, the three targets in turn each run).
//! Prints each time, the ratios against Redis 7.0 of the same run, and how the keys
//! went (as the payload, re-encoded for the older target, or as commands). Build
//! with `--release`.

use std::time::{Duration, Instant};

use endpoint::Endpoint;
use migrate::{Restore, RestoreReport};
use testkit::{Server, Version, redis, write_mixed};

fn ep(server: &Server) -> Endpoint {
    server.url().parse().expect("url")
}

async fn restore(rdb: &std::path::Path, version: Version) -> (Duration, RestoreReport) {
    let target = Server::start(version);
    let started = Instant::now();
    let report = Restore::new(ep(&target), [rdb])
        .run(std::future::pending())
        .await
        .expect("restore");
    let elapsed = started.elapsed();
    let keys: u64 = redis::cmd("DBSIZE")
        .query(&mut target.client())
        .expect("DBSIZE");
    assert!(keys > 0, "{version:?}: nothing restored");
    (elapsed, report)
}

#[tokio::main]
async fn main() {
    let keys: usize = std::env::args()
        .nth(1)
        .map_or(360_000, |k| k.parse().expect("KEYS must be a number"));
    let runs: usize = std::env::args()
        .nth(2)
        .map_or(3, |k| k.parse().expect("RUNS must be a number"));
    let source = Server::start(Version::Redis7_0);
    write_mixed(&mut source.client(), keys);
    let rdb = source.save();
    println!("dataset: {keys} mixed keys, a Redis 7.0.15 RDB (version 10)");
    let targets = [Version::Redis7_0, Version::Redis6_2, Version::Valkey9_1];
    for run in 1..=runs {
        let mut times = Vec::new();
        for version in targets {
            let (elapsed, report) = restore(&rdb, version).await;
            let s = &report.stats;
            let all = (s.keys_restored + s.keys_as_commands).max(1);
            println!(
                "run {run}: into {version:?}: {:.2}s; {} keys restored ({} re-encoded), {} as commands: {:.1}% as payloads",
                elapsed.as_secs_f64(),
                s.keys_restored,
                s.keys_transcoded,
                s.keys_as_commands,
                s.keys_restored as f64 * 100.0 / all as f64
            );
            times.push(elapsed.as_secs_f64());
        }
        println!(
            "run {run}: into Redis 6.2 / into Redis 7.0 = {:.2}x, into Valkey 9.1 / into Redis 7.0 = {:.2}x",
            times[1] / times[0],
            times[2] / times[0]
        );
    }
}
