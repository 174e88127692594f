//! Expiries of forwarded commands against real targets: with an expiry grace (a
//! live sync), relative expiries count from the moment the writer receives them,
//! so a command that reaches the target late still expires when the source's key
//! does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use endpoint::Endpoint;
use key_writer::{DbCommand, Writer, WriterOptions};
use testkit::{Server, Version, redis};

/// How late the commands reach the target after the writer received them.
const LATE: Duration = Duration::from_secs(2);

fn endpoint(server: &Server) -> Endpoint {
    server.url().parse().unwrap()
}

fn args(text: &str) -> Vec<Bytes> {
    text.split(' ').map(|a| Bytes::from(a.to_owned())).collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A grace long enough that nothing graced expires while a loaded machine runs
/// the test, and shorter than the 100 s expiries tested.
const GRACE: Duration = Duration::from_secs(60);

fn live_writer_options() -> WriterOptions {
    WriterOptions {
        expiry_grace: Some(GRACE),
        ..WriterOptions::default()
    }
}

/// Runs `command` (a TTL command, e.g. `PTTL`, whose reply is in milliseconds) on
/// `con` and returns the bounds of the unix time it points to: the reply counts
/// from some moment between the two clock readings around it.
fn expiry_bounds(con: &mut redis::Connection, command: &[&str]) -> (i64, i64) {
    let before = now_ms();
    let mut cmd = redis::cmd(command[0]);
    for arg in &command[1..] {
        cmd.arg(*arg);
    }
    let reply: redis::Value = cmd.query(con).unwrap();
    let after = now_ms();
    let ttl = match reply {
        redis::Value::Int(n) => n,
        redis::Value::Array(v) | redis::Value::Set(v) if v.len() == 1 => match &v[0] {
            redis::Value::Int(n) => *n,
            other => panic!("{command:?}: {other:?}"),
        },
        other => panic!("{command:?}: {other:?}"),
    };
    assert!(ttl > 0, "{command:?}: no expiry ({ttl})");
    (before + ttl, after + ttl + 1)
}

/// A Redis 6.2 source propagates relative expiries as typed (`EXPIRE`, `PEXPIRE`)
/// or as `SET ... PX` (`SETEX`, `PSETEX`, `SET ... EX`) and `PEXPIRE` (`GETEX`);
/// the target's expiry must be the source's, not the source's plus the lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_expiries_count_from_their_receipt() {
    // (what the source runs, what a 6.2 source propagates for it)
    let commands = [
        ("SET a 1", "SET a 1"),
        ("EXPIRE a 100", "EXPIRE a 100"),
        ("SET b 1", "SET b 1"),
        ("PEXPIRE b 100000", "PEXPIRE b 100000"),
        ("SETEX c 100 v", "SET c v PX 100000"),
        ("PSETEX d 100000 v", "SET d v PX 100000"),
        ("SET e v EX 100", "SET e v PX 100000"),
        ("SET f v", "SET f v"),
        ("GETEX f EX 100", "PEXPIRE f 100000"),
    ];
    let source = Server::start(Version::Redis6_2);
    let mut src = source.client();
    for version in [Version::Redis6_2, Version::Redis7_0] {
        let target = Server::start(version);
        let mut writer = Writer::connect(&endpoint(&target), live_writer_options())
            .await
            .unwrap();
        let received_from = now_ms();
        for (offset, (run, propagated)) in commands.iter().enumerate() {
            let run = args(run);
            let mut cmd = redis::cmd(std::str::from_utf8(&run[0]).unwrap());
            for arg in &run[1..] {
                cmd.arg(&arg[..]);
            }
            cmd.query::<redis::Value>(&mut src).unwrap();
            let command = DbCommand {
                db: 0,
                args: args(propagated),
                offset: offset as u64,
            };
            writer.write_command(&command).await.unwrap();
        }
        let received_by = now_ms();
        // The lag of a busy sync: queued, not yet on the target.
        tokio::time::sleep(LATE).await;
        writer.flush().await.unwrap();
        let mut t = target.client();
        for key in ["a", "b", "c", "d", "e", "f"] {
            let (src_lo, src_hi) = expiry_bounds(&mut src, &["PTTL", key]);
            let (lo, hi) = expiry_bounds(&mut t, &["PTTL", key]);
            let what = format!("{version}, key {key}");
            // Set between the first command and the last receipt, like the source's.
            assert!(
                hi >= received_from + 100_000 && lo <= received_by + 100_000,
                "{what}: expires at {lo}..{hi}, received {received_from}..{received_by}"
            );
            assert!(
                hi >= src_lo && lo <= src_hi + (received_by - received_from),
                "{what}: expires at {lo}..{hi}, the source's at {src_lo}..{src_hi}"
            );
        }
    }
}

/// Hash field expiries (Valkey 9.1): relative forms fixed at receipt, absolute
/// ones already past moved into the grace, the conditions kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_field_expiries_count_from_their_receipt() {
    let target = Server::start(Version::Valkey9_1);
    let mut writer = Writer::connect(&endpoint(&target), live_writer_options())
        .await
        .unwrap();
    let received_from = now_ms();
    for (offset, text) in [
        "HSET h a 1 b 2 c 3 p 4 g 5",
        "HEXPIRE h 100 FIELDS 1 a",
        "HPEXPIRE h 100000 NX FIELDS 2 b p",
        "HPEXPIRE h 500000 NX FIELDS 1 p",
        "HSETEX h EX 100 FIELDS 1 d 4",
        "HGETEX h PX 100000 FIELDS 1 c",
        "HEXPIREAT h 1 FIELDS 1 g",
    ]
    .iter()
    .enumerate()
    {
        let command = DbCommand {
            db: 0,
            args: args(text),
            offset: offset as u64,
        };
        writer.write_command(&command).await.unwrap();
    }
    let received_by = now_ms();
    tokio::time::sleep(LATE).await;
    writer.flush().await.unwrap();
    let mut t = target.client();
    for field in ["a", "b", "c", "d", "p"] {
        let (lo, hi) = expiry_bounds(&mut t, &["HPTTL", "h", "FIELDS", "1", field]);
        assert!(
            hi >= received_from + 100_000 && lo <= received_by + 100_000,
            "field {field}: expires at {lo}..{hi}, received {received_from}..{received_by}"
        );
    }
    // Past: kept for the grace, then gone unless the source's HDEL came first.
    let (_, hi) = expiry_bounds(&mut t, &["HPTTL", "h", "FIELDS", "1", "g"]);
    let grace = GRACE.as_millis() as i64;
    assert!(hi >= received_from + grace, "field g: expires at {hi}");
}
