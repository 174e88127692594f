//! Seeding empty standalone targets through replication, against real servers:
//! RDBs of Redis 6.2, 7.0 and Valkey 9.1 loaded into targets of the same and of
//! newer versions, compared key by key with the source; the target is a master
//! again with its own settings; the targets that cannot be seeded, and corrupt
//! files, are refused with the reason, the target left as it was.

use endpoint::Endpoint;
use replica_client::{Error, SeedOptions, seed};
use testkit::{Cluster, Server, Snapshot, Version, redis, write_mixed, write_sample};

const ALL_DBS: [u64; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn endpoint(server: &Server) -> Endpoint {
    server.url().parse().unwrap()
}

fn source(version: Version) -> Server {
    let server = Server::start(version);
    let mut con = server.client();
    write_sample(&mut con, version);
    redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    write_mixed(&mut con, 5000);
    server
}

fn config(server: &Server, name: &str) -> String {
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(&mut server.client())
        .unwrap();
    pair[1].clone()
}

fn role(server: &Server) -> String {
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut server.client())
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("role:"))
        .unwrap()
        .trim()
        .to_owned()
}

fn refusal(result: Result<replica_client::Seeded, Error>) -> String {
    match result {
        Err(Error::Seed { reason }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdb_files_load_into_empty_targets() {
    for (from, to) in [
        (Version::Redis6_2, Version::Redis6_2),
        (Version::Redis7_0, Version::Redis7_0),
        (Version::Valkey9_1, Version::Valkey9_1),
        (Version::Redis6_2, Version::Redis7_0),
        (Version::Redis7_0, Version::Valkey9_1),
    ] {
        let what = format!("{from:?} into {to:?}");
        let src = source(from);
        let rdb = src.save();
        let target = Server::start(to);
        let seeded = seed(&endpoint(&target), &rdb, &SeedOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(seeded.bytes, std::fs::metadata(&rdb).unwrap().len());
        let expected = Snapshot::of_server(&src, &ALL_DBS);
        assert!(expected.keys.len() > 5000, "{what}");
        assert_eq!(seeded.keys, expected.keys.len() as u64, "{what}");
        let d = expected.diff(&Snapshot::of_server(&target, &ALL_DBS), 1000);
        assert!(d.is_empty(), "{what}: {d:#?}");
        // A master again, writable, with its own load setting.
        assert_eq!(role(&target), "master", "{what}");
        assert_eq!(config(&target, "repl-diskless-load"), "disabled", "{what}");
        redis::cmd("SET")
            .arg("after-seed")
            .arg(1)
            .query::<()>(&mut target.client())
            .unwrap();
        if from != Version::Redis6_2 && to != Version::Redis6_2 {
            let libraries: Vec<redis::Value> = redis::cmd("FUNCTION")
                .arg("LIST")
                .query(&mut target.client())
                .unwrap();
            let at_source: Vec<redis::Value> = redis::cmd("FUNCTION")
                .arg("LIST")
                .query(&mut src.client())
                .unwrap();
            assert_eq!(libraries.len(), at_source.len(), "{what}: functions");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_that_cannot_be_seeded_are_refused() {
    let src = source(Version::Redis7_0);
    let rdb = src.save();

    // Not empty: refused, data untouched.
    let full = Server::start(Version::Redis7_0);
    redis::cmd("SET")
        .arg("kept")
        .arg("yes")
        .query::<()>(&mut full.client())
        .unwrap();
    let reason = refusal(seed(&endpoint(&full), &rdb, &SeedOptions::default()).await);
    assert!(reason.contains("not empty"), "{reason}");
    let kept: String = redis::cmd("GET")
        .arg("kept")
        .query(&mut full.client())
        .unwrap();
    assert_eq!(kept, "yes");
    assert_eq!(role(&full), "master");

    // An older server cannot read the file.
    let old = Server::start(Version::Redis6_2);
    let reason = refusal(seed(&endpoint(&old), &rdb, &SeedOptions::default()).await);
    assert!(reason.contains("cannot read RDB version 10"), "{reason}");

    // A cluster node cannot replicate a standalone master.
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let reason = refusal(
        seed(
            &endpoint(&cluster.nodes()[0]),
            &rdb,
            &SeedOptions::default(),
        )
        .await,
    );
    assert!(reason.contains("cluster node"), "{reason}");

    // A corrupt file: the link is cut before the faulty record (or before the
    // checksum) reaches the target, which gives up, stays up, and is promoted back.
    for version in [Version::Redis6_2, Version::Redis7_0, Version::Valkey9_1] {
        let src = source(version);
        let corrupt = tempfile_with(&src.save(), |bytes| {
            let at = bytes.len() / 2;
            bytes[at] ^= 0xFF;
        });
        let target = Server::start(version);
        match seed(&endpoint(&target), &corrupt, &SeedOptions::default()).await {
            Err(Error::Rdb(_)) => {}
            other => panic!("{version:?}: expected the file refused, got {other:?}"),
        }
        assert_eq!(role(&target), "master", "{version:?}");
        assert_eq!(config(&target, "repl-diskless-load"), "disabled");
        let keys: u64 = redis::cmd("DBSIZE").query(&mut target.client()).unwrap();
        assert_eq!(keys, 0, "{version:?}: nothing half-loaded is left");
    }
}

/// A copy of `path` changed by `edit`, next to it.
fn tempfile_with(path: &std::path::Path, edit: impl FnOnce(&mut Vec<u8>)) -> std::path::PathBuf {
    let mut bytes = std::fs::read(path).unwrap();
    edit(&mut bytes);
    let out = path.with_extension("corrupt.rdb");
    std::fs::write(&out, bytes).unwrap();
    out
}
