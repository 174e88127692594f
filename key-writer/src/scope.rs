//! Which keys on the target a stream covers: those a source key can become through
//! the hooks (filters and database maps can be followed back; a hook that renames
//! cannot), in the source shard's slots. A new full resync onto a shared target
//! deletes them first, so that keys the new snapshot lacks do not survive.

use bytes::Bytes;
use endpoint::{ConnectOptions, Connection, Endpoint, slot};
use rdb_parser::Type;

use crate::error::{Error, Result};
use crate::hook::{Hook, Hooks, KeyEdit, Verdict};

/// Keys per `SCAN` round trip.
const SCAN_COUNT: usize = 1000;

/// The keys a stream covers on the target.
pub(crate) struct Scope<'a> {
    pub(crate) hooks: &'a Hooks,
    /// The source shard's slots (a cluster source), or `None`: every key.
    pub(crate) slots: Option<&'a [(u16, u16)]>,
    /// The first part of the writer's own keys (checkpoints), never in scope.
    pub(crate) own: Option<&'a str>,
}

impl Scope<'_> {
    /// Whether the target key `name` of type `value_type` in database `db` can
    /// come from the stream; `None` when the hooks cannot be followed back.
    pub(crate) fn covers(&self, db: u64, name: &Bytes, value_type: Type) -> Option<bool> {
        if self.is_own(name) {
            return Some(false);
        }
        if let Some(slots) = self.slots {
            let s = slot(name);
            if !slots.iter().any(|&(a, b)| (a..=b).contains(&s)) {
                return Some(false);
            }
        }
        let sources = self.hooks.source_dbs(db)?;
        Some(sources.into_iter().any(|source| {
            let mut key = KeyEdit::new(source, name.clone(), value_type, None, None);
            self.hooks.key(&mut key) == Verdict::Keep && key.db == db && key.name == *name
        }))
    }

    fn is_own(&self, name: &[u8]) -> bool {
        let checkpoint = self.own.is_some_and(|own| {
            name.starts_with(own.as_bytes()) && name.get(own.len()) == Some(&b':')
        });
        checkpoint || name.windows(16).any(|w| w == b":key-writer-tmp:")
    }

    /// Deletes the keys in scope on `node` (a master), database by database;
    /// returns how many.
    ///
    /// # Errors
    /// When the node cannot be reached or refuses; [`Error::Refused`] when the
    /// hooks cannot be followed back.
    pub(crate) async fn delete(
        &self,
        node: &Endpoint,
        connect: &ConnectOptions,
        cluster: bool,
    ) -> Result<u64> {
        if self.hooks.source_dbs(0).is_none() {
            return Err(not_invertible());
        }
        let failed = |e| Error::connection(node, e);
        let mut con = Connection::connect(node, connect).await.map_err(failed)?;
        let dbs = if cluster {
            vec![0]
        } else {
            let text = con.info("keyspace").await.map_err(failed)?;
            text.lines()
                .filter_map(|l| l.strip_prefix("db")?.split(':').next()?.parse().ok())
                .collect()
        };
        let mut deleted = 0;
        for db in dbs {
            if !cluster {
                con.request(&["SELECT", &db.to_string()])
                    .await
                    .map_err(failed)?;
            }
            let mut cursor = b"0".to_vec();
            loop {
                let (next, keys) = con.scan(&cursor, None, SCAN_COUNT).await.map_err(failed)?;
                let keys: Vec<Bytes> = keys.into_iter().filter(|k| !self.is_own(k)).collect();
                for key in &keys {
                    con.send(&[&b"TYPE"[..], key]);
                }
                con.flush().await.map_err(failed)?;
                let mut doomed = Vec::new();
                for key in keys {
                    let reply = con.read_reply().await.map_err(failed)?;
                    let Some(value_type) = reply.as_bytes().and_then(|t| type_named(t)) else {
                        continue; // Gone meanwhile ("none").
                    };
                    if self
                        .covers(db, &key, value_type)
                        .ok_or_else(not_invertible)?
                    {
                        doomed.push(key);
                    }
                }
                for key in &doomed {
                    con.send(&[&b"UNLINK"[..], key]);
                }
                con.flush().await.map_err(failed)?;
                for _ in &doomed {
                    let reply = con.read_reply().await.map_err(failed)?;
                    if reply.is_error() {
                        return Err(Error::Reply {
                            command: "UNLINK".into(),
                            key: "(a key in scope)".into(),
                            message: format!("{reply:?}"),
                        });
                    }
                }
                deleted += doomed.len() as u64;
                if next == b"0" {
                    break;
                }
                cursor = next;
            }
        }
        Ok(deleted)
    }
}

fn not_invertible() -> Error {
    Error::Refused {
        command: "delete the keys in scope".into(),
        reason: "a hook renames keys or cannot say where they come from, so the keys the \
                 stream covers on the target are not known"
            .into(),
    }
}

/// The type a `TYPE` reply names (`None` for `none`); a module's own name is a
/// module value.
fn type_named(name: &[u8]) -> Option<Type> {
    (name != b"none").then(|| Type::from_name(name).unwrap_or(Type::Module))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DbMap, Filter};

    #[test]
    fn filters_and_maps_are_followed_back() {
        let hooks = Hooks::new()
            .with(Filter {
                prefixes: vec![b"app:".to_vec()],
                dbs: vec![1, 2],
                ..Filter::default()
            })
            .with("1:5,2:6".parse::<DbMap>().unwrap());
        let scope = Scope {
            hooks: &hooks,
            slots: None,
            own: Some("ckpt"),
        };
        let name = |n: &str| Bytes::from(n.to_owned());
        assert_eq!(scope.covers(5, &name("app:1"), Type::Hash), Some(true));
        assert_eq!(scope.covers(6, &name("app:1"), Type::Hash), Some(true));
        assert_eq!(scope.covers(1, &name("app:1"), Type::Hash), Some(false));
        assert_eq!(scope.covers(5, &name("other"), Type::Hash), Some(false));
        assert_eq!(scope.covers(5, &name("ckpt:x"), Type::Hash), Some(false));
        let slots = [(0, 100)];
        let sharded = Scope {
            slots: Some(&slots),
            ..scope
        };
        let inside = (0..)
            .map(|i| format!("app:{i}"))
            .find(|k| slot(k.as_bytes()) <= 100)
            .unwrap();
        let outside = (0..)
            .map(|i| format!("app:{i}"))
            .find(|k| slot(k.as_bytes()) > 100)
            .unwrap();
        assert_eq!(sharded.covers(5, &name(&inside), Type::List), Some(true));
        assert_eq!(sharded.covers(5, &name(&outside), Type::List), Some(false));
        let renaming = Hooks::new().with(crate::hook::on_keys(|_| Verdict::Keep));
        let blind = Scope {
            hooks: &renaming,
            slots: None,
            own: None,
        };
        assert_eq!(blind.covers(0, &name("app:1"), Type::Hash), None);
    }
}
