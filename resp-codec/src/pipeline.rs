//! Pipelining: many commands encoded into one buffer, sent in one write, their
//! replies read back in order.

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::command::{Command, encode_command};

/// Many commands encoded back to back, to send in one write and read their
/// replies in order (`len` replies, one per command).
///
/// ```
/// use resp_codec::Pipeline;
///
/// let mut p = Pipeline::new();
/// for i in 0..3 {
///     p.push(&["INCR".as_bytes(), format!("counter:{i}").as_bytes()]);
/// }
/// assert_eq!(p.len(), 3);
/// let bytes = p.take(); // write these; expect 3 replies
/// assert!(bytes.starts_with(b"*2\r\n$4\r\nINCR\r\n"));
/// assert!(p.is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Pipeline {
    buf: BytesMut,
    len: usize,
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty pipeline with room for `bytes` of encoded commands.
    pub fn with_capacity(bytes: usize) -> Self {
        Pipeline {
            buf: BytesMut::with_capacity(bytes),
            len: 0,
        }
    }

    /// Appends one command.
    pub fn push<A: AsRef<[u8]>>(&mut self, args: &[A]) -> &mut Self {
        encode_command(&mut self.buf, args);
        self.len += 1;
        self
    }

    /// Appends an already decoded command, byte for byte.
    pub fn push_command(&mut self, command: &Command) -> &mut Self {
        self.buf.extend_from_slice(command.wire());
        self.len += 1;
        self
    }

    /// The number of commands, hence of replies to expect.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no command was pushed since the last [`take`](Self::take).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoded commands.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the encoded commands out, leaving the pipeline empty (its spare
    /// capacity is kept for the next batch).
    pub fn take(&mut self) -> Bytes {
        self.len = 0;
        self.buf.split().freeze()
    }
}

impl fmt::Debug for Pipeline {
    // Commands may carry secrets: counts only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("commands", &self.len)
            .field("bytes", &self.buf.len())
            .finish()
    }
}
