//! One record of an RDB body: an opcode record (aux field, db change, function...),
//! or a key with the opcodes that prefix it (expiry, idle time, frequency, metadata).
//!
//! Reading is split at the key name so that a streaming reader can take over a key
//! whose value is too large to buffer: [`read_head`] stops after the key name and
//! [`KeyHead::read_value`] reads the value when it is all there.
//!
//! Source: redis `src/rdb.c` (`rdbLoadRioWithLoadingCtx`), `src/rdb.h` (`RDB_OPCODE_*`).

use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};
use crate::header::{Dialect, Header};
use crate::item::{Item, Key};
use crate::length::read_len;
use crate::module::Module;
use crate::opcode::{self, Function, KeyMeta, SlotImport};
use crate::string::{RdbString, read_string};
use crate::value::read_value;

/// What a record starts with.
pub(crate) enum Head<'a> {
    /// A whole record that is not a key.
    Item(Item<'a>),
    /// The `EOF` opcode, at this cursor position (the checksum follows).
    Eof { at: usize },
    /// A key's prefix and name; its value follows at the cursor.
    Key(KeyHead<'a>),
}

/// Everything about a key that comes before its value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyHead<'a> {
    pub(crate) db: u64,
    pub(crate) key: RdbString<'a>,
    pub(crate) expire_ms: Option<i64>,
    pub(crate) idle: Option<u64>,
    pub(crate) freq: Option<u8>,
    pub(crate) meta: Option<KeyMeta<'a>>,
    pub(crate) type_byte: u8,
    /// Absolute offset of the record's first byte.
    pub(crate) offset: u64,
}

/// Reads the next record up to a key's value (or the whole record, if not a key).
/// `db` tracks `SELECTDB`.
#[inline]
pub(crate) fn read_head<'a>(
    cur: &mut Cursor<'a>,
    header: Header,
    db: &mut u64,
) -> Result<Head<'a>> {
    let v = header.version;
    let redis = header.dialect == Dialect::Redis;
    let offset = cur.offset();
    let (mut expire_ms, mut idle, mut freq, mut meta) = (None, None, None, None);
    loop {
        let at = cur.pos();
        let op = cur.u8("a type or opcode")?;
        let has_key_prefix =
            expire_ms.is_some() || idle.is_some() || freq.is_some() || meta.is_some();
        let item = match op {
            opcode::EXPIRETIME_MS => {
                expire_ms = Some(cur.i64_le("expiry")?);
                continue;
            }
            opcode::EXPIRETIME => {
                expire_ms = Some(i64::from(cur.i32_le("expiry")?) * 1000);
                continue;
            }
            opcode::IDLE => {
                idle = Some(read_len(cur, v, "idle time")?);
                continue;
            }
            opcode::FREQ => {
                freq = Some(cur.u8("LFU frequency")?);
                continue;
            }
            opcode::SLOT_IMPORT_OR_KEY_META if redis => {
                meta = Some(KeyMeta::read(cur, v)?);
                continue;
            }
            _ if has_key_prefix && op >= opcode::SLOT_IMPORT_OR_KEY_META => {
                return Err(cur.error_at(
                    ErrorKind::Invalid("record between a key's metadata and the key"),
                    at,
                ));
            }
            opcode::SLOT_IMPORT_OR_KEY_META => Item::SlotImport(SlotImport::read(cur, v)?),
            opcode::AUX => {
                let key = read_string(cur, v, "aux field name")?;
                let value = read_string(cur, v, "aux field value")?;
                Item::Aux { key, value }
            }
            opcode::SELECTDB => {
                *db = read_len(cur, v, "database number")?;
                Item::SelectDb { db: *db }
            }
            opcode::RESIZEDB => {
                let db_size = read_len(cur, v, "database size")?;
                let expires_size = read_len(cur, v, "expires size")?;
                Item::ResizeDb {
                    db_size,
                    expires_size,
                }
            }
            opcode::MODULE_AUX => {
                // The aux body: module id, then UINT `when`, then the opcode series.
                let id = read_len(cur, v, "module id")?;
                let when_at = cur.pos();
                if read_len(cur, v, "module aux when opcode")? != 2 {
                    return Err(cur.error_at(ErrorKind::Invalid("module aux when opcode"), when_at));
                }
                let when = read_len(cur, v, "module aux when")?;
                let module = Module::read_body(cur, v, id)?;
                Item::ModuleAux { when, module }
            }
            opcode::FUNCTION2 => {
                let code = read_string(cur, v, "function library")?;
                Item::Function(Function::Library { code })
            }
            opcode::FUNCTION_PRE_GA => Item::Function(Function::read_pre_ga(cur, v)?),
            opcode::SLOT_INFO => {
                let slot = read_len(cur, v, "slot")?;
                let keys = read_len(cur, v, "slot keys")?;
                let expires = read_len(cur, v, "slot expires")?;
                Item::SlotInfo {
                    slot,
                    keys,
                    expires,
                }
            }
            opcode::EOF => return Ok(Head::Eof { at }),
            type_byte => {
                let key = read_string(cur, v, "key")?;
                return Ok(Head::Key(KeyHead {
                    db: *db,
                    key,
                    expire_ms,
                    idle,
                    freq,
                    meta,
                    type_byte,
                    offset,
                }));
            }
        };
        return Ok(Head::Item(item));
    }
}

impl<'a> KeyHead<'a> {
    /// Reads the key's value at the cursor and makes the whole key item.
    #[inline]
    pub(crate) fn read_value(self, cur: &mut Cursor<'a>, header: Header) -> Result<Item<'a>> {
        let value_start = cur.pos();
        let value = read_value(
            cur,
            self.type_byte,
            header.version,
            header.dialect,
            Some(self.key),
        )
        .map_err(|e| e.with_rdb_key(Some(self.key)))?;
        Ok(Item::Key(Key {
            db: self.db,
            key: self.key,
            expire_ms: self.expire_ms,
            idle: self.idle,
            freq: self.freq,
            meta: self.meta,
            value,
            type_byte: self.type_byte,
            raw_value: cur.slice(value_start, cur.pos()),
            header,
            offset: self.offset,
        }))
    }
}
