//! Config files: the annotated example drives a real sync (its addresses replaced
//! by the test servers'), the command line wins over the file, and a key that is
//! no option stops the program before it starts, naming the line.

use std::process::Command;

use testkit::{Server, Snapshot, Version};

mod support;

use support::{Sync, converge, loaded_source};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sync.toml");

#[test]
fn the_example_file_drives_a_sync() {
    let src = loaded_source(Version::Redis7_0, 1000);
    let target = Server::start(Version::Redis7_0);
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    let text = text
        .replace("redis://10.0.0.1:6379", &src.url())
        .replace("redis://10.0.0.2:6379", &target.url());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.toml");
    std::fs::write(&file, text).unwrap();
    // The command line's checkpoint name wins over the file's.
    let sync = Sync::start(&[
        "--config",
        file.to_str().unwrap(),
        "--checkpoint-name",
        "from-the-command-line",
    ]);
    let dbs: Vec<u64> = (0..16).collect();
    converge(
        || Snapshot::of_server(&src, &dbs),
        || Snapshot::of_server(&target, &dbs).without(b"from-the-command-line"),
        "a sync from the example file",
    );
    let log = sync.stop();
    assert!(log.contains("sync rdb done"), "{log}");
    let names: Vec<String> = testkit::redis::cmd("KEYS")
        .arg("from-the-command-line:*")
        .query(&mut target.client())
        .unwrap();
    assert!(
        !names.is_empty(),
        "no checkpoint under the command line's name"
    );
}

#[test]
fn a_key_that_is_no_option_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.toml");
    std::fs::write(
        &file,
        "source = [\"redis://127.0.0.1:1\"]\ntarget = \"redis://u:s3cret@127.0.0.1:1\"\nprefixes = [\"app:\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sync"))
        .args(["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("sync.toml:3: `prefixes` is no option of sync"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}
