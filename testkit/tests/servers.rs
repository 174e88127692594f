//! The kit's own tests: each server version starts and answers, with a password and
//! ACL users, config, restarts, parallel starts and clusters.

use std::collections::HashSet;

use testkit::redis::{self, Commands};
use testkit::{Cluster, Server, Version};

#[test]
fn every_version_starts_and_answers() {
    for version in Version::ALL {
        let server = Server::start(version);
        let mut con = server.client();
        let _: () = con.set("greeting", "hello").unwrap();
        let got: String = con.get("greeting").unwrap();
        assert_eq!(got, "hello", "{version}");
        assert!(server.data_dir().is_dir());
        assert!(server.url().starts_with("redis://127.0.0.1:"));
    }
}

#[test]
fn password_and_acl_user() {
    for version in Version::ALL {
        let server = Server::builder(version)
            .password("s3cret")
            .acl_user("writer", "w-pass", "~* &* +@all -flushall")
            .start();
        assert_eq!(server.url(), format!("redis://:s3cret@{}", server.addr()));

        // Without credentials the server refuses commands.
        let client = redis::Client::open(format!("redis://{}", server.addr())).unwrap();
        let mut anon = client.get_connection().unwrap();
        let err = redis::cmd("GET")
            .arg("k")
            .query::<Option<String>>(&mut anon)
            .unwrap_err();
        assert_eq!(err.code(), Some("NOAUTH"), "{version}: {err}");

        // Wrong password for the ACL user.
        let err = server
            .client_as("writer", "nope")
            .err()
            .expect("wrong password must fail");
        assert_eq!(
            err.kind(),
            redis::ErrorKind::AuthenticationFailed,
            "{version}: {err}"
        );

        // The ACL user can write but not FLUSHALL.
        let mut writer = server.client_as("writer", "w-pass").unwrap();
        let _: () = writer.set("k", "v").unwrap();
        let err = redis::cmd("FLUSHALL").query::<()>(&mut writer).unwrap_err();
        assert_eq!(err.code(), Some("NOPERM"), "{version}: {err}");

        // The default user, with the password, sees the write.
        let got: String = server.client().get("k").unwrap();
        assert_eq!(got, "v");
    }
}

#[test]
fn config_directives_are_applied() {
    let server = Server::builder(Version::Redis7_0)
        .config("appendonly", "yes")
        .config("repl-backlog-size", "2mb")
        .config("maxmemory-policy", "allkeys-lru")
        .start();
    let mut con = server.client();
    let get = |con: &mut redis::Connection, key: &str| -> String {
        let pair: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(key).query(con).unwrap();
        pair[1].clone()
    };
    assert_eq!(get(&mut con, "appendonly"), "yes");
    assert_eq!(get(&mut con, "repl-backlog-size"), "2097152");
    assert_eq!(get(&mut con, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(get(&mut con, "dir"), server.data_dir().to_str().unwrap());
}

#[test]
fn kill_and_restart_keep_the_data_dir() {
    for version in Version::ALL {
        let mut server = Server::start(version);
        let port = server.port();
        let _: () = server.client().set("survivor", "yes").unwrap();
        let rdb = server.save();
        assert!(rdb.is_file());
        // Written after SAVE and lost with SIGKILL (no AOF).
        let _: () = server.client().set("lost", "yes").unwrap();

        server.kill();
        assert!(!server.is_running());
        assert!(
            server.try_client().is_err(),
            "{version}: a killed server must not answer"
        );
        server.restart();
        assert!(server.is_running());
        assert_eq!(server.port(), port);
        let mut con = server.client();
        let survivor: Option<String> = con.get("survivor").unwrap();
        let lost: Option<String> = con.get("lost").unwrap();
        assert_eq!(survivor.as_deref(), Some("yes"), "{version}");
        assert_eq!(lost, None, "{version}");
    }
}

#[test]
fn parallel_starts_get_distinct_ports() {
    let servers: Vec<Server> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| s.spawn(move || Server::start(Version::ALL[i % 3])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ports: HashSet<u16> = servers.iter().map(Server::port).collect();
    assert_eq!(ports.len(), servers.len());
    for s in &servers {
        let pong: String = redis::cmd("PING").query(&mut s.client()).unwrap();
        assert_eq!(pong, "PONG");
    }
}

#[test]
fn dropped_server_stops_and_cleans_up() {
    let server = Server::start(Version::Redis7_0);
    let addr = server.addr();
    let dir = server.data_dir().to_path_buf();
    drop(server);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "port still answers after drop"
    );
    assert!(!dir.exists(), "data dir left behind");
}

/// Writes a key through the master that owns its slot, checking the others refuse it.
fn check_slot_ownership(cluster: &Cluster, version: Version) {
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "{version}");
    for key in [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "{user1}:a",
        "{user1}:b",
    ] {
        let mut owners = 0;
        for m in &masters {
            let mut con = m.client();
            match con.set::<_, _, ()>(key, "v") {
                Ok(()) => owners += 1,
                Err(e) => assert_eq!(e.kind(), redis::ErrorKind::Moved, "{version}: {e}"),
            }
        }
        assert_eq!(
            owners, 1,
            "{version}: key {key} must have exactly one owner"
        );
    }
}

#[test]
fn three_master_cluster_for_every_version() {
    for version in Version::ALL {
        let cluster = Cluster::start(version, 3);
        assert_eq!(cluster.nodes().len(), 3);
        check_slot_ownership(&cluster, version);
    }
}

#[test]
fn cluster_with_replicas_and_password() {
    let cluster = Cluster::builder(Version::Redis7_0)
        .masters(3)
        .replicas(1)
        .password("clusterpw")
        .start();
    assert_eq!(cluster.nodes().len(), 6);
    check_slot_ownership(&cluster, Version::Redis7_0);
    let replicas = cluster.nodes().len() - cluster.masters().len();
    assert_eq!(replicas, 3);
}
