//! Walking the entries of a collection value, whatever its encoding.
//!
//! Every collection type (list, set, sorted set, hash) is stored either as plain RDB
//! strings, as one compact blob, or as a sequence of blobs (quicklists). A [`Walker`]
//! reads any of these layouts lazily and yields one [`Group`] per logical entry; the
//! public cursors in `collection` give the groups their typed shape.

use crate::cursor::Cursor;
use crate::element::{Element, parse_double};
use crate::error::{Error, ErrorKind, Result};
use crate::length::read_len;
use crate::packed::{Compact, Packed, Stop};
use crate::string::{RdbString, read_string, skip_string};

/// How a collection value is laid out after its type byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// A count, then `width` strings per entry (plain lists, sets and hashes).
    Strings { width: usize },
    /// A count, then (member, score as a 1-byte-length ASCII double) per entry.
    ZsetAsciiScore,
    /// A count, then (member, score as an 8-byte LE double) per entry.
    ZsetBinaryScore,
    /// A count, then (ttl length, field, value); the ttl is absolute ms (pre-GA, 0 =
    /// none) or, with a minimum expiry, `expire - min + 1` (0 = none).
    HashTtlFirst { min_expire: Option<i64> },
    /// A count, then (field, value, 8-byte LE expiry ms, -1 = none): Valkey HASH_2.
    HashTtlLast,
    /// One blob whose entries come in groups of `width`; `shape` says what they mean.
    Blob { kind: Compact, shape: Shape },
    /// A node count, then one ziplist blob per node (quicklist v1).
    Quicklist,
    /// A node count, then (container, blob) per node: PLAIN (1) holds one element,
    /// PACKED (2) a listpack (quicklist v2).
    Quicklist2,
}

/// What the entries of a blob mean, grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One element per entry (lists, sets).
    Single,
    /// (field, value) pairs.
    Pair,
    /// (member, score) pairs; the score is a number or a decimal string.
    Scored,
    /// (field, value, ttl) triplets; ttl 0 = none.
    Expiring,
}

impl Shape {
    fn width(self) -> usize {
        match self {
            Shape::Single => 1,
            Shape::Pair | Shape::Scored => 2,
            Shape::Expiring => 3,
        }
    }
}

/// One logical entry: up to three elements, plus a score or an expiry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Group<'s> {
    pub(crate) elems: [Element<'s>; 3],
    pub(crate) score: f64,
    pub(crate) expire_ms: Option<i64>,
}

const EMPTY: Element<'static> = Element::Int(0);

/// A lazy walk over one collection value's entries.
#[derive(Debug)]
pub(crate) struct Walker<'a> {
    steps: Steps<'a>,
    /// The key holding the value, named in errors. Apart from `steps` so that an
    /// error path can borrow it while the steps are borrowed.
    key: Option<RdbString<'a>>,
}

/// The walk itself: where it stands in the value and in the current blob.
#[derive(Debug)]
struct Steps<'a> {
    layout: Layout,
    cur: Cursor<'a>,
    version: u32,
    /// Entries (plain layouts), or nodes (quicklists), or 1 for a blob not yet loaded.
    left: u64,
    packed: Packed<'a>,
    scratch: [Vec<u8>; 3],
}

impl<'a> Walker<'a> {
    /// A walk over `payload` (the value's bytes after any fixed prefix such as a
    /// minimum expiry), which starts at absolute `base`, before [`Walker::start`]
    /// reads its entry count. Split so that a walk can be built where it is used and
    /// never moved (it is a few hundred bytes, and a move out of a `Result` is a copy
    /// of all of them).
    #[inline]
    pub(crate) fn unstarted(
        layout: Layout,
        payload: &'a [u8],
        base: u64,
        version: u32,
        key: Option<RdbString<'a>>,
    ) -> Self {
        Walker {
            steps: Steps {
                layout,
                cur: Cursor::new(payload, base),
                version,
                left: 0,
                packed: Packed::default(),
                scratch: Default::default(),
            },
            key,
        }
    }

    /// Reads the entry count, or takes `count` when the payload has no count prefix
    /// (a streaming reader's run of entries cut from a larger value).
    #[inline]
    pub(crate) fn start(&mut self, count: Option<u64>) -> Result<()> {
        let steps = &mut self.steps;
        steps.left = match (steps.layout, count) {
            (Layout::Blob { .. }, _) => 1,
            (_, Some(n)) => n,
            _ => read_len(&mut steps.cur, steps.version, "collection length")
                .map_err(|e| e.with_rdb_key(self.key))?,
        };
        Ok(())
    }

    /// The next entry, or `None` at the end; errors name the key.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<Option<Group<'_>>> {
        let key = &self.key;
        self.steps.next_entry().map_err(|e| e.with_rdb_key(*key))
    }

    /// Reads every entry to the end, validating the whole value.
    pub(crate) fn skip_all(&mut self) -> Result<u64> {
        self.fold(0, |n, _| Ok::<_, Error>(n + 1))
    }

    /// Folds every remaining entry into `acc` with `f`, in order; faults name the
    /// key, and `f`'s own errors are passed through. Faster than [`Walker::next`] in
    /// a loop: the layout and encoding are matched once, not per entry.
    #[inline]
    pub(crate) fn fold<B, E: From<Error>>(
        &mut self,
        acc: B,
        mut f: impl FnMut(B, Group<'_>) -> Result<B, E>,
    ) -> Result<B, E> {
        match self
            .steps
            .fold(acc, &mut |acc, g| f(acc, g).map_err(Stop::Caller))
        {
            Ok(acc) => Ok(acc),
            Err(Stop::Caller(e)) => Err(e),
            Err(Stop::Fault(e)) => Err(E::from(e.with_rdb_key(self.key))),
        }
    }
}

/// What the next quicklist node holds.
enum Node<'a> {
    /// No nodes left.
    End,
    /// A PLAIN node: one large element, stored as a string.
    Plain(RdbString<'a>),
    /// A ziplist or listpack node, now loaded in `packed`.
    Packed,
}

impl<'a> Steps<'a> {
    #[inline]
    fn next_entry(&mut self) -> Result<Option<Group<'_>>> {
        match self.layout {
            Layout::Blob { kind, shape } => {
                self.load_blob(kind, shape)?;
                self.take(shape)
            }
            Layout::Quicklist | Layout::Quicklist2 => {
                while self.packed.exhausted()? {
                    match self.next_node()? {
                        Node::End => return Ok(None),
                        Node::Plain(s) => {
                            return Ok(Some(single(s.element(&mut self.scratch[0])?)));
                        }
                        Node::Packed => {}
                    }
                }
                self.take(Shape::Single)
            }
            _ => {
                if self.left == 0 {
                    return Ok(None);
                }
                self.left -= 1;
                self.next_plain(self.version).map(Some)
            }
        }
    }

    /// Every remaining entry folded into `acc`: see [`Walker::fold`].
    #[inline]
    fn fold<B, E>(
        &mut self,
        mut acc: B,
        f: &mut impl FnMut(B, Group<'_>) -> Result<B, Stop<E>>,
    ) -> Result<B, Stop<E>> {
        match self.layout {
            Layout::Blob { kind, shape } => {
                self.load_blob(kind, shape)?;
                self.drain(shape, acc, f)
            }
            Layout::Quicklist | Layout::Quicklist2 => loop {
                acc = self.drain(Shape::Single, acc, f)?;
                match self.next_node()? {
                    Node::End => return Ok(acc),
                    Node::Plain(s) => acc = f(acc, single(s.element(&mut self.scratch[0])?))?,
                    Node::Packed => {}
                }
            },
            _ => {
                while self.left > 0 {
                    self.left -= 1;
                    acc = f(acc, self.next_plain(self.version)?)?;
                }
                Ok(acc)
            }
        }
    }

    /// Loads a blob layout's one blob, the first time.
    #[inline]
    fn load_blob(&mut self, kind: Compact, shape: Shape) -> Result<()> {
        if self.left == 1 {
            self.left = 0;
            let at = self.cur.offset();
            let s = read_string(&mut self.cur, self.version, "encoded collection")?;
            self.packed.load(s, kind, at, shape.width())?;
        }
        Ok(())
    }

    /// Reads the next quicklist node: a PLAIN node's string, or a blob loaded in
    /// `packed`.
    fn next_node(&mut self) -> Result<Node<'a>> {
        if self.left == 0 {
            return Ok(Node::End);
        }
        self.left -= 1;
        let v = self.version;
        let mut kind = Compact::Ziplist;
        if self.layout == Layout::Quicklist2 {
            let at = self.cur.pos();
            match read_len(&mut self.cur, v, "quicklist container")? {
                1 => {
                    return Ok(Node::Plain(read_string(
                        &mut self.cur,
                        v,
                        "quicklist plain node",
                    )?));
                }
                2 => kind = Compact::Listpack,
                _ => {
                    let e = ErrorKind::Invalid("quicklist container");
                    return Err(self.cur.error_at(e, at));
                }
            }
        }
        let at = self.cur.offset();
        let s = read_string(&mut self.cur, v, "quicklist node")?;
        self.packed.load(s, kind, at, 1)?;
        Ok(Node::Packed)
    }

    /// Every remaining entry of the loaded blob, grouped as `shape` says, folded
    /// into `acc`.
    #[inline(always)]
    fn drain<B, E>(
        &mut self,
        shape: Shape,
        acc: B,
        f: &mut impl FnMut(B, Group<'_>) -> Result<B, Stop<E>>,
    ) -> Result<B, Stop<E>> {
        let at = self.cur.offset();
        match shape {
            Shape::Single => self.packed.fold(acc, |acc, [a]| f(acc, single(a))),
            Shape::Pair => self.packed.fold(acc, |acc, [a, b]| f(acc, pair(a, b))),
            Shape::Scored => self
                .packed
                .fold(acc, |acc, [m, s]| f(acc, scored(m, s, at)?)),
            Shape::Expiring => self
                .packed
                .fold(acc, |acc, [a, b, t]| f(acc, expiring(a, b, t, at)?)),
        }
    }

    #[inline]
    fn take(&mut self, shape: Shape) -> Result<Option<Group<'_>>> {
        let at = self.cur.offset();
        Ok(match shape {
            Shape::Single => self.packed.take::<1>()?.map(|[a]| single(a)),
            Shape::Pair => self.packed.take::<2>()?.map(|[a, b]| pair(a, b)),
            Shape::Scored => match self.packed.take::<2>()? {
                Some([m, s]) => Some(scored(m, s, at)?),
                None => None,
            },
            Shape::Expiring => match self.packed.take::<3>()? {
                Some([a, b, t]) => Some(expiring(a, b, t, at)?),
                None => None,
            },
        })
    }

    fn next_plain(&mut self, v: u32) -> Result<Group<'_>> {
        let cur = &mut self.cur;
        let mut score = 0.0;
        let mut expire_ms = None;
        let mut strings = [None; 3];
        match self.layout {
            Layout::Strings { width } => {
                for s in strings.iter_mut().take(width) {
                    *s = Some(read_string(cur, v, "collection element")?);
                }
            }
            Layout::ZsetAsciiScore => {
                strings[0] = Some(read_string(cur, v, "sorted set member")?);
                score = read_ascii_double(cur)?;
            }
            Layout::ZsetBinaryScore => {
                strings[0] = Some(read_string(cur, v, "sorted set member")?);
                score = cur.f64_le("sorted set score")?;
            }
            Layout::HashTtlFirst { min_expire } => {
                let ttl = read_len(cur, v, "hash field expiry")?;
                expire_ms = match (ttl, min_expire) {
                    (0, _) => None,
                    (t, None) => Some(t as i64),
                    // `t >= 1` here; added unsigned, so no ttl can overflow the sum.
                    (t, Some(min)) => Some(min.saturating_add_unsigned(t - 1)),
                };
                strings[0] = Some(read_string(cur, v, "hash field")?);
                strings[1] = Some(read_string(cur, v, "hash value")?);
            }
            Layout::HashTtlLast => {
                strings[0] = Some(read_string(cur, v, "hash field")?);
                strings[1] = Some(read_string(cur, v, "hash value")?);
                let t = cur.i64_le("hash field expiry")?;
                expire_ms = (t != -1).then_some(t);
            }
            _ => unreachable!("next_plain is only called for plain layouts"),
        }
        let [s0, s1, s2] = &mut self.scratch;
        let [a, b, c] = strings;
        Ok(Group {
            elems: [resolve(a, s0)?, resolve(b, s1)?, resolve(c, s2)?],
            score,
            expire_ms,
        })
    }
}

/// The element of an optional string, decompressed into `buf` when needed.
fn resolve<'s>(s: Option<RdbString<'s>>, buf: &'s mut Vec<u8>) -> Result<Element<'s>> {
    match s {
        Some(s) => s.element(buf),
        None => Ok(EMPTY),
    }
}

fn single(e: Element<'_>) -> Group<'_> {
    Group {
        elems: [e, EMPTY, EMPTY],
        score: 0.0,
        expire_ms: None,
    }
}

fn pair<'s>(a: Element<'s>, b: Element<'s>) -> Group<'s> {
    Group {
        elems: [a, b, EMPTY],
        score: 0.0,
        expire_ms: None,
    }
}

/// A (member, score) entry; a score that is not a number is a fault at `at`.
#[inline]
fn scored<'s>(member: Element<'s>, score: Element<'s>, at: u64) -> Result<Group<'s>> {
    let Some(value) = score.to_f64() else {
        return Err(Error::new(ErrorKind::Invalid("sorted set score"), at));
    };
    Ok(Group {
        elems: [member, score, EMPTY],
        score: value,
        expire_ms: None,
    })
}

/// A (field, value, ttl) entry; a ttl that is not an integer is a fault at `at`.
#[inline]
fn expiring<'s>(
    field: Element<'s>,
    value: Element<'s>,
    ttl: Element<'s>,
    at: u64,
) -> Result<Group<'s>> {
    let Some(ms) = ttl.to_i64() else {
        return Err(Error::new(ErrorKind::Invalid("hash field expiry"), at));
    };
    Ok(Group {
        elems: [field, value, ttl],
        score: 0.0,
        expire_ms: (ms != 0).then_some(ms),
    })
}

/// Reads a score saved as a 1-byte length and ASCII text (253 NaN, 254 +inf, 255 -inf).
///
/// Source: redis `src/rdb.c` (`rdbLoadDoubleValue`).
pub(crate) fn read_ascii_double(cur: &mut Cursor<'_>) -> Result<f64> {
    let at = cur.pos();
    Ok(match cur.u8("sorted set score")? {
        253 => f64::NAN,
        254 => f64::INFINITY,
        255 => f64::NEG_INFINITY,
        len => {
            let text = cur.take(u64::from(len), "sorted set score")?;
            parse_double(text)
                .ok_or_else(|| cur.error_at(ErrorKind::Invalid("sorted set score"), at))?
        }
    })
}

/// Skips a collection value laid out as `layout`, without decompressing or decoding
/// its elements: only the structure is walked, to find where the value ends.
pub(crate) fn skip(layout: Layout, cur: &mut Cursor<'_>, v: u32) -> Result<()> {
    let what = "collection element";
    let skip_str = |cur: &mut Cursor<'_>| skip_string(cur, v, what);
    if let Layout::Blob { .. } = layout {
        return skip_str(cur);
    }
    let n = read_len(cur, v, "collection length")?;
    for _ in 0..n {
        skip_entry(layout, cur, v)?;
    }
    Ok(())
}

/// Skips one entry (or quicklist node) of a collection laid out as `layout`.
pub(crate) fn skip_entry(layout: Layout, cur: &mut Cursor<'_>, v: u32) -> Result<()> {
    let what = "collection element";
    let skip_str = |cur: &mut Cursor<'_>| skip_string(cur, v, what);
    match layout {
        Layout::Strings { width } => {
            for _ in 0..width {
                skip_str(cur)?;
            }
        }
        Layout::ZsetAsciiScore => {
            skip_str(cur)?;
            read_ascii_double(cur)?;
        }
        Layout::ZsetBinaryScore => {
            skip_str(cur)?;
            cur.skip(8, "sorted set score")?;
        }
        Layout::HashTtlFirst { .. } => {
            read_len(cur, v, "hash field expiry")?;
            skip_str(cur)?;
            skip_str(cur)?;
        }
        Layout::HashTtlLast => {
            skip_str(cur)?;
            skip_str(cur)?;
            cur.skip(8, "hash field expiry")?;
        }
        Layout::Quicklist => skip_str(cur)?,
        Layout::Quicklist2 => {
            read_len(cur, v, "quicklist container")?;
            skip_str(cur)?;
        }
        Layout::Blob { .. } => skip_str(cur)?,
    }
    Ok(())
}
