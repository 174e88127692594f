//! Measures `verify` side by side with the copy it checks, in one run:
//! `verify-bench [KEYS] [RUNS]` (default 360000 mixed keys over 3 databases, 3 runs).
//!
//! Two standalone Redis 7.0 servers: the source holds `KEYS` / 3 keys written by
//! `testkit::write_mixed` in each of databases 0, 1 and 2 (the same names in each,
//! `SELECT` before the writes). It is copied with `Scan` (SCAN + DUMP + RESTORE)
//! into an empty target, then the target is verified in mode `full` and in mode
//! `keys`. Each is run `RUNS` times, alternating, and the times and ratios are
//! printed (the machine is noisy: compare times of the same run only), with the
//! CPU time each phase took in this program and in each server (`INFO cpu`), which
//! a busy machine disturbs less than the wall time. Build with `--release`.

use std::future::Future;
use std::time::{Duration, Instant};

use endpoint::Endpoint;
use migrate::{Scan, Verify, VerifyMode, VerifyOptions, VerifySource};
use testkit::{Server, Version, redis, write_mixed};

/// Databases the dataset is spread over.
const DATABASES: usize = 3;

fn ep(server: &Server) -> Endpoint {
    server.url().parse().expect("url")
}

/// CPU seconds used so far by this program (Linux: `/proc/self/stat`, in ticks of
/// 1/100 s), and by the two servers (`INFO cpu`).
fn cpu(source: &Server, target: &Server) -> [f64; 3] {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let own = ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0);
    let server = |s: &Server| -> f64 {
        let info: String = redis::cmd("INFO")
            .arg("cpu")
            .query(&mut s.client())
            .expect("INFO cpu");
        info.lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| *k == "used_cpu_user" || *k == "used_cpu_sys")
            .filter_map(|(_, v)| v.trim().parse::<f64>().ok())
            .sum()
    };
    [own / 100.0, server(source), server(target)]
}

/// Runs `phase`, printing its wall time and the CPU time it took.
async fn measured<F: Future<Output = ()>>(
    what: &str,
    source: &Server,
    target: &Server,
    phase: F,
) -> Duration {
    let before = cpu(source, target);
    let start = Instant::now();
    phase.await;
    let elapsed = start.elapsed();
    let after = cpu(source, target);
    println!(
        "{what:<12} {:.2}s; CPU: this program {:.2}s, source {:.2}s, target {:.2}s",
        elapsed.as_secs_f64(),
        after[0] - before[0],
        after[1] - before[1],
        after[2] - before[2]
    );
    elapsed
}

async fn copy(source: &Server, target: &Server) -> Duration {
    redis::cmd("FLUSHALL")
        .query::<()>(&mut target.client())
        .expect("FLUSHALL");
    measured("scan copy", source, target, async {
        Scan::new(ep(source), ep(target))
            .run(std::future::pending())
            .await
            .expect("scan");
    })
    .await
}

async fn verify(source: &Server, target: &Server, mode: VerifyMode) -> Duration {
    let mut options = VerifyOptions::default();
    options.mode = mode;
    options.rounds = 1;
    let what = format!("verify {mode:?}").to_lowercase();
    measured(&what, source, target, async {
        let report = Verify::new(VerifySource::Live(ep(source)), ep(target))
            .options(options)
            .run(std::future::pending())
            .await
            .expect("verify");
        assert!(
            report.is_equal(),
            "{:?}",
            &report.differences[..report.differences.len().min(5)]
        );
    })
    .await
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
