//! The `verify` program's memory bound, alone in its test binary: a child's peak
//! resident memory as `wait4` reports it starts at the peak of the process that
//! spawned it (Linux carries that high-water mark across `exec`), so the process
//! that spawns `verify` must stay small: no other test runs in it.

use std::io::Read;
use std::process::{Command, Stdio};

use testkit::{Server, Version, redis};

/// Runs `verify` with `args`, as [`verify`] does, and returns its peak resident
/// memory in bytes too: the kernel's high-water mark for that child alone, read
/// when it is reaped (so no sampling can miss the peak).
fn verify_peak(args: &[&str]) -> (i32, Vec<serde_json::Value>, u64, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run verify");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).expect("read a pipe");
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `status` and `usage` are valid for writes for the call; the child is
    // ours and not waited for elsewhere (`child` is dropped without a wait).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let mut lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{stderr}")))
        .collect();
    lines.pop();
    // Linux counts `ru_maxrss` in KiB.
    let peak = usage.ru_maxrss.max(0) as u64 * 1024;
    (code, lines, peak, stderr)
}

/// The memory bound of [`migrate::Verify`]: a value far larger than the bound is
/// compared in pieces, so the program's peak stays under [`HASH_BOUND`] while the
/// value alone is more than twice that.
#[test]
fn a_big_hash_in_pieces_in_bounded_memory() {
    const FIELDS: usize = 200_000;
    const VALUE: usize = 500;
    let src = Server::start(Version::Redis7_0);
    let dst = Server::start(Version::Redis7_0);
    for server in [&src, &dst] {
        let mut con = server.client();
        for chunk in 0..FIELDS / 1000 {
            let mut cmd = redis::cmd("HSET");
            cmd.arg("huge");
            for i in chunk * 1000..(chunk + 1) * 1000 {
                cmd.arg(format!("field-{i}")).arg(format!("{i:>VALUE$}"));
            }
            cmd.query::<()>(&mut con).unwrap();
        }
    }
    let size = FIELDS * VALUE;
    assert!(size as u64 > 2 * HASH_BOUND, "the value dwarfs the bound");
    let base = [
        "--source",
        &src.url(),
        "--target",
        &dst.url(),
        "--rounds",
        "1",
    ];
    let (code, lines, peak, log) = verify_peak(&base);
    assert_eq!((code, lines.len()), (0, 0), "{lines:?}\n{log}");
    assert!(
        peak < HASH_BOUND,
        "peak {} MB for a {} MB hash",
        peak >> 20,
        size >> 20
    );
    redis::cmd("HSET")
        .arg(&["huge", "field-123456", "x"])
        .query::<()>(&mut dst.client())
        .unwrap();
    let (code, lines, peak, log) = verify_peak(&base);
    assert_eq!((code, lines.len()), (1, 1), "{lines:?}\n{log}");
    assert!(
        lines[0]["detail"]
            .as_str()
            .unwrap()
            .contains("field-123456"),
        "{lines:?}"
    );
    assert!(peak < HASH_BOUND, "peak {} MB", peak >> 20);
}

/// What a verification of one large value may hold at its peak, in bytes.
const HASH_BOUND: u64 = 40 << 20;
