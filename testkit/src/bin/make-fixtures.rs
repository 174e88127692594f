//! Regenerates the sample RDB files committed in the repository:
//!
//! - `rdb-parser/tests/fixtures/<server>/sample.rdb` for each server the kit starts;
//! - `examples/data/sample.rdb` (the Redis 7.0 one), the README's quick-start input.
//!
//! Run from anywhere: `cargo run -p testkit --bin make-fixtures`.

use std::fs;
use std::path::Path;

use testkit::{Server, Version, write_sample};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for version in Version::ALL {
        let server = Server::start(version);
        write_sample(&mut server.client(), version);
        let rdb = server.save();
        let name = format!(
            "{}-{}",
            if version.is_valkey() {
                "valkey"
            } else {
                "redis"
            },
            version.release()
        );
        let dir = root.join("rdb-parser/tests/fixtures").join(&name);
        fs::create_dir_all(&dir).expect("create fixture dir");
        fs::copy(&rdb, dir.join("sample.rdb")).expect("copy RDB");
        if version == Version::Redis7_0 {
            fs::copy(&rdb, root.join("examples/data/sample.rdb")).expect("copy sample");
        }
        println!("{name}: {} bytes", fs::metadata(&rdb).expect("stat").len());
    }
}
