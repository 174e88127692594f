//! The load and the snapshot checked against the server's own replication: a native
//! replica of a server under load ends up with a snapshot equal to its master's, and
//! a snapshot differs when the data does.

use std::time::{Duration, Instant};

use testkit::redis::{self, Connection};
use testkit::{Cluster, Data, Load, LoadOptions, Server, Snapshot, Version};

fn info_field(con: &mut Connection, field: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg("replication").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_owned())
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_native_replica_of_a_loaded_server_has_the_same_snapshot() {
    let master = Server::start(Version::Redis7_0);
    let replica = Server::start(Version::Redis7_0);
    let mut rcon = replica.client();
    redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port())
        .query::<()>(&mut rcon)
        .unwrap();
    wait_until("the link", || {
        info_field(&mut rcon, "master_link_status").as_deref() == Some("up")
    });
    let load = Load::start(
        &master,
        LoadOptions {
            dbs: vec![0, 3],
            cross_slot: true,
            max_commands: Some(20_000),
            ..LoadOptions::default()
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let sent = load.stop();
    assert!(sent > 100, "only {sent} commands");
    let mut mcon = master.client();
    let target = info_field(&mut mcon, "master_repl_offset").unwrap();
    wait_until("the replica to catch up", || {
        info_field(&mut rcon, "slave_repl_offset").as_deref() == Some(target.as_str())
    });
    let a = Snapshot::of_server(&master, &[0, 3]);
    let b = Snapshot::of_server(&replica, &[0, 3]);
    assert!(a.keys.len() > 50, "{} keys", a.keys.len());
    for kind in ["list", "set", "zset", "hash", "stream", "string"] {
        assert!(
            a.keys
                .values()
                .any(|e| format!("{:?}", e.data)
                    .to_lowercase()
                    .starts_with(match kind {
                        "zset" => "sortedset",
                        k => k,
                    })),
            "no {kind} written"
        );
    }
    assert!(a.keys.keys().any(|(db, _)| *db == 3), "nothing in db 3");
    let d = a.diff(&b, 1000);
    assert!(d.is_empty(), "{d:#?}");
    // A change shows.
    redis::cmd("SET")
        .arg("{t1}:str")
        .arg("changed on the master")
        .query::<()>(&mut mcon)
        .unwrap();
    redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query::<()>(&mut rcon)
        .unwrap();
    let a = Snapshot::of_server(&master, &[0, 3]);
    assert!(!a.diff(&b, 1000).is_empty());
    assert!(matches!(
        a.keys[&(0, b"{t1}:str".to_vec())].data,
        Data::String(_)
    ));
}

#[test]
fn the_load_writes_to_every_master_of_a_cluster() {
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let load = Load::start_cluster(
        &cluster,
        LoadOptions {
            max_commands: Some(3000),
            ..LoadOptions::default()
        },
    );
    std::thread::sleep(Duration::from_millis(200));
    load.stop();
    for m in cluster.masters() {
        let n: u64 = redis::cmd("DBSIZE").query(&mut m.client()).unwrap();
        assert!(n > 0, "master {} got nothing", m.port());
    }
    assert!(!Snapshot::of_cluster(&cluster).keys.is_empty());
}
