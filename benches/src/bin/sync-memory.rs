//! Measures how much memory a sync takes for big values: `sync-memory [FIELDS]`
//! fills a Redis 7.0 source with a hash of FIELDS fields (default 4 million) and a
//! sorted set of half as many members, syncs it into an empty server with
//! `migrate::Sync` in this process, streams a little after the RDB, and prints the
//! process's peak resident memory (`VmHWM`) next to the RDB's size. The servers
//! run in processes of their own, so the peak is the pipeline's. Build with
//! `--release`.

use std::time::Instant;

use endpoint::Endpoint;
use migrate::Sync;
use testkit::{Server, Version, redis};

fn ep(server: &Server) -> Endpoint {
    server.url().parse().expect("url")
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("a field of /proc/self/status")
}

/// Writes `count` members of `key` in commands of 10 000.
fn fill(con: &mut redis::Connection, command: &str, key: &str, count: u64) {
    for start in (0..count).step_by(10_000) {
        let mut cmd = redis::cmd(command);
        cmd.arg(key);
        for i in start..(start + 10_000).min(count) {
            if command == "ZADD" {
                cmd.arg(i as f64 * 0.5).arg(format!("member-{i:012}"));
            } else {
                cmd.arg(format!("field-{i:012}")).arg(format!("value-{i}"));
            }
        }
        cmd.query::<()>(con).expect(command);
    }
}

#[tokio::main]
async fn main() {
    let fields: u64 = std::env::args()
        .nth(1)
        .map_or(4_000_000, |n| n.parse().expect("FIELDS must be a number"));
    let source = Server::builder(Version::Redis7_0)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .start();
    let mut con = source.client();
    fill(&mut con, "HSET", "big:hash", fields);
    fill(&mut con, "ZADD", "big:zset", fields / 2);
    let rdb = std::fs::metadata(source.save()).expect("stat").len();
    let target = Server::start(Version::Redis7_0);
    let before = status_kib("VmHWM:");

    let sync = Sync::new([ep(&source)], ep(&target));
    let mut status = sync.status();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let task = tokio::spawn(sync.run(async move {
        let _ = stopped.await;
    }));
    status
        .wait_for(|s| s.shards.first().is_some_and(|s| s.rdbs_done > 0))
        .await
        .expect("status");
    let rdb_time = started.elapsed();
    fill(&mut con, "HSET", "after:hash", 100_000);
    let offset: u64 = {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut con)
            .expect("INFO");
        info.lines()
            .find_map(|l| l.strip_prefix("master_repl_offset:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("offset")
    };
    status
        .wait_for(|s| s.shards[0].applied >= offset)
        .await
        .expect("status");
    let _ = stop.send(());
    task.await.expect("join").expect("sync");
    let peak = status_kib("VmHWM:");
    let hlen: u64 = redis::cmd("HLEN")
        .arg("big:hash")
        .query(&mut target.client())
        .expect("HLEN");
    assert_eq!(hlen, fields, "the hash arrived whole");
    println!(
        "sync of a {fields}-field hash and a {}-member sorted set (RDB {} MiB): RDB phase {:.1} s, peak resident memory {} MiB (before the sync {} MiB)",
        fields / 2,
        rdb >> 20,
        rdb_time.as_secs_f64(),
        peak >> 10,
        before >> 10
    );
}
