//! The `dump` program against real servers: the file it writes, loaded by a fresh
//! server at start-up, gives the source's data back; a cluster gives one file per
//! master; TLS works with the CA given; bad credentials fail without showing them.

use std::path::Path;
use std::process::Command;

use testkit::{Cluster, Server, Snapshot, Version, redis, write_mixed, write_sample};

fn dump(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dump"))
        .args(args)
        .output()
        .expect("run dump")
}

/// A fresh server of `version` that loaded `file` at start-up.
fn loaded(version: Version, file: &Path) -> Server {
    let mut server = Server::start(version);
    server.kill();
    std::fs::copy(file, server.rdb_path()).unwrap();
    server.restart();
    server
}

#[test]
fn dump_of_standalone_servers_loads_back() {
    for version in [Version::Redis6_2, Version::Redis7_0, Version::Valkey9_1] {
        let source = Server::builder(version).password("s3cret").start();
        let mut con = source.client();
        write_sample(&mut con, version);
        redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
        write_mixed(&mut con, 3000);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dump.rdb");
        let run = dump(&["--source", &source.url(), "--out", out.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{version:?}: {stderr}");
        assert!(stderr.contains("bytes received"), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        let copy = loaded(version, &out);
        let dbs: Vec<u64> = (0..16).collect();
        let d = Snapshot::of_server(&source, &dbs).diff(&Snapshot::of_server(&copy, &dbs), 1000);
        assert!(d.is_empty(), "{version:?}: {d:#?}");
    }
}

#[test]
fn bad_credentials_fail_without_showing_them() {
    let source = Server::builder(Version::Redis7_0).password("right").start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump.rdb");
    let url = format!("redis://:hunter2@127.0.0.1:{}", source.port());
    let run = dump(&["--source", &url, "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!out.exists() && !out.with_extension("rdb.part").exists());
    let run = dump(&["--source", "redis://:hunter2@host:notaport", "--out", "x"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success() && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

#[test]
fn dump_over_tls() {
    let source = Server::builder(Version::Redis7_0).tls(false).start();
    write_mixed(&mut source.client(), 500);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump.rdb");
    let url = format!("rediss://127.0.0.1:{}", source.tls_port().unwrap());
    let ca = source.tls_file("ca");
    let run = dump(&[
        "--source",
        &url,
        "--out",
        out.to_str().unwrap(),
        "--tls-ca",
        ca.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let copy = loaded(Version::Redis7_0, &out);
    assert!(
        Snapshot::of_server(&source, &[0])
            .diff(&Snapshot::of_server(&copy, &[0]), 1000)
            .is_empty()
    );
    // Without the CA the certificate is refused.
    let run = dump(&["--source", &url, "--out", out.to_str().unwrap()]);
    assert!(!run.status.success());
}

#[test]
fn dump_of_a_cluster_writes_one_file_per_master() {
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let load = testkit::Load::start_cluster(
        &cluster,
        testkit::LoadOptions {
            max_commands: Some(2000),
            ..Default::default()
        },
    );
    assert_eq!(load.finish(), 2000);
    let dir = tempfile::tempdir().unwrap();
    let run = dump(&[
        "--source",
        &cluster.nodes()[0].url(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    // Keys without an expiry: those cannot change once the load has stopped.
    let mut keys = std::collections::BTreeSet::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for item in rdb_parser::Rdb::new(&bytes).unwrap().items() {
            if let rdb_parser::Item::Key(k) = item.unwrap()
                && k.expire_ms.is_none()
            {
                keys.insert(k.key.to_vec().unwrap());
            }
        }
    }
    let expected: std::collections::BTreeSet<_> = Snapshot::of_cluster(&cluster)
        .keys
        .into_iter()
        .filter(|(_, e)| e.expire_at_ms.is_none())
        .map(|((_, k), _)| k)
        .collect();
    assert!(expected.len() > 20, "{} keys", expected.len());
    assert_eq!(keys, expected);
}

/// A password kept out of the process list: from the environment or a file, or
/// written alone in the URL (`redis://password@host`, as redis-cli reads it); never
/// printed.
#[test]
fn passwords_from_the_environment_a_file_or_alone_in_the_url() {
    const PW: &str = "pw-kept-elsewhere";
    let source = Server::builder(Version::Redis7_0).password(PW).start();
    write_mixed(&mut source.client(), 100);
    let dir = tempfile::tempdir().unwrap();
    let bare = format!("redis://127.0.0.1:{}", source.port());
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{PW}\n")).unwrap();
    let lone = format!("redis://{PW}@127.0.0.1:{}", source.port());
    let runs: [(&str, Vec<String>, Option<&str>); 4] = [
        (
            "environment",
            vec!["--source".into(), bare.clone()],
            Some(PW),
        ),
        (
            "file",
            vec![
                "--source".into(),
                bare.clone(),
                "--source-password-file".into(),
                file.display().to_string(),
            ],
            None,
        ),
        ("alone in the URL", vec!["--source".into(), lone], None),
        ("none", vec!["--source".into(), bare], None),
    ];
    for (i, (how, args, env)) in runs.into_iter().enumerate() {
        let out = dir.path().join(format!("{i}.rdb"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_dump"));
        command.args(&args).args(["--out", out.to_str().unwrap()]);
        command.env_remove("MIGRATE_SOURCE_PASSWORD");
        if let Some(pw) = env {
            command.env("MIGRATE_SOURCE_PASSWORD", pw);
        }
        let run = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!stderr.contains(PW), "{how}: {stderr}");
        if how == "none" {
            assert!(!run.status.success(), "{how}: {stderr}");
        } else {
            assert!(run.status.success() && out.exists(), "{how}: {stderr}");
        }
    }
}
