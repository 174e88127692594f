//! A write load that runs in the background while a test syncs or replicates: every
//! type, non-idempotent commands (INCR, APPEND, LPUSH...), MULTI/EXEC, EVAL, expiring
//! keys, deletes, several databases, and optionally multi-key commands across slots.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use redis::{Connection, Pipeline};

use crate::{Cluster, Server};

/// Hash tags keys are spread over (`{t0}` ... `{t63}`); commands on one tag may be
/// multi-key or transactional even on a cluster.
const TAGS: u64 = 64;

/// What the load does.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Databases written (standalone only; a cluster has db 0).
    pub dbs: Vec<u64>,
    /// Also `MSET` and `DEL` across hash tags (standalone only: a cluster refuses them).
    pub cross_slot: bool,
    /// Seed of the deterministic command mix.
    pub seed: u64,
    /// Stop after this many commands (a transaction or script counts as one), if set.
    pub max_commands: Option<u64>,
    /// Put before every key name (loads on disjoint keys).
    pub prefix: String,
    /// Also keys that expire within a second (`SET ... PX`, `PEXPIRE`).
    pub expiring: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            dbs: vec![0],
            cross_slot: false,
            seed: 1,
            max_commands: None,
            prefix: String::new(),
            expiring: true,
        }
    }
}

/// A running load; [`Load::stop`] ends it and says how much it wrote.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

/// Where the load's commands go: one connection per (db, node), keys routed by slot.
struct Targets {
    /// (db, connection).
    cons: Vec<(u64, Connection)>,
    /// For a cluster: slot ranges (start, end, index into `cons`).
    slots: Option<Vec<(u16, u16, usize)>>,
}

impl Load {
    /// Starts writing to a standalone server.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub fn start(server: &Server, options: LoadOptions) -> Load {
        let cons = options
            .dbs
            .iter()
            .map(|&db| {
                let mut con = server.client();
                redis::cmd("SELECT")
                    .arg(db)
                    .query::<()>(&mut con)
                    .expect("SELECT");
                (db, con)
            })
            .collect();
        Self::spawn(Targets { cons, slots: None }, options)
    }

    /// Starts writing to a cluster (db 0, keys routed to their master).
    ///
    /// # Panics
    /// When the cluster cannot be reached.
    pub fn start_cluster(cluster: &Cluster, options: LoadOptions) -> Load {
        // After a failover the nodes learn the new layout by gossip: wait until the
        // slot map names only nodes that say they are masters.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let targets = loop {
            if let Some(found) = Self::cluster_targets(cluster) {
                break found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the cluster's slot map never settled"
            );
            thread::sleep(std::time::Duration::from_millis(50));
        };
        let options = LoadOptions {
            dbs: vec![0],
            cross_slot: false,
            ..options
        };
        Self::spawn(targets, options)
    }

    /// Connections to the masters and the slot map, or `None` while the map names
    /// a node that is not a master.
    fn cluster_targets(cluster: &Cluster) -> Option<Targets> {
        let masters = cluster.masters();
        let mut by_port = BTreeMap::new();
        let mut cons = Vec::new();
        for m in &masters {
            by_port.insert(m.port(), cons.len());
            cons.push((0, m.client()));
        }
        let reply: Vec<redis::Value> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query(&mut masters[0].client())
            .expect("CLUSTER SLOTS");
        let mut slots = Vec::new();
        for range in reply {
            let redis::Value::Array(parts) = range else {
                panic!("CLUSTER SLOTS: {range:?}")
            };
            let int = |v: &redis::Value| match v {
                redis::Value::Int(i) => *i,
                other => panic!("CLUSTER SLOTS: {other:?}"),
            };
            let redis::Value::Array(node) = &parts[2] else {
                panic!("CLUSTER SLOTS: {parts:?}")
            };
            let port = int(&node[1]) as u16;
            slots.push((
                int(&parts[0]) as u16,
                int(&parts[1]) as u16,
                *by_port.get(&port)?,
            ));
        }
        Some(Targets {
            cons,
            slots: Some(slots),
        })
    }

    fn spawn(mut targets: Targets, options: LoadOptions) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let mut rng = Rng(options.seed.max(1));
            let mut done = 0;
            while !flag.load(Ordering::Relaxed) && options.max_commands.is_none_or(|m| done < m) {
                let db = options.dbs[(rng.next() % options.dbs.len() as u64) as usize];
                let tag = rng.next() % TAGS;
                let pipe = command(&mut rng, tag, &options);
                let con = targets.route(db, tag);
                // Errors (e.g. WRONGTYPE after a DEL raced a type change) are part of
                // the load's life; only a lost connection stops it.
                if let Err(e) = pipe.query::<redis::Value>(con)
                    && (e.is_io_error() || e.is_connection_dropped())
                {
                    panic!("load: {e}");
                }
                done += 1;
            }
            done
        });
        Load {
            stop,
            thread: Some(thread),
        }
    }

    /// Waits for a load with [`LoadOptions::max_commands`] to send them all, and
    /// returns how many it sent.
    ///
    /// # Panics
    /// When the load has no limit, or its thread panicked.
    pub fn finish(mut self) -> u64 {
        let thread = self.thread.take().expect("finished once");
        thread.join().expect("the load thread panicked")
    }

    /// Stops the load and returns how many commands it sent.
    ///
    /// # Panics
    /// When the load's thread panicked (its connection was lost).
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("stopped once")
            .join()
            .expect("the load thread panicked")
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Targets {
    fn route(&mut self, db: u64, tag: u64) -> &mut Connection {
        let index = match &self.slots {
            Some(slots) => {
                let slot = endpoint::slot(format!("t{tag}").as_bytes());
                slots
                    .iter()
                    .find(|(start, end, _)| (*start..=*end).contains(&slot))
                    .map(|r| r.2)
                    .expect("every slot is served")
            }
            None => self
                .cons
                .iter()
                .position(|(d, _)| *d == db)
                .expect("a connection per db"),
        };
        &mut self.cons[index].1
    }
}

/// One command (or transaction, or script) on keys of hash tag `tag`.
fn command(rng: &mut Rng, tag: u64, options: &LoadOptions) -> Pipeline {
    let prefix = &options.prefix;
    let k = |name: &str| format!("{prefix}{{t{tag}}}:{name}");
    let other = |step: u64| format!("{prefix}{{t{}}}:x", (tag + step) % TAGS);
    let (cross_slot, expiring) = (options.cross_slot, options.expiring);
    let n = rng.next() % 1000;
    let mut pipe = redis::pipe();
    match rng.next() % 24 {
        0 => pipe.cmd("SET").arg(k("str")).arg(format!("v{n}")),
        1 => pipe.cmd("INCR").arg(k("counter")),
        2 => pipe.cmd("APPEND").arg(k("log")).arg(format!("{n},")),
        3 => pipe.cmd("LPUSH").arg(k("list")).arg(n),
        4 => pipe.cmd("RPOP").arg(k("list")),
        5 => pipe.cmd("SADD").arg(k("set")).arg(n % 50),
        6 => pipe.cmd("SREM").arg(k("set")).arg(n % 50),
        7 => pipe.cmd("ZADD").arg(k("zset")).arg(n % 7).arg(n % 40),
        8 => pipe.cmd("ZINCRBY").arg(k("zset")).arg(1.5).arg(n % 40),
        9 => pipe.cmd("HSET").arg(k("hash")).arg(n % 30).arg(n),
        10 => pipe.cmd("HINCRBY").arg(k("hash")).arg("hits").arg(1),
        11 => pipe.cmd("HDEL").arg(k("hash")).arg(n % 30),
        12 => pipe
            .cmd("XADD")
            .arg(k("stream"))
            .arg("MAXLEN")
            .arg("~")
            .arg(500)
            .arg("*")
            .arg("n")
            .arg(n),
        13 => pipe.cmd("DEL").arg(k(&format!("tmp{}", n % 5))),
        14 if expiring => pipe
            .cmd("SET")
            .arg(k(&format!("tmp{}", n % 5)))
            .arg(n)
            .arg("PX")
            .arg(50 + n),
        15 if expiring => pipe.cmd("PEXPIRE").arg(k("str")).arg(200 + n * 10),
        16 => pipe.cmd("SET").arg(k("kept")).arg(n).arg("EX").arg(3600),
        17 => pipe
            .atomic()
            .cmd("INCR")
            .arg(k("tx-counter"))
            .cmd("LPUSH")
            .arg(k("tx-list"))
            .arg(n),
        18 => pipe
            .cmd("EVAL")
            .arg("redis.call('INCR', KEYS[1]); return redis.call('RPUSH', KEYS[2], ARGV[1])")
            .arg(2)
            .arg(k("lua-counter"))
            .arg(k("lua-list"))
            .arg(n),
        19 => pipe.cmd("SETRANGE").arg(k("range")).arg(n % 64).arg("xy"),
        20 => pipe.cmd("MSET").arg(k("m1")).arg(n).arg(k("m2")).arg(n + 1),
        21 => pipe.cmd("LTRIM").arg(k("list")).arg(0).arg(99),
        22 if cross_slot => pipe.cmd("MSET").arg(other(1)).arg(n).arg(other(2)).arg(n),
        23 if cross_slot => pipe.cmd("DEL").arg(other(3)).arg(k("m1")),
        _ => pipe.cmd("GETSET").arg(k("getset")).arg(n),
    };
    pipe
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
