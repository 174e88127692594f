//! Measures `verify` side by side with the copy it checks, in one run:
//! `verify-bench [KEYS]` (default 300000 mixed keys from `testkit::write_mixed`).
//!
//! Two standalone Redis 7.0 servers: the source is copied with `Scan` (SCAN + DUMP +
//! RESTORE) into an empty target, then the target is verified in mode `full` and in
//! mode `keys`. Each is run three times, alternating, and the times and ratios are
//! printed (the machine is noisy: compare times of the same run only). Build with
//! `--release`.

use std::time::{Duration, Instant};

use endpoint::Endpoint;
use migrate::{Scan, Verify, VerifyMode, VerifyOptions, VerifySource};
use testkit::{Server, Version, redis, write_mixed};

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
        .map_or(300_000, |k| k.parse().expect("KEYS must be a number"));
    let source = Server::start(Version::Redis7_0);
    let target = Server::start(Version::Redis7_0);
    write_mixed(&mut source.client(), keys);
    println!("dataset: {keys} mixed keys (Redis 7.0.15 to Redis 7.0.15)");
    let (mut copies, mut fulls, mut key_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
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
    for i in 0..3 {
        println!(
            "run {}: verify full / scan copy = {:.2}x, verify keys / verify full = {:.2}x",
            i + 1,
            fulls[i].as_secs_f64() / copies[i].as_secs_f64(),
            key_only[i].as_secs_f64() / fulls[i].as_secs_f64()
        );
    }
}
