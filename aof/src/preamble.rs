//! The RDB preamble: an AOF written by a rewrite with `aof-use-rdb-preamble yes`
//! starts with a whole RDB, and so does a multi-part base `.rdb` file.
//!
//! The server tells one by its magic (`aof.c`, `loadSingleAppendOnlyFile`: a file
//! starting with `REDIS`, or Valkey's `VALKEY`, is loaded with `rdbLoadRio` first).
//! Its length is known only by reading it through, hence `rdb_parser::measure`.

use bytes::{Bytes, BytesMut};

/// The magics an RDB starts with.
const MAGICS: [&[u8]; 2] = [b"REDIS", b"VALKEY"];

/// What the start of a file is.
#[derive(Debug)]
pub(crate) enum Start {
    /// Not enough bytes yet to tell, or to measure the RDB.
    Wait,
    /// No RDB: commands from the first byte.
    Commands,
    /// The RDB, magic through checksum, taken off the buffer.
    Rdb(Bytes),
}

/// Reads the RDB at the start of a file, if there is one.
#[derive(Debug, Default)]
pub(crate) struct Preamble {
    /// Don't measure again before the buffer holds this much.
    measure_at: usize,
}

impl Preamble {
    /// Looks at the file's first bytes in `buf`; `eof` says that no more will come.
    ///
    /// # Errors
    /// What `rdb-parser` finds in a corrupt RDB, or one that the file's end cuts
    /// short (then nothing after it could be read).
    pub(crate) fn take(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Start, rdb_parser::Error> {
        let n = buf.len();
        if !MAGICS.iter().any(|m| buf.starts_with(m)) {
            // Wait while what is there could still be the start of a magic.
            if !eof && n < 6 && MAGICS.iter().any(|m| m.starts_with(buf)) {
                return Ok(Start::Wait);
            }
            return Ok(Start::Commands);
        }
        // Measuring reads the whole RDB: wait for the buffer to double between
        // attempts, so that a large preamble arriving in pieces is read a few times,
        // not once per piece.
        if !eof && n < self.measure_at {
            return Ok(Start::Wait);
        }
        match rdb_parser::measure(buf) {
            Ok(len) => Ok(Start::Rdb(buf.split_to(len).freeze())),
            // A prefix of a valid RDB can also fail as a length too large for the
            // input: until the end, any failure may be lack of input.
            Err(_) if !eof => {
                self.measure_at = n.saturating_mul(2);
                Ok(Start::Wait)
            }
            Err(e) => Err(e),
        }
    }
}
