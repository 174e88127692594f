//! Per-node queues sent in bounded batches: every reply matched to its request,
//! `MOVED` and `ASK` followed, `TRYAGAIN` / `CLUSTERDOWN` / `LOADING` and lost nodes
//! retried, any other error reply reported with its key and command.

use std::time::Duration;

use bytes::Bytes;
use endpoint::{Connection, Endpoint};
use resp_codec::Frame;
use tokio::time::{Instant, sleep};

use crate::error::{Error, Result, shown};
use crate::options::ExistingKeys;
use crate::slot::slot;
use crate::writer::{Writer, b, connection_error};

/// How a reply is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Any non-error reply.
    Ok,
    /// `BUSYKEY` means the key exists and is kept (policy `ignore`).
    BusyIsExisting,
    /// `0` from `RENAMENX` means the key exists (policy `ignore` / `fail`).
    RenameNx,
    /// An `EXEC`: each element of the array is checked too.
    Exec,
    /// `FUNCTION LOAD` without `REPLACE`: "already exists" is kept (policy `ignore`).
    FunctionExists,
}

/// One request in a node's queue.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub(crate) args: Vec<Bytes>,
    /// The key the request writes (for routing and messages); `None` for keyless.
    pub(crate) key: Option<Bytes>,
    pub(crate) expect: Expect,
    pub(crate) asking: bool,
    pub(crate) attempts: u32,
}

/// One node and its queue.
pub(crate) struct Node {
    pub(crate) endpoint: Endpoint,
    pub(crate) con: Option<Connection>,
    pub(crate) queue: Vec<Op>,
    /// Sent, replies not read yet.
    pub(crate) in_flight: Vec<Op>,
    pub(crate) bytes: usize,
    /// The database selected on the connection (standalone).
    pub(crate) db: u64,
}

impl Writer {
    /// Queues `op` for the node serving `slot_key` (any node for keyless ops on a
    /// standalone target) in database `db`.
    pub(crate) async fn enqueue(&mut self, db: u64, op: Op) -> Result<()> {
        let index = self.route(op.key.as_deref());
        let node = &mut self.nodes[index];
        if !self.cluster && node.db != db {
            node.queue.push(Op {
                args: vec![b("SELECT"), b(&db.to_string())],
                key: None,
                expect: Expect::Ok,
                asking: false,
                attempts: 0,
            });
            node.db = db;
        }
        let size: usize = op.args.iter().map(|a| a.len() + 16).sum();
        node.bytes += size;
        node.queue.push(op);
        if node.queue.len() >= self.options.max_batch_commands
            || node.bytes >= self.options.max_batch_bytes
        {
            self.exchange(false, Instant::now()).await?;
        }
        Ok(())
    }

    pub(crate) fn route(&self, key: Option<&[u8]>) -> usize {
        match (self.cluster, key) {
            (true, Some(key)) => self.slots[usize::from(slot(key))].unwrap_or(0),
            _ => 0,
        }
    }

    pub(crate) async fn connected(&mut self, index: usize) -> Result<()> {
        let node = &mut self.nodes[index];
        if node.con.is_none() {
            let con = Connection::connect(&node.endpoint, &self.options.connect)
                .await
                .map_err(|e| connection_error(&node.endpoint, e))?;
            node.con = Some(con);
            // A new connection starts in the endpoint's database.
            node.db = node.endpoint.db().unwrap_or(0);
        }
        Ok(())
    }

    /// Sends everything queued and reads every reply, following redirections and
    /// retrying what can be retried.
    ///
    /// # Errors
    /// The first error reply that is not a redirection or retryable (naming its key
    /// and command), or a node that stays unreachable for
    /// [`WriterOptions::retry_for`](crate::WriterOptions::retry_for).
    pub async fn flush(&mut self) -> Result<()> {
        let started = Instant::now();
        while self
            .nodes
            .iter()
            .any(|n| !n.queue.is_empty() || !n.in_flight.is_empty())
        {
            self.exchange(true, started).await?;
        }
        Ok(())
    }

    /// One round: sends every node's queue, then reads the replies of the batch sent
    /// the round before (and, when `last`, of this one). Keeping one batch in flight
    /// lets the target work on it while the next one is being built.
    pub(crate) async fn exchange(&mut self, last: bool, started: Instant) -> Result<()> {
        // Send to every node first, so the nodes work in parallel.
        let mut fresh: Vec<Vec<Op>> = vec![Vec::new(); self.nodes.len()];
        let mut lost: Vec<Op> = Vec::new();
        for (i, sent) in fresh.iter_mut().enumerate() {
            if self.nodes[i].queue.is_empty() {
                continue;
            }
            let ops = std::mem::take(&mut self.nodes[i].queue);
            self.nodes[i].bytes = 0;
            if let Err(e) = self.connected(i).await {
                tracing::warn!(error = %e, "node unreachable");
                lost.extend(std::mem::take(&mut self.nodes[i].in_flight));
                lost.extend(ops);
                continue;
            }
            let con = self.nodes[i].con.as_mut().expect("connected above");
            for o in &ops {
                if o.asking {
                    con.send(&["ASKING"]);
                }
                con.send(&o.args);
                self.stats.bytes += o.args.iter().map(|a| a.len() as u64).sum::<u64>();
            }
            match con.flush().await {
                Ok(()) => *sent = ops,
                Err(e) => {
                    tracing::warn!(error = %e, "write to a node failed");
                    self.nodes[i].con = None;
                    lost.extend(std::mem::take(&mut self.nodes[i].in_flight));
                    lost.extend(ops);
                }
            }
        }
        let mut again: Vec<Op> = Vec::new();
        let mut first_error: Option<Error> = None;
        let mut topology_changed = false;
        for (i, fresh) in fresh.into_iter().enumerate() {
            let mut ops = std::mem::take(&mut self.nodes[i].in_flight);
            if last {
                ops.extend(fresh);
            } else {
                self.nodes[i].in_flight = fresh;
            }
            for (n, o) in ops.iter().enumerate() {
                let con = self.nodes[i].con.as_mut().expect("sent on it");
                let mut reply = Ok(Frame::Null);
                if o.asking {
                    reply = con.read_reply().await;
                }
                if reply.is_ok() {
                    reply = con.read_reply().await;
                }
                let reply = match reply {
                    Ok(reply) => reply,
                    Err(e) => {
                        // No reply: the command may or may not have been applied.
                        tracing::warn!(error = %e, "reading from a node failed");
                        again.extend(ops[n..].iter().cloned());
                        again.extend(std::mem::take(&mut self.nodes[i].in_flight));
                        self.nodes[i].con = None;
                        topology_changed = true;
                        break;
                    }
                };
                match self.judge(o, &reply) {
                    Verdict::Done => {}
                    Verdict::Moved(slot, addr) => {
                        let index = self.redirect_index(&addr)?;
                        self.slots[usize::from(slot)] = Some(index);
                        topology_changed = true;
                        self.stats.redirections += 1;
                        let mut o = o.clone();
                        o.asking = false;
                        again.push(o);
                    }
                    Verdict::Ask(addr) => {
                        let index = self.redirect_index(&addr)?;
                        self.stats.redirections += 1;
                        let mut o = o.clone();
                        o.asking = true;
                        self.nodes[index].queue.push(o);
                    }
                    Verdict::Retry => {
                        self.stats.retries += 1;
                        let mut o = o.clone();
                        o.attempts += 1;
                        again.push(o);
                    }
                    Verdict::Fail(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if !lost.is_empty() || topology_changed && self.cluster {
            if started.elapsed() > self.options.retry_for {
                return Err(Error::Cluster(format!(
                    "nodes unreachable or moving for {:?}",
                    self.options.retry_for
                )));
            }
            if !lost.is_empty() {
                sleep(Duration::from_millis(200)).await;
            }
            if self.cluster {
                self.refresh_topology().await?;
            }
            self.stats.retries += lost.len() as u64;
            again.splice(0..0, lost);
        }
        if again.iter().any(|o| o.attempts > 0) {
            if started.elapsed() > self.options.retry_for {
                return Err(Error::Cluster(format!(
                    "still refused after {:?}",
                    self.options.retry_for
                )));
            }
            sleep(Duration::from_millis(100)).await;
        }
        // Requeue in order, each to the node its key maps to now.
        for o in again {
            let index = self.route(o.key.as_deref());
            let node = &mut self.nodes[index];
            node.bytes += o.args.iter().map(|a| a.len()).sum::<usize>();
            node.queue.push(o);
        }
        Ok(())
    }

    fn redirect_index(&mut self, addr: &str) -> Result<usize> {
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| Error::Cluster(format!("a redirection to {addr:?}")))?;
        let endpoint = self.seed.with_addr(host, port);
        Ok(self.node_index(&endpoint))
    }

    /// What a reply means for its request.
    fn judge(&mut self, o: &Op, reply: &Frame) -> Verdict {
        let message = |f: &Frame| {
            f.as_bytes()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .unwrap_or_default()
        };
        let fail = |msg: String| {
            Verdict::Fail(Error::Reply {
                command: String::from_utf8_lossy(&o.args[0]).to_ascii_uppercase(),
                key: o
                    .key
                    .as_deref()
                    .map(shown)
                    .unwrap_or_else(|| "(none)".into()),
                message: msg,
            })
        };
        if reply.is_error() {
            let msg = message(reply);
            let mut words = msg.split_whitespace();
            let code = words.next().unwrap_or("");
            return match code {
                "MOVED" | "ASK" => {
                    let slot = words.next().and_then(|s| s.parse().ok());
                    let addr = words.next().map(str::to_owned);
                    match (slot, addr) {
                        (Some(slot), Some(addr)) if code == "MOVED" => Verdict::Moved(slot, addr),
                        (Some(_), Some(addr)) => Verdict::Ask(addr),
                        _ => fail(msg),
                    }
                }
                "TRYAGAIN" | "CLUSTERDOWN" | "LOADING" | "MASTERDOWN" => Verdict::Retry,
                "BUSYKEY" if o.expect == Expect::BusyIsExisting => {
                    self.stats.keys_existing += 1;
                    self.stats.keys_restored -= 1;
                    Verdict::Done
                }
                "ERR" if o.expect == Expect::FunctionExists && msg.contains("already exists") => {
                    Verdict::Done
                }
                _ => fail(msg),
            };
        }
        match (o.expect, reply) {
            (Expect::RenameNx, Frame::Integer(0)) => {
                if self.options.existing == ExistingKeys::Fail {
                    return fail("the key exists on the target (policy fail)".into());
                }
                self.stats.keys_existing += 1;
                self.stats.keys_as_commands -= 1;
                Verdict::Done
            }
            (Expect::Exec, Frame::Array(items)) => match items.iter().find(|f| f.is_error()) {
                Some(e) => fail(format!("in a transaction: {}", message(e))),
                None => Verdict::Done,
            },
            (Expect::Exec, f) if f.is_null() => fail("the transaction was aborted".into()),
            _ => Verdict::Done,
        }
    }
}

/// The outcome of one reply.
enum Verdict {
    Done,
    Moved(u16, String),
    Ask(String),
    Retry,
    Fail(Error),
}

pub(crate) fn op(args: Vec<Bytes>, key: Option<Bytes>, expect: Expect) -> Op {
    Op {
        args,
        key,
        expect,
        asking: false,
        attempts: 0,
    }
}
