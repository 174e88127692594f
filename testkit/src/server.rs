//! One real server on a free loopback port, with its own directory.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::port::free_port;
use crate::version::Version;

/// How long a server may take to accept commands after it is spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many fresh ports to try when another test took the chosen one first.
const PORT_ATTEMPTS: usize = 20;

/// An ACL user to create at start-up (`user <name> on ><password> <rules>`).
#[derive(Clone)]
pub struct AclUser {
    /// The user name.
    pub name: String,
    /// The user's password.
    pub password: String,
    /// ACL rules, e.g. `"~* &* +@all -psync -sync"`.
    pub rules: String,
}

impl std::fmt::Debug for AclUser {
    // The password stays out of Debug output, as everywhere in the workspace.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclUser")
            .field("name", &self.name)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// Options for a [`Server`]; start it with [`ServerBuilder::start`].
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    version: Version,
    password: Option<String>,
    users: Vec<AclUser>,
    config: Vec<(String, String)>,
    cluster: bool,
    /// TLS on a second port; `Some(true)` also requires client certificates.
    tls: Option<bool>,
}

impl ServerBuilder {
    /// Options for a server of `version` with no password and default config.
    pub fn new(version: Version) -> Self {
        ServerBuilder {
            version,
            password: None,
            users: Vec::new(),
            config: Vec::new(),
            cluster: false,
            tls: None,
        }
    }

    /// Requires this password for the `default` user (`requirepass`).
    ///
    /// Keep test passwords URL-safe: [`Server::url`] embeds them as they are.
    pub fn password(mut self, password: &str) -> Self {
        self.password = Some(password.to_owned());
        self
    }

    /// Adds an ACL user with a password and rules (e.g. `"~* &* +@all -psync"`).
    pub fn acl_user(mut self, name: &str, password: &str, rules: &str) -> Self {
        self.users.push(AclUser {
            name: name.to_owned(),
            password: password.to_owned(),
            rules: rules.to_owned(),
        });
        self
    }

    /// Adds any config directive, e.g. `config("repl-diskless-sync", "yes")`.
    ///
    /// Directives are written after the kit's own, so they win.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Also listens with TLS on [`Server::tls_port`], with a throwaway CA and server
    /// certificate ([`Server::tls_file`]); with `require_client_cert`, clients must
    /// present a certificate signed by that CA (`tls-auth-clients yes`). The plain
    /// port stays open for the kit's own checks.
    pub fn tls(mut self, require_client_cert: bool) -> Self {
        self.tls = Some(require_client_cert);
        self
    }

    /// Makes the server a cluster node (`cluster-enabled yes`, its port + 10000 kept
    /// free), on its own until slots are added or nodes met.
    pub fn cluster_node(mut self) -> Self {
        self.cluster = true;
        self
    }

    /// Starts the server and waits until it answers `PING`.
    ///
    /// # Panics
    /// When the binary is missing, the server does not come up (the panic message
    /// holds the end of its log), or it reports another release than [`Version::release`].
    pub fn start(self) -> Server {
        let binary = self.version.server_binary();
        let dir = tempfile::Builder::new()
            .prefix(&format!("testkit-{}-", self.version.release()))
            .tempdir()
            .expect("create the server's temporary directory");
        let mut server = Server {
            builder: self,
            binary,
            dir,
            port: 0,
            tls_port: None,
            child: None,
        };
        if server.builder.tls.is_some() {
            crate::tls::write_files(server.dir.path());
        }
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port(server.builder.cluster);
            if server.builder.tls.is_some() {
                server.tls_port = Some(free_port(false));
            }
            server.write_config();
            match server.spawn_and_wait() {
                Ok(()) => {
                    server.check_release();
                    return server;
                }
                Err(StartError::PortTaken) if attempt < PORT_ATTEMPTS => continue,
                Err(e) => panic!("{}", server.failure(&e)),
            }
        }
        unreachable!("the last attempt returns or panics")
    }
}

/// Why a start attempt failed.
#[derive(Debug)]
enum StartError {
    /// Another process bound the port between our check and the server's bind.
    PortTaken,
    /// The process exited.
    Exited(String),
    /// It ran but never answered.
    Timeout,
}

/// A running server; stopped and its directory removed on drop.
///
/// Set `TESTKIT_KEEP=1` to keep the directories of stopped servers for inspection.
pub struct Server {
    builder: ServerBuilder,
    binary: PathBuf,
    dir: TempDir,
    port: u16,
    tls_port: Option<u16>,
    child: Option<Child>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("version", &self.builder.version)
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts a server of `version` with default options.
    ///
    /// # Panics
    /// As [`ServerBuilder::start`].
    pub fn start(version: Version) -> Server {
        ServerBuilder::new(version).start()
    }

    /// Options for a server of `version`.
    pub fn builder(version: Version) -> ServerBuilder {
        ServerBuilder::new(version)
    }

    /// The release this server runs.
    pub fn version(&self) -> Version {
        self.builder.version
    }

    /// Always `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port, for a server built with [`ServerBuilder::tls`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// A TLS file of a server built with [`ServerBuilder::tls`]: `"ca"`, `"client-cert"`
    /// or `"client-key"` (PEM).
    ///
    /// # Panics
    /// For another name.
    pub fn tls_file(&self, name: &str) -> PathBuf {
        let file = match name {
            "ca" => crate::tls::CA,
            "client-cert" => crate::tls::CLIENT_CERT,
            "client-key" => crate::tls::CLIENT_KEY,
            other => panic!("no TLS file {other:?}"),
        };
        self.dir.path().join(file)
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host(), self.port)
    }

    /// The server's address as the workspace's programs take it:
    /// `redis://[:password@]127.0.0.1:port`.
    pub fn url(&self) -> String {
        match &self.builder.password {
            Some(pw) => format!("redis://:{pw}@{}", self.addr()),
            None => format!("redis://{}", self.addr()),
        }
    }

    /// The `default` user's password, if one was set.
    pub fn password(&self) -> Option<&str> {
        self.builder.password.as_deref()
    }

    /// The server's working directory (`dir`): RDB, AOF and log files live here.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where `SAVE` and `BGSAVE` write the RDB.
    pub fn rdb_path(&self) -> PathBuf {
        self.dir.path().join("dump.rdb")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A connection authenticated as the `default` user.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub fn client(&self) -> redis::Connection {
        self.try_client()
            .unwrap_or_else(|e| panic!("connect to {self:?}: {e}"))
    }

    /// A connection authenticated as the `default` user, or the error (e.g. when
    /// the server was killed).
    pub fn try_client(&self) -> redis::RedisResult<redis::Connection> {
        self.connect(None, self.builder.password.as_deref())
    }

    /// A connection authenticated as `user` with `password`; the server's answer
    /// (e.g. `WRONGPASS`) comes back as the error.
    pub fn client_as(&self, user: &str, password: &str) -> redis::RedisResult<redis::Connection> {
        self.connect(Some(user), Some(password))
    }

    /// The value of `field` in the server's `INFO section`.
    ///
    /// # Panics
    /// When the server cannot be reached or has no such field.
    pub fn info_field(&self, section: &str, field: &str) -> String {
        let info: String = redis::cmd("INFO")
            .arg(section)
            .query(&mut self.client())
            .unwrap_or_else(|e| panic!("INFO {section} of {self:?}: {e}"));
        info.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {field} in INFO {section} of {self:?}"))
    }

    /// The server's `master_repl_offset`: how far its replication stream goes.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub fn repl_offset(&self) -> u64 {
        self.info_field("replication", "master_repl_offset")
            .parse()
            .expect("a number")
    }

    /// Runs `SAVE` and returns the path of the RDB it wrote, waiting for a
    /// background save in progress (e.g. for a replica) to finish first.
    ///
    /// # Panics
    /// When `SAVE` fails.
    pub fn save(&self) -> PathBuf {
        let mut con = self.client();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match redis::cmd("SAVE").query::<()>(&mut con) {
                Ok(()) => return self.rdb_path(),
                Err(e) if e.to_string().contains("in progress") && Instant::now() < deadline => {
                    sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("SAVE on {self:?}: {e}"),
            }
        }
    }

    /// Kills the server with SIGKILL (nothing is saved) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts the server again on the same port, config and data directory (after
    /// [`kill`](Self::kill), or after it exited), and waits until it answers.
    ///
    /// # Panics
    /// When it does not come back.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                // The old socket may linger briefly, or a neighbour may hold the port.
                Err(StartError::PortTaken) if Instant::now() < deadline => {
                    sleep(Duration::from_millis(100))
                }
                Err(e) => panic!("{}", self.failure(&e)),
            }
        }
    }

    fn connect(
        &self,
        user: Option<&str>,
        password: Option<&str>,
    ) -> redis::RedisResult<redis::Connection> {
        let info = redis::ConnectionInfo {
            addr: redis::ConnectionAddr::Tcp(self.host().to_owned(), self.port),
            redis: redis::RedisConnectionInfo {
                db: 0,
                username: user.map(str::to_owned),
                password: password.map(str::to_owned),
                ..Default::default()
            },
        };
        redis::Client::open(info)?.get_connection_with_timeout(Duration::from_secs(10))
    }

    fn write_config(&self) {
        let b = &self.builder;
        let dir = self.dir.path();
        let mut conf = String::new();
        let _ = writeln!(conf, "bind 127.0.0.1");
        let _ = writeln!(conf, "port {}", self.port);
        let _ = writeln!(conf, "dir {}", dir.display());
        let _ = writeln!(conf, "logfile {}", dir.join("server.log").display());
        let _ = writeln!(conf, "daemonize no");
        // No automatic snapshots: tests decide when to SAVE.
        let _ = writeln!(conf, "save \"\"");
        if b.version != Version::Redis6_2 {
            // DEBUG is off by default since 7.0; tests use it (e.g. DEBUG RELOAD).
            let _ = writeln!(conf, "enable-debug-command yes");
        }
        if b.cluster {
            let _ = writeln!(conf, "cluster-enabled yes");
            let _ = writeln!(conf, "cluster-config-file nodes.conf");
            let _ = writeln!(conf, "cluster-node-timeout 3000");
        }
        if let Some(pw) = &b.password {
            let _ = writeln!(conf, "requirepass {pw}");
            if b.cluster {
                let _ = writeln!(conf, "masterauth {pw}");
            }
        }
        if let (Some(require), Some(port)) = (b.tls, self.tls_port) {
            let file = |name: &str| dir.join(name).display().to_string();
            let _ = writeln!(conf, "tls-port {port}");
            let _ = writeln!(conf, "tls-cert-file {}", file(crate::tls::SERVER_CERT));
            let _ = writeln!(conf, "tls-key-file {}", file(crate::tls::SERVER_KEY));
            let _ = writeln!(conf, "tls-ca-cert-file {}", file(crate::tls::CA));
            let _ = writeln!(
                conf,
                "tls-auth-clients {}",
                if require { "yes" } else { "no" }
            );
        }
        for u in &b.users {
            let _ = writeln!(conf, "user {} on >{} {}", u.name, u.password, u.rules);
        }
        for (k, v) in &b.config {
            let _ = writeln!(conf, "{k} {v}");
        }
        fs::write(self.conf_path(), conf).expect("write the server's config file");
    }

    fn conf_path(&self) -> PathBuf {
        self.dir.path().join("server.conf")
    }

    fn spawn_and_wait(&mut self) -> Result<(), StartError> {
        let _ = fs::remove_file(self.dir.path().join("server.log"));
        let output =
            fs::File::create(self.dir.path().join("stdout.log")).expect("create stdout.log");
        let errors = output.try_clone().expect("clone stdout.log handle");
        let child = Command::new(&self.binary)
            .arg(self.conf_path())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.binary.display()));
        self.child = Some(child);

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let text = self.output();
                return Err(if text.contains("Address already in use") {
                    StartError::PortTaken
                } else {
                    StartError::Exited(format!("exited with {status}"))
                });
            }
            if self.ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(StartError::Timeout);
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Ready means PING answers PONG with the default user's credentials (not LOADING).
    fn ready(&self) -> bool {
        let info = redis::ConnectionInfo {
            addr: redis::ConnectionAddr::Tcp(self.host().to_owned(), self.port),
            redis: redis::RedisConnectionInfo {
                password: self.builder.password.clone(),
                ..Default::default()
            },
        };
        let Ok(client) = redis::Client::open(info) else {
            return false;
        };
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_millis(500)) else {
            return false;
        };
        matches!(redis::cmd("PING").query::<String>(&mut con), Ok(pong) if pong == "PONG")
    }

    fn check_release(&self) {
        let mut con = self.client();
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut con)
            .unwrap_or_else(|e| panic!("INFO server on {self:?}: {e}"));
        let field = if self.version().is_valkey() {
            "valkey_version:"
        } else {
            "redis_version:"
        };
        let reported = info
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .map(str::trim)
            .unwrap_or("(none)");
        assert_eq!(
            reported,
            self.version().release(),
            "{} at {} reports {field}{reported}; expected {}",
            self.version(),
            self.binary.display(),
            self.version().release()
        );
    }

    /// The server's log and stdout/stderr, for failure messages.
    fn output(&self) -> String {
        let stdout = fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default();
        format!("{stdout}{}", self.log())
    }

    fn failure(&self, e: &StartError) -> String {
        let out = self.output();
        let tail: Vec<&str> = out.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "{} ({}) did not start on port {}: {}\n--- end of its output ---\n{}",
            self.version(),
            self.binary.display(),
            self.port,
            match e {
                StartError::PortTaken => "its port was taken on every attempt".to_owned(),
                StartError::Exited(status) => status.clone(),
                StartError::Timeout => format!("no PONG within {READY_TIMEOUT:?}"),
            },
            tail.join("\n")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::env::var_os("TESTKIT_KEEP").is_some() {
            let dir = std::mem::replace(&mut self.dir, TempDir::new().expect("temp dir"));
            eprintln!("testkit: kept {}", dir.keep().display());
        }
    }
}
