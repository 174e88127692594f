//! Values by type byte: what each type byte means and where its value ends.
//!
//! Source: redis `src/rdb.h` (`RDB_TYPE_*`), `src/rdb.c` (`rdbLoadObject`);
//! valkey `src/rdb.h` for `RDB_TYPE_HASH_2`.

use crate::array::Array;
use crate::collection::{Body, Hash, List, Set, SortedSet};
use crate::cursor::Cursor;
use crate::entries::{self, Layout, Shape};
use crate::error::{Error, ErrorKind, Result};
use crate::header::Dialect;
use crate::module::Module;
use crate::packed::Compact;
use crate::stream::Stream;
use crate::string::{RdbString, read_string};

/// RDB type bytes (`RDB_TYPE_*`).
pub(crate) mod code {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
    /// Redis `HASH_METADATA_PRE_GA`, Valkey `HASH_2`.
    pub const HASH_22: u8 = 22;
    pub const HASH_LISTPACK_EX_PRE_GA: u8 = 23;
    pub const HASH_METADATA: u8 = 24;
    pub const HASH_LISTPACK_EX: u8 = 25;
    pub const STREAM_LISTPACKS_4: u8 = 26;
    pub const STREAM_LISTPACKS_5: u8 = 27;
    pub const ARRAY: u8 = 28;
}

/// The data type of a value, as `TYPE` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Type {
    /// A string.
    String,
    /// A list.
    List,
    /// A set.
    Set,
    /// A sorted set.
    SortedSet,
    /// A hash.
    Hash,
    /// A stream.
    Stream,
    /// A module value.
    Module,
    /// An array (Redis 8.8).
    Array,
}

impl Type {
    /// The name `TYPE` gives (`string`, `list`, `set`, `zset`, `hash`, `stream`,
    /// `module`, `array`).
    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::List => "list",
            Type::Set => "set",
            Type::SortedSet => "zset",
            Type::Hash => "hash",
            Type::Stream => "stream",
            Type::Module => "module",
            Type::Array => "array",
        }
    }

    /// The type [`Type::as_str`] names; `None` for any other name (`TYPE`
    /// answers `none` for a missing key, and a module's own name for its values).
    pub fn from_name(name: &[u8]) -> Option<Type> {
        Some(match name {
            b"string" => Type::String,
            b"list" => Type::List,
            b"set" => Type::Set,
            b"zset" => Type::SortedSet,
            b"hash" => Type::Hash,
            b"stream" => Type::Stream,
            b"module" => Type::Module,
            b"array" => Type::Array,
            _ => return None,
        })
    }
}

/// How a value is encoded in the RDB (not necessarily how the server holds it in memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// Plain string bytes.
    Raw,
    /// An integer-encoded string.
    Int,
    /// An LZF-compressed string.
    Lzf,
    /// A list saved element by element (Redis <= 3.0).
    LinkedList,
    /// A ziplist (lists <= 3.0, sorted sets and hashes <= 6.2).
    Ziplist,
    /// A quicklist of ziplists (Redis 3.2-6.2).
    Quicklist,
    /// A quicklist of listpacks and plain nodes (Redis 7.0+).
    Quicklist2,
    /// A set or hash saved member by member.
    Hashtable,
    /// An intset.
    Intset,
    /// A listpack (Redis 7.0+).
    Listpack,
    /// A listpack of (field, value, ttl) triplets (Redis 7.4+ `HASH_LISTPACK_EX`).
    ListpackEx,
    /// The 7.4 release candidates' listpack with field TTLs (type 23).
    ListpackExPreGa,
    /// A hash with field TTLs saved field by field (Redis 7.4+ `HASH_METADATA`).
    HashMetadata,
    /// The 7.4 release candidates' hash with field TTLs (Redis type 22).
    HashMetadataPreGa,
    /// A hash with field TTLs saved field by field (Valkey 9 `HASH_2`).
    Hash2,
    /// A sorted set saved member by member (scores as strings before 4.0, binary after).
    Skiplist,
    /// A zipmap (hashes, Redis <= 2.4).
    Zipmap,
    /// Stream listpacks; the number is the format revision (1 to 5).
    StreamListpacks(u8),
    /// A module value (`MODULE_2`).
    Module,
    /// An array (Redis 8.8).
    Array,
}

impl Encoding {
    /// A short lowercase name, as the decode program prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Int => "int",
            Encoding::Lzf => "lzf",
            Encoding::LinkedList => "linkedlist",
            Encoding::Ziplist => "ziplist",
            Encoding::Quicklist => "quicklist",
            Encoding::Quicklist2 => "quicklist2",
            Encoding::Hashtable => "hashtable",
            Encoding::Intset => "intset",
            Encoding::Listpack => "listpack",
            Encoding::ListpackEx => "listpack_ex",
            Encoding::ListpackExPreGa => "listpack_ex_pre_ga",
            Encoding::HashMetadata => "hash_metadata",
            Encoding::HashMetadataPreGa => "hash_metadata_pre_ga",
            Encoding::Hash2 => "hash2",
            Encoding::Skiplist => "skiplist",
            Encoding::Zipmap => "zipmap",
            Encoding::StreamListpacks(_) => "stream",
            Encoding::Module => "module",
            Encoding::Array => "array",
        }
    }
}

/// A value, viewed in place: nothing is decoded until the caller walks it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Value<'a> {
    /// A string.
    String(RdbString<'a>),
    /// A list.
    List(List<'a>),
    /// A set.
    Set(Set<'a>),
    /// A sorted set.
    SortedSet(SortedSet<'a>),
    /// A hash.
    Hash(Hash<'a>),
    /// A stream, with its consumer groups.
    Stream(Box<Stream<'a>>),
    /// A module value, kept raw.
    Module(Module<'a>),
    /// An array (Redis 8.8).
    Array(Array<'a>),
}

impl Value<'_> {
    /// The value's data type.
    pub fn value_type(&self) -> Type {
        match self {
            Value::String(_) => Type::String,
            Value::List(_) => Type::List,
            Value::Set(_) => Type::Set,
            Value::SortedSet(_) => Type::SortedSet,
            Value::Hash(_) => Type::Hash,
            Value::Stream(_) => Type::Stream,
            Value::Module(_) => Type::Module,
            Value::Array(_) => Type::Array,
        }
    }

    /// Decodes the whole value (every element, every LZF block) without keeping
    /// anything, and returns its number of elements (1 for a string; stream entries;
    /// module fields; array slots).
    ///
    /// # Errors
    /// The first fault found in the value.
    pub fn validate(&self) -> Result<u64> {
        Ok(match self {
            // The collection and stream walks decompress into buffers of their own
            // (the thread's spare): holding the spare here would leave them none.
            Value::List(v) => v.try_fold(0, |n, _| Ok::<_, Error>(n + 1))?,
            Value::Set(v) => v.try_fold(0, |n, _| Ok::<_, Error>(n + 1))?,
            Value::SortedSet(v) => v.try_fold(0, |n, _, _| Ok::<_, Error>(n + 1))?,
            Value::Hash(v) => v.try_fold(0, |n, _| Ok::<_, Error>(n + 1))?,
            Value::Stream(s) => {
                let mut entries = s.entries();
                let mut n = 0;
                while entries.next()?.is_some() {
                    n += 1;
                }
                n
            }
            Value::String(_) | Value::Module(_) | Value::Array(_) => {
                // One decompression buffer for every string of the value.
                let mut buf = crate::spare::take();
                let counted = self.decode_strings(&mut buf);
                crate::spare::give(buf);
                counted?
            }
        })
    }

    /// [`Value::validate`] for strings, module values and arrays, decoding their
    /// strings into `buf`; the other values are walked by `validate` itself.
    fn decode_strings(&self, buf: &mut Vec<u8>) -> Result<u64> {
        Ok(match self {
            Value::String(s) => {
                s.bytes(buf)?;
                1
            }
            Value::Module(m) => {
                let mut n = 0;
                for f in m.fields() {
                    if let crate::ModuleField::String(s) = f? {
                        s.bytes(buf)?;
                    }
                    n += 1;
                }
                n
            }
            Value::Array(a) => {
                let mut n = 0;
                for slot in a.slots() {
                    if let (_, crate::ArrayValue::String(s)) = slot? {
                        s.bytes(buf)?;
                    }
                    n += 1;
                }
                n
            }
            _ => self.validate()?,
        })
    }

    /// How the value is encoded in the RDB.
    pub fn encoding(&self) -> Encoding {
        match self {
            Value::String(RdbString::Raw(_)) => Encoding::Raw,
            Value::String(RdbString::Int(_)) => Encoding::Int,
            Value::String(RdbString::Lzf { .. }) => Encoding::Lzf,
            Value::List(v) => v.encoding(),
            Value::Set(v) => v.encoding(),
            Value::SortedSet(v) => v.encoding(),
            Value::Hash(v) => v.encoding(),
            Value::Stream(s) => Encoding::StreamListpacks(s.format()),
            Value::Module(_) => Encoding::Module,
            Value::Array(_) => Encoding::Array,
        }
    }
}

/// How a collection type byte is stored.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CollectionKind {
    pub(crate) layout: Layout,
    pub(crate) value_type: Type,
    pub(crate) encoding: Encoding,
    /// An 8-byte minimum field expiry precedes the layout (Redis 7.4+ hashes).
    pub(crate) min_expire_prefix: bool,
}

impl CollectionKind {
    /// Wraps a body in the view of this kind's type.
    pub(crate) fn view(self, body: Body<'_>) -> Value<'_> {
        match self.value_type {
            Type::List => Value::List(List { body }),
            Type::Set => Value::Set(Set { body }),
            Type::SortedSet => Value::SortedSet(SortedSet { body }),
            _ => Value::Hash(Hash { body }),
        }
    }

    /// The layout once the minimum expiry prefix (if any) is known.
    pub(crate) fn layout_with_min(self, min: i64) -> Layout {
        match self.layout {
            Layout::HashTtlFirst { .. } if self.min_expire_prefix => Layout::HashTtlFirst {
                min_expire: Some(min),
            },
            layout => layout,
        }
    }
}

/// The storage of a collection type byte, or `None` for other types.
pub(crate) fn collection_kind(ty: u8, dialect: Dialect) -> Option<CollectionKind> {
    use code::*;
    let blob = |kind, shape| Layout::Blob { kind, shape };
    let single = Shape::Single;
    let (layout, value_type, encoding) = match ty {
        LIST => (
            Layout::Strings { width: 1 },
            Type::List,
            Encoding::LinkedList,
        ),
        LIST_ZIPLIST => (
            blob(Compact::Ziplist, single),
            Type::List,
            Encoding::Ziplist,
        ),
        LIST_QUICKLIST => (Layout::Quicklist, Type::List, Encoding::Quicklist),
        LIST_QUICKLIST_2 => (Layout::Quicklist2, Type::List, Encoding::Quicklist2),
        SET => (Layout::Strings { width: 1 }, Type::Set, Encoding::Hashtable),
        SET_INTSET => (blob(Compact::Intset, single), Type::Set, Encoding::Intset),
        SET_LISTPACK => (
            blob(Compact::Listpack, single),
            Type::Set,
            Encoding::Listpack,
        ),
        ZSET => (Layout::ZsetAsciiScore, Type::SortedSet, Encoding::Skiplist),
        ZSET_2 => (Layout::ZsetBinaryScore, Type::SortedSet, Encoding::Skiplist),
        ZSET_ZIPLIST => (
            blob(Compact::Ziplist, Shape::Scored),
            Type::SortedSet,
            Encoding::Ziplist,
        ),
        ZSET_LISTPACK => (
            blob(Compact::Listpack, Shape::Scored),
            Type::SortedSet,
            Encoding::Listpack,
        ),
        HASH => (
            Layout::Strings { width: 2 },
            Type::Hash,
            Encoding::Hashtable,
        ),
        HASH_ZIPMAP => (
            blob(Compact::Zipmap, Shape::Pair),
            Type::Hash,
            Encoding::Zipmap,
        ),
        HASH_ZIPLIST => (
            blob(Compact::Ziplist, Shape::Pair),
            Type::Hash,
            Encoding::Ziplist,
        ),
        HASH_LISTPACK => (
            blob(Compact::Listpack, Shape::Pair),
            Type::Hash,
            Encoding::Listpack,
        ),
        HASH_22 if dialect == Dialect::Valkey => (Layout::HashTtlLast, Type::Hash, Encoding::Hash2),
        HASH_22 => (
            Layout::HashTtlFirst { min_expire: None },
            Type::Hash,
            Encoding::HashMetadataPreGa,
        ),
        HASH_LISTPACK_EX_PRE_GA => (
            blob(Compact::Listpack, Shape::Expiring),
            Type::Hash,
            Encoding::ListpackExPreGa,
        ),
        HASH_METADATA | HASH_LISTPACK_EX => {
            let (layout, encoding) = if ty == HASH_METADATA {
                (
                    Layout::HashTtlFirst { min_expire: None },
                    Encoding::HashMetadata,
                )
            } else {
                (
                    blob(Compact::Listpack, Shape::Expiring),
                    Encoding::ListpackEx,
                )
            };
            return Some(CollectionKind {
                layout,
                value_type: Type::Hash,
                encoding,
                min_expire_prefix: true,
            });
        }
        _ => return None,
    };
    Some(CollectionKind {
        layout,
        value_type,
        encoding,
        min_expire_prefix: false,
    })
}

/// Reads the value of type `ty` at the cursor, consuming exactly its bytes.
///
/// `key` (absent in DUMP payloads) is kept in collection views to name it in errors
/// found later, while the caller walks the value.
#[inline(always)]
pub(crate) fn read_value<'a>(
    cur: &mut Cursor<'a>,
    ty: u8,
    version: u32,
    dialect: Dialect,
    key: Option<RdbString<'a>>,
) -> Result<Value<'a>> {
    use code::*;
    let start = cur.pos();
    if let Some(kind) = collection_kind(ty, dialect) {
        let min = if kind.min_expire_prefix {
            cur.i64_le("hash minimum expiry")?
        } else {
            0
        };
        let layout = kind.layout_with_min(min);
        let begin = cur.pos();
        let base = cur.offset();
        entries::skip(layout, cur, version)?;
        return Ok(kind.view(Body {
            layout,
            encoding: kind.encoding,
            payload: cur.slice(begin, cur.pos()),
            base,
            version,
            key,
            count: None,
        }));
    }
    Ok(match ty {
        STRING => Value::String(read_string(cur, version, "string value")?),
        STREAM_LISTPACKS => Value::Stream(Box::new(Stream::read(cur, version, 1, key)?)),
        STREAM_LISTPACKS_2 => Value::Stream(Box::new(Stream::read(cur, version, 2, key)?)),
        STREAM_LISTPACKS_3 => Value::Stream(Box::new(Stream::read(cur, version, 3, key)?)),
        STREAM_LISTPACKS_4 => Value::Stream(Box::new(Stream::read(cur, version, 4, key)?)),
        STREAM_LISTPACKS_5 => Value::Stream(Box::new(Stream::read(cur, version, 5, key)?)),
        MODULE_2 => Value::Module(Module::read(cur, version)?),
        MODULE_PRE_GA => {
            return Err(cur.error_at(
                ErrorKind::Unsupported("pre-GA module value (type 6): only its module can read it"),
                start,
            ));
        }
        ARRAY => Value::Array(Array::read(cur, version)?),
        other => return Err(cur.error_at(ErrorKind::UnknownType(other), start.saturating_sub(1))),
    })
}

#[cfg(test)]
mod names {
    use super::Type;

    #[test]
    fn type_names_go_both_ways() {
        let all = [
            Type::String,
            Type::List,
            Type::Set,
            Type::SortedSet,
            Type::Hash,
            Type::Stream,
            Type::Module,
            Type::Array,
        ];
        for t in all {
            assert_eq!(Type::from_name(t.as_str().as_bytes()), Some(t));
        }
        assert_eq!(Type::from_name(b"none"), None);
        assert_eq!(Type::from_name(b"ReJSON-RL"), None);
    }
}
