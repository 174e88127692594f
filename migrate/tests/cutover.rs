//! The cutover check against real servers: while a sync streams a source under a
//! write load it says "not yet" or "ready"; once the load stops it turns ready,
//! and then the target holds every key the source has; on an idle source, whose
//! stream carries only keepalives, it stays ready.

use std::time::{Duration, Instant};

use migrate::{Cutover, DEFAULT_CHECKPOINT_NAME, Sync};
use testkit::{Load, LoadOptions, Server, Snapshot, Version, write_mixed};

/// Keys with an expiry are left out: the sync keeps expired keys for a grace
/// period, until the source's own `DEL` arrives.
fn lasting(snapshot: Snapshot) -> Snapshot {
    let mut snapshot = snapshot.without(DEFAULT_CHECKPOINT_NAME.as_bytes());
    snapshot.keys.retain(|_, e| e.expire_at_ms.is_none());
    snapshot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_once_the_target_holds_everything_even_on_an_idle_source() {
    let src = Server::builder(Version::Redis7_0)
        .config("repl-ping-replica-period", "1")
        .start();
    write_mixed(&mut src.client(), 2000);
    let target = Server::start(Version::Redis7_0);
    let sync = Sync::new([src.url().parse().unwrap()], target.url().parse().unwrap());
    let cutover = Cutover::new(&sync);
    assert!(cutover.check().await.is_err(), "not started");
    let mut status = sync.status();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(sync.run(async move {
        let _ = stopped.await;
    }));
    status
        .wait_for(|s| s.shards.first().is_some_and(|s| s.streaming))
        .await
        .unwrap();
    let load = Load::start(
        &src,
        LoadOptions {
            seed: 17,
            ..LoadOptions::default()
        },
    );
    status
        .wait_for(|s| s.shards[0].commands > 500)
        .await
        .unwrap();
    assert!(load.stop() > 500);

    let ready = async || {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let report = cutover.check().await.unwrap();
            if report.ready() {
                return report;
            }
            assert!(Instant::now() < deadline, "not ready in 60 s: {report}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let report = ready().await;
    assert!(report.to_string().contains("caught up"), "{report}");
    let (a, b) = (
        lasting(Snapshot::of_server(&src, &[0])),
        lasting(Snapshot::of_server(&target, &[0])),
    );
    assert!(a.keys.len() > 1000);
    let d = a.diff(&b, 1000);
    assert!(d.is_empty(), "ready, yet {d:#?}");

    // Idle: the source's PINGs move its offset, and the sync follows.
    let idle = src.repl_offset();
    while src.repl_offset() == idle {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let report = ready().await;
    assert!(report.shards[0].source_offset > idle, "{report}");

    let _ = stop.send(());
    running.await.unwrap().unwrap();
}
