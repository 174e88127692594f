//! The items an RDB yields: aux fields, db changes, functions, keys...

use crate::dump::build_payload;
use crate::header::Header;
use crate::module::Module;
use crate::opcode::{Function, KeyMeta, SlotImport};
use crate::string::RdbString;
use crate::value::Value;

/// One record of an RDB, borrowed from the input.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Item<'a> {
    /// An aux field (`redis-ver`, `ctime`, `repl-id`...); unknown fields are passed on.
    Aux {
        /// The field name.
        key: RdbString<'a>,
        /// The field value.
        value: RdbString<'a>,
    },
    /// The following keys belong to this database.
    SelectDb {
        /// The database number.
        db: u64,
    },
    /// Size hints for the current database.
    ResizeDb {
        /// Number of keys.
        db_size: u64,
        /// Number of keys with an expiry.
        expires_size: u64,
    },
    /// Module aux data (`MODULE_AUX`), saved before (when 1) or after (when 2) the keys.
    ModuleAux {
        /// When it was saved: 1 before the keys, 2 after.
        when: u64,
        /// The data, kept raw with the module's identity.
        module: Module<'a>,
    },
    /// A function library.
    Function(Function<'a>),
    /// Key counts of the slot the following keys belong to (Redis 7.4+ `SLOT_INFO`).
    SlotInfo {
        /// The slot.
        slot: u64,
        /// Keys in the slot.
        keys: u64,
        /// Keys with an expiry in the slot.
        expires: u64,
    },
    /// A slot-import job in progress (Valkey 9 `SLOT_IMPORT`).
    SlotImport(SlotImport<'a>),
    /// A key and its value.
    Key(Key<'a>),
    /// The end of the RDB (`EOF` opcode and, from RDB 5, the checksum).
    End {
        /// The stored checksum (`None` before RDB 5; `Some(0)` means none was computed).
        checksum: Option<u64>,
        /// The RDB's length in bytes, magic through checksum.
        len: u64,
    },
}

/// A key with its value and metadata.
#[derive(Clone, Debug)]
// Fields in declared order: the default layout packed the small ones into a run of
// odd size, copied with overlapping moves that stalled the next copy of each key.
#[repr(C)]
pub struct Key<'a> {
    /// The database the key is in.
    pub db: u64,
    /// The key name.
    pub key: RdbString<'a>,
    /// Absolute expiry, unix time in milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (`IDLE`), when the server saved it.
    pub idle: Option<u64>,
    /// LFU frequency counter (`FREQ`), when the server saved it.
    pub freq: Option<u8>,
    /// Per-key metadata (Redis 8.6+ `KEY_META`).
    pub meta: Option<KeyMeta<'a>>,
    /// The value, viewed in place.
    pub value: Value<'a>,
    /// The value's type byte as stored (`RDB_TYPE_*`).
    pub type_byte: u8,
    /// The value's bytes exactly as stored, after the key. With [`Key::type_byte`] and
    /// the RDB version they make a `RESTORE` payload: see [`Key::dump_payload`].
    pub raw_value: &'a [u8],
    /// The file's RDB version and dialect (how `type_byte` and `raw_value` are to be read).
    pub header: Header,
    /// Absolute offset where the key's record starts.
    pub offset: u64,
}

impl Key<'_> {
    /// The value as a `DUMP` / `RESTORE` payload: type byte, value bytes, the RDB
    /// version (2 bytes LE) and the CRC64 (8 bytes LE), without re-encoding.
    ///
    /// A target accepts it when it knows this RDB version and every encoding inside.
    pub fn dump_payload(&self) -> Vec<u8> {
        build_payload(self.type_byte, self.raw_value, self.header.version as u16)
    }

    /// The value as a `RESTORE` payload for a server that reads Redis RDB
    /// versions up to `version`, re-encoded where its form is newer; `None` when
    /// it has no such form (see [`payload_for`](crate::payload_for)).
    ///
    /// # Errors
    /// A corrupt value.
    pub fn payload_for(&self, version: u32) -> crate::Result<Option<Vec<u8>>> {
        crate::payload_for(
            self.type_byte,
            self.raw_value,
            &self.value,
            self.header,
            version,
        )
    }
}
