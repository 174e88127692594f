//! What a node is sent in one go, and how its replies come back: requests on their
//! own, or, when checkpoints are kept, the requests of a source's stream in one
//! `MULTI`/`EXEC` with the node's checkpoint, so that they and the checkpoint apply
//! together or not at all.
//!
//! ```text
//! MULTI                          +OK
//! <request> ...                  +QUEUED (or the error that aborts the EXEC)
//! [SELECT 0]                     +QUEUED
//! SET <checkpoint key> <value>   +QUEUED
//! EXEC                           *<one reply per queued request> | -EXECABORT ...
//! ```

use bytes::Bytes;
use endpoint::Connection;
use resp_codec::Frame;

use crate::checkpoint::Checkpoint;
use crate::command::b;
use crate::op::Op;

/// Requests in one `MULTI`/`EXEC` with a checkpoint.
#[derive(Clone, Debug)]
pub(crate) struct Atomic {
    /// The requests (with any `SELECT` they need already among them).
    pub(crate) ops: Vec<Op>,
    /// The checkpoint the node holds once they are applied.
    pub(crate) checkpoint: Checkpoint,
    /// Its key on this node.
    pub(crate) key: Bytes,
    /// A `SELECT 0` before the checkpoint (a single node in another database).
    pub(crate) select: bool,
}

/// What was sent to a node, in order.
#[derive(Clone, Debug)]
pub(crate) enum Sent {
    /// A request on its own (after `ASKING` when it has to).
    One(Op),
    /// Requests that apply together with a checkpoint.
    Atomic(Atomic),
}

/// What was sent, with its replies.
#[derive(Debug)]
pub(crate) enum Replies {
    /// The request and its reply.
    One(Op, Frame),
    /// The batch and the replies to `MULTI`, to each queued request, and to `EXEC`.
    Atomic {
        batch: Atomic,
        multi: Frame,
        queued: Vec<Frame>,
        exec: Frame,
    },
}

impl Sent {
    /// Writes the requests to `con`'s buffer; returns the bytes of arguments.
    pub(crate) fn write(&self, con: &mut Connection) -> u64 {
        let mut bytes = 0;
        let mut send = |con: &mut Connection, args: &[Bytes]| {
            bytes += args.iter().map(|a| a.len() as u64).sum::<u64>();
            con.send(args);
        };
        match self {
            Sent::One(o) => {
                if o.asking {
                    con.send(&["ASKING"]);
                }
                send(con, &o.args);
            }
            Sent::Atomic(a) => {
                con.send(&["MULTI"]);
                for o in &a.ops {
                    send(con, &o.args);
                }
                if a.select {
                    con.send(&["SELECT", "0"]);
                }
                send(con, &[b("SET"), a.key.clone(), a.checkpoint.encode()]);
                con.send(&["EXEC"]);
            }
        }
        bytes
    }

    /// Reads the replies to what [`Sent::write`] wrote.
    ///
    /// # Errors
    /// When the connection fails, with what was sent: it may or may not have been
    /// applied.
    pub(crate) async fn read(
        self,
        con: &mut Connection,
    ) -> Result<Replies, (Sent, endpoint::Error)> {
        match self {
            Sent::One(o) => {
                let mut reply = Ok(Frame::Null);
                if o.asking {
                    reply = con.read_reply().await;
                }
                if reply.is_ok() {
                    reply = con.read_reply().await;
                }
                match reply {
                    Ok(reply) => Ok(Replies::One(o, reply)),
                    Err(e) => Err((Sent::One(o), e)),
                }
            }
            Sent::Atomic(batch) => match read_atomic(&batch, con).await {
                Ok((multi, queued, exec)) => Ok(Replies::Atomic {
                    batch,
                    multi,
                    queued,
                    exec,
                }),
                Err(e) => Err((Sent::Atomic(batch), e)),
            },
        }
    }
}

/// The replies to `MULTI`, to each queued request, and to `EXEC`.
async fn read_atomic(
    batch: &Atomic,
    con: &mut Connection,
) -> endpoint::Result<(Frame, Vec<Frame>, Frame)> {
    let multi = con.read_reply().await?;
    let mut queued = Vec::with_capacity(batch.ops.len() + 2);
    for _ in 0..batch.ops.len() + usize::from(batch.select) + 1 {
        queued.push(con.read_reply().await?);
    }
    let exec = con.read_reply().await?;
    Ok((multi, queued, exec))
}
