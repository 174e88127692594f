//! What operators watch: `--metrics-addr`, the Prometheus endpoint scraped during
//! a running sync, holds the figures the program prints (its `sync rdb done` line
//! and its summary); `--log-format json` writes its log lines as JSON objects.

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Server, Snapshot, Version};

mod support;

use support::{Sync, converge, free_port, loaded_source, sample, scrape};

/// The number before `what` in the line of `log` starting with `line`.
fn figure(log: &str, line: &str, what: &str) -> u64 {
    let l = log
        .lines()
        .find(|l| l.starts_with(line))
        .unwrap_or_else(|| panic!("{line:?} in {log}"));
    let at = l.find(what).unwrap_or_else(|| panic!("{what:?} in {l}"));
    l[..at]
        .trim_end()
        .rsplit([' ', '('])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a figure before {what:?} in {l}"))
}

#[test]
fn a_running_sync_serves_the_figures_it_prints() {
    let src = loaded_source(Version::Redis7_0, 2000);
    let target = Server::start(Version::Redis7_0);
    let port = free_port();
    let sync = Sync::start(&[
        "--source",
        &src.url(),
        "--target",
        &target.url(),
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
    ]);
    sync.wait_for("the RDB", |log| log.contains("sync rdb done"));
    // Writes after the RDB, none of them expiring: the counts then stand still.
    let mut pipe = testkit::redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("after:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut src.client()).unwrap();
    let dbs: Vec<u64> = (0..16).collect();
    converge(
        || Snapshot::of_server(&src, &dbs),
        || Snapshot::of_server(&target, &dbs),
        "after the writes",
    );
    // The endpoint shows the status line's figures within its refresh.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let printed = support::commands(&sync.log());
        let text = scrape(port).unwrap_or_default();
        if printed == 500 && sample(&text, "migrate_sync_commands_total") == Some(printed) {
            break text;
        }
        assert!(Instant::now() < deadline, "printed {printed}: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = sync.stop();
    assert_eq!(
        sample(&text, "migrate_sync_commands_total"),
        Some(figure(
            &log,
            &format!("sync: {}: replid", src.url()),
            "commands"
        )),
        "{text}\n{log}"
    );
    assert_eq!(
        sample(&text, "migrate_sync_rdb_keys_total"),
        Some(figure(&log, "sync rdb done", "keys")),
        "{text}\n{log}"
    );
    assert_eq!(
        sample(&text, "migrate_sync_full_syncs_total"),
        Some(1),
        "{text}"
    );
    assert_eq!(sample(&text, "migrate_sync_streaming"), Some(1), "{text}");
    assert!(text.contains(&format!("shard=\"{}\"", src.url())), "{text}");
}

#[test]
fn log_lines_as_json() {
    let src = loaded_source(Version::Redis7_0, 100);
    let target = Server::start(Version::Redis7_0);
    let sync = Sync::start(&[
        "--source",
        &src.url(),
        "--target",
        &target.url(),
        "--log-format",
        "json",
    ]);
    sync.wait_for("the RDB", |log| log.contains("sync rdb done"));
    // A cut link is logged (a warning) and resumed.
    let killed: u64 = testkit::redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut src.client())
        .unwrap();
    assert_eq!(killed, 1);
    sync.wait_for("a warning", |log| log.contains("\"level\":\"WARN\""));
    let log = sync.stop();
    let mut objects = 0;
    for line in log.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        assert!(v["fields"]["message"].is_string(), "{line}");
        objects += 1;
    }
    assert!(objects > 0, "{log}");
    // The cut link's warning names the shard's source and target.
    let warning: serde_json::Value = log
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"level\":\"WARN\""))
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("a warning");
    assert_eq!(warning["span"]["source"], src.url(), "{warning}");
    assert_eq!(warning["span"]["target"], target.url(), "{warning}");
    // The status and summary lines stay as they are.
    assert!(log.lines().any(|l| l.starts_with("sync: ")), "{log}");
}

/// A transaction whose keys span a cluster target's slots, with
/// `--split-transactions`: applied command by command, and the warning saying so
/// names its database, first key, commands and stream offset.
#[test]
fn a_warning_names_the_db_and_key_it_is_about() {
    let src = Server::start(Version::Redis7_0);
    let cluster = testkit::Cluster::start(Version::Redis7_0, 3);
    let target = cluster.masters()[0].url();
    let sync = Sync::start(&[
        "--source",
        &src.url(),
        "--target",
        &target,
        "--split-transactions",
        "--log-format",
        "json",
    ]);
    sync.wait_for("the RDB", |log| log.contains("sync rdb done"));
    // "a" and "b" live in different slots.
    let mut pipe = testkit::redis::pipe();
    pipe.atomic().set("a", 1).set("b", 2);
    pipe.query::<()>(&mut src.client()).unwrap();
    sync.wait_for("the warning", |log| log.contains("spanning slots"));
    // Applied all the same, each key on its own slot's master.
    let value = |key: &str| {
        cluster.masters().iter().find_map(|m| {
            testkit::redis::cmd("GET")
                .arg(key)
                .query::<Option<i64>>(&mut m.client())
                .ok()
                .flatten()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while (value("a"), value("b")) != (Some(1), Some(2)) {
        assert!(Instant::now() < deadline, "never applied: {}", sync.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = sync.stop();
    let warning: serde_json::Value = log
        .lines()
        .filter(|l| l.contains("spanning slots"))
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("a JSON warning");
    let fields = &warning["fields"];
    assert_eq!(fields["db"], 0, "{warning}");
    assert_eq!(fields["key"], "\"a\"", "{warning}");
    assert_eq!(fields["commands"], 2, "{warning}");
    assert!(fields["offset"].as_u64().is_some(), "{warning}");
}

/// Runs `program` with `args` and its stderr on a pseudo-terminal: what it wrote
/// there, and whether it succeeded.
fn on_a_terminal(program: &str, args: &[&str]) -> (bool, String) {
    use std::fs::File;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors it opened into the two integers.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty");
    // SAFETY: both are open descriptors owned by nothing else.
    let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = Command::new(program)
        .args(args)
        .stderr(std::process::Stdio::from(slave))
        .spawn()
        .unwrap();
    let reader = std::thread::spawn(move || {
        let mut master = master;
        let mut out = Vec::new();
        // Ends with EIO once the child (the last holder of the terminal) exits.
        let _ = master.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    let ok = child.wait().unwrap().success();
    (ok, reader.join().unwrap())
}

#[test]
fn progress_bars_on_a_terminal_and_plain_lines_elsewhere() {
    let src = loaded_source(Version::Redis7_0, 3000);
    let rdb = src.save();
    let rdb = rdb.to_str().unwrap();
    let target = Server::start(Version::Redis7_0);
    let restore = env!("CARGO_BIN_EXE_restore");
    let (ok, out) = on_a_terminal(restore, &["--target", &target.url(), rdb]);
    assert!(ok, "{out}");
    // A bar drawn with the terminal's escapes, full at the end, then the summary.
    assert!(out.contains("\u{1b}["), "{out:?}");
    assert!(out.contains("100%") && out.contains("items"), "{out:?}");
    assert!(
        out.contains("\nrestore: ") || out.starts_with("restore: "),
        "{out:?}"
    );
    // Asked for plain lines, on the same terminal: no escapes.
    testkit::redis::cmd("FLUSHALL")
        .query::<()>(&mut target.client())
        .unwrap();
    let (ok, out) = on_a_terminal(
        restore,
        &["--target", &target.url(), "--progress", "plain", rdb],
    );
    assert!(ok, "{out}");
    assert!(!out.contains("\u{1b}["), "{out:?}");
    assert!(out.contains("restore: "), "{out:?}");
    // Not a terminal: plain lines by themselves.
    testkit::redis::cmd("FLUSHALL")
        .query::<()>(&mut target.client())
        .unwrap();
    let out = Command::new(restore)
        .args(["--target", &target.url(), rdb])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("\u{1b}["), "{err}");
}
