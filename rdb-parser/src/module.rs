//! Module values (`MODULE_2`) and module aux data, walked without the module.
//!
//! # Wire format
//! ```text
//! len(module id)  { len(opcode) value }*  len(0 = EOF)
//! opcodes: 1 SINT len | 2 UINT len | 3 FLOAT 4-byte LE | 4 DOUBLE 8-byte LE | 5 STRING
//! module id: 9 chars x 6 bits (charset A-Z a-z 0-9 - _, first char highest), 10-bit encver
//! ```
//! Because every field is self-describing, a value can be skipped and passed on
//! byte for byte without the module that wrote it.
//! Source: redis `src/rdb.h` (`RDB_MODULE_OPCODE_*`), `src/module.c`
//! (`moduleTypeNameByID`), `src/rdb.c` (`rdbLoadCheckModuleValue`).

use std::fmt;

use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};
use crate::length::read_len;
use crate::string::{RdbString, read_string};

const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A module value, kept raw with its module's identity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Module<'a> {
    id: u64,
    body: &'a [u8],
    base: u64,
    version: u32,
}

impl<'a> Module<'a> {
    /// Reads a module value at the cursor: the id, then the opcode series.
    pub(crate) fn read(cur: &mut Cursor<'a>, version: u32) -> Result<Module<'a>> {
        let id = read_len(cur, version, "module id")?;
        Self::read_body(cur, version, id)
    }

    /// Reads the opcode series of a value whose module id was already read.
    pub(crate) fn read_body(cur: &mut Cursor<'a>, version: u32, id: u64) -> Result<Module<'a>> {
        let begin = cur.pos();
        let base = cur.offset();
        skip_fields(cur, version)?;
        Ok(Module {
            id,
            body: cur.slice(begin, cur.pos()),
            base,
            version,
        })
    }

    /// The 64-bit module type id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The module type's 9-character name (e.g. `ReJSON-RL`), decoded from the id.
    pub fn name(&self) -> String {
        module_name(self.id)
    }

    /// The module type's encoding version (the id's low 10 bits).
    pub fn encoding_version(&self) -> u16 {
        (self.id & 1023) as u16
    }

    /// The value's fields after the id, through the EOF opcode, exactly as stored.
    pub fn raw_fields(&self) -> &'a [u8] {
        self.body
    }

    /// A walk over the value's typed fields.
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            cur: Cursor::new(self.body, self.base),
            version: self.version,
            done: false,
        }
    }
}

impl fmt::Debug for Module<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .field("encver", &self.encoding_version())
            .field("bytes", &self.body.len())
            .finish()
    }
}

/// Skips an opcode series through its EOF opcode (a module value's body).
pub(crate) fn skip_fields(cur: &mut Cursor<'_>, version: u32) -> Result<()> {
    let mut fields = Fields {
        cur: cur.clone(),
        version,
        done: false,
    };
    while fields.next_field()?.is_some() {}
    *cur = fields.cur;
    Ok(())
}

/// Skips one field of an opcode series; `Ok(false)` when it was the EOF opcode.
pub(crate) fn skip_field(cur: &mut Cursor<'_>, version: u32) -> Result<bool> {
    let mut fields = Fields {
        cur: cur.clone(),
        version,
        done: false,
    };
    let more = fields.next_field()?.is_some();
    *cur = fields.cur;
    Ok(more)
}

/// Decodes a module type id into its 9-character name.
pub fn module_name(id: u64) -> String {
    let mut v = id >> 10;
    let mut name = [0u8; 9];
    for c in name.iter_mut().rev() {
        *c = CHARSET[(v & 63) as usize];
        v >>= 6;
    }
    name.iter().map(|&c| c as char).collect()
}

/// One field of a module value.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ModuleField<'a> {
    /// `RedisModule_SaveSigned`.
    Signed(i64),
    /// `RedisModule_SaveUnsigned`.
    Unsigned(u64),
    /// `RedisModule_SaveFloat`.
    Float(f32),
    /// `RedisModule_SaveDouble`.
    Double(f64),
    /// `RedisModule_SaveString` / `SaveStringBuffer`.
    String(RdbString<'a>),
}

/// The fields of a module value, in order.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    cur: Cursor<'a>,
    version: u32,
    done: bool,
}

impl<'a> Fields<'a> {
    fn next_field(&mut self) -> Result<Option<ModuleField<'a>>> {
        if self.done {
            return Ok(None);
        }
        let v = self.version;
        let at = self.cur.pos();
        Ok(Some(match read_len(&mut self.cur, v, "module opcode")? {
            0 => {
                self.done = true;
                return Ok(None);
            }
            1 => ModuleField::Signed(read_len(&mut self.cur, v, "module signed")? as i64),
            2 => ModuleField::Unsigned(read_len(&mut self.cur, v, "module unsigned")?),
            3 => ModuleField::Float(self.cur.f32_le("module float")?),
            4 => ModuleField::Double(self.cur.f64_le("module double")?),
            5 => ModuleField::String(read_string(&mut self.cur, v, "module string")?),
            _ => return Err(self.cur.error_at(ErrorKind::Invalid("module opcode"), at)),
        }))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<ModuleField<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_field() {
            Ok(f) => f.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id a module registers: name chars in the high bits, encver in the low 10.
    fn module_id(name: &str, encver: u64) -> u64 {
        let mut id = 0u64;
        for c in name.bytes() {
            let pos = CHARSET.iter().position(|&x| x == c).unwrap() as u64;
            id = (id << 6) | pos;
        }
        (id << 10) | encver
    }

    #[test]
    fn names_from_ids() {
        for name in ["ReJSON-RL", "MBbloom--", "TSDB-TYPE", "graphdata"] {
            assert_eq!(module_name(module_id(name, 3)), name);
        }
    }

    #[test]
    fn walks_every_opcode() {
        let mut bytes = Vec::new();
        crate::length::write_len(&mut bytes, module_id("TSDB-TYPE", 2));
        bytes.extend([1, 5, 2, 0x40, 0x80, 3]);
        bytes.extend(1.5f32.to_le_bytes());
        bytes.push(4);
        bytes.extend(2.25f64.to_le_bytes());
        bytes.extend([5, 3, b'a', b'b', b'c', 0]);
        bytes.push(0xaa); // the next item
        let mut cur = Cursor::new(&bytes, 0);
        let m = Module::read(&mut cur, 9).unwrap();
        assert_eq!(cur.remaining(), 1);
        assert_eq!(m.name(), "TSDB-TYPE");
        assert_eq!(m.encoding_version(), 2);
        let fields: Vec<_> = m.fields().collect::<Result<_>>().unwrap();
        assert_eq!(
            fields,
            vec![
                ModuleField::Signed(5),
                ModuleField::Unsigned(128),
                ModuleField::Float(1.5),
                ModuleField::Double(2.25),
                ModuleField::String(RdbString::Raw(b"abc")),
            ]
        );
    }

    #[test]
    fn bad_opcode_and_truncation() {
        let mut cur = Cursor::new(&[0x01, 0x09], 0);
        assert!(Module::read(&mut cur, 9).is_err());
        let mut cur = Cursor::new(&[0x01, 0x05, 0x03, b'a'], 0);
        assert!(Module::read(&mut cur, 9).unwrap_err().is_incomplete());
    }
}
