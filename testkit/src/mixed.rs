//! A generated dataset of many keys of every type, for benchmarks and load.

use redis::Connection;

/// How many commands go into one pipeline.
const BATCH: usize = 1000;

/// Writes `keys` keys of mixed types (deterministic for a given `keys`): about 40%
/// strings (ints, short, medium, compressible), 15% lists, 10% sets (intsets and
/// strings), 10% sorted sets, 20% hashes and 5% streams, mostly small (compact
/// encodings) with every 50th collection large (hashtable, skiplist, quicklist).
///
/// # Panics
/// When a command fails.
pub fn write_mixed(con: &mut Connection, keys: usize) {
    let mut pipe = redis::pipe();
    let mut queued = 0;
    for i in 0..keys {
        let big = i % 50 == 0;
        let n = if big { 300 } else { 8 };
        let key = format!("key:{i:08}");
        match i % 20 {
            0..=1 => {
                pipe.cmd("SET").arg(&key).arg(i as i64 * 7919).ignore();
            }
            2..=5 => {
                pipe.cmd("SET")
                    .arg(&key)
                    .arg(format!("value-{i}-{}", "x".repeat(i % 64)))
                    .ignore();
            }
            6..=7 => {
                pipe.cmd("SET")
                    .arg(&key)
                    .arg(format!("{{\"id\":{i},\"tags\":[\"a\",\"b\"]}}").repeat(8))
                    .ignore();
            }
            8..=10 => {
                let items: Vec<String> = (0..n).map(|j| format!("item-{j}-{i}")).collect();
                pipe.cmd("RPUSH").arg(&key).arg(&items).ignore();
            }
            11 => {
                let items: Vec<i64> = (0..n as i64).map(|j| j * 3 + i as i64).collect();
                pipe.cmd("SADD").arg(&key).arg(&items).ignore();
            }
            12 => {
                let items: Vec<String> = (0..n).map(|j| format!("member-{j}")).collect();
                pipe.cmd("SADD").arg(&key).arg(&items).ignore();
            }
            13..=14 => {
                let mut cmd = redis::cmd("ZADD");
                cmd.arg(&key);
                for j in 0..n {
                    cmd.arg(j as f64 * 1.5 - 3.0).arg(format!("player-{j}"));
                }
                pipe.add_command(cmd).ignore();
            }
            15..=18 => {
                let mut cmd = redis::cmd("HSET");
                cmd.arg(&key);
                for j in 0..n {
                    cmd.arg(format!("field-{j}")).arg(format!("value-{j}-{i}"));
                }
                pipe.add_command(cmd).ignore();
            }
            _ => {
                for j in 0..n.min(50) {
                    pipe.cmd("XADD")
                        .arg(&key)
                        .arg(format!("{}-{j}", 1_700_000_000_000u64 + i as u64))
                        .arg("sensor")
                        .arg(j)
                        .arg("reading")
                        .arg(format!("{}.5", j * i))
                        .ignore();
                }
            }
        }
        queued += 1;
        if queued == BATCH {
            pipe.query::<()>(con).expect("write the mixed dataset");
            pipe = redis::pipe();
            queued = 0;
        }
    }
    if queued > 0 {
        pipe.query::<()>(con).expect("write the mixed dataset");
    }
}
