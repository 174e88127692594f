//! The collection values (lists, sets, sorted sets, hashes) and their cursors.
//!
//! A view borrows the value's bytes and decodes nothing until it is walked. Its
//! `try_fold` hands every entry to a closure, matching the encoding once per value
//! instead of once per entry: the fastest walk. Or a cursor lends the entries one by
//! one: an entry borrows the cursor (elements may live in its decompression
//! buffers), so walk them with `while let Some(e) = cursor.next()? {}`, and hand the
//! rest to a closure with the cursor's `try_for_each` / `try_fold`.

use crate::cursor::Cursor;
use crate::element::Element;
use crate::entries::{Group, Layout, Walker};
use crate::error::{Error, Result};
use crate::length::read_len;
use crate::string::{RdbString, read_string};
use crate::value::Encoding;

/// A blob of a compact encoding, sized as the server holds it in memory (the RDB
/// stores these blobs as they are in memory): what a memory estimate needs
/// without decoding the entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Blob {
    /// A ziplist, listpack or intset of this many bytes: the whole value's, or
    /// one quicklist node's.
    Packed(u64),
    /// A quicklist `PLAIN` node: one element of this many bytes.
    Plain(u64),
}

/// What every collection view holds: where its bytes are and how they are laid out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Body<'a> {
    pub(crate) layout: Layout,
    pub(crate) encoding: Encoding,
    /// The bytes after the type byte and any fixed prefix.
    pub(crate) payload: &'a [u8],
    /// Absolute offset of `payload`.
    pub(crate) base: u64,
    pub(crate) version: u32,
    /// The key holding the value, named in errors found while walking it.
    pub(crate) key: Option<RdbString<'a>>,
    /// The number of entries (or quicklist nodes), when `payload` does not start with
    /// it: a streaming reader's run of entries cut from a larger value.
    pub(crate) count: Option<u64>,
}

impl<'a> Body<'a> {
    /// A walk over the value, its entry count not read yet.
    #[inline]
    fn unstarted(&self) -> Walker<'a> {
        Walker::unstarted(self.layout, self.payload, self.base, self.version, self.key)
    }

    fn walker(&self) -> Result<Walker<'a>> {
        let mut walker = self.unstarted();
        walker.start(self.count)?;
        Ok(walker)
    }

    /// Hands `each` the value's blobs in order; nothing for an encoding saved entry
    /// by entry.
    fn blobs(&self, mut each: impl FnMut(Blob)) -> Result<()> {
        let mut cur = Cursor::new(self.payload, self.base);
        let v = self.version;
        let mut walk = |cur: &mut Cursor<'a>| -> Result<()> {
            match self.layout {
                Layout::Blob { .. } => {
                    each(Blob::Packed(
                        read_string(cur, v, "encoded collection")?.len(),
                    ));
                }
                Layout::Quicklist | Layout::Quicklist2 => {
                    let nodes = match self.count {
                        Some(n) => n,
                        None => read_len(cur, v, "collection length")?,
                    };
                    for _ in 0..nodes {
                        let plain = self.layout == Layout::Quicklist2
                            && read_len(cur, v, "quicklist container")? == 1;
                        let len = read_string(cur, v, "quicklist node")?.len();
                        each(if plain {
                            Blob::Plain(len)
                        } else {
                            Blob::Packed(len)
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        };
        walk(&mut cur).map_err(|e| e.with_rdb_key(self.key))
    }

    /// Folds every entry into `init` with `f`, the walk built where it runs: a walk
    /// is a few hundred bytes, and one returned in a `Result` (as the cursors are)
    /// is copied on its way out.
    #[inline]
    fn fold<B, E: From<Error>>(
        &self,
        init: B,
        f: impl FnMut(B, Group<'_>) -> std::result::Result<B, E>,
    ) -> std::result::Result<B, E> {
        let mut walker = self.unstarted();
        walker.start(self.count)?;
        walker.fold(init, f)
    }
}

macro_rules! view {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name<'a> {
            pub(crate) body: Body<'a>,
        }

        impl<'a> $name<'a> {
            /// How the value is encoded in the RDB.
            pub fn encoding(&self) -> Encoding {
                self.body.encoding
            }

            /// Hands `each` the sizes of the value's compact blobs, in order, without
            /// decoding their entries: the one ziplist, listpack or intset of a
            /// compact encoding, or every node of a quicklist; nothing for an
            /// encoding saved entry by entry.
            ///
            /// # Errors
            /// When the value's structure is corrupt or truncated.
            pub fn blobs(&self, each: impl FnMut(Blob)) -> Result<()> {
                self.body.blobs(each)
            }
        }
    };
}

view!(
    /// A list value: walk it with [`List::try_fold`] or [`List::elements`].
    List
);
view!(
    /// A set value: walk it with [`Set::try_fold`] or [`Set::members`].
    Set
);
view!(
    /// A sorted set value: walk it with [`SortedSet::try_fold`] or
    /// [`SortedSet::members`].
    SortedSet
);
view!(
    /// A hash value: walk it with [`Hash::try_fold`] or [`Hash::fields`]; fields may
    /// carry an expiry.
    Hash
);

impl<'a> List<'a> {
    /// A cursor over the list's elements, head to tail.
    ///
    /// # Errors
    /// When the value's length prefix is corrupt; later faults come from the cursor.
    pub fn elements(&self) -> Result<Elements<'a>> {
        Ok(Elements(self.body.walker()?))
    }
}

impl<'a> Set<'a> {
    /// A cursor over the set's members.
    ///
    /// # Errors
    /// When the value's length prefix is corrupt; later faults come from the cursor.
    pub fn members(&self) -> Result<Elements<'a>> {
        Ok(Elements(self.body.walker()?))
    }
}

/// `try_fold` for the views whose entries are single elements (lists, sets).
macro_rules! element_fold {
    ($view:ident, $doc:literal) => {
        impl $view<'_> {
            #[doc = $doc]
            ///
            /// # Errors
            /// When the value is corrupt or truncated, or when `f` fails.
            #[inline]
            pub fn try_fold<B, E: From<Error>>(
                &self,
                init: B,
                mut f: impl FnMut(B, Element<'_>) -> std::result::Result<B, E>,
            ) -> std::result::Result<B, E> {
                self.body.fold(init, |acc, g| f(acc, g.elems[0]))
            }
        }
    };
}

element_fold!(
    List,
    "Folds every element into `init` with `f`, head to tail, stopping at the first
    error (a fault in the value, converted with `From`, or `f`'s own): the fastest way
    to walk a whole list, [`Elements::try_fold`] without a cursor to build."
);
element_fold!(
    Set,
    "Folds every member into `init` with `f`, stopping at the first error: the
    fastest way to walk a whole set; see [`List::try_fold`]."
);

impl<'a> SortedSet<'a> {
    /// A cursor over the (member, score) pairs, in the order stored.
    ///
    /// # Errors
    /// When the value's length prefix is corrupt; later faults come from the cursor.
    pub fn members(&self) -> Result<ScoredMembers<'a>> {
        Ok(ScoredMembers(self.body.walker()?))
    }

    /// Folds every member and its score into `init` with `f`, in the order stored,
    /// stopping at the first error: the fastest way to walk a whole sorted set; see
    /// [`List::try_fold`].
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_fold<B, E: From<Error>>(
        &self,
        init: B,
        mut f: impl FnMut(B, Element<'_>, f64) -> std::result::Result<B, E>,
    ) -> std::result::Result<B, E> {
        self.body.fold(init, |acc, g| f(acc, g.elems[0], g.score))
    }
}

impl<'a> Hash<'a> {
    /// A cursor over the hash's fields, values and field expiries.
    ///
    /// # Errors
    /// When the value's length prefix is corrupt; later faults come from the cursor.
    pub fn fields(&self) -> Result<Fields<'a>> {
        Ok(Fields(self.body.walker()?))
    }

    /// Folds every field into `init` with `f`, stopping at the first error: the
    /// fastest way to walk a whole hash; see [`List::try_fold`].
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_fold<B, E: From<Error>>(
        &self,
        init: B,
        mut f: impl FnMut(B, Field<'_>) -> std::result::Result<B, E>,
    ) -> std::result::Result<B, E> {
        self.body.fold(init, |acc, g| f(acc, field(g)))
    }
}

/// Cursor over list elements or set members.
#[derive(Debug)]
pub struct Elements<'a>(Walker<'a>);

impl Elements<'_> {
    /// The next element, or `None` after the last.
    ///
    /// # Errors
    /// When the value is corrupt or truncated.
    #[inline]
    #[allow(clippy::should_implement_trait)] // lending: the element borrows the cursor
    pub fn next(&mut self) -> Result<Option<Element<'_>>> {
        Ok(self.0.next()?.map(|g: Group<'_>| g.elems[0]))
    }

    /// Folds every remaining element into `init` with `f`, in order, stopping at the
    /// first error (a fault in the value, converted with `From`, or `f`'s own).
    /// Faster than [`Elements::next`] in a loop: the encoding is matched once, not
    /// per element, and the accumulator stays a value rather than memory.
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_fold<B, E: From<Error>>(
        mut self,
        init: B,
        mut f: impl FnMut(B, Element<'_>) -> std::result::Result<B, E>,
    ) -> std::result::Result<B, E> {
        self.0.fold(init, |acc, g| f(acc, g.elems[0]))
    }

    /// Hands every remaining element to `f`, in order: [`Elements::try_fold`]
    /// without an accumulator.
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_for_each<E: From<Error>>(
        self,
        mut f: impl FnMut(Element<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.try_fold((), |(), e| f(e))
    }

    /// Walks to the end, validating every element, and returns how many there were.
    ///
    /// # Errors
    /// When the value is corrupt or truncated.
    pub fn count(mut self) -> Result<u64> {
        self.0.skip_all()
    }
}

/// Cursor over a sorted set's (member, score) pairs.
#[derive(Debug)]
pub struct ScoredMembers<'a>(Walker<'a>);

impl ScoredMembers<'_> {
    /// The next member and its score, or `None` after the last.
    ///
    /// # Errors
    /// When the value is corrupt or truncated.
    #[inline]
    #[allow(clippy::should_implement_trait)] // lending: the member borrows the cursor
    pub fn next(&mut self) -> Result<Option<(Element<'_>, f64)>> {
        Ok(self.0.next()?.map(|g| (g.elems[0], g.score)))
    }

    /// Folds every remaining member and its score into `init` with `f`, in order,
    /// stopping at the first error (a fault in the value, converted with `From`, or
    /// `f`'s own). Faster than [`ScoredMembers::next`] in a loop.
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_fold<B, E: From<Error>>(
        mut self,
        init: B,
        mut f: impl FnMut(B, Element<'_>, f64) -> std::result::Result<B, E>,
    ) -> std::result::Result<B, E> {
        self.0.fold(init, |acc, g| f(acc, g.elems[0], g.score))
    }

    /// Hands every remaining member and its score to `f`, in order:
    /// [`ScoredMembers::try_fold`] without an accumulator.
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_for_each<E: From<Error>>(
        self,
        mut f: impl FnMut(Element<'_>, f64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.try_fold((), |(), m, s| f(m, s))
    }

    /// Walks to the end, validating every entry, and returns how many there were.
    ///
    /// # Errors
    /// When the value is corrupt or truncated.
    pub fn count(mut self) -> Result<u64> {
        self.0.skip_all()
    }
}

/// One hash field as a [`Fields`] cursor lends it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field<'s> {
    /// The field name.
    pub field: Element<'s>,
    /// The value.
    pub value: Element<'s>,
    /// The field's expiry, absolute unix time in milliseconds (hash field TTLs of
    /// Redis 7.4+ and Valkey 9), or `None`.
    pub expire_ms: Option<i64>,
}

/// Cursor over a hash's fields.
#[derive(Debug)]
pub struct Fields<'a>(Walker<'a>);

impl Fields<'_> {
    /// The next field, or `None` after the last.
    ///
    /// # Errors
    /// When the value is corrupt or truncated.
    #[inline]
    #[allow(clippy::should_implement_trait)] // lending: the field borrows the cursor
    pub fn next(&mut self) -> Result<Option<Field<'_>>> {
        Ok(self.0.next()?.map(field))
    }

    /// Folds every remaining field into `init` with `f`, in order, stopping at the
    /// first error (a fault in the value, converted with `From`, or `f`'s own).
    /// Faster than [`Fields::next`] in a loop.
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_fold<B, E: From<Error>>(
        mut self,
        init: B,
        mut f: impl FnMut(B, Field<'_>) -> std::result::Result<B, E>,
    ) -> std::result::Result<B, E> {
        self.0.fold(init, |acc, g| f(acc, field(g)))
    }

    /// Hands every remaining field to `f`, in order: [`Fields::try_fold`] without
    /// an accumulator.
    ///
    /// # Errors
    /// When the value is corrupt or truncated, or when `f` fails.
    #[inline]
    pub fn try_for_each<E: From<Error>>(
        self,
        mut f: impl FnMut(Field<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.try_fold((), |(), x| f(x))
    }

    /// Walks to the end, validating every field, and returns how many there were.
    ///
    /// # Errors
    /// When the value is corrupt or truncated.
    pub fn count(mut self) -> Result<u64> {
        self.0.skip_all()
    }
}

#[inline(always)]
fn field(g: Group<'_>) -> Field<'_> {
    Field {
        field: g.elems[0],
        value: g.elems[1],
        expire_ms: g.expire_ms,
    }
}
