//! Streams: entries in listpack nodes, then the stream's metadata and consumer groups.
//!
//! # Wire format
//! ```text
//! len(#nodes), #nodes x ( string(16-byte master ID, ms BE + seq BE), string(listpack) )
//! len(length) len(last_id.ms) len(last_id.seq)
//! v2+: len(first_id.ms) len(first_id.seq) len(max_deleted.ms) len(max_deleted.seq) len(entries_added)
//! len(#groups), per group:
//!   string(name) len(last_id.ms) len(last_id.seq) [v2+: len(entries_read)]
//!   PEL: len(n), n x ( 16-byte ID BE, int64 LE delivery time, len(delivery count) )
//!   len(#consumers), per consumer:
//!     string(name) int64 LE seen_time [v3+: int64 LE active_time]
//!     PEL: len(n), n x 16-byte ID BE
//!   [v5+: len(n), n x 16-byte ID BE   (NACKed IDs)]
//! v4+: len(idmp_duration) len(idmp_max_entries) len(#producers),
//!      per producer: string(pid) len(n), n x ( string(iid) len(ms) len(seq) )
//!      len(iids_added) len(iids_duplicates)
//!
//! node listpack: master entry  count deleted #fields field_1..field_N 0
//!                then entries  flags ms-diff seq-diff [#fields (field value)* | value*] lp-count
//!                flags: 1 = deleted, 2 = same fields as the master entry
//! ```
//! Source: redis `src/rdb.c` (`rdbSaveObject`, `rdbLoadObject` for `RDB_TYPE_STREAM_*`),
//! `src/t_stream.c` (the node layout).

use std::fmt;

use crate::cursor::Cursor;
use crate::element::Element;
use crate::error::{Error, ErrorKind, Result};
use crate::length::{read_count, read_len};
use crate::listpack::{Listpack, ListpackWalk};
use crate::string::{RdbString, read_string};

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl StreamId {
    fn from_be(bytes: &[u8]) -> Option<StreamId> {
        let ms = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let seq = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        Some(StreamId { ms, seq })
    }

    fn read_raw(cur: &mut Cursor<'_>) -> Result<StreamId> {
        let b = cur.take(16, "stream ID")?;
        StreamId::from_be(b).ok_or_else(|| cur.error(ErrorKind::Invalid("stream ID")))
    }

    fn read_lens(cur: &mut Cursor<'_>, v: u32) -> Result<StreamId> {
        Ok(StreamId {
            ms: read_len(cur, v, "stream ID")?,
            seq: read_len(cur, v, "stream ID")?,
        })
    }
}

/// A pending (delivered, not yet acknowledged) entry of a consumer group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry's ID.
    pub id: StreamId,
    /// When it was last delivered, unix ms.
    pub delivery_time_ms: i64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Clone, Debug)]
pub struct Consumer<'a> {
    /// The consumer's name.
    pub name: RdbString<'a>,
    /// When it was last seen, unix ms.
    pub seen_time_ms: i64,
    /// When it last read successfully, unix ms (stream format 3+, Redis 7.2+).
    pub active_time_ms: Option<i64>,
    /// The IDs of the pending entries it owns.
    pub pending: Vec<StreamId>,
}

/// A consumer group.
#[derive(Clone, Debug)]
pub struct ConsumerGroup<'a> {
    /// The group's name.
    pub name: RdbString<'a>,
    /// The last ID delivered to the group.
    pub last_id: StreamId,
    /// The group's entries-read counter (stream format 2+, Redis 7.0+).
    pub entries_read: Option<u64>,
    /// The group's pending entries list.
    pub pending: Vec<PendingEntry>,
    /// The group's consumers.
    pub consumers: Vec<Consumer<'a>>,
    /// NACKed entry IDs (stream format 5, Redis 8.8).
    pub nacked: Vec<StreamId>,
}

/// A producer's idempotency record (stream format 4+, Redis 8.6).
#[derive(Clone, Debug)]
pub struct Producer<'a> {
    /// The producer id.
    pub pid: RdbString<'a>,
    /// (idempotency id, entry ID) pairs.
    pub iids: Vec<(RdbString<'a>, StreamId)>,
}

/// Idempotent-producer state of a stream (stream format 4+, Redis 8.6).
#[derive(Clone, Debug)]
pub struct Idempotency<'a> {
    /// How long idempotency ids are kept.
    pub duration: u64,
    /// How many ids are kept at most.
    pub max_entries: u64,
    /// The producers.
    pub producers: Vec<Producer<'a>>,
    /// Counter of ids added.
    pub iids_added: u64,
    /// Counter of duplicates seen.
    pub iids_duplicates: u64,
}

/// A stream: metadata and groups decoded, entries walked lazily with [`Stream::entries`].
#[derive(Clone, Debug)]
pub struct Stream<'a> {
    format: u8,
    nodes: &'a [u8],
    nodes_base: u64,
    node_count: u64,
    version: u32,
    key: Option<RdbString<'a>>,
    /// Number of entries.
    pub length: u64,
    /// The greatest ID ever added.
    pub last_id: StreamId,
    /// The first entry's ID (format 2+, Redis 7.0+).
    pub first_id: Option<StreamId>,
    /// The greatest deleted ID (format 2+).
    pub max_deleted_id: Option<StreamId>,
    /// Entries ever added (format 2+).
    pub entries_added: Option<u64>,
    /// Consumer groups.
    pub groups: Vec<ConsumerGroup<'a>>,
    /// Idempotent-producer state (format 4+).
    pub idempotency: Option<Idempotency<'a>>,
}

impl<'a> Stream<'a> {
    /// Reads a stream of format revision `format` (1 to 5) at the cursor.
    pub(crate) fn read(
        cur: &mut Cursor<'a>,
        v: u32,
        format: u8,
        key: Option<RdbString<'a>>,
    ) -> Result<Stream<'a>> {
        // A node is at least two 1-byte strings.
        let node_count = read_count(cur, v, 2, "stream node count")?;
        let begin = cur.pos();
        let nodes_base = cur.offset();
        for _ in 0..node_count {
            skip_node(cur, v)?;
        }
        let nodes = cur.slice(begin, cur.pos());
        Self::read_meta(cur, v, format, key, (nodes, nodes_base, node_count))
    }

    /// Reads what follows the nodes (length, IDs, groups, idempotency state), for a
    /// stream whose nodes are `(bytes, absolute offset, count)`.
    pub(crate) fn read_meta(
        cur: &mut Cursor<'a>,
        v: u32,
        format: u8,
        key: Option<RdbString<'a>>,
        (nodes, nodes_base, node_count): (&'a [u8], u64, u64),
    ) -> Result<Stream<'a>> {
        let length = read_len(cur, v, "stream length")?;
        let last_id = StreamId::read_lens(cur, v)?;
        let (mut first_id, mut max_deleted_id, mut entries_added) = (None, None, None);
        if format >= 2 {
            first_id = Some(StreamId::read_lens(cur, v)?);
            max_deleted_id = Some(StreamId::read_lens(cur, v)?);
            entries_added = Some(read_len(cur, v, "stream entries added")?);
        }
        let group_count = read_count(cur, v, 4, "stream group count")?;
        let mut groups = Vec::new();
        for _ in 0..group_count {
            groups.push(read_group(cur, v, format)?);
        }
        let idempotency = if format >= 4 {
            Some(read_idempotency(cur, v)?)
        } else {
            None
        };
        Ok(Stream {
            format,
            nodes,
            nodes_base,
            node_count,
            version: v,
            key,
            length,
            last_id,
            first_id,
            max_deleted_id,
            entries_added,
            groups,
            idempotency,
        })
    }

    /// The stream format revision (1 for `STREAM_LISTPACKS` up to 5).
    pub fn format(&self) -> u8 {
        self.format
    }

    /// Number of listpack nodes.
    pub fn node_count(&self) -> u64 {
        self.node_count
    }

    /// Hands `each` every node's master ID and the size of its listpack, in
    /// order, without decoding its entries (the server holds the listpacks as
    /// they are stored).
    ///
    /// # Errors
    /// When a node is corrupt or truncated.
    pub fn node_sizes(&self, mut each: impl FnMut(StreamId, u64)) -> Result<()> {
        let mut cur = Cursor::new(self.nodes, self.nodes_base);
        let v = self.version;
        let mut walk = || -> Result<()> {
            for _ in 0..self.node_count {
                let at = cur.pos();
                let id = read_string(&mut cur, v, "stream node ID")?
                    .as_raw()
                    .and_then(StreamId::from_be)
                    .ok_or_else(|| cur.error_at(ErrorKind::Invalid("stream node ID"), at))?;
                each(id, read_string(&mut cur, v, "stream node listpack")?.len());
            }
            Ok(())
        };
        walk().map_err(|e| e.with_rdb_key(self.key))
    }

    /// The nodes as stored (node ID and listpack strings, one after the other),
    /// the same in every format.
    pub(crate) fn raw_nodes(&self) -> &'a [u8] {
        self.nodes
    }

    /// A cursor over the live (not deleted) entries, in ID order.
    pub fn entries(&self) -> StreamEntries<'a> {
        StreamEntries::over(
            self.nodes,
            self.nodes_base,
            self.node_count,
            self.version,
            self.key,
        )
    }
}

impl<'a> StreamEntries<'a> {
    /// A cursor over `node_count` nodes stored in `nodes`, at absolute `nodes_base`.
    pub(crate) fn over(
        nodes: &'a [u8],
        nodes_base: u64,
        node_count: u64,
        version: u32,
        key: Option<RdbString<'a>>,
    ) -> Self {
        StreamEntries {
            cur: Cursor::new(nodes, nodes_base),
            version,
            nodes_left: node_count,
            borrowed: None,
            owned: Vec::new(),
            walk: None,
            node_offset: 0,
            master: StreamId::default(),
            master_fields: Vec::new(),
            pairs: Vec::new(),
            entries_left: 0,
            key,
        }
    }
}

/// Skips one node: its 16-byte master ID and its listpack.
pub(crate) fn skip_node(cur: &mut Cursor<'_>, v: u32) -> Result<()> {
    let at = cur.pos();
    let key = read_string(cur, v, "stream node ID")?;
    if key.as_raw().is_none_or(|k| k.len() != 16) {
        return Err(cur.error_at(ErrorKind::Invalid("stream node ID"), at));
    }
    read_string(cur, v, "stream node listpack")?;
    Ok(())
}

fn read_group<'a>(cur: &mut Cursor<'a>, v: u32, format: u8) -> Result<ConsumerGroup<'a>> {
    let name = read_string(cur, v, "consumer group name")?;
    let last_id = StreamId::read_lens(cur, v)?;
    let entries_read = if format >= 2 {
        Some(read_len(cur, v, "group entries read")?)
    } else {
        None
    };
    let n = read_count(cur, v, 25, "group pending entries")?;
    let mut pending = Vec::new();
    for _ in 0..n {
        let id = StreamId::read_raw(cur)?;
        let delivery_time_ms = cur.i64_le("delivery time")?;
        let delivery_count = read_len(cur, v, "delivery count")?;
        pending.push(PendingEntry {
            id,
            delivery_time_ms,
            delivery_count,
        });
    }
    let n = read_count(cur, v, 10, "group consumers")?;
    let mut consumers = Vec::new();
    for _ in 0..n {
        let name = read_string(cur, v, "consumer name")?;
        let seen_time_ms = cur.i64_le("consumer seen time")?;
        let active_time_ms = if format >= 3 {
            Some(cur.i64_le("consumer active time")?)
        } else {
            None
        };
        let n = read_count(cur, v, 16, "consumer pending entries")?;
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.push(StreamId::read_raw(cur)?);
        }
        consumers.push(Consumer {
            name,
            seen_time_ms,
            active_time_ms,
            pending: ids,
        });
    }
    let mut nacked = Vec::new();
    if format >= 5 {
        let n = read_count(cur, v, 16, "group nacked entries")?;
        for _ in 0..n {
            nacked.push(StreamId::read_raw(cur)?);
        }
    }
    Ok(ConsumerGroup {
        name,
        last_id,
        entries_read,
        pending,
        consumers,
        nacked,
    })
}

fn read_idempotency<'a>(cur: &mut Cursor<'a>, v: u32) -> Result<Idempotency<'a>> {
    let duration = read_len(cur, v, "idempotency duration")?;
    let max_entries = read_len(cur, v, "idempotency max entries")?;
    let n = read_count(cur, v, 2, "idempotency producers")?;
    let mut producers = Vec::new();
    for _ in 0..n {
        let pid = read_string(cur, v, "producer id")?;
        let n = read_count(cur, v, 3, "producer ids")?;
        let mut iids = Vec::new();
        for _ in 0..n {
            let iid = read_string(cur, v, "idempotency id")?;
            iids.push((iid, StreamId::read_lens(cur, v)?));
        }
        producers.push(Producer { pid, iids });
    }
    Ok(Idempotency {
        duration,
        max_entries,
        producers,
        iids_added: read_len(cur, v, "idempotency ids added")?,
        iids_duplicates: read_len(cur, v, "idempotency duplicates")?,
    })
}

/// Cursor over a stream's live entries.
///
/// Each node's listpack is walked in place, once: an entry's fields and values are
/// kept as places in the node until the next entry is read.
#[derive(Debug)]
pub struct StreamEntries<'a> {
    cur: Cursor<'a>,
    version: u32,
    nodes_left: u64,
    /// The current node's listpack when it is stored plainly in the input.
    borrowed: Option<&'a [u8]>,
    /// The current node's listpack decompressed, when it was LZF-compressed.
    owned: Vec<u8>,
    /// The walk over the current node (none before the first).
    walk: Option<ListpackWalk>,
    node_offset: u64,
    master: StreamId,
    /// The master entry's field names, as places in the node.
    master_fields: Vec<Place>,
    /// (field, value) places of the entry lent out last.
    pairs: Vec<(Place, Place)>,
    /// Entries (live and deleted) left in the current node.
    entries_left: u64,
    key: Option<RdbString<'a>>,
}

/// Where an element of the current node is: a byte range of it, or an integer.
#[derive(Clone, Copy, Debug)]
enum Place {
    Bytes(usize, usize),
    Int(i64),
}

impl Place {
    fn of(blob: &[u8], e: Element<'_>) -> Place {
        match e {
            Element::Bytes(b) => {
                let start = b.as_ptr() as usize - blob.as_ptr() as usize;
                Place::Bytes(start, start + b.len())
            }
            Element::Int(i) => Place::Int(i),
        }
    }

    fn get(self, blob: &[u8]) -> Element<'_> {
        match self {
            Place::Bytes(from, to) => Element::Bytes(blob.get(from..to).unwrap_or_default()),
            Place::Int(i) => Element::Int(i),
        }
    }
}

/// One stream entry as [`StreamEntries`] lends it.
#[derive(Debug)]
pub struct StreamEntry<'s> {
    /// The entry's ID.
    pub id: StreamId,
    node: &'s [u8],
    pairs: &'s [(Place, Place)],
}

impl<'s> StreamEntry<'s> {
    /// Number of (field, value) pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the entry has no fields.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The (field, value) pairs, in order.
    pub fn fields(&self) -> impl Iterator<Item = (Element<'s>, Element<'s>)> + '_ {
        let node = self.node;
        self.pairs
            .iter()
            .map(move |&(f, v)| (f.get(node), v.get(node)))
    }
}

impl<'a> StreamEntries<'a> {
    fn corrupt(&self, what: &'static str) -> Error {
        Error::new(ErrorKind::Invalid(what), self.node_offset)
    }

    /// Loads the next node and reads its master entry.
    fn load_node(&mut self) -> Result<()> {
        let v = self.version;
        self.nodes_left -= 1;
        let key = read_string(&mut self.cur, v, "stream node ID")?;
        self.master = key
            .as_raw()
            .and_then(StreamId::from_be)
            .ok_or_else(|| self.cur.error(ErrorKind::Invalid("stream node ID")))?;
        self.node_offset = self.cur.offset();
        let lp = read_string(&mut self.cur, v, "stream node listpack")?;
        match lp {
            RdbString::Raw(b) => self.borrowed = Some(b),
            _ => {
                self.borrowed = None;
                lp.bytes(&mut self.owned)?;
            }
        }
        let at = self.node_offset;
        let blob = self.borrowed.unwrap_or(&self.owned);
        let walk = self
            .walk
            .insert(Listpack::new(blob).map_err(|e| e.inside(at))?.walk());
        let mut int = |what| next_int(walk, blob, at, what);
        let count = int("stream node entry count")?;
        let deleted = int("stream node deleted count")?;
        let nfields = int("stream node field count")?;
        let (Ok(count), Ok(deleted), Ok(nfields)) = (
            u64::try_from(count),
            u64::try_from(deleted),
            u64::try_from(nfields),
        ) else {
            return Err(self.corrupt("stream node master entry"));
        };
        // One place per field the node really holds: `nfields` sizes nothing.
        self.master_fields.clear();
        for _ in 0..nfields {
            let field = next_element(walk, blob, at, "stream node master entry")?;
            self.master_fields.push(Place::of(blob, field));
        }
        if next_int(walk, blob, at, "stream master entry terminator")? != 0 {
            return Err(self.corrupt("stream master entry terminator"));
        }
        self.entries_left = count
            .checked_add(deleted)
            .ok_or_else(|| self.corrupt("stream node entry count"))?;
        Ok(())
    }

    /// The next live entry, or `None` after the last.
    ///
    /// # Errors
    /// When a node is corrupt.
    #[allow(clippy::should_implement_trait)] // lending: the entry borrows the cursor
    pub fn next(&mut self) -> Result<Option<StreamEntry<'_>>> {
        let key = self.key;
        self.next_entry().map_err(|e| e.with_rdb_key(key))
    }

    fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>> {
        Ok(self.advance()?.map(|id| StreamEntry {
            id,
            node: self.borrowed.unwrap_or(&self.owned),
            pairs: &self.pairs,
        }))
    }

    /// Reads up to the next live entry, whose pairs are then in `pairs`; its ID.
    fn advance(&mut self) -> Result<Option<StreamId>> {
        loop {
            while self.entries_left == 0 {
                // The node must end here; its closing checks (the entry count in
                // its header) run on the way.
                if let Some(mut walk) = self.walk.take() {
                    let blob = self.borrowed.unwrap_or(&self.owned);
                    let at = self.node_offset;
                    if walk.next(blob).map_err(|e| e.inside(at))?.is_some() {
                        return Err(self.corrupt("stream node: entries beyond the count"));
                    }
                }
                if self.nodes_left == 0 {
                    return Ok(None);
                }
                self.load_node()?;
            }
            self.entries_left -= 1;
            let at = self.node_offset;
            let blob = self.borrowed.unwrap_or(&self.owned);
            // Entries are left only in a loaded node.
            let Some(walk) = &mut self.walk else {
                return Err(self.corrupt("stream node"));
            };
            let flags = next_int(walk, blob, at, "stream entry flags")?;
            let ms_diff = next_int(walk, blob, at, "stream entry ID")?;
            let seq_diff = next_int(walk, blob, at, "stream entry ID")?;
            let id = StreamId {
                ms: self.master.ms.wrapping_add(ms_diff as u64),
                seq: self.master.seq.wrapping_add(seq_diff as u64),
            };
            self.pairs.clear();
            if flags & FLAG_SAMEFIELDS != 0 {
                for &field in &self.master_fields {
                    let value = next_element(walk, blob, at, "stream entry: truncated")?;
                    self.pairs.push((field, Place::of(blob, value)));
                }
            } else {
                let n = next_int(walk, blob, at, "stream entry field count")?;
                if n < 0 {
                    return Err(self.corrupt("stream entry field count"));
                }
                // One pair per pair the node really holds: `n` sizes nothing.
                for _ in 0..n {
                    let field = next_element(walk, blob, at, "stream entry field count")?;
                    let field = Place::of(blob, field);
                    let value = next_element(walk, blob, at, "stream entry field count")?;
                    self.pairs.push((field, Place::of(blob, value)));
                }
            }
            // The trailing lp-count lets Redis walk backwards; it must be there.
            next_element(walk, blob, at, "stream entry: truncated")?;
            if flags & FLAG_DELETED != 0 {
                continue;
            }
            return Ok(Some(id));
        }
    }
}

/// The next element of the node `blob` (at absolute `at`); the node's end here is
/// the fault `what`.
#[inline]
fn next_element<'b>(
    walk: &mut ListpackWalk,
    blob: &'b [u8],
    at: u64,
    what: &'static str,
) -> Result<Element<'b>> {
    match walk.next(blob) {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err(Error::new(ErrorKind::Invalid(what), at)),
        Err(e) => Err(e.inside(at)),
    }
}

/// The next element of the node as an integer; anything else is the fault `what`.
#[inline]
fn next_int(walk: &mut ListpackWalk, blob: &[u8], at: u64, what: &'static str) -> Result<i64> {
    next_element(walk, blob, at, what)?
        .to_i64()
        .ok_or_else(|| Error::new(ErrorKind::Invalid(what), at))
}
