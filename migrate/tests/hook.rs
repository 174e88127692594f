//! A downstream program's sync with its own hook, against real servers: a source
//! under a write load (every type, transactions, scripts, expiries, deletes) kept
//! in sync with a standalone target and with a cluster target, through a hook that
//! leaves some keys behind, renames the others and moves a database. The target
//! must end equal to the source as the hook transforms it, snapshot and stream
//! alike.

use std::time::{Duration, Instant};

use bytes::Bytes;
use migrate::{
    CommandEdit, DEFAULT_CHECKPOINT_NAME, DbMap, Hook, KeyEdit, Sync, SyncReport, Verdict,
};
use testkit::{Cluster, Load, LoadOptions, Server, Snapshot, Version, redis, write_mixed};

/// Leaves the `{t7}` keys and the `:log` keys behind; renames every other key to
/// `copy:<key>` (a hash tag stays the same, so does the slot of tagged keys).
struct CopyHook;

impl CopyHook {
    fn left_behind(key: &[u8]) -> bool {
        key.starts_with(b"{t7}") || key.ends_with(b":log")
    }

    fn renamed(key: &[u8]) -> Bytes {
        [&b"copy:"[..], key].concat().into()
    }
}

impl Hook for CopyHook {
    fn key(&self, key: &mut KeyEdit<'_>) -> Verdict {
        if Self::left_behind(&key.name) {
            return Verdict::Drop;
        }
        key.name = Self::renamed(&key.name);
        Verdict::Keep
    }

    fn command(&self, command: &mut CommandEdit) -> Verdict {
        let keys = command.key_indexes();
        if keys.iter().any(|&i| Self::left_behind(&command.args[i])) {
            return Verdict::Drop;
        }
        for i in keys {
            command.args[i] = Self::renamed(&command.args[i]);
        }
        Verdict::Keep
    }
}

/// The source as the hook and `db_map` make it.
fn expected(source: &Snapshot, db_map: &DbMap) -> Snapshot {
    let mut out = Snapshot::default();
    for ((db, key), entry) in &source.keys {
        if CopyHook::left_behind(key) {
            continue;
        }
        let db = db_map.target(*db).expect("every db is mapped");
        out.keys
            .insert((db, CopyHook::renamed(key).to_vec()), entry.clone());
    }
    out
}

/// Runs `sync` on its own runtime until the target reads as expected.
fn sync_until_equal(
    sync: Sync,
    expected: impl Fn() -> Snapshot,
    target: impl Fn() -> Snapshot,
    what: &str,
) -> SyncReport {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let status = sync.status();
    let running = runtime.spawn(sync.run(async move {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (a, b) = (
            expected(),
            target().without(DEFAULT_CHECKPOINT_NAME.as_bytes()),
        );
        let d = a.diff(&b, 12_000);
        if d.is_empty() && a.keys.len() > 100 {
            break;
        }
        assert!(
            Instant::now() < deadline && !running.is_finished(),
            "{what}: {} differences, e.g. {:#?}\nstatus: {:#?}",
            d.len(),
            &d[..d.len().min(10)],
            status.borrow()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = stop.send(());
    runtime
        .block_on(running)
        .expect("the sync task")
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn loaded_source(dbs: &[u64]) -> Server {
    let source = Server::builder(Version::Redis7_0)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .start();
    let mut con = source.client();
    for &db in dbs {
        redis::cmd("SELECT").arg(db).query::<()>(&mut con).unwrap();
        write_mixed(&mut con, 1000);
    }
    source
}

fn load(source: &Server, dbs: &[u64]) -> Load {
    Load::start(
        source,
        LoadOptions {
            dbs: dbs.to_vec(),
            max_commands: Some(8000),
            ..LoadOptions::default()
        },
    )
}

#[test]
fn hook_renames_drops_and_moves_into_a_standalone_target() {
    let dbs = [0, 1];
    let source = loaded_source(&dbs);
    let target = Server::start(Version::Redis7_0);
    let during = load(&source, &dbs);
    let db_map: DbMap = "0:0,1:4".parse().unwrap();
    let sync = Sync::new(
        [source.url().parse().unwrap()],
        target.url().parse().unwrap(),
    )
    .hook(CopyHook)
    .hook(db_map.clone());
    let report = sync_until_equal(
        sync,
        || expected(&Snapshot::of_server(&source, &dbs), &db_map),
        || Snapshot::of_server(&target, &[0, 1, 4]),
        "standalone target",
    );
    assert!(during.stop() > 100, "the load ran");
    let shard = &report.shards[0];
    assert_eq!(shard.full_syncs, 1, "{report}");
    assert!(shard.commands > 100 && shard.filtered > 0, "{report}");
}

#[test]
fn hook_renames_and_drops_into_a_cluster_target() {
    let source = loaded_source(&[0]);
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let during = load(&source, &[0]);
    let node = cluster.nodes()[0].url().parse().unwrap();
    let sync = Sync::new([source.url().parse().unwrap()], node).hook(CopyHook);
    let report = sync_until_equal(
        sync,
        || expected(&Snapshot::of_server(&source, &[0]), &DbMap::Same),
        || Snapshot::of_cluster(&cluster),
        "cluster target",
    );
    assert!(during.stop() > 100, "the load ran");
    assert_eq!(report.shards[0].full_syncs, 1, "{report}");
}
