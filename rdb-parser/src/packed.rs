//! One compact blob (ziplist, listpack, intset, zipmap) walked in place.
//!
//! The blob is borrowed from the input when it is stored plainly, or decompressed
//! into a buffer the walk owns when it is LZF-compressed. Entries are decoded as they
//! are taken, with nothing collected first: the entries of a group (a hash field and
//! its value) borrow the blob itself. Faults found in the middle of the blob surface
//! when the walk reaches them.

use crate::element::Element;
use crate::error::{Error, ErrorKind, Result};
use crate::intset::{Intset, IntsetWalk};
use crate::listpack::{Listpack, ListpackWalk};
use crate::spare;
use crate::string::RdbString;
use crate::ziplist::{Ziplist, ZiplistWalk};
use crate::zipmap::{Zipmap, ZipmapWalk};

/// The compact encodings a blob can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compact {
    Ziplist,
    Listpack,
    Intset,
    Zipmap,
}

/// Where the walk of the loaded blob stands.
#[derive(Clone, Copy, Debug)]
enum Walk {
    /// No blob loaded, or its walk is over (or failed).
    Done,
    Ziplist(ZiplistWalk),
    Listpack(ListpackWalk),
    Intset(IntsetWalk),
    /// A zipmap walk, and the place of the value whose field was taken last.
    Zipmap(ZipmapWalk, Option<(usize, usize)>),
}

/// The blob loaded last and the walk over its entries.
#[derive(Debug)]
pub(crate) struct Packed<'a> {
    /// The blob when it is stored plainly in the input.
    borrowed: Option<&'a [u8]>,
    /// The blob decompressed, when it was LZF-compressed.
    owned: Vec<u8>,
    walk: Walk,
    /// Absolute offset of the blob's string in the input: faults inside the blob are
    /// reported at it, with their place in the blob as the inner offset.
    offset: u64,
}

impl Default for Packed<'_> {
    fn default() -> Self {
        Packed {
            borrowed: None,
            owned: Vec::new(),
            walk: Walk::Done,
            offset: 0,
        }
    }
}

impl Drop for Packed<'_> {
    fn drop(&mut self) {
        spare::give(std::mem::take(&mut self.owned));
    }
}

impl<'a> Packed<'a> {
    /// Loads the blob in `s` (at absolute `offset`), whose entries come in groups of
    /// `width`, and checks its header.
    pub(crate) fn load(
        &mut self,
        s: RdbString<'a>,
        kind: Compact,
        offset: u64,
        width: usize,
    ) -> Result<()> {
        self.walk = Walk::Done;
        self.offset = offset;
        match s {
            RdbString::Raw(b) => self.borrowed = Some(b),
            _ => {
                self.borrowed = None;
                if self.owned.capacity() == 0 {
                    self.owned = spare::take();
                }
                s.bytes(&mut self.owned)?;
            }
        }
        let blob = current(self.borrowed, &self.owned);
        let (walk, count) = match kind {
            Compact::Ziplist => {
                let z = Ziplist::new(blob).map_err(|e| e.inside(offset))?;
                (Walk::Ziplist(z.walk()), z.len_hint())
            }
            Compact::Listpack => {
                let l = Listpack::new(blob).map_err(|e| e.inside(offset))?;
                (Walk::Listpack(l.walk()), l.len_hint())
            }
            Compact::Intset => {
                let i = Intset::new(blob).map_err(|e| e.inside(offset))?;
                (Walk::Intset(i.walk()), Some(i.len()))
            }
            Compact::Zipmap => {
                let z = Zipmap::new(blob).map_err(|e| e.inside(offset))?;
                (
                    Walk::Zipmap(z.walk(), None),
                    z.len_hint().map(|pairs| pairs * 2),
                )
            }
        };
        if count.is_some_and(|n| !n.is_multiple_of(width)) {
            return Err(uneven(offset));
        }
        self.walk = walk;
        Ok(())
    }

    /// Whether the walk is over: no blob, or every entry taken (the blob's closing
    /// checks are then done).
    pub(crate) fn exhausted(&mut self) -> Result<bool> {
        let blob = current(self.borrowed, &self.owned);
        let at_end = match &self.walk {
            Walk::Done => return Ok(true),
            Walk::Ziplist(w) => w.at_end(blob),
            Walk::Listpack(w) => w.at_end(blob),
            Walk::Intset(w) => w.at_end(blob),
            Walk::Zipmap(w, pending) => pending.is_none() && w.at_end(blob),
        };
        if at_end {
            // Runs the closing checks (entry counts) and ends the walk.
            let none = self.take::<1>()?;
            debug_assert!(none.is_none());
        }
        Ok(at_end)
    }

    /// The next `N` entries, or `None` after the last group.
    #[inline]
    pub(crate) fn take<const N: usize>(&mut self) -> Result<Option<[Element<'_>; N]>> {
        let blob = current(self.borrowed, &self.owned);
        let walk = &mut self.walk;
        let mut out = [Element::Int(0); N];
        for (i, slot) in out.iter_mut().enumerate() {
            match next(walk, blob) {
                Ok(Some(e)) => *slot = e,
                Ok(None) => {
                    *walk = Walk::Done;
                    return if i == 0 {
                        Ok(None)
                    } else {
                        Err(uneven(self.offset))
                    };
                }
                Err(e) => {
                    *walk = Walk::Done;
                    return Err(e.inside(self.offset));
                }
            }
        }
        Ok(Some(out))
    }
}

/// Why an internal walk ([`Packed::fold`]) stopped early: a fault in the value, or
/// the caller's own error, passed through untouched.
#[derive(Debug)]
pub(crate) enum Stop<E> {
    Fault(Error),
    Caller(E),
}

impl<E> From<Error> for Stop<E> {
    fn from(e: Error) -> Self {
        Stop::Fault(e)
    }
}

impl Packed<'_> {
    /// Folds every remaining group of `N` entries into `acc` with `f`, then ends the
    /// walk (with its closing checks). One loop per encoding, so each is compiled
    /// tight, and the accumulator is a value the loop carries, not memory.
    #[inline]
    pub(crate) fn fold<const N: usize, B, E>(
        &mut self,
        acc: B,
        f: impl FnMut(B, [Element<'_>; N]) -> Result<B, Stop<E>>,
    ) -> Result<B, Stop<E>> {
        let blob = current(self.borrowed, &self.owned);
        let offset = self.offset;
        match std::mem::replace(&mut self.walk, Walk::Done) {
            Walk::Done => Ok(acc),
            Walk::Listpack(mut w) => groups(|| w.next(blob), offset, acc, f),
            Walk::Ziplist(mut w) => groups(|| w.next(blob), offset, acc, f),
            Walk::Intset(mut w) => groups(|| Ok(w.next(blob).map(Element::Int)), offset, acc, f),
            mut walk @ Walk::Zipmap(..) => groups(|| next(&mut walk, blob), offset, acc, f),
        }
    }
}

/// Takes entries from `next` in groups of `N` and folds each group into `acc`.
///
/// It gathers a group the way [`Packed::take`] does, written out again on purpose:
/// one helper shared by both made a full decode of a 300k-key file 3 ms slower.
#[inline(always)]
fn groups<'b, const N: usize, B, E>(
    mut next: impl FnMut() -> Result<Option<Element<'b>>>,
    offset: u64,
    mut acc: B,
    mut f: impl FnMut(B, [Element<'b>; N]) -> Result<B, Stop<E>>,
) -> Result<B, Stop<E>> {
    loop {
        let mut out = [Element::Int(0); N];
        for (i, slot) in out.iter_mut().enumerate() {
            match next() {
                Ok(Some(e)) => *slot = e,
                Ok(None) if i == 0 => return Ok(acc),
                Ok(None) => return Err(Stop::Fault(uneven(offset))),
                Err(e) => return Err(Stop::Fault(e.inside(offset))),
            }
        }
        acc = f(acc, out)?;
    }
}

/// The loaded blob: borrowed from the input, or else the decompressed one. A free
/// function so that callers can hold it while they change the walk.
fn current<'s>(borrowed: Option<&'s [u8]>, owned: &'s [u8]) -> &'s [u8] {
    borrowed.unwrap_or(owned)
}

/// The next entry of `blob` in `walk`.
#[inline]
fn next<'b>(walk: &mut Walk, blob: &'b [u8]) -> Result<Option<Element<'b>>> {
    match walk {
        Walk::Done => Ok(None),
        Walk::Listpack(w) => w.next(blob),
        Walk::Ziplist(w) => w.next(blob),
        Walk::Intset(w) => Ok(w.next(blob).map(Element::Int)),
        Walk::Zipmap(w, pending) => {
            if let Some((from, to)) = pending.take() {
                return Ok(blob.get(from..to).map(Element::Bytes));
            }
            Ok(w.next(blob)?.map(|(field, value)| {
                let from = value.as_ptr() as usize - blob.as_ptr() as usize;
                *pending = Some((from, from + value.len()));
                Element::Bytes(field)
            }))
        }
    }
}

/// A blob whose entries do not make whole groups (a hash field without its value).
#[cold]
fn uneven(offset: u64) -> Error {
    Error::new(
        ErrorKind::Invalid("entry count: not a whole number of groups"),
        offset,
    )
}
