//! Measures `verify` side by side with the copy it checks, in one run:
//! `verify-bench [KEYS] [RUNS]` (default 360000 mixed keys over 3 databases, 3 runs).
//!
//! Two standalone Redis 7.0 servers: the source holds `KEYS` / 3 keys written by
//! `testkit::write_mixed` in each of databases 0, 1 and 2 (the same names in each,
//! `SELECT` before the writes). It is copied with `Scan` (SCAN + DUMP + RESTORE)
//! into an empty target, then the target is verified in mode `full` and in mode
//! `keys`. Each is run `RUNS` times, alternating, and the times and ratios are
//! printed (the machine is noisy: compare times of the same run only). Build with
//! `--release`.

use std::time::{Duration, Instant};

use endpoint::Endpoint;
use migrate::{Scan, Verify, VerifyMode, VerifyOptions, VerifySource};
use testkit::{Server, Version, redis, write_mixed};

/// Databases the dataset is spread over.
const DATABASES: usize = 3;

fn ep(server: &Server) -> Endpoint {
    server.url().parse().expect("url")
}

async fn copy(source: &Server, target: &Server) -> Duration {
    redis::cmd("FLUSHALL")
        .query::<()>(&mut target.client())
        .expect("FLUSHALL");
    let start = Instant::now();
    Scan::new(ep(source), ep(target))
        .run(std::future::pending())
        .await
        .expect("scan");
    start.elapsed()
}

async fn verify(source: &Server, target: &Server, mode: VerifyMode) -> Duration {
    let mut options = VerifyOptions::default();
    options.mode = mode;
    options.rounds = 1;
    let start = Instant::now();
    let report = Verify::new(VerifySource::Live(ep(source)), ep(target))
        .options(options)
        .run(std::future::pending())
        .await
        .expect("verify");
    let elapsed = start.elapsed();
    assert!(
        report.is_equal(),
        "{:?}",
        &report.differences[..report.differences.len().min(5)]
    );
    elapsed
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
    let target = Server::start(Version::Redis7_0);
    let mut con = source.client();
    for db in 0..DATABASES {
        redis::cmd("SELECT")
            .arg(db)
            .query::<()>(&mut con)
            .expect("SELECT");
        write_mixed(&mut con, keys / DATABASES);
    }
    let keys = keys / DATABASES * DATABASES;
    println!(
        "dataset: {keys} mixed keys over {DATABASES} databases (Redis 7.0.15 to Redis 7.0.15)"
    );
    let (mut copies, mut fulls, mut key_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        copies.push(copy(&source, &target).await);
        fulls.push(verify(&source, &target, VerifyMode::Full).await);
        key_only.push(verify(&source, &target, VerifyMode::Keys).await);
    }
    let secs = |d: &[Duration]| {
        d.iter()
            .map(|d| format!("{:.2}s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rate = |d: &Duration| (keys as f64 / d.as_secs_f64()) as u64;
    println!(
        "scan copy:     {} ({} keys/s best)",
        secs(&copies),
        rate(copies.iter().min().unwrap())
    );
    println!(
        "verify full:   {} ({} keys/s best)",
        secs(&fulls),
        rate(fulls.iter().min().unwrap())
    );
    println!(
        "verify keys:   {} ({} keys/s best)",
        secs(&key_only),
        rate(key_only.iter().min().unwrap())
    );
    for i in 0..runs {
        println!(
            "run {}: verify full / scan copy = {:.2}x, verify keys / verify full = {:.2}x",
            i + 1,
            fulls[i].as_secs_f64() / copies[i].as_secs_f64(),
            key_only[i].as_secs_f64() / fulls[i].as_secs_f64()
        );
    }
}
