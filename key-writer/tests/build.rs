//! Values written as commands against real targets: each is built in a temporary
//! key that expires if the build never ends, whatever its name, and renamed into
//! place with exactly the source's expiry, under the existing-key policy.

use bytes::Bytes;
use endpoint::Endpoint;
use key_writer::{DbCommand, ExistingKeys, Writer, WriterOptions};
use rdb_parser::{Event, Item, Rdb, Reader};
use testkit::{Cluster, Data, Server, Snapshot, Version, redis};

fn endpoint(server: &Server) -> Endpoint {
    server.url().parse().unwrap()
}

fn args(text: &str) -> Vec<Bytes> {
    text.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
}

/// The temporary keys on `target`.
fn temporary_keys(con: &mut redis::Connection) -> Vec<Vec<u8>> {
    redis::cmd("KEYS")
        .arg("*key-writer-tmp*")
        .query(con)
        .unwrap()
}

fn query_i64(con: &mut redis::Connection, command: &str, key: &[u8]) -> i64 {
    redis::cmd(command).arg(key).query(con).unwrap()
}

/// A value in pieces is built in a temporary key with a long TTL of its own; the
/// key renamed into place has the source's expiry, or none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_keys_expire_and_final_keys_keep_the_source_expiry() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    for key in ["expiring", "persistent"] {
        for batch in 0..10 {
            let mut rpush = redis::cmd("RPUSH");
            rpush.arg(key);
            for i in batch * 1000..(batch + 1) * 1000 {
                rpush.arg(format!("element-{i}"));
            }
            rpush.query::<()>(&mut con).unwrap();
        }
    }
    redis::cmd("PEXPIRE")
        .arg("expiring")
        .arg(3_000_000)
        .query::<()>(&mut con)
        .unwrap();
    let source_expiry = query_i64(&mut con, "PEXPIRETIME", b"expiring");
    let file = std::fs::read(src.save()).unwrap();

    // In pieces: the temporary key seen half-built.
    let target = Server::start(Version::Redis7_0);
    let mut t = target.client();
    let mut writer = Writer::connect(&endpoint(&target), WriterOptions::default())
        .await
        .unwrap();
    let mut reader = Reader::new().max_record(4096).piece_size(4096);
    reader.feed(&file);
    reader.end_input();
    let mut half_built = 0;
    let mut first_piece = false;
    while let Some(event) = reader.next_event().unwrap() {
        let piece = matches!(event, Event::Piece { .. });
        let start = matches!(event, Event::ValueStart(_));
        writer.write_event(event).await.unwrap();
        if start {
            first_piece = true;
        } else if piece && first_piece {
            first_piece = false;
            writer.flush().await.unwrap();
            let temp = temporary_keys(&mut t);
            assert_eq!(temp.len(), 1, "{temp:?}");
            let ttl = query_i64(&mut t, "PTTL", &temp[0]);
            assert!(
                (3_000_000..=3_600_000).contains(&ttl),
                "a temporary key expires in an hour: {ttl}"
            );
            half_built += 1;
        }
    }
    writer.flush().await.unwrap();
    assert_eq!(half_built, 2);
    assert_eq!(query_i64(&mut t, "PEXPIRETIME", b"expiring"), source_expiry);
    assert_eq!(query_i64(&mut t, "PTTL", b"persistent"), -1);
    assert_eq!(temporary_keys(&mut t), Vec::<Vec<u8>>::new());

    // Whole keys larger than `large_value`: the same.
    let target = Server::start(Version::Redis7_0);
    let mut t = target.client();
    let options = WriterOptions {
        large_value: 1024,
        ..WriterOptions::default()
    };
    let mut writer = Writer::connect(&endpoint(&target), options).await.unwrap();
    for item in Rdb::new(&file).unwrap().items() {
        if let Item::Key(key) = item.unwrap() {
            writer.write_key(&key).await.unwrap();
        }
    }
    writer.flush().await.unwrap();
    assert_eq!(writer.stats().keys_as_commands, 2);
    assert_eq!(query_i64(&mut t, "PEXPIRETIME", b"expiring"), source_expiry);
    assert_eq!(query_i64(&mut t, "PTTL", b"persistent"), -1);
    assert_eq!(temporary_keys(&mut t), Vec::<Vec<u8>>::new());
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

/// A value whose own expiry passes while it is written in pieces ends as the
/// source's did: gone, counted as expired, no temporary key left, no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_expiring_while_built_is_counted_as_expired() {
    let src = Server::start(Version::Redis7_0);
    let mut con = src.client();
    let mut rpush = redis::cmd("RPUSH");
    rpush.arg("short-lived");
    for i in 0..5000 {
        rpush.arg(format!("element-{i}"));
    }
    rpush.query::<()>(&mut con).unwrap();
    redis::cmd("PEXPIRE")
        .arg("short-lived")
        .arg(5000)
        .query::<()>(&mut con)
        .unwrap();
    let expiry = query_i64(&mut con, "PEXPIRETIME", b"short-lived");
    let file = std::fs::read(src.save()).unwrap();

    let target = Server::start(Version::Redis7_0);
    let mut t = target.client();
    let mut writer = Writer::connect(&endpoint(&target), WriterOptions::default())
        .await
        .unwrap();
    let mut reader = Reader::new().max_record(4096).piece_size(4096);
    reader.feed(&file);
    reader.end_input();
    let mut held = None;
    while let Some(event) = reader.next_event().unwrap() {
        if matches!(event, Event::ValueEnd) {
            writer.flush().await.unwrap();
            assert_eq!(temporary_keys(&mut t).len(), 1, "begun before its expiry");
            held = Some(());
            // The value's expiry passes before its last request.
            while std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
                <= expiry
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        writer.write_event(event).await.unwrap();
    }
    writer.flush().await.unwrap();
    assert!(held.is_some(), "the value came in pieces");
    let stats = writer.stats();
    assert_eq!(
        (stats.keys_expired, stats.keys_as_commands),
        (1, 0),
        "{stats:?}"
    );
    assert_eq!(query_i64(&mut t, "EXISTS", b"short-lived"), 0);
    assert_eq!(temporary_keys(&mut t), Vec::<Vec<u8>>::new());
}
