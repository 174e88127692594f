//! What a deployment is made of: one standalone server, or the masters of a Redis
//! Cluster and the slots each serves. Every pipeline asks this once, to run one
//! replica per shard, to copy shard by shard, or to route writes by slot.
//!
//! `CLUSTER SHARDS` (Redis 7.0+, Valkey) is asked first; older servers answer
//! `CLUSTER SLOTS`. Source: `cluster.c` (`clusterCommandShards`, `clusterReplyMultiBulkSlots`).

use std::collections::BTreeMap;

use resp_codec::Frame;

use crate::connection::{ConnectOptions, Connection};
use crate::error::{Error, Result};
use crate::url::Endpoint;

/// One shard: its master, its replicas and the slots it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The master, with the credentials and TLS setting of the endpoint asked.
    pub master: Endpoint,
    /// The master's node id.
    pub id: String,
    /// Inclusive slot ranges.
    pub slots: Vec<(u16, u16)>,
    /// The master's replicas as the cluster lists them (healthy or not), with the
    /// same credentials and TLS setting: where a replica follows a failover.
    pub replicas: Vec<Endpoint>,
}

/// A deployment as [`discover`] finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Topology {
    /// One server (a master, a replica, or a proxy that hides a cluster).
    Standalone(Endpoint),
    /// A Redis Cluster: its masters that serve slots, sorted by their first slot.
    Cluster(Vec<Shard>),
}

impl Topology {
    /// Whether this is a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Topology::Cluster(_))
    }

    /// The servers that hold the data: the standalone server, or each master.
    pub fn masters(&self) -> Vec<Endpoint> {
        match self {
            Topology::Standalone(one) => vec![one.clone()],
            Topology::Cluster(shards) => shards.iter().map(|s| s.master.clone()).collect(),
        }
    }
}

/// Finds what `endpoint` is part of: a standalone server, or a cluster (asked for its
/// masters and their slots). A server with `cluster_enabled:1` is a cluster node.
///
/// # Errors
/// When the server cannot be reached, or a cluster node's layout cannot be read.
pub async fn discover(endpoint: &Endpoint, options: &ConnectOptions) -> Result<Topology> {
    let mut con = Connection::connect(endpoint, options).await?;
    if con.server_info().await?.cluster_enabled {
        Ok(Topology::Cluster(shards(&mut con, endpoint).await?))
    } else {
        Ok(Topology::Standalone(endpoint.clone()))
    }
}

/// The masters of the cluster that the node reached at `node` on `con` belongs to,
/// each with its slots, sorted by their first slot; masters without slots are left
/// out. [`discover`] does this on a connection of its own.
///
/// # Errors
/// When the node is not a cluster node or answers something else.
pub async fn shards(con: &mut Connection, node: &Endpoint) -> Result<Vec<Shard>> {
    let mut shards = match con.request(&["CLUSTER", "SHARDS"]).await {
        Ok(reply) => from_shards(node, &reply)?,
        // "unknown subcommand" (6.2), "Unknown subcommand or wrong number..." (older).
        Err(Error::Server { message, .. }) if message.to_ascii_lowercase().contains("unknown") => {
            let reply = con.request(&["CLUSTER", "SLOTS"]).await?;
            from_slots(node, &reply)?
        }
        Err(e) => return Err(e),
    };
    shards.retain(|s| !s.slots.is_empty());
    shards.sort_by_key(|s| s.slots[0]);
    Ok(shards)
}

fn bad(what: &'static str) -> Error {
    Error::UnexpectedReply {
        command: "CLUSTER".into(),
        what,
    }
}

fn text(f: &Frame) -> Option<String> {
    match f {
        Frame::Integer(i) => Some(i.to_string()),
        other => other
            .as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    }
}

fn int(f: &Frame) -> Option<i64> {
    match f {
        Frame::Integer(i) => Some(*i),
        other => text(other)?.parse().ok(),
    }
}

/// Key/value pairs of a RESP2 flat array or a RESP3 map.
fn pairs(f: &Frame) -> Option<BTreeMap<String, &Frame>> {
    match f {
        Frame::Array(items) => items
            .chunks(2)
            .map(|kv| Some((text(&kv[0])?, kv.get(1)?)))
            .collect(),
        Frame::Map(items) => items.iter().map(|(k, v)| Some((text(k)?, v))).collect(),
        _ => None,
    }
}

fn items(f: &Frame) -> Option<&[Frame]> {
    match f {
        Frame::Array(v) | Frame::Set(v) => Some(v),
        _ => None,
    }
}

fn from_shards(node: &Endpoint, reply: &Frame) -> Result<Vec<Shard>> {
    let mut out = Vec::new();
    for shard in items(reply).ok_or_else(|| bad("not an array"))? {
        let shard = pairs(shard).ok_or_else(|| bad("a shard that is not a map"))?;
        let ranges = shard
            .get("slots")
            .and_then(|s| items(s))
            .ok_or_else(|| bad("a shard without slots"))?;
        let slots = ranges
            .chunks(2)
            .map(|r| Some((int(&r[0])? as u16, int(r.get(1)?)? as u16)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("a malformed slot range"))?;
        let nodes = shard
            .get("nodes")
            .and_then(|n| items(n))
            .ok_or_else(|| bad("a shard without nodes"))?;
        let (mut masters, mut replicas) = (Vec::new(), Vec::new());
        for n in nodes {
            let n = pairs(n).ok_or_else(|| bad("a node that is not a map"))?;
            let field = |k: &str| n.get(k).and_then(|v| text(v));
            let port_field = if node.tls() && n.contains_key("tls-port") {
                "tls-port"
            } else {
                "port"
            };
            let port = n.get(port_field).and_then(|p| int(p));
            let host = field("endpoint")
                .filter(|h| !h.is_empty() && h != "?")
                .or_else(|| field("ip"));
            let at = host.zip(port).map(|(h, p)| node.with_addr(&h, p as u16));
            match field("role").as_deref() {
                Some("master") => {
                    let master = at.ok_or_else(|| bad("a master without an address"))?;
                    masters.push((master, field("id").unwrap_or_default()));
                }
                // A replica without an address cannot be followed: left out.
                Some("replica") => replicas.extend(at),
                _ => {}
            }
        }
        out.extend(masters.into_iter().map(|(master, id)| Shard {
            master,
            id,
            slots: slots.clone(),
            replicas: replicas.clone(),
        }));
    }
    Ok(out)
}

fn from_slots(node: &Endpoint, reply: &Frame) -> Result<Vec<Shard>> {
    let mut by_id: BTreeMap<String, Shard> = BTreeMap::new();
    for range in items(reply).ok_or_else(|| bad("not an array"))? {
        let range = items(range).ok_or_else(|| bad("a range that is not an array"))?;
        let (Some(start), Some(end), Some(master)) = (
            range.first().and_then(int),
            range.get(1).and_then(int),
            range.get(2).and_then(items),
        ) else {
            return Err(bad("a malformed slot range"));
        };
        let address = |n: &[Frame]| -> Result<(String, u16)> {
            let host = n.first().and_then(text).ok_or_else(|| bad("no host"))?;
            let port = n.get(1).and_then(int).ok_or_else(|| bad("no port"))?;
            Ok((host, port as u16))
        };
        let (host, port) = address(master)?;
        let id = master
            .get(2)
            .and_then(text)
            .unwrap_or_else(|| format!("{host}:{port}"));
        let shard = by_id.entry(id.clone()).or_insert_with(|| Shard {
            master: node.with_addr(&host, port),
            id,
            slots: Vec::new(),
            replicas: Vec::new(),
        });
        shard.slots.push((start as u16, end as u16));
        // Every range of a master lists the same replicas.
        if shard.replicas.is_empty() {
            for replica in range.iter().skip(3).filter_map(items) {
                let (host, port) = address(replica)?;
                shard.replicas.push(node.with_addr(&host, port));
            }
        }
    }
    let mut shards: Vec<Shard> = by_id.into_values().collect();
    shards.iter_mut().for_each(|s| s.slots.sort());
    Ok(shards)
}
