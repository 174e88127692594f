//! The `scan` program: standalone and cluster sources copied key by key into
//! standalone and cluster targets, also across versions.

use std::process::Command;

use testkit::{Cluster, Server, Snapshot, Version, redis, write_mixed, write_sample};

fn scan(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scan"))
        .args(args)
        .output()
        .expect("run scan");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DBS: [u64; 4] = [0, 1, 2, 3];

#[test]
fn standalone_sources_into_standalone_targets() {
    for (from, to) in [
        (Version::Redis7_0, Version::Redis7_0),
        (Version::Valkey9_1, Version::Redis6_2),
    ] {
        let src = Server::builder(from).password("src-pw").start();
        let mut con = src.client();
        write_sample(&mut con, from);
        redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
        write_mixed(&mut con, 2000);
        let target = Server::start(to);
        let (ok, log) = scan(&[
            "--source",
            &src.url(),
            "--target",
            &target.url(),
            "--batch",
            "100",
        ]);
        let what = format!("{from:?} into {to:?}");
        assert!(ok, "{what}: {log}");
        assert!(!log.contains("src-pw"), "{log}");
        let d = Snapshot::of_server(&src, &DBS).diff(&Snapshot::of_server(&target, &DBS), 1000);
        assert!(d.is_empty(), "{what}: {d:#?}");
    }
}

#[test]
fn cluster_source_into_standalone_and_back_into_a_cluster() {
    let src = Cluster::start(Version::Redis7_0, 3);
    for m in src.masters() {
        let mut con = m.client();
        for i in 0..300 {
            // Only keys this master serves are accepted; the others answer MOVED.
            let _ = redis::cmd("SET")
                .arg(format!("k{i}:{}", m.port()))
                .arg(i)
                .query::<()>(&mut con);
        }
    }
    let target = Server::start(Version::Redis7_0);
    let (ok, log) = scan(&["--source", &src.nodes()[0].url(), "--target", &target.url()]);
    assert!(ok, "{log}");
    let a = Snapshot::of_cluster(&src);
    assert!(a.keys.len() > 100);
    assert!(a.diff(&Snapshot::of_server(&target, &[0]), 1000).is_empty());
    let back = Cluster::start(Version::Redis7_0, 3);
    let (ok, log) = scan(&[
        "--source",
        &target.url(),
        "--target",
        &back.nodes()[1].url(),
    ]);
    assert!(ok, "{log}");
    assert!(a.diff(&Snapshot::of_cluster(&back), 1000).is_empty());
}

/// A source that refuses DUMP to the user the copy logs in as: the copy stops,
/// naming the key, rather than leaving the key out without a word.
#[test]
fn a_refused_dump_stops_the_copy_and_names_the_key() {
    let src = Server::builder(Version::Redis7_0)
        .acl_user("copier", "copier-pw", "on ~* &* +@all -dump")
        .start();
    redis::cmd("SET")
        .arg("the-key")
        .arg(1)
        .query::<()>(&mut src.client())
        .unwrap();
    let target = Server::start(Version::Redis7_0);
    let url = format!("redis://copier:copier-pw@127.0.0.1:{}", src.port());
    let (ok, log) = scan(&["--source", &url, "--target", &target.url()]);
    assert!(!ok, "{log}");
    assert!(
        log.contains("DUMP of key \"the-key\"") && log.contains("NOPERM"),
        "{log}"
    );
    assert!(!log.contains("copier-pw"), "{log}");
}
