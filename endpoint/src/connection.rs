//! One authenticated connection to a server: commands out, replies in.

use std::future::Future;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use resp_codec::{Frame, FrameCodec, encode_command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::info::ServerInfo;
use crate::stream::Stream;
use crate::tls::TlsOptions;
use crate::url::{Endpoint, Secret};

/// How to connect; see [`Connection::connect`].
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    connect_timeout: Duration,
    io_timeout: Option<Duration>,
    tls: TlsOptions,
    resp3: bool,
    client_name: Option<String>,
    credentials: Option<(Option<String>, Option<Secret>)>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            io_timeout: None,
            tls: TlsOptions::default(),
            resp3: false,
            client_name: None,
            credentials: None,
        }
    }
}

impl ConnectOptions {
    /// Defaults: 10 s to connect, no read timeout, RESP2, certificates verified.
    pub fn new() -> Self {
        ConnectOptions::default()
    }

    /// Time allowed to connect, set up TLS and log in.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each reply of [`Connection::request`] and
    /// [`Connection::read_reply`].
    pub fn io_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// TLS settings for `rediss://` endpoints.
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Speaks RESP3 (`HELLO 3`) instead of RESP2.
    pub fn resp3(mut self, yes: bool) -> Self {
        self.resp3 = yes;
        self
    }

    /// Names the connection (`CLIENT SETNAME`), to find it in `CLIENT LIST`.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// Logs in with these credentials instead of the URL's.
    pub fn credentials(mut self, username: Option<&str>, password: Option<Secret>) -> Self {
        self.credentials = Some((username.map(str::to_owned), password));
        self
    }
}

/// An authenticated connection to one server.
///
/// ```no_run
/// # async fn run() -> Result<(), endpoint::Error> {
/// use endpoint::{ConnectOptions, Connection, Endpoint};
///
/// let endpoint: Endpoint = "redis://default:secret@127.0.0.1:6379/0".parse()?;
/// let mut con = Connection::connect(&endpoint, &ConnectOptions::new()).await?;
/// let pong = con.request(&["PING"]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    rbuf: BytesMut,
    wbuf: BytesMut,
    codec: FrameCodec,
    endpoint: Endpoint,
    io_timeout: Option<Duration>,
}

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 64 << 10;

impl Connection {
    /// Connects to `endpoint`: TCP (no Nagle delay) or TLS, then `AUTH` (or
    /// `HELLO 3 AUTH` with RESP3), `CLIENT SETNAME` and `SELECT` as asked.
    ///
    /// # Errors
    /// [`Error::AuthFailed`] when the server refuses the credentials, [`Error::Tls`]
    /// when the certificate does not verify, [`Error::Timeout`] after
    /// [`ConnectOptions::connect_timeout`], and any I/O or server error.
    ///
    /// # Cancel safety
    /// Not cancel safe: a cancelled call leaves nothing behind but may have logged in.
    pub async fn connect(endpoint: &Endpoint, options: &ConnectOptions) -> Result<Connection> {
        let endpoint = match &options.credentials {
            Some((user, pw)) => endpoint.with_credentials(user.as_deref(), pw.clone()),
            None => endpoint.clone(),
        };
        timeout(options.connect_timeout, "connect", async {
            let tcp = TcpStream::connect(endpoint.addr())
                .await
                .map_err(|source| Error::Io {
                    what: "connect",
                    source,
                })?;
            tcp.set_nodelay(true).map_err(|source| Error::Io {
                what: "set TCP_NODELAY",
                source,
            })?;
            let stream = if endpoint.tls() {
                let connector = options.tls.connector()?;
                let name = options.tls.name_for(endpoint.host())?;
                let tls = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| Error::Tls(e.to_string()))?;
                Stream::Tls(Box::new(tls))
            } else {
                Stream::Tcp(tcp)
            };
            let mut con = Connection {
                stream,
                rbuf: BytesMut::with_capacity(READ_SIZE),
                wbuf: BytesMut::new(),
                codec: FrameCodec::new(),
                endpoint: endpoint.clone(),
                io_timeout: options.io_timeout,
            };
            con.log_in(options).await?;
            tracing::debug!(endpoint = %con.endpoint, "connected");
            Ok(con)
        })
        .await
    }

    async fn log_in(&mut self, options: &ConnectOptions) -> Result<()> {
        let user = self.endpoint.username().map(str::to_owned);
        let password = self.endpoint.password().cloned();
        if options.resp3 {
            let mut args: Vec<&[u8]> = vec![b"HELLO", b"3"];
            if let Some(pw) = &password {
                args.extend([
                    &b"AUTH"[..],
                    user.as_deref().unwrap_or("default").as_bytes(),
                    pw.expose().as_bytes(),
                ]);
            }
            if let Some(name) = &options.client_name {
                args.extend([&b"SETNAME"[..], name.as_bytes()]);
            }
            self.request(&args).await.map_err(auth_failure)?;
        } else {
            if let Some(pw) = &password {
                let mut args: Vec<&[u8]> = vec![b"AUTH"];
                if let Some(user) = &user {
                    args.push(user.as_bytes());
                }
                args.push(pw.expose().as_bytes());
                // Any refusal of AUTH is about the credentials.
                self.request(&args).await.map_err(|e| match e {
                    Error::Server { message, .. } => Error::AuthFailed { message },
                    other => other,
                })?;
            }
            if let Some(name) = &options.client_name {
                self.request(&["CLIENT", "SETNAME", name]).await?;
            }
        }
        if let Some(db) = self.endpoint.db() {
            self.request(&["SELECT", &db.to_string()]).await?;
        }
        Ok(())
    }

    /// Sends one command and reads its reply.
    ///
    /// # Errors
    /// [`Error::Server`] for an error reply (naming the command, not its
    /// arguments); I/O, protocol and timeout errors.
    ///
    /// # Cancel safety
    /// Not cancel safe: the reply of a cancelled request would be read as the next
    /// one's. Drop the connection instead.
    pub async fn request<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame> {
        self.send(args);
        self.flush().await?;
        let reply = self.read_reply().await?;
        check(args, reply)
    }

    /// Queues a command without sending it (pipelining): [`Connection::flush`]
    /// sends what is queued, [`Connection::read_reply`] reads the replies in order.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        encode_command(&mut self.wbuf, args);
    }

    /// Bytes queued by [`Connection::send`] and not yet flushed.
    pub fn queued(&self) -> usize {
        self.wbuf.len()
    }

    /// Sends every queued command.
    ///
    /// # Errors
    /// I/O errors.
    ///
    /// # Cancel safety
    /// Not cancel safe: part of the queue may have been sent.
    pub async fn flush(&mut self) -> Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let buf = self.wbuf.split();
        self.stream
            .write_all(&buf)
            .await
            .map_err(|source| Error::Io {
                what: "write",
                source,
            })?;
        self.stream.flush().await.map_err(|source| Error::Io {
            what: "write",
            source,
        })
    }

    /// Reads the next reply, error replies included (as [`Frame::Error`]); RESP3
    /// push frames are skipped.
    ///
    /// # Errors
    /// I/O, protocol and timeout errors; [`Error::Closed`] at end of stream.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes read before a cancellation stay buffered.
    pub async fn read_reply(&mut self) -> Result<Frame> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.rbuf)? {
                if matches!(frame, Frame::Push(_)) {
                    continue;
                }
                return Ok(frame);
            }
            let read = self.stream.read_buf(&mut self.rbuf);
            let n = match self.io_timeout {
                Some(t) => {
                    timeout(t, "read a reply", async {
                        read.await.map_err(|source| Error::Io {
                            what: "read",
                            source,
                        })
                    })
                    .await?
                }
                None => read.await.map_err(|source| Error::Io {
                    what: "read",
                    source,
                })?,
            };
            if n == 0 {
                return Err(Error::Closed);
            }
            if self.rbuf.capacity() - self.rbuf.len() < 1024 {
                self.rbuf.reserve(READ_SIZE);
            }
        }
    }

    /// The server's version, flavour, role, cluster mode and `proto-max-bulk-len`.
    ///
    /// # Errors
    /// When `INFO` fails; a forbidden `CONFIG GET` only leaves the limit unknown.
    pub async fn server_info(&mut self) -> Result<ServerInfo> {
        let text = self.info("default").await?;
        let mut info = ServerInfo::from_info(&text);
        info.proto_max_bulk_len = self
            .config_get("proto-max-bulk-len")
            .await?
            .and_then(|t| t.parse().ok());
        Ok(info)
    }

    /// The text of `INFO section` (`keyspace`, `replication`...).
    ///
    /// # Errors
    /// An error reply, a reply that is not text, and I/O errors.
    pub async fn info(&mut self, section: &str) -> Result<String> {
        match self.request(&["INFO", section]).await? {
            Frame::BulkString(b) | Frame::VerbatimString { text: b, .. } => {
                Ok(String::from_utf8_lossy(&b).into_owned())
            }
            _ => Err(Error::UnexpectedReply {
                command: "INFO".into(),
                what: "not a string",
            }),
        }
    }

    /// One step of `SCAN cursor [MATCH pattern] COUNT count`: the next cursor (`0`
    /// at the end) and the keys of this step.
    ///
    /// # Errors
    /// An error reply, a reply of another shape, and I/O errors.
    pub async fn scan(
        &mut self,
        cursor: &[u8],
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(Vec<u8>, Vec<Bytes>)> {
        let count = count.max(1).to_string();
        let mut args: Vec<&[u8]> = vec![b"SCAN", cursor];
        if let Some(pattern) = pattern {
            args.extend([&b"MATCH"[..], pattern]);
        }
        args.extend([&b"COUNT"[..], count.as_bytes()]);
        let unexpected = || Error::UnexpectedReply {
            command: "SCAN".into(),
            what: "not a cursor and a list of keys",
        };
        let Frame::Array(parts) = self.request(&args).await? else {
            return Err(unexpected());
        };
        let (Some(next), Some(Frame::Array(keys))) =
            (parts.first().and_then(Frame::as_bytes), parts.get(1))
        else {
            return Err(unexpected());
        };
        let keys = keys.iter().filter_map(|k| k.as_bytes().cloned()).collect();
        Ok((next.to_vec(), keys))
    }

    /// A setting's value from `CONFIG GET name` (RESP2 or RESP3 reply), or `None`
    /// when the setting is unknown or `CONFIG` is refused (managed services often
    /// forbid it).
    ///
    /// # Errors
    /// I/O and protocol errors (not error replies).
    pub async fn config_get(&mut self, name: &str) -> Result<Option<String>> {
        Ok(match self.request(&["CONFIG", "GET", name]).await {
            Ok(Frame::Array(v)) if v.len() == 2 => text_of(&v[1]),
            Ok(Frame::Map(v)) if v.len() == 1 => text_of(&v[0].1),
            Ok(_) => None,
            Err(e) if e.server_code().is_some() => None,
            Err(e) => return Err(e),
        })
    }

    /// The endpoint this connection reached (its `Display` hides the password).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The address of the server's socket.
    ///
    /// # Errors
    /// When the socket is gone.
    pub fn peer_addr(&self) -> Result<std::net::SocketAddr> {
        self.stream.tcp().peer_addr().map_err(|source| Error::Io {
            what: "peer address",
            source,
        })
    }

    /// The raw stream and the bytes already read from it but not decoded, to speak
    /// another protocol on it (e.g. a replication stream after `PSYNC`).
    pub fn into_parts(self) -> (Stream, BytesMut) {
        (self.stream, self.rbuf)
    }
}

/// The text of a string-like frame.
fn text_of(frame: &Frame) -> Option<String> {
    frame
        .as_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Turns an error reply into [`Error::Server`] naming the command.
fn check<A: AsRef<[u8]>>(args: &[A], reply: Frame) -> Result<Frame> {
    if reply.is_error() {
        let message = reply
            .as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let command = args
            .first()
            .map(|a| String::from_utf8_lossy(a.as_ref()).to_ascii_uppercase())
            .unwrap_or_default();
        return Err(Error::Server { command, message });
    }
    Ok(reply)
}

/// Refusals of `HELLO ... AUTH` that are about the credentials.
fn auth_failure(e: Error) -> Error {
    match e {
        Error::Server { message, .. }
            if message.starts_with("WRONGPASS") || message.starts_with("NOAUTH") =>
        {
            Error::AuthFailed { message }
        }
        other => other,
    }
}

async fn timeout<T>(
    after: Duration,
    what: &'static str,
    f: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(after, f)
        .await
        .map_err(|_| Error::Timeout { what, after })?
}
