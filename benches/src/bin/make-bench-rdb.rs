//! Writes the benchmarks' mixed-type RDB: `make-bench-rdb OUT [KEYS]`.
//!
//! Starts a Redis 7.0 server from the test kit, fills it with
//! `testkit::write_mixed(KEYS)` (default 300000), saves, and copies the RDB to OUT.

use std::path::PathBuf;

use testkit::{Server, Version, write_mixed};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: make-bench-rdb OUT [KEYS]"));
    let keys: usize = args
        .next()
        .map_or(300_000, |k| k.parse().expect("KEYS must be a number"));
    let server = Server::start(Version::Redis7_0);
    write_mixed(&mut server.client(), keys);
    std::fs::copy(server.save(), &out).expect("copy the RDB");
    eprintln!(
        "{}: {keys} keys, {} bytes",
        out.display(),
        std::fs::metadata(&out).expect("stat").len()
    );
}
