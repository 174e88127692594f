//! Values written as commands against real targets: each is built in a temporary
//! key, whatever its name, and renamed into place under the existing-key policy.

use bytes::Bytes;
use endpoint::Endpoint;
use key_writer::{DbCommand, ExistingKeys, Writer, WriterOptions};
use rdb_parser::{Item, Rdb};
use testkit::{Cluster, Data, Server, Snapshot, Version, redis};

fn endpoint(server: &Server) -> Endpoint {
    server.url().parse().unwrap()
}

fn args(text: &str) -> Vec<Bytes> {
    text.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
}

/// Names whose braces leave no hash tag of their own (`odd}name`, `{}x`) are
/// built in a temporary key too: under `ignore`, an existing key is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_without_a_usable_tag_keep_the_existing_key_policy() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    for text in [
        "RPUSH odd}name a b",
        "HSET {}x f v",
        "SADD new}name m n",
        "ZADD {}new 1 m",
    ] {
        let args = args(text);
        let mut cmd = redis::cmd(std::str::from_utf8(&args[0]).unwrap());
        for arg in &args[1..] {
            cmd.arg(&arg[..]);
        }
        cmd.query::<()>(&mut con).unwrap();
    }
    let file = std::fs::read(src.save()).unwrap();
    let cluster = Cluster::start(Version::Redis7_0, 3);
    let standalone = Server::start(Version::Redis7_0);
    for target in [&standalone, &cluster.nodes()[0]] {
        let mut writer = Writer::connect(&endpoint(target), WriterOptions::default())
            .await
            .unwrap();
        for (offset, text) in ["SET odd}name target", "SET {}x target"].iter().enumerate() {
            let command = DbCommand {
                db: 0,
                args: args(text),
                offset: offset as u64,
            };
            writer.write_command(&command).await.unwrap();
        }
        writer.flush().await.unwrap();
        let options = WriterOptions {
            existing: ExistingKeys::Ignore,
            force_commands: true,
            ..WriterOptions::default()
        };
        let mut writer = Writer::connect(&endpoint(target), options).await.unwrap();
        for item in Rdb::new(&file).unwrap().items() {
            if let Item::Key(key) = item.unwrap() {
                writer.write_key(&key).await.unwrap();
            }
        }
        writer.flush().await.unwrap();
        let what = if writer.is_cluster() {
            "cluster"
        } else {
            "standalone"
        };
        assert_eq!(writer.stats().keys_existing, 2, "{what}");
        let snap = if writer.is_cluster() {
            Snapshot::of_cluster(&cluster)
        } else {
            Snapshot::of_server(target, &[0])
        };
        let data = |key: &[u8]| snap.keys.get(&(0, key.to_vec())).map(|e| e.data.clone());
        let kept = Some(Data::String(b"target".to_vec()));
        assert_eq!(data(b"odd}name"), kept, "{what}");
        assert_eq!(data(b"{}x"), kept, "{what}");
        assert_eq!(
            data(b"new}name"),
            Some(Data::Set(vec![b"m".to_vec(), b"n".to_vec()])),
            "{what}"
        );
        assert_eq!(
            data(b"{}new"),
            Some(Data::SortedSet(vec![(b"m".to_vec(), b"1".to_vec())])),
            "{what}"
        );
        assert_eq!(snap.keys.len(), 4, "{what}: no temporary key stays behind");
    }
}
