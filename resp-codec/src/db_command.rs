//! Commands of a change log: what a replication stream or an AOF carries, each
//! command with the database it applies to and its position in the log.

use bytes::Bytes;

/// A command as a source's change log carries it (a replication stream or an AOF):
/// its arguments, the database it applies to, and its position in the log.
///
/// The sources consume `SELECT` themselves, as a replica does: it changes the `db`
/// of the commands that follow and is not a `DbCommand` itself.
///
/// ```
/// use resp_codec::DbCommand;
///
/// let cmd = DbCommand::new(2, vec!["set".into(), "k".into(), "v".into()]);
/// assert_eq!((cmd.db, cmd.offset), (2, 0));
/// assert_eq!(cmd.name(), "SET");
/// assert!(cmd.name_is("Set"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbCommand {
    /// The database it applies to (the log's last `SELECT`).
    pub db: u64,
    /// The command name and arguments, as sent.
    pub args: Vec<Bytes>,
    /// The log offset just after this command: the replication offset for a
    /// stream, the bytes read from the start of the AOF for a file (summed over the
    /// files of a multi-part AOF); 0 for a command with no position.
    pub offset: u64,
}

impl DbCommand {
    /// A command with no position (offset 0) for database `db`.
    pub fn new(db: u64, args: Vec<Bytes>) -> Self {
        DbCommand {
            db,
            args,
            offset: 0,
        }
    }

    /// The command name, upper-cased (an allocation); empty when there are no
    /// arguments. Bytes that are not UTF-8 become `U+FFFD`.
    pub fn name(&self) -> String {
        self.args
            .first()
            .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// Whether the command name is `name`, ignoring ASCII case as the server does.
    pub fn name_is(&self, name: &str) -> bool {
        self.args
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let empty = DbCommand::new(0, Vec::new());
        assert_eq!(empty.name(), "");
        assert!(!empty.name_is(""));
        let cmd = DbCommand {
            db: 1,
            args: vec![Bytes::from_static(b"hSet"), Bytes::from_static(b"h")],
            offset: 42,
        };
        assert_eq!(cmd.name(), "HSET");
        assert!(cmd.name_is("hset") && cmd.name_is("HSET"));
        assert!(!cmd.name_is("hsetnx") && !cmd.name_is("hse"));
        let odd = DbCommand::new(0, vec![Bytes::from_static(b"g\xffet")]);
        assert_eq!(odd.name(), "G\u{fffd}ET");
        assert!(!odd.name_is("get"));
    }
}
