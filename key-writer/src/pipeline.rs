//! Per-node queues sent in bounded batches: every reply matched to its request,
//! `MOVED` and `ASK` followed, `TRYAGAIN` / `CLUSTERDOWN` / `LOADING` and lost nodes
//! retried, any other error reply reported with its key and command.

use std::time::Duration;

use bytes::Bytes;
use endpoint::{ConnectOptions, Connection};
use resp_codec::Frame;
use tokio::time::{Instant, sleep};

use crate::command::b;
use crate::error::{Error, Result, shown};
use crate::layout::Layout;
use crate::options::{ExistingKeys, WriterOptions};

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
    asking: bool,
    attempts: u32,
}

impl Op {
    pub(crate) fn new(args: Vec<Bytes>, key: Option<Bytes>, expect: Expect) -> Op {
        Op {
            args,
            key,
            expect,
            asking: false,
            attempts: 0,
        }
    }

    fn size(&self) -> usize {
        self.args.iter().map(|a| a.len() + 16).sum()
    }
}

/// What the replies said besides "done", for the writer's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Bytes of commands sent.
    pub(crate) bytes: u64,
    /// `MOVED` and `ASK` followed.
    pub(crate) redirections: u64,
    /// Requests sent again.
    pub(crate) retries: u64,
    /// `RESTORE`s answered `BUSYKEY` under the `ignore` policy: kept, not restored.
    pub(crate) restores_existing: u64,
    /// `RENAMENX`s answered 0: the key existed and was kept.
    pub(crate) renames_existing: u64,
}

/// One node's connection and queue.
#[derive(Debug, Default)]
struct Node {
    con: Option<Connection>,
    queue: Vec<Op>,
    /// Sent, replies not read yet.
    in_flight: Vec<Op>,
    bytes: usize,
    /// The database selected on the connection (single node).
    db: u64,
}

/// The queues of every node of the target, and what moves them.
#[derive(Debug)]
pub(crate) struct Pipeline {
    layout: Layout,
    nodes: Vec<Node>,
    connect: ConnectOptions,
    existing: ExistingKeys,
    max_batch_commands: usize,
    max_batch_bytes: usize,
    retry_for: Duration,
    counters: Counters,
}

impl Pipeline {
    /// A pipeline over `layout`; `con` is an open connection to node 0 of a single
    /// node target, kept.
    pub(crate) fn new(layout: Layout, con: Option<Connection>, options: &WriterOptions) -> Self {
        let mut pipeline = Pipeline {
            layout,
            nodes: Vec::new(),
            connect: options.connect.clone(),
            existing: options.existing,
            max_batch_commands: options.max_batch_commands,
            max_batch_bytes: options.max_batch_bytes,
            retry_for: options.retry_for,
            counters: Counters::default(),
        };
        pipeline.grow();
        if let Some(con) = con {
            pipeline.nodes[0].con = Some(con);
        }
        pipeline
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether any request waits to be sent or for its reply.
    pub(crate) fn is_idle(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.queue.is_empty() && n.in_flight.is_empty())
    }

    /// A node state for every node the layout knows.
    fn grow(&mut self) {
        while self.nodes.len() < self.layout.nodes().len() {
            let db = self.layout.nodes()[self.nodes.len()].db().unwrap_or(0);
            self.nodes.push(Node {
                db,
                ..Node::default()
            });
        }
    }

    /// Queues `op` for the node serving its key, in database `db` (a single node
    /// target selects it first when needed), without sending.
    pub(crate) fn push(&mut self, db: u64, op: Op) -> usize {
        let index = self.layout.route(op.key.as_deref());
        self.push_to(index, Some(db), op);
        index
    }

    /// Queues `op` for node `index` in database `db` (`None`: any), without sending.
    pub(crate) fn push_to(&mut self, index: usize, db: Option<u64>, op: Op) {
        let single = !self.layout.is_cluster();
        let node = &mut self.nodes[index];
        if let Some(db) = db
            && single
            && node.db != db
        {
            node.queue.push(Op::new(
                vec![b("SELECT"), b(&db.to_string())],
                None,
                Expect::Ok,
            ));
            node.db = db;
        }
        node.bytes += op.size();
        node.queue.push(op);
    }

    /// Queues `op` and sends a batch when a node's queue is full.
    pub(crate) async fn enqueue(&mut self, db: u64, op: Op) -> Result<()> {
        let index = self.push(db, op);
        self.send_if_full(index).await
    }

    /// Sends a batch if node `index`'s queue is full.
    pub(crate) async fn send_if_full(&mut self, index: usize) -> Result<()> {
        let node = &self.nodes[index];
        if node.queue.len() >= self.max_batch_commands || node.bytes >= self.max_batch_bytes {
            self.exchange(false, Instant::now()).await?;
        }
        Ok(())
    }

    /// Queues a keyless `op` on every master (once on a single node, in database
    /// `db`, or any with `None`), then flushes.
    pub(crate) async fn on_every_master(&mut self, db: Option<u64>, op: Op) -> Result<()> {
        for index in self.layout.masters() {
            self.push_to(index, db, op.clone());
        }
        self.flush().await
    }

    /// An open connection to node `index`.
    pub(crate) async fn connection(&mut self, index: usize) -> Result<&mut Connection> {
        let node = &mut self.nodes[index];
        if node.con.is_none() {
            let endpoint = &self.layout.nodes()[index];
            let con = Connection::connect(endpoint, &self.connect)
                .await
                .map_err(|e| Error::connection(endpoint, e))?;
            node.con = Some(con);
            // A new connection starts in the endpoint's database.
            node.db = endpoint.db().unwrap_or(0);
        }
        Ok(node.con.as_mut().expect("connected above"))
    }

    /// Sends everything queued and reads every reply, following redirections and
    /// retrying what can be retried.
    ///
    /// # Errors
    /// The first error reply that is not a redirection or retryable (naming its key
    /// and command), or a node that stays unreachable for the retry time.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        let started = Instant::now();
        while !self.is_idle() {
            self.exchange(true, started).await?;
        }
        Ok(())
    }

    /// One round: sends every node's queue, then reads the replies of the batch sent
    /// the round before (and, when `last`, of this one). Keeping one batch in flight
    /// lets the target work on it while the next one is being built.
    async fn exchange(&mut self, last: bool, started: Instant) -> Result<()> {
        // Send to every node first, so the nodes work in parallel.
        let mut fresh: Vec<Vec<Op>> = vec![Vec::new(); self.nodes.len()];
        let mut lost: Vec<Op> = Vec::new();
        for (i, sent) in fresh.iter_mut().enumerate() {
            if self.nodes[i].queue.is_empty() {
                continue;
            }
            let ops = std::mem::take(&mut self.nodes[i].queue);
            self.nodes[i].bytes = 0;
            let con = match self.connection(i).await {
                Ok(con) => con,
                Err(e) => {
                    tracing::warn!(error = %e, "node unreachable");
                    lost.extend(std::mem::take(&mut self.nodes[i].in_flight));
                    lost.extend(ops);
                    continue;
                }
            };
            let mut bytes = 0;
            for o in &ops {
                if o.asking {
                    con.send(&["ASKING"]);
                }
                con.send(&o.args);
                bytes += o.args.iter().map(|a| a.len() as u64).sum::<u64>();
            }
            let flushed = con.flush().await;
            self.counters.bytes += bytes;
            match flushed {
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
                        self.layout.moved(slot, &addr)?;
                        self.grow();
                        topology_changed = true;
                        self.counters.redirections += 1;
                        let mut o = o.clone();
                        o.asking = false;
                        again.push(o);
                    }
                    Verdict::Ask(addr) => {
                        let index = self.layout.redirect(&addr)?;
                        self.grow();
                        self.counters.redirections += 1;
                        let mut o = o.clone();
                        o.asking = true;
                        self.nodes[index].queue.push(o);
                    }
                    Verdict::Retry => {
                        self.counters.retries += 1;
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
        let cluster = self.layout.is_cluster();
        if !lost.is_empty() || topology_changed && cluster {
            if started.elapsed() > self.retry_for {
                return Err(Error::Cluster(format!(
                    "nodes unreachable or moving for {:?}",
                    self.retry_for
                )));
            }
            if !lost.is_empty() {
                sleep(Duration::from_millis(200)).await;
            }
            if cluster {
                self.layout.refresh(&self.connect, self.retry_for).await?;
                self.grow();
            }
            self.counters.retries += lost.len() as u64;
            again.splice(0..0, lost);
        }
        if again.iter().any(|o| o.attempts > 0) {
            if started.elapsed() > self.retry_for {
                return Err(Error::Cluster(format!(
                    "still refused after {:?}",
                    self.retry_for
                )));
            }
            sleep(Duration::from_millis(100)).await;
        }
        // Requeue in order, each to the node its key maps to now.
        for o in again {
            let index = self.layout.route(o.key.as_deref());
            let node = &mut self.nodes[index];
            node.bytes += o.size();
            node.queue.push(o);
        }
        Ok(())
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
                    self.counters.restores_existing += 1;
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
                if self.existing == ExistingKeys::Fail {
                    return fail("the key exists on the target (policy fail)".into());
                }
                self.counters.renames_existing += 1;
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
