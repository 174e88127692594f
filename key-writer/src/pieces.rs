//! Values that arrive in pieces (from `rdb_parser::Reader`, for values longer than
//! its record limit): written as commands into a temporary key in the same slot and
//! renamed into place at the end, piece by piece, so memory stays bounded whatever
//! the value's size.

use bytes::Bytes;
use rdb_parser::{Piece, Type, ValueStart};

use crate::error::{Error, Result, shown};
use crate::pipeline::{Expect, op};
use crate::render::{render, render_stream_entries, render_stream_meta};
use crate::writer::{Writer, b};

/// The value being written in pieces.
#[derive(Debug)]
pub(crate) struct InPieces {
    db: u64,
    name: Bytes,
    build: Bytes,
    temp: Option<Bytes>,
    expire_ms: Option<i64>,
    value_type: Type,
    stream_entries: bool,
    /// Left out by a filter or expired: pieces are dropped.
    skipped: bool,
}

impl Writer {
    /// Starts a value that comes in pieces ([`rdb_parser::Event::ValueStart`]).
    ///
    /// # Errors
    /// A value already in progress, an unmapped database, error replies.
    pub async fn begin_value(&mut self, start: &ValueStart<'_>) -> Result<()> {
        if self.in_pieces.is_some() {
            return Err(Error::Refused {
                command: "begin_value".into(),
                reason: "a value is already being written in pieces".into(),
            });
        }
        let name = Bytes::from(start.key.to_vec()?);
        let skip = |this: &mut Self, db| {
            this.in_pieces = Some(InPieces {
                db,
                name: name.clone(),
                build: name.clone(),
                temp: None,
                expire_ms: None,
                value_type: start.value_type,
                stream_entries: false,
                skipped: true,
            });
        };
        if !self
            .options
            .filter
            .allows_key(start.db, &name, start.value_type)
        {
            self.stats.filtered += 1;
            skip(self, start.db);
            return Ok(());
        }
        let Some(expire_ms) = self.expiry(start.expire_ms) else {
            self.stats.keys_expired += 1;
            skip(self, start.db);
            return Ok(());
        };
        let db = self.map_db(start.db)?;
        let temp = self.temp_key(&name);
        let build = temp.clone().unwrap_or_else(|| name.clone());
        self.enqueue(
            db,
            op(
                vec![b("DEL"), build.clone()],
                Some(build.clone()),
                Expect::Ok,
            ),
        )
        .await?;
        self.in_pieces = Some(InPieces {
            db,
            name,
            build,
            temp,
            expire_ms,
            value_type: start.value_type,
            stream_entries: false,
            skipped: false,
        });
        Ok(())
    }

    /// Writes the next piece of the value begun with [`Writer::begin_value`].
    ///
    /// # Errors
    /// No value in progress, a module value (it has no command form), error replies.
    pub async fn write_piece(&mut self, piece: Piece<'_>) -> Result<()> {
        let Some(state) = self.in_pieces.as_mut() else {
            return Err(Error::Refused {
                command: "write_piece".into(),
                reason: "no value is being written in pieces".into(),
            });
        };
        if state.skipped {
            return Ok(());
        }
        let (db, build, name) = (state.db, state.build.clone(), state.name.clone());
        let mut commands = Vec::new();
        match piece {
            Piece::Bytes(bytes) => commands.push(vec![
                b("APPEND"),
                build.clone(),
                Bytes::copy_from_slice(bytes),
            ]),
            Piece::Entries(value) => commands = render(&build, &name, &value, &self.info)?,
            Piece::StreamEntries(mut entries) => {
                if render_stream_entries(&build, &mut entries, &mut commands)? {
                    state.stream_entries = true;
                }
            }
            Piece::StreamMeta(meta) => render_stream_meta(
                &build,
                &meta,
                state.stream_entries,
                &self.info,
                &mut commands,
            )?,
            _ => {
                return Err(Error::Unsupported {
                    key: shown(&name),
                    reason: format!(
                        "a {} value longer than the reader's record limit has no command form; raise the limit to RESTORE it whole",
                        state.value_type.as_str()
                    ),
                });
            }
        }
        for cmd in commands {
            self.enqueue(db, op(cmd, Some(build.clone()), Expect::Ok))
                .await?;
        }
        Ok(())
    }

    /// Ends the value begun with [`Writer::begin_value`]: its expiry, then the rename
    /// into place (under the existing-key policy).
    ///
    /// # Errors
    /// No value in progress, error replies.
    pub async fn end_value(&mut self) -> Result<()> {
        let Some(state) = self.in_pieces.take() else {
            return Err(Error::Refused {
                command: "end_value".into(),
                reason: "no value is being written in pieces".into(),
            });
        };
        if state.skipped {
            return Ok(());
        }
        self.finish_commands(state.db, &state.name, state.temp, state.expire_ms)
            .await
    }
}
