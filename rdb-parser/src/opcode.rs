//! Opcodes: the non-key records of an RDB (aux fields, db changes, functions...).
//!
//! Source: redis `src/rdb.h` (`RDB_OPCODE_*`), `src/rdb.c` (`rdbLoadRioWithLoadingCtx`);
//! valkey `src/rdb.h` for `RDB_OPCODE_SLOT_IMPORT`.

use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};
use crate::length::{read_count, read_len};
use crate::module::skip_fields;
use crate::string::{RdbString, read_string};

pub(crate) const SLOT_IMPORT_OR_KEY_META: u8 = 243;
pub(crate) const SLOT_INFO: u8 = 244;
pub(crate) const FUNCTION2: u8 = 245;
pub(crate) const FUNCTION_PRE_GA: u8 = 246;
pub(crate) const MODULE_AUX: u8 = 247;
pub(crate) const IDLE: u8 = 248;
pub(crate) const FREQ: u8 = 249;
pub(crate) const AUX: u8 = 250;
pub(crate) const RESIZEDB: u8 = 251;
pub(crate) const EXPIRETIME_MS: u8 = 252;
pub(crate) const EXPIRETIME: u8 = 253;
pub(crate) const SELECTDB: u8 = 254;
pub(crate) const EOF: u8 = 255;

/// A function library saved in the RDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Function<'a> {
    /// `FUNCTION2` (Redis 7.0+): the library's code, starting with `#!<engine> name=<lib>`.
    Library {
        /// The code, as `FUNCTION LOAD` takes it.
        code: RdbString<'a>,
    },
    /// A function of the Redis 7.0 release candidates (opcode 246).
    PreGa {
        /// The function name.
        name: RdbString<'a>,
        /// The engine (e.g. `LUA`).
        engine: RdbString<'a>,
        /// The description, if one was saved.
        description: Option<RdbString<'a>>,
        /// The code.
        code: RdbString<'a>,
    },
}

impl<'a> Function<'a> {
    pub(crate) fn read_pre_ga(cur: &mut Cursor<'a>, v: u32) -> Result<Self> {
        let name = read_string(cur, v, "function name")?;
        let engine = read_string(cur, v, "function engine")?;
        let description = match read_len(cur, v, "function description flag")? {
            0 => None,
            _ => Some(read_string(cur, v, "function description")?),
        };
        let code = read_string(cur, v, "function code")?;
        Ok(Function::PreGa {
            name,
            engine,
            description,
            code,
        })
    }
}

/// Per-key metadata of Redis 8.6+ (`KEY_META`), kept raw.
///
/// # Wire format
/// ```text
/// len(n <= 7), n x ( 4-byte class spec, module-style opcode series ending in len(0) )
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyMeta<'a> {
    /// Number of metadata records.
    pub count: u64,
    /// The records as stored (after the count).
    pub raw: &'a [u8],
}

impl<'a> KeyMeta<'a> {
    pub(crate) fn read(cur: &mut Cursor<'a>, v: u32) -> Result<Self> {
        let at = cur.pos();
        let count = read_len(cur, v, "key metadata count")?;
        if count > 7 {
            return Err(cur.error_at(
                ErrorKind::BadLength {
                    what: "key metadata count",
                    len: count,
                },
                at,
            ));
        }
        let begin = cur.pos();
        for _ in 0..count {
            cur.skip(4, "key metadata class")?;
            skip_fields(cur, v)?;
        }
        Ok(KeyMeta {
            count,
            raw: cur.slice(begin, cur.pos()),
        })
    }
}

/// A slot-import job of Valkey 9 (`SLOT_IMPORT`): the job name and its slot ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotImport<'a> {
    /// The job's name (40 bytes).
    pub job: RdbString<'a>,
    /// Inclusive slot ranges (start, end).
    pub ranges: Vec<(u64, u64)>,
}

impl<'a> SlotImport<'a> {
    pub(crate) fn read(cur: &mut Cursor<'a>, v: u32) -> Result<Self> {
        let job = read_string(cur, v, "slot import job")?;
        let n = read_count(cur, v, 2, "slot import ranges")?;
        let mut ranges = Vec::new();
        for _ in 0..n {
            let start = read_len(cur, v, "slot range start")?;
            let end = read_len(cur, v, "slot range end")?;
            ranges.push((start, end));
        }
        Ok(SlotImport { job, ranges })
    }
}
