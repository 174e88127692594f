//! One compact blob (ziplist, listpack, intset, zipmap) decoded into entry positions.
//!
//! A blob is decompressed (when LZF) into a reusable buffer and walked once; the
//! entries are kept as positions into the blob, for random access: a stream node's
//! entries refer to the master entry's fields at the node's start. A blob is one
//! stream node, so this costs a few words per entry of the current node only.
//! Collections, which are read in order, walk their blobs in place (`packed`).

use crate::element::Element;
use crate::error::Result;
use crate::intset::Intset;
use crate::listpack::Listpack;
use crate::string::RdbString;
use crate::ziplist::Ziplist;
use crate::zipmap::Zipmap;

/// The compact encodings a blob can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compact {
    Ziplist,
    Listpack,
    Intset,
    Zipmap,
}

/// An entry of the loaded blob.
#[derive(Clone, Copy, Debug)]
enum Ref {
    Bytes(usize, usize),
    Int(i64),
}

/// The entries of the blob loaded last.
#[derive(Debug, Default)]
pub(crate) struct Unpacked<'a> {
    /// The blob when it is stored plainly in the input.
    borrowed: Option<&'a [u8]>,
    /// The blob decompressed, when it was LZF-compressed.
    owned: Vec<u8>,
    refs: Vec<Ref>,
    next: usize,
}

impl<'a> Unpacked<'a> {
    /// Loads and walks the blob in `s`, which starts at absolute `offset`.
    pub(crate) fn load(&mut self, s: RdbString<'a>, kind: Compact, offset: u64) -> Result<()> {
        self.refs.clear();
        self.next = 0;
        match s {
            RdbString::Raw(b) => self.borrowed = Some(b),
            _ => {
                self.borrowed = None;
                s.bytes(&mut self.owned)?;
            }
        }
        let blob: &[u8] = match self.borrowed {
            Some(b) => b,
            None => &self.owned,
        };
        let base = blob.as_ptr() as usize;
        let to_ref = |e: Element<'_>| match e {
            Element::Bytes(b) => {
                let start = b.as_ptr() as usize - base;
                Ref::Bytes(start, start + b.len())
            }
            Element::Int(i) => Ref::Int(i),
        };
        let refs = &mut self.refs;
        // One allocation at the size the header states, when it states one (every
        // entry takes at least a byte, so the blob bounds it).
        let reserve = |refs: &mut Vec<Ref>, hint: Option<usize>| {
            refs.reserve(hint.unwrap_or(0).min(blob.len()));
        };
        let walked: Result<()> = (|| {
            match kind {
                Compact::Ziplist => {
                    let z = Ziplist::new(blob)?;
                    reserve(refs, z.len_hint());
                    for e in z.iter() {
                        refs.push(to_ref(e?));
                    }
                }
                Compact::Listpack => {
                    let l = Listpack::new(blob)?;
                    reserve(refs, l.len_hint());
                    for e in l.iter() {
                        refs.push(to_ref(e?));
                    }
                }
                Compact::Intset => refs.extend(Intset::new(blob)?.iter().map(Ref::Int)),
                Compact::Zipmap => {
                    for pair in Zipmap::new(blob)?.iter() {
                        let (f, v) = pair?;
                        refs.push(to_ref(Element::Bytes(f)));
                        refs.push(to_ref(Element::Bytes(v)));
                    }
                }
            }
            Ok(())
        })();
        walked.map_err(|e| e.inside(offset))
    }

    /// Number of entries in the blob.
    pub(crate) fn len(&self) -> usize {
        self.refs.len()
    }

    /// Index of the entry the reader is at.
    pub(crate) fn position(&self) -> usize {
        self.next
    }

    /// Moves the next entry to index `i` (at most [`len`](Self::len)).
    pub(crate) fn seek(&mut self, i: usize) {
        self.next = i.min(self.refs.len());
    }

    /// Entry `i` of the blob.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<Element<'_>> {
        let blob: &[u8] = match self.borrowed {
            Some(b) => b,
            None => &self.owned,
        };
        self.refs.get(i).map(|r| match *r {
            Ref::Bytes(s, e) => Element::Bytes(&blob[s..e]),
            Ref::Int(v) => Element::Int(v),
        })
    }
}
