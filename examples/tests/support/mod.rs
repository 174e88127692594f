//! What the `sync` program's tests share: running the program with its stderr
//! collected as it comes, and waiting until a target reads as its source.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use testkit::{Load, LoadOptions, Server, Snapshot, Version, redis, write_mixed, write_sample};

/// The databases the loads write.
pub const DBS: [u64; 3] = [0, 1, 3];

/// A source with every type (the sample in several dbs, `keys` mixed keys in db 0)
/// that serves replicas diskless at once, and keeps a backlog large enough for a
/// slow machine's pauses.
pub fn loaded_source(version: Version, keys: usize) -> Server {
    let src = Server::builder(version)
        .config("repl-diskless-sync", "yes")
        .config("repl-diskless-sync-delay", "0")
        .config("repl-backlog-size", "64mb")
        .start();
    let mut con = src.client();
    write_sample(&mut con, version);
    redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    write_mixed(&mut con, keys);
    src
}

/// A write load on [`DBS`] of `src`.
pub fn load(src: &Server, seed: u64) -> Load {
    Load::start(
        src,
        LoadOptions {
            dbs: DBS.to_vec(),
            seed,
            ..LoadOptions::default()
        },
    )
}

/// The names of the sync's checkpoint keys on its target.
pub const CHECKPOINTS: &[u8] = b"redis-replication:checkpoint";

/// A running `sync` program.
pub struct Sync {
    child: Child,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Sync {
    /// Runs `sync` with `args`, and an expiry grace longer than a loaded CI machine
    /// may lag (within converge's tolerance).
    pub fn start(args: &[&str]) -> Sync {
        Self::start_with_stdout(args, Stdio::inherit())
    }

    /// As [`Sync::start`], its standard output going to `stdout`.
    pub fn start_with_stdout(args: &[&str], stdout: impl Into<Stdio>) -> Sync {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync"))
            .args(args)
            .args(["--expiry-grace-ms", "10000"])
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sync");
        let mut stderr = child.stderr.take().expect("piped");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Sync {
            child,
            log,
            reader: Some(reader),
        }
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until what it printed says `ready` (60 s at most).
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(&self.log()) {
            assert!(
                Instant::now() < deadline,
                "{what}: not seen in 60 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ctrl-C, then all it printed; panics if it failed.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        let log = self.finish();
        assert!(status.success(), "sync failed: {log}");
        log
    }

    /// SIGKILL, then all it printed.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.finish()
    }

    /// Waits for it to end by itself; its exit status and all it printed.
    pub fn wait(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        (status.success(), self.finish())
    }

    fn finish(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.log()
    }
}

impl Drop for Sync {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The commands the last status line of `log` counts (0 before the first).
pub fn commands(log: &str) -> u64 {
    log.lines()
        .rev()
        .find_map(|l| {
            let rest = l.strip_prefix("sync: ")?;
            let (_, counted) = rest.split_once(": ")?;
            counted.split(" commands, ").next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Waits until `target` reads the same as `source` (60 s at most), the sync's
/// checkpoint keys left out.
pub fn converge(source: impl Fn() -> Snapshot, target: impl Fn() -> Snapshot, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (a, b) = (source(), target().without(CHECKPOINTS));
        let d = a.diff(&b, 12_000);
        if d.is_empty() {
            assert!(a.keys.len() > 100, "{what}: only {} keys", a.keys.len());
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {} differences, e.g. {:#?}",
            d.len(),
            &d[..d.len().min(10)]
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A free loopback port (the kernel's pick; the program binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /metrics`, or `None` while nothing listens yet.
pub fn scrape(port: u16) -> Option<String> {
    let mut con = TcpStream::connect(("127.0.0.1", port)).ok()?;
    con.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    con.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The value of the sample `name{labels}` in `text`.
pub fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.split(['{', ' ']).next() == Some(name))?
        .rsplit(' ')
        .next()?
        .parse::<f64>()
        .ok()
        .map(|v| v as u64)
}

/// The sum of the samples `name{...}` in `text` (one per shard, say).
pub fn sample_sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
