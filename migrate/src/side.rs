//! One live side of a verification: a standalone server, every master of a
//! cluster, or a proxy (one address that routes by itself), each on one
//! connection, with commands routed by key slot, sent in pipelines and paced by
//! the side's read rate. A cluster whose slots move during a run is followed: a
//! batch answered `MOVED` is sent again after the layout is read again.

use std::time::Duration;

use bytes::Bytes;
use endpoint::{ConnectOptions, Connection, Endpoint, ServerInfo, Shard, Topology, discover, slot};
use resp_codec::Frame;

use crate::error::{Error, Result, show};
use crate::rate::Rate;

/// Times a batch is sent again when a cluster answers `MOVED` (its layout read
/// again each time) or `ASK` (a slot half migrated; 100 ms apart).
pub(crate) const REDIRECT_RETRIES: u32 = 50;

/// A command about one key: the key routes it, `args` are sent.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) key: Bytes,
    pub(crate) args: Vec<Bytes>,
}

impl Request {
    /// `name key extra...`.
    pub(crate) fn new(name: &'static str, key: &Bytes, extra: &[&[u8]]) -> Request {
        let mut args = Vec::with_capacity(2 + extra.len());
        args.push(Bytes::from_static(name.as_bytes()));
        args.push(key.clone());
        args.extend(extra.iter().map(|a| Bytes::copy_from_slice(a)));
        Request {
            key: key.clone(),
            args,
        }
    }
}

/// A server of the side, with the database its connection has selected.
struct Node {
    endpoint: Endpoint,
    con: Connection,
    db: u64,
}

/// A live deployment, as one side (`source` or `target`) of a verification.
pub(crate) struct Side {
    /// `source` or `target`, for errors.
    pub(crate) role: &'static str,
    nodes: Vec<Node>,
    /// For a cluster: the node of each slot.
    slots: Option<Vec<u16>>,
    /// How the nodes are reached, for a layout read again.
    options: ConnectOptions,
    /// A proxy: asked no `CLUSTER` command and no `SELECT`; database 0 only.
    proxy: bool,
    /// The first node's description (version and flavour).
    pub(crate) info: ServerInfo,
    rate: Rate,
}

impl Side {
    /// Connects to every master of `endpoint`'s deployment, or (`proxy`) to
    /// `endpoint` alone, without reading a cluster layout.
    ///
    /// # Errors
    /// When a server cannot be reached or its layout read.
    pub(crate) async fn connect(
        role: &'static str,
        endpoint: &Endpoint,
        options: &ConnectOptions,
        qps: Option<u64>,
        proxy: bool,
    ) -> Result<Side> {
        let topology = if proxy {
            Topology::Standalone(endpoint.clone())
        } else {
            discover(endpoint, options)
                .await
                .map_err(|e| Error::endpoint(endpoint, e))?
        };
        let mut nodes = Vec::new();
        for master in topology.masters() {
            let con = Connection::connect(&master, options)
                .await
                .map_err(|e| Error::endpoint(&master, e))?;
            nodes.push(Node {
                endpoint: master,
                con,
                db: 0,
            });
        }
        let slots = match &topology {
            Topology::Cluster(shards) => Some(slot_table(shards, |i| i)),
            _ => None,
        };
        let first = &mut nodes[0];
        let info = first
            .con
            .server_info()
            .await
            .map_err(|e| Error::endpoint(&first.endpoint, e))?;
        Ok(Side {
            role,
            nodes,
            slots,
            options: options.clone(),
            proxy,
            info,
            rate: Rate::new(qps),
        })
    }

    /// Another connection to each node the side started with (node `i` the same
    /// server in both), sharing its read rate: for `SCAN` steps taken while the
    /// keys of the step before are compared.
    ///
    /// # Errors
    /// When a server cannot be reached.
    pub(crate) async fn scanner(&self) -> Result<Side> {
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let con = Connection::connect(&node.endpoint, &self.options)
                .await
                .map_err(|e| Error::endpoint(&node.endpoint, e))?;
            nodes.push(Node {
                endpoint: node.endpoint.clone(),
                con,
                db: 0,
            });
        }
        Ok(Side {
            role: self.role,
            nodes,
            slots: self.slots.clone(),
            options: self.options.clone(),
            proxy: self.proxy,
            info: self.info.clone(),
            rate: self.rate.clone(),
        })
    }

    /// Whether the side has database 0 only (a cluster or a proxy).
    pub(crate) fn single_database(&self) -> bool {
        self.slots.is_some() || self.proxy
    }

    /// How many servers hold the data.
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The address of node `i` (its `Display` hides the password).
    pub(crate) fn node_name(&self, i: usize) -> String {
        self.nodes[i].endpoint.to_string()
    }

    fn node_of(&self, key: &[u8]) -> usize {
        self.slots
            .as_ref()
            .map_or(0, |t| usize::from(t[usize::from(slot(key))]))
    }

    /// The name of the node that serves `key`, for errors.
    pub(crate) fn node_for(&self, key: &[u8]) -> String {
        self.node_name(self.node_of(key))
    }

    /// Selects `db` on node `i` when it is not selected (standalone servers).
    ///
    /// # Errors
    /// [`Error::Database`] for a database other than 0 on a cluster or a proxy;
    /// connection errors.
    async fn select(&mut self, i: usize, db: u64) -> Result<()> {
        if self.single_database() {
            if db != 0 {
                return Err(Error::Database {
                    side: self.role,
                    server: self.node_name(i),
                    db,
                });
            }
            return Ok(());
        }
        let node = &mut self.nodes[i];
        if node.db != db {
            node.con
                .request(&["SELECT", &db.to_string()])
                .await
                .map_err(|e| Error::endpoint(&node.endpoint, e))?;
            node.db = db;
        }
        Ok(())
    }

    /// Reads a cluster's layout again (from the first node that answers), after
    /// a `MOVED`: a master not known before is connected and added after the
    /// others, so the index of a node stays its own for the whole run.
    ///
    /// # Errors
    /// When no node answers with a layout, or a new master cannot be reached.
    async fn refresh(&mut self) -> Result<()> {
        let mut shards = None;
        let mut last = None;
        for node in &self.nodes {
            match discover(&node.endpoint, &self.options).await {
                Ok(Topology::Cluster(found)) => {
                    shards = Some(found);
                    break;
                }
                Ok(_) => {}
                Err(e) => last = Some(Error::endpoint(&node.endpoint, e)),
            }
        }
        let Some(shards) = shards else {
            return Err(last.unwrap_or_else(|| Error::Layout {
                side: self.role,
                server: self.node_name(0),
                reason: "no longer a cluster".to_owned(),
            }));
        };
        let mut index = Vec::with_capacity(shards.len());
        for shard in &shards {
            let known = self
                .nodes
                .iter()
                .position(|n| n.endpoint.addr() == shard.master.addr());
            let i = match known {
                Some(i) => i,
                None => {
                    let con = Connection::connect(&shard.master, &self.options)
                        .await
                        .map_err(|e| Error::endpoint(&shard.master, e))?;
                    self.nodes.push(Node {
                        endpoint: shard.master.clone(),
                        con,
                        db: 0,
                    });
                    self.nodes.len() - 1
                }
            };
            index.push(i);
        }
        self.slots = Some(slot_table(&shards, |i| index[i]));
        Ok(())
    }

    /// Sends `requests` in database `db`, pipelined on each node, and returns
    /// their replies in order (error replies included, as [`Frame::Error`]). A
    /// batch answered `MOVED` is sent again on the layout read again, one answered
    /// `ASK` (a slot half migrated) again after a pause, up to
    /// [`REDIRECT_RETRIES`] times.
    ///
    /// # Errors
    /// Connection errors; [`Error::Key`] naming the node, key and slot when a
    /// redirection persists.
    pub(crate) async fn query(&mut self, db: u64, requests: &[Request]) -> Result<Vec<Frame>> {
        let mut attempt = 0;
        loop {
            let replies = self.query_once(db, requests).await?;
            let redirected = replies.iter().zip(requests).find_map(|(r, q)| {
                let Frame::Error(e) = r else { return None };
                let e = String::from_utf8_lossy(e.as_ref());
                (e.starts_with("MOVED ") || e.starts_with("ASK ")).then(|| (e.into_owned(), q))
            });
            let Some((reply, request)) = redirected else {
                return Ok(replies);
            };
            attempt += 1;
            if attempt > REDIRECT_RETRIES {
                return Err(Error::Key {
                    side: self.role,
                    node: self.node_for(&request.key),
                    db,
                    key: show(&request.key),
                    reason: format!(
                        "slot {} still redirected after {REDIRECT_RETRIES} tries: {reply}",
                        slot(&request.key)
                    ),
                });
            }
            if reply.starts_with("MOVED ") {
                tracing::info!(
                    "{} {}: {reply}; reading the cluster layout again",
                    self.role,
                    self.node_for(&request.key)
                );
                self.refresh().await?;
            } else {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    async fn query_once(&mut self, db: u64, requests: &[Request]) -> Result<Vec<Frame>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        self.rate.take(requests.len()).await;
        let route: Vec<usize> = requests.iter().map(|r| self.node_of(&r.key)).collect();
        let mut used = vec![false; self.nodes.len()];
        for &i in &route {
            if !used[i] {
                used[i] = true;
                self.select(i, db).await?;
            }
        }
        for (r, &i) in requests.iter().zip(&route) {
            self.nodes[i].con.send(&r.args);
        }
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if used[i] {
                node.con
                    .flush()
                    .await
                    .map_err(|e| Error::endpoint(&node.endpoint, e))?;
            }
        }
        let mut replies = Vec::with_capacity(requests.len());
        for &i in &route {
            let node = &mut self.nodes[i];
            let reply = node
                .con
                .read_reply()
                .await
                .map_err(|e| Error::endpoint(&node.endpoint, e))?;
            replies.push(reply);
        }
        Ok(replies)
    }

    /// One command to node `i` in database `db` (not routed by key), e.g. `SCAN`
    /// or `FUNCTION LIST`; error replies returned as frames.
    ///
    /// # Errors
    /// Connection errors.
    pub(crate) async fn node_query<A: AsRef<[u8]>>(
        &mut self,
        i: usize,
        db: u64,
        args: &[A],
    ) -> Result<Frame> {
        self.rate.take(1).await;
        self.select(i, db).await?;
        let node = &mut self.nodes[i];
        node.con.send(args);
        node.con
            .flush()
            .await
            .map_err(|e| Error::endpoint(&node.endpoint, e))?;
        node.con
            .read_reply()
            .await
            .map_err(|e| Error::endpoint(&node.endpoint, e))
    }

    /// One `SCAN` step on node `i` in database `db`: the next cursor and the keys.
    ///
    /// # Errors
    /// Connection errors and error replies.
    pub(crate) async fn scan(
        &mut self,
        i: usize,
        db: u64,
        cursor: &[u8],
        count: usize,
    ) -> Result<(Vec<u8>, Vec<Bytes>)> {
        self.rate.take(1).await;
        self.select(i, db).await?;
        let node = &mut self.nodes[i];
        node.con
            .scan(cursor, None, count)
            .await
            .map_err(|e| Error::endpoint(&node.endpoint, e))
    }

    /// The databases that hold keys on node `i` (`INFO keyspace`; database 0
    /// for a proxy).
    ///
    /// # Errors
    /// Connection errors.
    pub(crate) async fn databases(&mut self, i: usize) -> Result<Vec<u64>> {
        if self.proxy {
            return Ok(vec![0]);
        }
        let counts = self.key_counts(i).await?.unwrap_or_default();
        Ok(counts.into_iter().map(|(db, _)| db).collect())
    }

    /// How many keys each database of node `i` holds (`INFO keyspace`: those
    /// expired but not yet removed included), by database; `None` for a
    /// proxy, whose counts are not its servers'.
    ///
    /// # Errors
    /// Connection errors.
    pub(crate) async fn key_counts(&mut self, i: usize) -> Result<Option<Vec<(u64, u64)>>> {
        if self.proxy {
            return Ok(None);
        }
        let node = &mut self.nodes[i];
        let text = node
            .con
            .info("keyspace")
            .await
            .map_err(|e| Error::endpoint(&node.endpoint, e))?;
        Ok(Some(endpoint::keyspace(&text)))
    }

    /// How many databases the side has (`CONFIG GET databases`; 16 when refused,
    /// 1 for a cluster or a proxy).
    ///
    /// # Errors
    /// Connection errors.
    pub(crate) async fn database_count(&mut self) -> Result<u64> {
        if self.single_database() {
            return Ok(1);
        }
        let node = &mut self.nodes[0];
        Ok(node
            .con
            .config_get("databases")
            .await
            .map_err(|e| Error::endpoint(&node.endpoint, e))?
            .and_then(|n| n.parse().ok())
            .unwrap_or(16))
    }

    /// Whether the side has hash field TTLs (`HPEXPIRETIME`: Redis 7.4+, Valkey 9+).
    pub(crate) fn has_field_ttls(&self) -> bool {
        self.info.has_field_ttls()
    }
}

/// The node index of each slot: `node(i)` for the slots of `shards[i]`.
fn slot_table(shards: &[Shard], node: impl Fn(usize) -> usize) -> Vec<u16> {
    let mut table = vec![0u16; endpoint::SLOTS as usize];
    for (i, shard) in shards.iter().enumerate() {
        for &(a, b) in &shard.slots {
            for s in a..=b {
                table[usize::from(s)] = node(i) as u16;
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::{Cluster, Server, Version, redis};

    fn cluster_cmd(server: &Server, args: &[&str]) -> redis::Value {
        let mut cmd = redis::cmd("CLUSTER");
        for a in args {
            cmd.arg(*a);
        }
        cmd.query(&mut server.client()).unwrap()
    }

    fn id(server: &Server) -> String {
        match cluster_cmd(server, &["MYID"]) {
            redis::Value::BulkString(b) => String::from_utf8(b).unwrap(),
            other => panic!("CLUSTER MYID: {other:?}"),
        }
    }

    /// A side read as a cluster that answers as a standalone server: the error
    /// names the side, not a source shard.
    #[tokio::test]
    async fn a_side_no_longer_a_cluster_is_a_layout_error() {
        let server = Server::start(Version::Redis7_0);
        let seed: Endpoint = server.url().parse().unwrap();
        let mut side = Side::connect("target", &seed, &ConnectOptions::default(), None, false)
            .await
            .unwrap();
        side.slots = Some(vec![0; endpoint::SLOTS as usize]);
        match side.refresh().await {
            Err(Error::Layout { side, reason, .. }) => {
                assert_eq!((side, reason.as_str()), ("target", "no longer a cluster"))
            }
            other => panic!("{other:?}"),
        }
    }

    /// A slot moved after the side read the layout: the batch answered `MOVED` is
    /// sent again on the layout read again, and the key is routed to its new node.
    #[tokio::test]
    async fn a_slot_moved_during_a_run_is_followed() {
        let cluster = Cluster::start(Version::Redis7_0, 3);
        let seed: Endpoint = cluster.nodes()[0].url().parse().unwrap();
        let mut side = Side::connect("target", &seed, &ConnectOptions::default(), None, false)
            .await
            .unwrap();
        let key = Bytes::from_static(b"moving");
        let masters = cluster.masters();
        // Only the owner of the key's slot accepts it.
        let owner = *masters
            .iter()
            .find(|m| {
                redis::cmd("SET")
                    .arg("moving")
                    .arg("here")
                    .query::<()>(&mut m.client())
                    .is_ok()
            })
            .unwrap();
        let dest = *masters.iter().find(|m| m.port() != owner.port()).unwrap();
        assert!(side.node_for(&key).contains(&format!(":{}", owner.port())));
        let s = slot(&key).to_string();
        cluster_cmd(dest, &["SETSLOT", &s, "IMPORTING", &id(owner)]);
        cluster_cmd(owner, &["SETSLOT", &s, "MIGRATING", &id(dest)]);
        redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(dest.port())
            .arg("moving")
            .arg(0)
            .arg(5000)
            .query::<()>(&mut owner.client())
            .unwrap();
        for m in &masters {
            cluster_cmd(m, &["SETSLOT", &s, "NODE", &id(dest)]);
        }
        let replies = side
            .query(0, &[Request::new("GET", &key, &[])])
            .await
            .unwrap();
        assert_eq!(replies[0].as_bytes().map(|b| &b[..]), Some(&b"here"[..]));
        assert!(side.node_for(&key).contains(&format!(":{}", dest.port())));
    }
}
