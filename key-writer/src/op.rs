//! One request to the target, as the writer makes it and the pipeline sends it:
//! its arguments, the key that routes it, how its reply is judged, the database it
//! runs in, and where it belongs in its source's stream.

use bytes::Bytes;

/// How a reply is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Any non-error reply.
    Ok,
    /// `BUSYKEY` means the key exists and is kept (policy `ignore`).
    BusyIsExisting,
    /// The rename of a built value into place: `0` from `RENAMENX` (`nx`) means
    /// the key exists (policy `ignore` / `fail`); "no such key" means the value's
    /// own expiry passed while it was built (`expiring`), as it would have on the
    /// source.
    Rename { nx: bool, expiring: bool },
    /// An `EXEC`: each element of the array is checked too.
    Exec,
    /// `FUNCTION LOAD` without `REPLACE`: "already exists" is kept (policy `ignore`).
    FunctionExists,
}

/// Where in its source's stream a request belongs: the offset just after the
/// command it comes from, and the database the stream had selected there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) offset: u64,
    pub(crate) db: u64,
}

/// One request in a node's queue.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub(crate) args: Vec<Bytes>,
    /// The key the request writes (for routing and messages); `None` for keyless.
    pub(crate) key: Option<Bytes>,
    pub(crate) expect: Expect,
    /// The database it runs in on a single node (`None`: any).
    pub(crate) db: Option<u64>,
    /// Where it belongs in its source's stream (`None`: not a stream's, e.g. an
    /// RDB's key).
    pub(crate) pos: Option<Pos>,
    pub(crate) asking: bool,
    pub(crate) attempts: u32,
}

impl Op {
    pub(crate) fn new(args: Vec<Bytes>, key: Option<Bytes>, expect: Expect) -> Op {
        Op {
            args,
            key,
            expect,
            db: None,
            pos: None,
            asking: false,
            attempts: 0,
        }
    }

    /// The request as part of the source's stream at `pos`.
    pub(crate) fn at(mut self, pos: Option<Pos>) -> Op {
        self.pos = pos;
        self
    }

    pub(crate) fn size(&self) -> usize {
        self.args.iter().map(|a| a.len() + 16).sum()
    }

    /// A `SELECT` the pipeline made for the connection it was written to (made
    /// again for the next one).
    pub(crate) fn is_select(&self) -> bool {
        self.key.is_none() && self.pos.is_none() && self.args[0].eq_ignore_ascii_case(b"SELECT")
    }
}
