//! The ARRAY type of Redis 8.8: a sparse array of typed slots.
//!
//! # Wire format
//! ```text
//! len(count > 0)  len(flags)  [len(insert_idx) when flags == 1]
//! count x ( len(index)  len(tag)  value )
//! tag 0 SDS: string | 1 INT: 8-byte LE | 2 FLOAT: 8-byte LE double | 3 SMALLSTR: string
//! ```
//! Source: redis 8.8 `src/rdb.c` (`RDB_TYPE_ARRAY`), as summarised in the project's
//! format notes.

use crate::cursor::Cursor;
use crate::error::{ErrorKind, Result};
use crate::length::{read_count, read_len};
use crate::string::{RdbString, read_string};

/// An array value: walk its slots with [`Array::slots`].
#[derive(Clone, Copy, Debug)]
pub struct Array<'a> {
    count: u64,
    insert_index: Option<u64>,
    slots: &'a [u8],
    base: u64,
    version: u32,
}

/// The value in one slot of an [`Array`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ArrayValue<'a> {
    /// A string (SDS or small-string slot).
    String(RdbString<'a>),
    /// An integer slot.
    Int(i64),
    /// A floating point slot.
    Float(f64),
}

impl<'a> Array<'a> {
    pub(crate) fn read(cur: &mut Cursor<'a>, version: u32) -> Result<Array<'a>> {
        let at = cur.pos();
        // Each slot takes at least 3 bytes: index, tag and a 1-byte value.
        let count = read_count(cur, version, 3, "array length")?;
        if count == 0 {
            return Err(cur.error_at(ErrorKind::Invalid("array length 0"), at));
        }
        let insert_index = match read_len(cur, version, "array flags")? {
            0 => None,
            1 => Some(read_len(cur, version, "array insert index")?),
            _ => return Err(cur.error_at(ErrorKind::Invalid("array flags"), at)),
        };
        let begin = cur.pos();
        let base = cur.offset();
        let mut slots = Slots {
            cur: cur.clone(),
            left: count,
            version,
        };
        while slots.next().transpose()?.is_some() {}
        *cur = slots.cur;
        Ok(Array {
            count,
            insert_index,
            slots: cur.slice(begin, cur.pos()),
            base,
            version,
        })
    }

    /// Number of slots stored.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no slot is stored (never, for a well-formed value).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The array's insertion index, when one is saved.
    pub fn insert_index(&self) -> Option<u64> {
        self.insert_index
    }

    /// The stored slots as (index, value), in order.
    pub fn slots(&self) -> Slots<'a> {
        Slots {
            cur: Cursor::new(self.slots, self.base),
            left: self.count,
            version: self.version,
        }
    }
}

/// Iterator over an [`Array`]'s slots.
#[derive(Clone, Debug)]
pub struct Slots<'a> {
    cur: Cursor<'a>,
    left: u64,
    version: u32,
}

impl<'a> Iterator for Slots<'a> {
    type Item = Result<(u64, ArrayValue<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let v = self.version;
        let slot = (|| {
            let index = read_len(&mut self.cur, v, "array index")?;
            let at = self.cur.pos();
            let value = match read_len(&mut self.cur, v, "array slot tag")? {
                0 | 3 => ArrayValue::String(read_string(&mut self.cur, v, "array string")?),
                1 => ArrayValue::Int(self.cur.i64_le("array integer")?),
                2 => ArrayValue::Float(self.cur.f64_le("array float")?),
                _ => return Err(self.cur.error_at(ErrorKind::Invalid("array slot tag"), at)),
            };
            Ok((index, value))
        })();
        if slot.is_err() {
            self.left = 0;
        }
        Some(slot)
    }
}
