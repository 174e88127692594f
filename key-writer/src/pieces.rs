//! Values that arrive in pieces (from `rdb_parser::Reader`, for values longer than
//! its record limit): each piece becomes commands on the value's [`Build`], so
//! memory stays bounded whatever the value's size.

use bytes::Bytes;
use endpoint::ServerInfo;
use rdb_parser::{Piece, Type};

use crate::build::Build;
use crate::command::b;
use crate::error::{Error, Result, shown};
use crate::render::{render, render_stream_entries, render_stream_meta};

/// The value being written in pieces.
#[derive(Debug)]
pub(crate) struct InPieces {
    /// `None` when the value is left out (a hook dropped it, or it expired): its
    /// pieces are passed over.
    pub(crate) build: Option<Build>,
    value_type: Type,
    /// Whether stream entries were written (else the stream is created empty).
    stream_entries: bool,
}

impl InPieces {
    /// A value of `value_type` written into `build` (`None`: passed over).
    pub(crate) fn new(build: Option<Build>, value_type: Type) -> Self {
        InPieces {
            build,
            value_type,
            stream_entries: false,
        }
    }

    /// The commands that write `piece`; field TTLs the target cannot keep are
    /// counted in `dropped_ttls` when given.
    pub(crate) fn commands(
        &mut self,
        piece: Piece<'_>,
        target: &ServerInfo,
        dropped_ttls: Option<&mut u64>,
    ) -> Result<Vec<Vec<Bytes>>> {
        let Some(build) = &self.build else {
            return Ok(Vec::new());
        };
        let key = build.key();
        let mut commands = Vec::new();
        match piece {
            Piece::Bytes(bytes) => commands.push(vec![
                b("APPEND"),
                key.clone(),
                Bytes::copy_from_slice(bytes),
            ]),
            Piece::Entries(value) => {
                commands = render(key, &build.name, &value, target, dropped_ttls)?
            }
            Piece::StreamEntries(mut entries) => {
                if render_stream_entries(key, &mut entries, &mut commands)? {
                    self.stream_entries = true;
                }
            }
            Piece::StreamMeta(meta) => {
                render_stream_meta(key, &meta, self.stream_entries, target, &mut commands)?
            }
            _ => {
                return Err(Error::Unsupported {
                    key: shown(&build.name),
                    reason: format!(
                        "a {} value longer than the reader's record limit has no command form; raise the limit to RESTORE it whole",
                        self.value_type.as_str()
                    ),
                });
            }
        }
        Ok(commands)
    }
}
