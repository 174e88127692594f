//! Finding a shard's master after a failover: among the nodes known to serve the
//! shard (the master the replica started from and the addresses given to
//! [`ReplicaOptions::failover`]), the one whose `INFO replication` says
//! `role:master`. A node that is still a replica names its master
//! (`master_host`, `master_port`), which is asked next. A master whose history
//! holds the stream where it stopped (its `master_replid`, or the `master_replid2`
//! a promoted replica keeps up to `second_repl_offset`) is preferred: it answers
//! `PSYNC` with `+CONTINUE`.
//!
//! Source: `infoCommand` (the replication section) and `masterTryPartialResynchronization`
//! in `replication.c`.

use std::collections::{HashSet, VecDeque};

use endpoint::Endpoint;

use crate::error::{Error, Result};
use crate::handshake::{bounded, connect};
use crate::options::{ReplicaOptions, Resume};

/// Most nodes asked in one search (masters named by replicas included), so a
/// loop of replicas pointing at each other ends.
const MAX_NODES: usize = 32;

/// What a node says of itself in `INFO replication`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    /// A master; `continues`: its history holds the stream being resumed.
    Master { continues: bool },
    /// A replica of `host:port`.
    Replica { host: String, port: u16 },
}

/// Reads the role from the text of `INFO replication`; `resume` is where the
/// stream stopped.
fn role(info: &str, resume: Option<&Resume>) -> Option<Role> {
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
    match field("role")? {
        "master" => {
            let continues = resume.is_some_and(|(replid, offset, _)| {
                // PSYNC asks for offset + 1.
                let next = offset + 1;
                (field("master_replid") == Some(replid.as_str())
                    && number("master_repl_offset").is_some_and(|at| next <= at + 1))
                    || (field("master_replid2") == Some(replid.as_str())
                        && number("second_repl_offset").is_some_and(|upto| next <= upto))
            });
            Some(Role::Master { continues })
        }
        "slave" | "replica" => Some(Role::Replica {
            host: field("master_host")?.to_owned(),
            port: number("master_port")?.try_into().ok()?,
        }),
        _ => None,
    }
}

/// Asks `node` for its role, each step bounded by the handshake timeout.
async fn probe(node: &Endpoint, options: &ReplicaOptions, resume: Option<&Resume>) -> Result<Role> {
    let mut con = connect(node, options).await?;
    let info = bounded(
        "INFO",
        node,
        options.handshake_timeout,
        con.info("replication"),
    )
    .await?;
    role(&info, resume).ok_or_else(|| Error::Refused {
        command: "INFO",
        message: "no role in the replication section".into(),
    })
}

/// The master among `nodes` (asked in this order, with the masters replicas name),
/// preferring one that can continue `resume`. A node whose role cannot be read
/// (`INFO` refused) is tried last, as it is.
///
/// # Errors
/// [`Error::NoMaster`] when no node is, or names, a reachable master.
pub(crate) async fn find_master(
    nodes: &[Endpoint],
    options: &ReplicaOptions,
    resume: Option<&Resume>,
) -> Result<Endpoint> {
    let mut queue: VecDeque<Endpoint> = nodes.iter().cloned().collect();
    let mut asked = HashSet::new();
    let (mut masters, mut unknown) = (Vec::new(), Vec::new());
    let mut last = None;
    while let Some(node) = queue.pop_front() {
        if asked.len() >= MAX_NODES || !asked.insert(node.addr()) {
            continue;
        }
        match probe(&node, options, resume).await {
            Ok(Role::Master { continues: true }) => return Ok(node),
            Ok(Role::Master { continues: false }) => masters.push(node),
            // Its master is asked next: after a failover it is the new one.
            Ok(Role::Replica { host, port }) => queue.push_front(node.with_addr(&host, port)),
            Err(e @ (Error::Refused { .. } | Error::PsyncNotPermitted { .. })) => {
                unknown.push(node);
                last = Some(e);
            }
            Err(e) => {
                tracing::debug!(node = %node, error = %e, "failover: node not reachable");
                last = Some(e);
            }
        }
    }
    if let Some(node) = masters.into_iter().chain(unknown).next() {
        return Ok(node);
    }
    let asked: Vec<String> = asked.into_iter().collect();
    Err(Error::NoMaster {
        asked: asked.join(", "),
        last: last.map(|e| e.to_string()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "0123456789abcdef0123456789abcdef01234567";
    const NEW: &str = "89abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn roles_are_read() {
        let resume = (OLD.to_owned(), 1000, 0);
        let promoted = format!(
            "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_replid:{NEW}\r\n\
             master_replid2:{OLD}\r\nmaster_repl_offset:1500\r\nsecond_repl_offset:1001\r\n"
        );
        assert_eq!(
            role(&promoted, Some(&resume)),
            Some(Role::Master { continues: true })
        );
        // Promoted before it had the stream up to where ours stopped.
        let behind = promoted.replace("second_repl_offset:1001", "second_repl_offset:900");
        assert_eq!(
            role(&behind, Some(&resume)),
            Some(Role::Master { continues: false })
        );
        let same = format!("role:master\r\nmaster_replid:{OLD}\r\nmaster_repl_offset:1000\r\n");
        assert_eq!(
            role(&same, Some(&resume)),
            Some(Role::Master { continues: true })
        );
        assert_eq!(role(&same, None), Some(Role::Master { continues: false }));
        let replica = "role:slave\r\nmaster_host:10.0.0.7\r\nmaster_port:6380\r\n";
        assert_eq!(
            role(replica, None),
            Some(Role::Replica {
                host: "10.0.0.7".into(),
                port: 6380
            })
        );
        assert_eq!(role("role:slave\r\n", None), None);
    }
}
