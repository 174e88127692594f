//! What a server says about itself (`INFO`, `CONFIG GET`): version, flavour, role,
//! cluster mode and limits, read once at connect by those who need them.

/// Which server software answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavor {
    /// Redis.
    Redis,
    /// Valkey.
    Valkey,
}

/// A server's description.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The release, e.g. (7, 0, 15); for Valkey its own version, not the Redis
    /// compatibility version it also reports.
    pub version: (u32, u32, u32),
    /// Redis or Valkey.
    pub flavor: Flavor,
    /// `cluster_enabled:1`.
    pub cluster_enabled: bool,
    /// `master` or `slave`.
    pub role: String,
    /// `proto-max-bulk-len`, when `CONFIG GET` is allowed (managed services often
    /// forbid it).
    pub proto_max_bulk_len: Option<u64>,
}

impl ServerInfo {
    /// Reads the fields from the text of `INFO` (any sections).
    pub fn from_info(text: &str) -> ServerInfo {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        let parse_version = |v: &str| {
            let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
            (
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
            )
        };
        let (flavor, version) = match field("valkey_version") {
            Some(v) => (Flavor::Valkey, parse_version(v)),
            None => (
                Flavor::Redis,
                parse_version(field("redis_version").unwrap_or("0")),
            ),
        };
        ServerInfo {
            version,
            flavor,
            cluster_enabled: field("cluster_enabled") == Some("1"),
            role: field("role").unwrap_or("master").to_owned(),
            proto_max_bulk_len: None,
        }
    }

    /// The highest RDB version this server reads (and writes in `DUMP`).
    ///
    /// Source: `RDB_VERSION` in each release's `src/rdb.h`.
    pub fn rdb_version(&self) -> u16 {
        let (major, minor, _) = self.version;
        match self.flavor {
            // Valkey 9 writes 80 (`VALKEY080`); 7.2 to 8.1 write 11.
            Flavor::Valkey if major >= 9 => 80,
            Flavor::Valkey => 11,
            Flavor::Redis => match (major, minor) {
                (0..=3, _) => 7,
                (4, _) => 8,
                (5..=6, _) => 9,
                (7, 0) => 10,
                (7, 2) => 11,
                (7, _) | (8, 0..=4) => 12,
                (8, 5..=6) => 13,
                _ => 14,
            },
        }
    }

    /// Whether this server holds function libraries (`FUNCTION LOAD`): Redis 7.0
    /// and later, and every Valkey.
    pub fn has_functions(&self) -> bool {
        self.flavor == Flavor::Valkey || self.version >= (7, 0, 0)
    }

    /// Whether this server keeps per-field hash TTLs (`HPEXPIREAT`): Redis 7.4
    /// and later, Valkey 9 and later.
    pub fn has_field_ttls(&self) -> bool {
        match self.flavor {
            Flavor::Valkey => self.version >= (9, 0, 0),
            _ => self.version >= (7, 4, 0),
        }
    }

    /// Whether this server reads RDB data of `version` in the dialect `written_by`
    /// writes, in `RESTORE` payloads and in RDB files alike: Redis cannot read Valkey
    /// 9's format (`VALKEY080`), and Valkey refuses the versions it leaves to Redis
    /// (12 to 79); otherwise anything up to [`ServerInfo::rdb_version`].
    ///
    /// The rules, in one table (with [`has_functions`](Self::has_functions) and
    /// [`has_field_ttls`](Self::has_field_ttls)):
    ///
    /// | Server | Redis RDB versions read | Valkey's format (80) | Functions | Hash field TTLs |
    /// |---|---|---|---|---|
    /// | Redis 3.x | up to 7 | no | no | no |
    /// | Redis 4.x | up to 8 | no | no | no |
    /// | Redis 5.x, 6.x | up to 9 | no | no | no |
    /// | Redis 7.0 | up to 10 | no | yes | no |
    /// | Redis 7.2 | up to 11 | no | yes | no |
    /// | Redis 7.4 to 8.4 | up to 12 | no | yes | yes |
    /// | Redis 8.5, 8.6 | up to 13 | no | yes | yes |
    /// | Redis 8.8 and on | up to 14 | no | yes | yes |
    /// | Valkey 7.2 to 8.1 | up to 11 | no | yes | no |
    /// | Valkey 9 | up to 11 | yes | yes | yes |
    ///
    /// Each type's first RDB version, and the older form of each newer one, are
    /// in `rdb_parser`'s README.
    ///
    /// Source: `rdbLoadRioWithLoadingCtx` and `verifyDumpPayload` in each server's
    /// `src/rdb.c` / `src/cluster.c`.
    pub fn reads_rdb(&self, version: u32, written_by: Flavor) -> bool {
        match (written_by, self.flavor) {
            (Flavor::Valkey, Flavor::Redis) => false,
            (Flavor::Redis, Flavor::Valkey) => version <= 11,
            _ => version <= u32::from(self.rdb_version()),
        }
    }
}

/// The databases holding keys and how many each holds, from the text of `INFO
/// keyspace` (`db3:keys=120,expires=4,avg_ttl=0`; keys expired but not yet
/// removed included).
pub fn keyspace(info: &str) -> Vec<(u64, u64)> {
    info.lines()
        .filter_map(|line| {
            let (db, fields) = line.strip_prefix("db")?.split_once(':')?;
            let keys = fields
                .split(',')
                .find_map(|f| f.strip_prefix("keys="))?
                .trim()
                .parse()
                .ok()?;
            Some((db.parse().ok()?, keys))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_lines_give_databases_and_counts() {
        let text = "# Keyspace\r\ndb0:keys=1\r\ndb3:keys=120,expires=4,avg_ttl=0\r\ndbx:keys=1\r\n";
        assert_eq!(keyspace(text), [(0, 1), (3, 120)]);
    }

    #[test]
    fn functions_and_field_ttls_by_version() {
        let info = |text: &str| ServerInfo::from_info(text);
        let r62 = info("redis_version:6.2.14");
        let r70 = info("redis_version:7.0.15");
        let r74 = info("redis_version:7.4.2");
        let v81 = info("redis_version:7.2.4\r\nvalkey_version:8.1.1");
        let v91 = info("redis_version:7.2.4\r\nvalkey_version:9.1.2");
        let got: Vec<(bool, bool)> = [&r62, &r70, &r74, &v81, &v91]
            .iter()
            .map(|i| (i.has_functions(), i.has_field_ttls()))
            .collect();
        assert_eq!(
            got,
            [
                (false, false),
                (true, false),
                (true, true),
                (true, false),
                (true, true)
            ]
        );
    }

    #[test]
    fn reads_redis_and_valkey_info() {
        let redis = ServerInfo::from_info(
            "# Server\r\nredis_version:7.0.15\r\nrole:master\r\ncluster_enabled:0\r\n",
        );
        assert_eq!(
            (redis.version, redis.flavor, redis.rdb_version()),
            ((7, 0, 15), Flavor::Redis, 10)
        );
        let valkey = ServerInfo::from_info(
            "redis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:9.1.2\r\ncluster_enabled:1\r\nrole:slave\r\n",
        );
        assert_eq!((valkey.version, valkey.flavor), ((9, 1, 2), Flavor::Valkey));
        assert!(valkey.cluster_enabled);
        assert_eq!(valkey.role, "slave");
        assert_eq!(
            ServerInfo::from_info("redis_version:6.2.14").rdb_version(),
            9
        );
        let redis = ServerInfo::from_info("redis_version:7.0.15");
        assert!(redis.reads_rdb(10, Flavor::Redis) && !redis.reads_rdb(11, Flavor::Redis));
        assert!(!redis.reads_rdb(9, Flavor::Valkey), "Valkey 9's dialect");
        assert!(valkey.reads_rdb(11, Flavor::Redis) && !valkey.reads_rdb(12, Flavor::Redis));
        assert!(valkey.reads_rdb(80, Flavor::Valkey));
    }
}
