//! Server addresses as users write them: `redis://[[user]:password@]host[:port][/db]`
//! (a lone `password@` is a password, as redis-cli reads it),
//! `rediss://` for TLS, or a bare `host:port`.
//!
//! The password is kept in a [`Secret`], which never prints itself: `Display` and
//! `Debug` of an [`Endpoint`] show `***` in its place, and parse errors never quote
//! the input.

use std::fmt;
use std::str::FromStr;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// The port a URL without one means.
pub const DEFAULT_PORT: u16 = 6379;

/// A password or other secret: usable, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself, to send it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a server is and how to log in: parsed from a URL.
///
/// ```
/// use endpoint::Endpoint;
///
/// let e: Endpoint = "rediss://app:s3cr%40t@cache.example.com:6380/2".parse()?;
/// assert_eq!((e.host(), e.port(), e.tls(), e.db()), ("cache.example.com", 6380, true, Some(2)));
/// assert_eq!(e.password().map(|p| p.expose()), Some("s3cr@t"));
/// assert_eq!(e.to_string(), "rediss://app:***@cache.example.com:6380/2");
/// # Ok::<(), endpoint::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    host: String,
    port: u16,
    tls: bool,
    username: Option<String>,
    password: Option<Secret>,
    db: Option<u64>,
}

impl Endpoint {
    /// Parses `redis://[user[:password]@]host[:port][/db]`, `rediss://...` (TLS), or
    /// a bare `host[:port]`. User and password are percent-decoded; an IPv6 host is
    /// written in brackets.
    ///
    /// # Errors
    /// [`Error::Url`] saying what is wrong, without quoting the input.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad = |reason: &'static str| Error::Url { reason };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("rediss://") {
            (true, rest)
        } else if url.contains("://") {
            return Err(bad("the scheme must be redis:// or rediss://"));
        } else {
            (false, url)
        };
        // The last `@` ends the credentials: a password may contain `@` unencoded.
        let (credentials, rest) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let end = inner.find(']').ok_or(bad("unclosed [ in an IPv6 host"))?;
            let port = match &inner[end + 1..] {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(bad("text after the IPv6 host"))?),
            };
            (&inner[..end], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None | Some("") => DEFAULT_PORT,
            Some(p) => p
                .parse()
                .map_err(|_| bad("the port is not a number from 0 to 65535"))?,
        };
        let path = path.split('?').next().unwrap_or("");
        let db = match path.trim_start_matches('/') {
            "" => None,
            d => Some(d.parse().map_err(|_| bad("the database is not a number"))?),
        };
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| bad("the credentials are not UTF-8 once percent-decoded"))
        };
        // As redis-cli reads them: `user:password@`, `:password@`, and a lone
        // `password@` (never taken for a user name, which would print it).
        let (username, password) = match credentials {
            None => (None, None),
            Some(c) => match c.split_once(':') {
                Some((user, pw)) => (Some(decode(user)?), Some(Secret(decode(pw)?))),
                None => (None, Some(Secret(decode(c)?))),
            },
        };
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            tls,
            username: username.filter(|u| !u.is_empty()),
            password,
            db,
        })
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the connection uses TLS (`rediss://`).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The ACL user, when given.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password, when given.
    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// Whether a password was given.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The database to select, when given.
    pub fn db(&self) -> Option<u64> {
        self.db
    }

    /// `host:port` (IPv6 hosts in brackets), as sockets take it.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The same endpoint at another address (e.g. a cluster node the first one
    /// named), with the same credentials, TLS and database.
    pub fn with_addr(&self, host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.to_owned(),
            port,
            ..self.clone()
        }
    }

    /// The same endpoint with other credentials.
    pub fn with_credentials(&self, username: Option<&str>, password: Option<Secret>) -> Endpoint {
        Endpoint {
            username: username.map(str::to_owned),
            password,
            ..self.clone()
        }
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Endpoint> {
        Endpoint::parse(s)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tls { "rediss://" } else { "redis://" })?;
        match (&self.username, &self.password) {
            (Some(u), Some(_)) => write!(f, "{u}:***@")?,
            (None, Some(_)) => f.write_str(":***@")?,
            (Some(u), None) => write!(f, "{u}@")?,
            (None, None) => {}
        }
        f.write_str(&self.addr())?;
        if let Some(db) = self.db {
            write!(f, "/{db}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        let e = Endpoint::parse("127.0.0.1:7000").unwrap();
        assert_eq!(
            (e.host(), e.port(), e.tls(), e.db()),
            ("127.0.0.1", 7000, false, None)
        );
        let e = Endpoint::parse("redis://localhost").unwrap();
        assert_eq!(e.port(), DEFAULT_PORT);
        let e = Endpoint::parse("redis://:pw@h:1/3").unwrap();
        assert_eq!(
            (e.username(), e.has_password(), e.db()),
            (None, true, Some(3))
        );
        assert_eq!(e.to_string(), "redis://:***@h:1/3");
        let e = Endpoint::parse("rediss://secret@[::1]:6380").unwrap();
        assert_eq!((e.host(), e.port(), e.tls()), ("::1", 6380, true));
        assert_eq!(e.addr(), "[::1]:6380");
        assert_eq!(e.password().unwrap().expose(), "secret", "a lone password");
        assert_eq!(e.to_string(), "rediss://:***@[::1]:6380");
        // An unencoded @ in a password.
        let e = Endpoint::parse("redis://u:p@ss@h:2").unwrap();
        assert_eq!(e.password().unwrap().expose(), "p@ss");
    }

    #[test]
    fn errors_never_quote_the_input() {
        for bad in [
            "http://u:hunter2@h",
            "redis://u:hunter2@h:notaport",
            "redis://u:hunter2@h:1/x",
            "redis://u:hunter2@",
            "redis://u:hunter2@[::1",
        ] {
            let e = Endpoint::parse(bad).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{e}");
            assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
        }
    }

    proptest! {
        #[test]
        fn secrets_never_print(user in "[a-z]{1,8}", raw in "[ -~]{0,20}", port: u16, db in 0u64..16) {
            let pw = format!("PW~{raw}");
            let encoded: String = percent_encoding::utf8_percent_encode(
                &pw, percent_encoding::NON_ALPHANUMERIC).to_string();
            let url = format!("redis://{user}:{encoded}@host:{port}/{db}");
            let e = Endpoint::parse(&url).unwrap();
            prop_assert_eq!(e.password().unwrap().expose(), pw.as_str());
            prop_assert_eq!(e.username(), Some(user.as_str()));
            prop_assert_eq!((e.port(), e.db()), (port, Some(db)));
            let shown = format!("{e} {e:?} {:?}", e.password());
            prop_assert!(!shown.contains(&encoded) && !shown.contains(&pw));
            // Display parses back to the same place.
            let back = Endpoint::parse(&e.to_string()).unwrap();
            prop_assert_eq!((back.host(), back.port(), back.db()), (e.host(), e.port(), e.db()));
        }
    }
}
