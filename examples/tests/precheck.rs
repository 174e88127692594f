//! `--check`: each finding provoked on real servers and reported with its
//! severity; a clean pair reports no blocker and exits 0.

use std::process::Command;

use testkit::{Cluster, Load, LoadOptions, Server, Version, redis, write_mixed, write_sample};

mod support;

/// Runs `program --check` with `args`: its exit code and the finding lines.
fn check(program: &str, args: &[&str]) -> (i32, Vec<String>) {
    let out = Command::new(program)
        .args(args)
        .arg("--check")
        .output()
        .expect("run the program");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert!(
        lines.last().is_some_and(|l| l.starts_with("check: ")),
        "{stdout}\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), lines)
}

fn sync_check(args: &[&str]) -> (i32, Vec<String>) {
    check(env!("CARGO_BIN_EXE_sync"), args)
}

/// The finding of `check` with `severity`, if any.
fn finding<'a>(lines: &'a [String], severity: &str, check: &str) -> Option<&'a String> {
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{severity}: ")) && l.contains(&format!(": {check}: ")))
}

fn run(server: &Server, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<redis::Value>(&mut server.client()).unwrap();
}

#[test]
fn a_clean_pair_has_no_blocker_and_each_problem_is_found() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    write_sample(&mut con, Version::Redis7_0);
    redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    write_mixed(&mut con, 2000);
    let target = Server::start(Version::Redis7_0);
    let (s, t) = (src.url(), target.url());
    let (code, lines) = sync_check(&["--source", &s, "--target", &t]);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.starts_with("blocker")),
        "{lines:#?}"
    );
    assert!(finding(&lines, "info", "backlog").is_some(), "{lines:#?}");
    // Nothing was written.
    let keys: i64 = redis::cmd("DBSIZE").query(&mut target.client()).unwrap();
    assert_eq!(keys, 0);

    // A target that is not empty, too small, and evicting.
    run(&target, &["SET", "already", "here"]);
    run(&target, &["CONFIG", "SET", "maxmemory", "1mb"]);
    run(
        &target,
        &["CONFIG", "SET", "maxmemory-policy", "volatile-lru"],
    );
    let (code, lines) = sync_check(&["--source", &s, "--target", &t]);
    assert_eq!(code, 1, "{lines:#?}");
    assert!(
        finding(&lines, "blocker", "maxmemory").is_some(),
        "{lines:#?}"
    );
    assert!(
        finding(&lines, "warning", "eviction").is_some(),
        "{lines:#?}"
    );
    assert!(finding(&lines, "warning", "empty").is_some(), "{lines:#?}");
    // Verify reads only: none of these matter to it.
    let (code, lines) = check(
        env!("CARGO_BIN_EXE_verify"),
        &["--source", &s, "--target", &t],
    );
    assert_eq!(code, 0, "{lines:#?}");

    // A target without functions, for a source with a library.
    let old = Server::start(Version::Redis6_2);
    let o = old.url();
    let (code, lines) = sync_check(&["--source", &s, "--target", &o]);
    assert_eq!(code, 1, "{lines:#?}");
    assert!(
        finding(&lines, "blocker", "functions").is_some(),
        "{lines:#?}"
    );
    assert!(
        finding(&lines, "info", "rdb-version").is_some(),
        "{lines:#?}"
    );
    let (code, lines) = sync_check(&["--source", &s, "--target", &o, "--drop-functions"]);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(
        finding(&lines, "warning", "functions").is_some(),
        "{lines:#?}"
    );
    // A Valkey 9.1 source can hold hash field TTLs; Redis 7.0 cannot.
    let valkey = Server::start(Version::Valkey9_1);
    let (_, lines) = sync_check(&["--source", &valkey.url(), "--target", &o]);
    assert!(
        finding(&lines, "warning", "field-ttls").is_some(),
        "{lines:#?}"
    );

    // An unreachable source.
    let (code, lines) = sync_check(&["--source", "redis://127.0.0.1:1", "--target", &t]);
    assert_eq!(code, 1, "{lines:#?}");
    assert!(
        finding(&lines, "blocker", "connect").is_some(),
        "{lines:#?}"
    );
}

#[test]
fn replication_permission_backlog_and_output_buffer() {
    let src = Server::builder(Version::Redis7_0)
        .acl_user("copier", "pw", "~* &* +@all -psync")
        .config("repl-backlog-size", "16kb")
        .config("client-output-buffer-limit", "replica 8kb 0 0")
        .start();
    write_mixed(&mut src.client(), 2000);
    let target = Server::start(Version::Redis7_0);
    let url = format!("redis://copier:pw@{}", src.addr());
    // Writes while the rate is measured.
    let writes = Load::start(
        &src,
        LoadOptions {
            seed: 5,
            ..LoadOptions::default()
        },
    );
    // The load is under way before the rate is measured.
    let processed = || -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query(&mut src.client())
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let before = processed();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while processed() < before + 1000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the load wrote nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (code, lines) = sync_check(&["--source", &url, "--target", &target.url()]);
    writes.stop();
    assert_eq!(code, 1, "{lines:#?}");
    let denied = finding(&lines, "blocker", "replication").expect("the PSYNC refusal");
    assert!(
        denied.contains("copier") && denied.contains("PSYNC"),
        "{denied}"
    );
    assert!(!lines.iter().any(|l| l.contains(":pw@")), "{lines:#?}");
    assert!(
        finding(&lines, "warning", "backlog").is_some(),
        "{lines:#?}"
    );
    assert!(
        finding(&lines, "blocker", "output-buffer").is_some(),
        "{lines:#?}"
    );
    // A copy with SCAN does not replicate: none of these stop it.
    let (code, lines) = check(
        env!("CARGO_BIN_EXE_scan"),
        &["--source", &url, "--target", &target.url()],
    );
    assert_eq!(code, 0, "{lines:#?}");
}

#[test]
fn a_cluster_target_with_uncovered_slots() {
    let src = Server::start(Version::Redis7_0);
    write_mixed(&mut src.client(), 100);
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let node = &cluster.masters()[0];
    let (code, lines) = sync_check(&["--source", &src.url(), "--target", &node.url()]);
    assert_eq!(code, 0, "{lines:#?}");
    // Slot 0 dropped by its master (the others refuse: not theirs): that
    // master counts 16383 slots assigned.
    for m in cluster.masters() {
        let _: redis::RedisResult<()> = redis::cmd("CLUSTER")
            .arg("DELSLOTS")
            .arg(0)
            .query(&mut m.client());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    'found: loop {
        for m in cluster.masters() {
            let (code, lines) = sync_check(&["--source", &src.url(), "--target", &m.url()]);
            if code == 1 && finding(&lines, "blocker", "cluster").is_some() {
                break 'found;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no cluster blocker");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A sync's pre-checks say whether the target holds the checkpoint of a previous
/// run, which the sync would resume from.
#[test]
fn the_checkpoint_of_a_previous_sync() {
    let src = support::loaded_source(Version::Redis7_0, 200);
    let target = Server::start(Version::Redis7_0);
    let (s, t) = (src.url(), target.url());
    let (code, lines) = sync_check(&["--source", &s, "--target", &t]);
    assert_eq!(code, 0, "{lines:#?}");
    let none = finding(&lines, "info", "checkpoint").expect("a checkpoint line");
    assert!(none.contains("no checkpoint"), "{none}");
    let sync = support::Sync::start(&["--source", &s, "--target", &t]);
    sync.wait_for("the RDB", |log| log.contains("sync rdb done"));
    sync.stop();
    let (_, lines) = sync_check(&["--source", &s, "--target", &t]);
    let found = finding(&lines, "info", "checkpoint").expect("a checkpoint line");
    assert!(
        found.contains("left its checkpoint") && found.contains("offset"),
        "{found}"
    );
    let (_, lines) = sync_check(&["--source", &s, "--target", &t, "--no-checkpoints"]);
    assert!(
        finding(&lines, "info", "checkpoint").is_none(),
        "{lines:#?}"
    );
}

/// A node that says it is a cluster but refuses `CLUSTER` commands (here a user
/// without them, as a managed service's proxy endpoint answers): a blocker until
/// the job is told `--proxy`; then what a proxy means for it, as warnings.
#[test]
fn a_proxy_in_front_of_a_cluster() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    write_mixed(&mut con, 100);
    redis::cmd("SELECT").arg(2).query::<()>(&mut con).unwrap();
    redis::cmd("SET")
        .arg("elsewhere")
        .arg(1)
        .query::<()>(&mut con)
        .unwrap();
    let node = Server::builder(Version::Redis7_0).cluster_node().start();
    run(&node, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    run(
        &node,
        &[
            "ACL", "SETUSER", "app", "on", ">secret", "~*", "&*", "+@all", "-cluster",
        ],
    );
    let target = format!("redis://app:secret@{}", node.addr());
    let (source, target) = (src.url(), target);
    let base = ["--source", source.as_str(), "--target", target.as_str()];

    let (code, lines) = sync_check(&base);
    assert_eq!(code, 1, "{lines:#?}");
    let blocker = finding(&lines, "blocker", "proxy").expect("a proxy blocker");
    assert!(blocker.contains("--proxy"), "{blocker}");
    assert!(
        finding(&lines, "blocker", "connect").is_none(),
        "{lines:#?}"
    );

    let (code, lines) = sync_check(&[&base[..], &["--proxy"]].concat());
    assert_eq!(code, 0, "{lines:#?}");
    assert!(finding(&lines, "info", "proxy").is_some(), "{lines:#?}");
    let warnings: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("warning: ") && l.contains(": proxy: "))
        .collect();
    assert_eq!(warnings.len(), 2, "{lines:#?}");
    assert!(
        warnings.iter().any(|w| w.contains("database 2")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("no checkpoints")),
        "{warnings:#?}"
    );

    // A copy keeps no checkpoints: through the proxy, only the databases are
    // warned of.
    let scan = env!("CARGO_BIN_EXE_scan");
    let (code, lines) = check(scan, &[&base[..], &["--proxy"]].concat());
    assert_eq!(code, 0, "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.contains("no checkpoints")),
        "{lines:#?}"
    );
    assert!(finding(&lines, "warning", "proxy").is_some(), "{lines:#?}");
}
