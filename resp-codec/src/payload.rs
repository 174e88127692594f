//! The RDB payload a master sends a replica after `+FULLRESYNC`, delivered in
//! chunks like a large bulk.
//!
//! Wire format (`replication.c`, `readSyncBulkPayload`):
//! ```text
//! \n\n...                        keepalives while the master prepares the RDB
//! $<len>\r\n<len bytes>          disk-based: no CRLF after the payload
//! $EOF:<40-byte mark>\r\n<rdb><the same 40 bytes>    diskless: length unknown
//! ```

use bytes::{Buf, BytesMut};

use crate::error::{Error, Result};
use crate::line;
use crate::streaming::Event;

/// Length of the diskless end mark (`CONFIG_RUN_ID_SIZE`).
const MARK_LEN: usize = 40;
/// Longest header line: `$EOF:` and the mark.
const MAX_HEADER: usize = 64;

/// Where the payload reader is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Payload {
    /// Before the `$` line (keepalives may come).
    Header,
    /// This many payload bytes still to come.
    Sized(u64),
    /// Until this mark.
    Marked([u8; MARK_LEN]),
}

impl Payload {
    /// The next event; `None` once the payload is over, in `done`.
    pub(crate) fn next(
        &mut self,
        buf: &mut BytesMut,
        consumed: &mut u64,
        done: &mut bool,
    ) -> Result<Option<Event>> {
        match *self {
            Payload::Header => {
                let keepalives = buf.iter().take_while(|&&c| c == b'\n').count();
                buf.advance(keepalives);
                *consumed += keepalives as u64;
                match buf.first() {
                    None => return Ok(None),
                    Some(b'$') => {}
                    Some(_) => return Err(Error::invalid("replication payload header", *consumed)),
                }
                let bad = || Error::invalid("replication payload header", *consumed);
                let cr = match line::simple(buf, 1, &mut 0) {
                    Ok(Some(cr)) if cr <= MAX_HEADER => cr,
                    Ok(None) if buf.len() <= MAX_HEADER => return Ok(None),
                    _ => return Err(bad()),
                };
                let text = &buf[1..cr];
                let len = if let Some(mark) = text.strip_prefix(b"EOF:") {
                    let mark: [u8; MARK_LEN] = mark.try_into().map_err(|_| bad())?;
                    *self = Payload::Marked(mark);
                    None
                } else {
                    match line::len(buf, 1) {
                        Ok(Some((n, _))) if n >= 0 => {
                            *self = Payload::Sized(n as u64);
                            Some(n as u64)
                        }
                        _ => return Err(bad()),
                    }
                };
                buf.advance(cr + 2);
                *consumed += cr as u64 + 2;
                Ok(Some(Event::Payload { len }))
            }
            Payload::Sized(0) => {
                *done = true;
                Ok(Some(Event::PayloadEnd))
            }
            Payload::Sized(remaining) => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let n = buf
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                *self = Payload::Sized(remaining - n as u64);
                *consumed += n as u64;
                Ok(Some(Event::BulkChunk(buf.split_to(n).freeze())))
            }
            Payload::Marked(mark) => {
                match find(buf, &mark) {
                    Some(0) => {
                        buf.advance(MARK_LEN);
                        *consumed += MARK_LEN as u64;
                        *done = true;
                        Ok(Some(Event::PayloadEnd))
                    }
                    Some(at) => {
                        *consumed += at as u64;
                        Ok(Some(Event::BulkChunk(buf.split_to(at).freeze())))
                    }
                    // Hold back what could be the start of the mark.
                    None if buf.len() >= MARK_LEN => {
                        let n = buf.len() - (MARK_LEN - 1);
                        *consumed += n as u64;
                        Ok(Some(Event::BulkChunk(buf.split_to(n).freeze())))
                    }
                    None => Ok(None),
                }
            }
        }
    }
}

/// Position of the first occurrence of `mark` in `buf`.
fn find(buf: &[u8], mark: &[u8; MARK_LEN]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = buf.get(from..)?.iter().position(|&c| c == mark[0]) {
        let at = from + i;
        if buf.get(at..at + MARK_LEN)? == mark {
            return Some(at);
        }
        from = at + 1;
    }
    None
}
