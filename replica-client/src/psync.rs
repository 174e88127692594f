//! The master's answer to `PSYNC`: a full resync with the replication id and offset
//! to start from, or a partial resync (`+CONTINUE`, with a new id after a failover).
//!
//! # Wire format
//! ```text
//! \n\n...+FULLRESYNC <40 hex> <offset>\r\n     then the RDB payload
//! \n\n...+CONTINUE [<40 hex>]\r\n              then the command stream
//! -<error>\r\n
//! ```
//! The master may send bare newlines to keep the link alive before it answers.
//! Source: `syncWithMaster` / `slaveTryPartialResynchronization` in `replication.c`.

use bytes::{Buf, BytesMut};

use crate::error::{Error, Result, classify};

/// The longest reply line accepted.
const MAX_LINE: usize = 1024;

/// What `PSYNC` started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PsyncReply {
    /// A full resync: the RDB follows; commands then continue after `offset`.
    Full { replid: String, offset: u64 },
    /// A partial resync from the requested offset; `replid` is new after a failover.
    Continue { replid: Option<String> },
}

/// Takes the reply off the front of `buf`; `None` until a whole line is there.
pub(crate) fn read_reply(buf: &mut BytesMut) -> Result<Option<PsyncReply>> {
    // Keepalive newlines.
    let skip = buf.iter().take_while(|&&b| b == b'\n').count();
    buf.advance(skip);
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() > MAX_LINE {
            return Err(protocol("a PSYNC reply line longer than 1 KiB"));
        }
        return Ok(None);
    };
    let line = buf.split_to(end + 2);
    let text = std::str::from_utf8(&line[..end])
        .map_err(|_| protocol("a PSYNC reply that is not text"))?;
    let reply = if let Some(rest) = text.strip_prefix("+FULLRESYNC ") {
        let mut parts = rest.split(' ');
        let replid = parts.next().filter(|id| is_replid(id));
        let offset = parts.next().and_then(|o| o.parse().ok());
        match (replid, offset) {
            (Some(replid), Some(offset)) => PsyncReply::Full {
                replid: replid.to_owned(),
                offset,
            },
            _ => return Err(protocol("a malformed +FULLRESYNC line")),
        }
    } else if let Some(rest) = text.strip_prefix("+CONTINUE") {
        match rest.trim() {
            "" => PsyncReply::Continue { replid: None },
            id if is_replid(id) => PsyncReply::Continue {
                replid: Some(id.to_owned()),
            },
            _ => return Err(protocol("a malformed +CONTINUE line")),
        }
    } else if let Some(message) = text.strip_prefix('-') {
        return Err(classify("PSYNC", message.to_owned()));
    } else {
        return Err(protocol(
            "an unknown PSYNC reply (dual-channel or RDB-channel sync is not offered)",
        ));
    };
    Ok(Some(reply))
}

fn is_replid(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn protocol(what: &str) -> Error {
    Error::Protocol {
        offset: 0,
        what: what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn replies_split_anywhere() {
        let cases = [
            (
                format!("\n\n+FULLRESYNC {ID} 1234\r\n$5"),
                PsyncReply::Full {
                    replid: ID.into(),
                    offset: 1234,
                },
            ),
            (
                format!("+CONTINUE {ID}\r\n*1"),
                PsyncReply::Continue {
                    replid: Some(ID.into()),
                },
            ),
            (
                "+CONTINUE\r\n".to_owned(),
                PsyncReply::Continue { replid: None },
            ),
        ];
        for (wire, expected) in cases {
            let end = wire.find("\r\n").unwrap() + 2;
            for cut in 0..wire.len() {
                let mut buf = BytesMut::from(&wire.as_bytes()[..cut]);
                let first = read_reply(&mut buf).unwrap();
                if cut < end {
                    assert_eq!(first, None, "cut {cut}");
                    buf.extend_from_slice(&wire.as_bytes()[cut..]);
                    assert_eq!(read_reply(&mut buf).unwrap(), Some(expected.clone()));
                } else {
                    assert_eq!(first, Some(expected.clone()));
                }
                let rest = if cut < end {
                    &wire[end..]
                } else {
                    &wire[end..cut]
                };
                assert_eq!(&buf[..], rest.as_bytes(), "cut {cut}");
            }
        }
    }

    #[test]
    fn errors_are_classified() {
        let e = read_reply(&mut BytesMut::from(
            &b"-NOPERM this user has no permissions\r\n"[..],
        ));
        assert!(matches!(e, Err(Error::PsyncNotPermitted { .. })));
        let e = read_reply(&mut BytesMut::from(&b"-LOADING Redis is loading\r\n"[..]));
        assert!(matches!(e, Err(Error::MasterNotReady { .. })));
        let e = read_reply(&mut BytesMut::from(&b"+DUALCHANNELSYNC\r\n"[..]));
        assert!(matches!(e, Err(Error::Protocol { .. })));
        let e = read_reply(&mut BytesMut::from(&b"+FULLRESYNC short 1\r\n"[..]));
        assert!(matches!(e, Err(Error::Protocol { .. })));
    }
}
