//! What each key of an RDB file takes in the memory of the server that wrote it
//! (`decode --memory`): the server's own accounting, `MEMORY USAGE key SAMPLES 0`,
//! rebuilt from the file.
//!
//! The estimate follows the server's structures (object headers, hash table
//! buckets and entries, skiplist nodes, quicklist nodes, stream radix trees) and
//! its allocator's sizes, for the key as the server holds it once it has loaded
//! the file. A key built up by commands may hold more than that in three ways
//! the file does not show: a hash table that grew and is still rehashing holds
//! both its tables for a while; the last node of a stream appended to by `XADD`
//! is preallocated to 4 KiB; Valkey's hash tables hold overflow buckets whose
//! number depends on a random seed. Sorted-set skiplist node levels are random:
//! the estimate takes their expected size.

use rdb_parser::{
    Blob, Dialect, Element, Encoding, Header, Key, RdbString, Stream, StreamId, Type, Value,
};

/// The memory layout of the server an RDB file comes from, which decides how
/// its keys are laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryLayout {
    /// Redis up to 6.2 (RDB 9 and older): `dict` hash tables, quicklists of
    /// ziplists.
    Redis6,
    /// Redis 7 and later (RDB 10 and newer): `dict` hash tables, listpacks.
    Redis7,
    /// Valkey 8.1 and later: open-addressing hash tables of 64-byte buckets,
    /// keys embedded in their objects.
    Valkey,
}

impl MemoryLayout {
    /// The layout of the server that wrote a file with this header; `valkey`
    /// when the file's aux fields name a Valkey version (Valkey 8 writes Redis's
    /// header).
    pub fn of(header: Header, valkey: bool) -> MemoryLayout {
        match header.dialect {
            Dialect::Valkey => MemoryLayout::Valkey,
            _ if valkey => MemoryLayout::Valkey,
            _ if header.version <= 9 => MemoryLayout::Redis6,
            _ => MemoryLayout::Redis7,
        }
    }

    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryLayout::Redis6 => "redis-6",
            MemoryLayout::Redis7 => "redis-7",
            MemoryLayout::Valkey => "valkey",
        }
    }
}

/// The allocator the server was built with, which the file does not record
/// (`INFO memory`'s `mem_allocator` names it): it decides the size behind each
/// request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allocator {
    /// The jemalloc Redis and Valkey bundle, the default of their own builds
    /// (and of images built from source): 8-byte size steps up to 64.
    #[default]
    Jemalloc,
    /// A distribution's shared jemalloc (Debian's and Ubuntu's `redis-server`
    /// packages): 16-byte size steps up to 128.
    SystemJemalloc,
    /// The C library's `malloc` (glibc; builds with `MALLOC=libc`).
    Libc,
}

impl Allocator {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Allocator::Jemalloc => "jemalloc",
            Allocator::SystemJemalloc => "system-jemalloc",
            Allocator::Libc => "libc",
        }
    }

    /// The allocator named so on the command line.
    pub fn from_name(name: &str) -> Option<Allocator> {
        [
            Allocator::Jemalloc,
            Allocator::SystemJemalloc,
            Allocator::Libc,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }

    /// The usable size behind a request of `n` bytes (what the server's
    /// `zmalloc_size` reports).
    pub fn size(self, n: u64) -> u64 {
        // jemalloc: small steps, then four size classes per doubling.
        let classes = |n: u64, quantum: u64, small: u64| {
            if n <= small {
                return n.max(8).next_multiple_of(quantum).max(8);
            }
            let step = 1u64 << (63 - (n - 1).leading_zeros() - 2);
            n.next_multiple_of(step)
        };
        match self {
            Allocator::Jemalloc => classes(n, 8, 64),
            Allocator::SystemJemalloc if n <= 8 => 8,
            Allocator::SystemJemalloc => classes(n, 16, 128),
            // Chunks of 16-byte multiples, at least 32, with an 8-byte header;
            // large ones mapped whole pages with a 16-byte header.
            Allocator::Libc if n >= 128 * 1024 => (n + 16).next_multiple_of(4096) - 16,
            Allocator::Libc => ((n + 8).next_multiple_of(16)).max(32) - 8,
        }
    }
}

/// The bytes of an element as the server holds it in a hash table (integers as
/// their decimal digits).
fn element_len(e: Element<'_>) -> u64 {
    match e {
        Element::Bytes(b) => b.len() as u64,
        Element::Int(i) => decimal_len(i),
    }
}

fn decimal_len(i: i64) -> u64 {
    let digits = i.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1);
    u64::from(digits) + u64::from(i < 0)
}

/// Whether the server holds these string bytes as an integer (`OBJ_ENCODING_INT`):
/// a canonical decimal `long` of at most 20 characters.
fn is_integer(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > 20 {
        return false;
    }
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .is_some_and(|i| i.to_string().as_bytes() == b)
}

/// Sizes of the server's structures on a 64-bit build, and its rules, by layout.
struct Sizes {
    /// Redis 6 counts compact blobs (ziplists, intsets) and embedded strings by
    /// their lengths, not by what was allocated for them.
    by_length: bool,
    dict: u64,
    quicklist_node: u64,
    stream: u64,
    stream_group: u64,
    stream_consumer: u64,
}

const REDIS6: Sizes = Sizes {
    by_length: true,
    dict: 96,
    quicklist_node: 32,
    stream: 40,
    stream_group: 32,
    stream_consumer: 24,
};

const REDIS7: Sizes = Sizes {
    by_length: false,
    dict: 56,
    quicklist_node: 40,
    stream: 80,
    stream_group: 40,
    stream_consumer: 24,
};

const VALKEY: Sizes = Sizes {
    by_length: false,
    // Valkey's `hashtable`.
    dict: 80,
    quicklist_node: 40,
    stream: 80,
    stream_group: 40,
    stream_consumer: 32,
};

/// An object header (`robj`), a `dict` entry, a `quicklist`.
const ROBJ: u64 = 16;
const DICT_ENTRY: u64 = 24;
const QUICKLIST: u64 = 40;
/// Bytes of a Redis skiplist node's fixed part (member, score, backward link),
/// of each of its levels, and the most levels.
const ZSL_NODE: u64 = 24;
const ZSL_LEVEL: u64 = 16;
const ZSL_MAX_LEVEL: u64 = 32;
/// Redis: a `zset` and its `zskiplist`; Valkey counts these with the skiplist's
/// header node as one constant.
const ZSET: u64 = 16 + 32;
const VALKEY_ZSET: u64 = 544;
/// Valkey's hash table buckets: 64 bytes, 7 entries each.
const BUCKET: u64 = 64;
/// A stream ID, and a pending entry (`streamNACK`).
const STREAM_ID: u64 = 16;
const STREAM_NACK: u64 = 24;
/// What Redis counts per radix tree node (`raxNode` and a fixed overhead).
const RAX_NODE: u64 = 4 + 8 * 30;
/// The most bytes of a Valkey list kept as one listpack (`list-max-listpack-size`
/// -2, the default).
const VALKEY_LISTPACK_LIST: u64 = 8192;

/// Estimates keys' memory for one layout and allocator.
#[derive(Debug)]
pub struct Estimator {
    layout: MemoryLayout,
    allocator: Allocator,
    scratch: Vec<u8>,
}

/// What a value takes besides its key's object, and what it holds.
struct Body {
    memory: u64,
    elements: u64,
    largest: u64,
}

impl Estimator {
    /// An estimator for files of the server with this layout, built with this
    /// allocator.
    pub fn new(layout: MemoryLayout, allocator: Allocator) -> Self {
        Estimator {
            layout,
            allocator,
            scratch: Vec::new(),
        }
    }

    /// The layout it follows.
    pub fn layout(&self) -> MemoryLayout {
        self.layout
    }

    fn sizes(&self) -> &'static Sizes {
        match self.layout {
            MemoryLayout::Redis6 => &REDIS6,
            MemoryLayout::Redis7 => &REDIS7,
            MemoryLayout::Valkey => &VALKEY,
        }
    }

    fn valkey(&self) -> bool {
        self.layout == MemoryLayout::Valkey
    }

    /// One key's estimate, walking its value.
    ///
    /// # Errors
    /// When the value is corrupt or truncated.
    pub fn key(&mut self, k: &Key<'_>) -> rdb_parser::Result<KeyMemory> {
        let mut estimate = KeyMemory::empty();
        self.key_into(k, &mut estimate)?;
        Ok(estimate)
    }

    /// As [`Estimator::key`], into `estimate`, whose name's buffer is reused (a
    /// file's walk estimates hundreds of thousands of keys).
    pub(crate) fn key_into(
        &mut self,
        k: &Key<'_>,
        estimate: &mut KeyMemory,
    ) -> rdb_parser::Result<()> {
        estimate.key.clear();
        estimate
            .key
            .extend_from_slice(k.key.bytes(&mut self.scratch)?);
        let key_len = estimate.key.len() as u64;
        let expires = k.expire_ms.is_some();
        let (memory, elements, largest) = match &k.value {
            Value::String(v) => {
                // Only a short string can be an integer: the rest needs no
                // decompressing.
                let len = v.len();
                let integer = match v {
                    RdbString::Int(_) => true,
                    _ if len <= 20 => is_integer(v.bytes(&mut self.scratch)?),
                    _ => false,
                };
                (self.string(key_len, expires, len, integer), 1, len)
            }
            value => {
                let body = self.value(value, k.raw_value.len() as u64)?;
                let memory = self.object(key_len, expires) + body.memory;
                (memory, body.elements, body.largest)
            }
        };
        estimate.db = k.db;
        estimate.value_type = k.value.value_type();
        estimate.encoding = k.value.encoding();
        (estimate.memory, estimate.elements, estimate.largest) = (memory, elements, largest);
        Ok(())
    }

    /// An `sds` string of `len` bytes as allocated: header (by the length's
    /// width; Valkey draws the lines a few bytes lower), bytes and terminator.
    fn sds(&self, len: u64) -> u64 {
        self.allocator.size(self.sds_request(len))
    }

    fn sds_request(&self, len: u64) -> u64 {
        let header = match (self.valkey(), len) {
            (false, 0..32) | (true, 0..=31) => 1,
            (false, 32..256) | (true, 32..=252) => 3,
            (false, 256..65_536) | (true, 253..=65_530) => 5,
            (_, 0..4_294_967_286) => 9,
            _ => 17,
        };
        header + len + 1
    }

    /// A key's object, its entry in the database and its name: Redis allocates
    /// them apart, Valkey embeds the name (and the expiry) in the object.
    fn object(&self, key_len: u64, expires: bool) -> u64 {
        let a = self.allocator;
        match self.layout {
            MemoryLayout::Valkey => {
                let expiry = if expires || key_len >= 128 { 8 } else { 0 };
                a.size(ROBJ + expiry + 1 + self.sds_request(key_len))
            }
            _ => ROBJ + DICT_ENTRY + self.sds(key_len),
        }
    }

    /// A string key: an integer in the object, a short string in the object's
    /// allocation (embedded), or apart.
    fn string(&self, key_len: u64, expires: bool, len: u64, integer: bool) -> u64 {
        let a = self.allocator;
        let object = self.object(key_len, expires);
        if integer {
            return object;
        }
        match self.layout {
            MemoryLayout::Redis6 if len <= 44 => object + len + 2,
            MemoryLayout::Redis6 => object + self.sds_request(len),
            MemoryLayout::Redis7 if len <= 44 => object - ROBJ + a.size(ROBJ + 3 + len + 1),
            MemoryLayout::Redis7 => object + self.sds(len),
            MemoryLayout::Valkey => {
                // Embedded with the name when both fit two cache lines.
                let expiry = if expires { 8 } else { 0 };
                let name = 1 + self.sds_request(key_len);
                if len <= 255 && 8 + name + expiry + len + 4 <= 128 {
                    a.size(8 + expiry + name + (len + 4).max(8))
                } else {
                    object + self.sds(len)
                }
            }
        }
    }

    /// A hash table's own memory for `n` entries once loaded: Redis's `dict`
    /// with a power of two of slots at least `n`; Valkey's buckets of 7 entries,
    /// a power of two at least 5/32 of `n`.
    fn table(&self, n: u64, metadata: u64) -> u64 {
        let s = self.sizes();
        match self.layout {
            MemoryLayout::Valkey => {
                let buckets = (n * 5).div_ceil(32).max(1).next_power_of_two();
                s.dict + metadata + BUCKET * buckets
            }
            _ => s.dict + 8 * n.max(4).next_power_of_two(),
        }
    }

    /// A compact blob of `n` bytes: its allocation, or (Redis 6) its length.
    fn blob(&self, n: u64) -> u64 {
        match self.sizes().by_length {
            true => n,
            false => self.allocator.size(n),
        }
    }

    /// The value of a key other than a string, without its object.
    fn value(&mut self, value: &Value<'_>, raw_len: u64) -> rdb_parser::Result<Body> {
        let (s, a, valkey) = (self.sizes(), self.allocator, self.valkey());
        let mut largest = 0;
        let mut grow = |n: u64| largest = largest.max(n);
        let (memory, elements);
        match value {
            Value::List(l) => {
                elements = l.try_fold(0, |n, e| {
                    grow(element_len(e));
                    Ok::<_, rdb_parser::Error>(n + 1)
                })?;
                let mut nodes = Vec::new();
                l.blobs(|b| nodes.push(b))?;
                memory = match nodes[..] {
                    // Valkey keeps a list of one small node as a plain listpack.
                    [Blob::Packed(n)] if valkey && n <= VALKEY_LISTPACK_LIST => a.size(n),
                    _ => {
                        let node = |b: &Blob| match *b {
                            Blob::Packed(n) => self.blob(n),
                            Blob::Plain(n) => a.size(n),
                            _ => 0,
                        };
                        let blobs: u64 = nodes.iter().map(node).sum();
                        QUICKLIST + s.quicklist_node * nodes.len() as u64 + blobs
                    }
                };
            }
            // A compact blob is one allocation: its elements are only counted.
            Value::Set(v) => {
                let blob = packed(|each| v.blobs(each))?;
                let mut members = 0;
                elements = v.try_fold(0, |n, e| {
                    let len = element_len(e);
                    grow(len);
                    if blob.is_none() {
                        members += self.sds(len) + if valkey { 0 } else { DICT_ENTRY };
                    }
                    Ok::<_, rdb_parser::Error>(n + 1)
                })?;
                memory = match blob {
                    Some(bytes) => self.blob(bytes),
                    None => self.table(elements, 0) + members,
                };
            }
            Value::SortedSet(z) => {
                let blob = packed(|each| z.blobs(each))?;
                let mut members = 0.0;
                elements = z.try_fold(0, |n, m, _| {
                    let len = element_len(m);
                    grow(len);
                    if blob.is_none() {
                        members += self.skiplist_member(len);
                    }
                    Ok::<_, rdb_parser::Error>(n + 1)
                })?;
                memory = match blob {
                    Some(bytes) => self.blob(bytes),
                    None if valkey => VALKEY_ZSET + self.table(elements, 0) + members as u64,
                    None => {
                        let header = a.size(ZSL_NODE + ZSL_LEVEL * ZSL_MAX_LEVEL);
                        ZSET + self.table(elements, 0) + header + members as u64
                    }
                };
            }
            Value::Hash(h) => {
                let blob = packed(|each| h.blobs(each))?;
                let (mut fields, mut expiring) = (0, 0);
                elements = h.try_fold(0, |n, f| {
                    let (fl, vl) = (element_len(f.field), element_len(f.value));
                    grow(fl + vl);
                    if blob.is_none() {
                        expiring += u64::from(f.expire_ms.is_some());
                        fields += self.hash_field(fl, vl, f.expire_ms.is_some());
                    }
                    Ok::<_, rdb_parser::Error>(n + 1)
                })?;
                memory = match blob {
                    Some(bytes) => self.blob(bytes),
                    // Valkey: the table's metadata points to the set of fields with
                    // TTLs, a vector of them past one.
                    None if valkey => {
                        let ttls = if expiring > 1 { 8 * expiring } else { 0 };
                        self.table(elements, 8) + fields + ttls
                    }
                    None => self.table(elements, 0) + fields,
                };
            }
            Value::Stream(st) => {
                let mut entries = st.entries();
                let mut n = 0;
                while let Some(e) = entries.next()? {
                    n += 1;
                    grow(
                        e.fields()
                            .map(|(f, v)| element_len(f) + element_len(v))
                            .sum(),
                    );
                }
                elements = n;
                memory = self.stream(st)?;
            }
            other => {
                // Module values and arrays: their serialized size, as no server
                // structure is known for them.
                elements = other.validate()?;
                memory = a.size(raw_len);
            }
        }
        Ok(Body {
            memory,
            elements,
            largest,
        })
    }

    /// A sorted-set member in a skiplist, on average over the node's random
    /// levels (one more with probability 1/4 each): Redis allocates the node,
    /// the member and a `dict` entry apart, Valkey the node with the member in it.
    fn skiplist_member(&self, len: u64) -> f64 {
        let a = self.allocator;
        // Past 8 levels (one node in 65536) the rest weighs nothing.
        let (mut p, mut node) = (0.75, 0.0);
        for level in 1..=8 {
            let size = match self.layout {
                MemoryLayout::Valkey => 32 + ZSL_LEVEL * (level - 1) + 1 + self.sds_request(len),
                _ => ZSL_NODE + ZSL_LEVEL * level,
            };
            node += p * a.size(size) as f64;
            p /= 4.0;
        }
        match self.layout {
            MemoryLayout::Valkey => node,
            _ => node + (self.sds(len) + DICT_ENTRY) as f64,
        }
    }

    /// A hash field and its value in a hash table: Redis allocates both `sds`
    /// and a `dict` entry; Valkey one entry holding the field and, when they
    /// fit 128 bytes, the value (else a pointer to it), and the TTL.
    fn hash_field(&self, field: u64, value: u64, expires: bool) -> u64 {
        let a = self.allocator;
        if !self.valkey() {
            return DICT_ENTRY + self.sds(field) + self.sds(value);
        }
        let expiry = if expires { 8 } else { 0 };
        // Apart from its value, or with a TTL, a field takes at least an 8-bit
        // length header.
        let request = self.sds_request(field);
        let wide = if field <= 31 { request + 2 } else { request };
        let with_value = if expires { wide } else { request } + expiry + value + 4;
        if with_value <= 128 {
            a.size(with_value)
        } else {
            a.size(expiry + 8 + wide) + self.sds(value)
        }
    }

    /// A stream: its radix tree of listpacks, and its consumer groups with their
    /// pending entries and consumers.
    fn stream(&self, st: &Stream<'_>) -> rdb_parser::Result<u64> {
        let s = self.sizes();
        let mut memory = s.stream;
        let mut ids = Vec::new();
        st.node_sizes(|id, n| {
            memory += self.allocator.size(n);
            ids.push(id);
        })?;
        memory += self.rax(ids);
        for g in &st.groups {
            let pending: Vec<StreamId> = g.pending.iter().map(|p| p.id).collect();
            memory += s.stream_group + STREAM_NACK * pending.len() as u64 + self.rax(pending);
            for c in &g.consumers {
                memory += s.stream_consumer + c.name.len() + self.rax(c.pending.clone());
            }
        }
        Ok(memory)
    }

    /// A radix tree of stream IDs: Redis counts 16 bytes per key and
    /// [`RAX_NODE`] per node; Valkey what its nodes take.
    fn rax(&self, ids: Vec<StreamId>) -> u64 {
        let tree = Rax::of(ids);
        match self.layout {
            MemoryLayout::Valkey => {
                let a = self.allocator;
                a.size(32) + tree.node_sizes().map(|n| a.size(n)).sum::<u64>()
            }
            _ => STREAM_ID * tree.keys.len() as u64 + RAX_NODE * tree.nodes.len() as u64,
        }
    }
}

/// The total bytes of a value's one compact blob, `None` for a value saved
/// entry by entry (a hash table or skiplist in memory).
fn packed(
    blobs: impl FnOnce(&mut dyn FnMut(Blob)) -> rdb_parser::Result<()>,
) -> rdb_parser::Result<Option<u64>> {
    let mut bytes = None;
    blobs(&mut |b| {
        if let Blob::Packed(n) | Blob::Plain(n) = b {
            *bytes.get_or_insert(0) += n;
        }
    })?;
    Ok(bytes)
}

/// The shape of a radix tree of 16-byte keys (stream IDs, big endian) as the
/// server builds it: a node where a key ends, where keys branch, where each
/// branch starts, and the root; a run of single characters between is one
/// compressed node.
struct Rax {
    keys: Vec<[u8; 16]>,
    /// Each node's prefix (its place in the tree) as a key and a length, in
    /// order.
    nodes: Vec<(usize, usize)>,
}

impl Rax {
    fn of(ids: Vec<StreamId>) -> Rax {
        let mut keys: Vec<[u8; 16]> = ids
            .into_iter()
            .map(|id| {
                let mut b = [0; 16];
                b[..8].copy_from_slice(&id.ms.to_be_bytes());
                b[8..].copy_from_slice(&id.seq.to_be_bytes());
                b
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut nodes = vec![(0, 0)];
        for (i, k) in keys.iter().enumerate() {
            nodes.push((i, 16));
            if let Some(next) = keys.get(i + 1) {
                let common = k.iter().zip(next).take_while(|(a, b)| a == b).count();
                nodes.extend([(i, common), (i, common + 1), (i + 1, common + 1)]);
            }
        }
        let prefix = |&(i, len): &(usize, usize)| keys.get(i).map_or(&[][..], |k| &k[..len]);
        nodes.sort_unstable_by(|a, b| prefix(a).cmp(prefix(b)));
        nodes.dedup_by(|a, b| prefix(a) == prefix(b));
        Rax { keys, nodes }
    }

    fn prefix(&self, node: usize) -> &[u8] {
        let (i, len) = self.nodes[node];
        self.keys.get(i).map_or(&[][..], |k| &k[..len])
    }

    /// Each node's bytes: a 4-byte header, its characters (a compressed run, or
    /// one per child) padded to 8, a pointer per child, and the value's pointer
    /// where a key ends.
    fn node_sizes(&self) -> impl Iterator<Item = u64> + '_ {
        // Children per node: nodes come in order, so a node's parent is the
        // nearest earlier node that is a prefix of it.
        let mut children = vec![Vec::new(); self.nodes.len()];
        let mut path: Vec<usize> = Vec::new();
        for i in 0..self.nodes.len() {
            while let Some(&top) = path.last() {
                if self.prefix(i).starts_with(self.prefix(top)) {
                    break;
                }
                path.pop();
            }
            if let Some(&parent) = path.last() {
                children[parent].push(i);
            }
            path.push(i);
        }
        children.into_iter().enumerate().map(move |(i, kids)| {
            let len = self.nodes[i].1;
            let chars = match kids[..] {
                [only] => (self.nodes[only].1 - len) as u64,
                _ => kids.len() as u64,
            };
            let key = u64::from(len == 16);
            (4 + chars).next_multiple_of(8) + 8 * kids.len() as u64 + 8 * key
        })
    }
}

/// One key's estimate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMemory {
    /// Its database.
    pub db: u64,
    /// Its name.
    pub key: Vec<u8>,
    /// Its type.
    pub value_type: Type,
    /// Its encoding in the file.
    pub encoding: Encoding,
    /// Estimated bytes in the server's memory: what `MEMORY USAGE` reports.
    pub memory: u64,
    /// Elements: list elements, set and sorted-set members, hash fields, stream
    /// entries; 1 for a string.
    pub elements: u64,
    /// Bytes of the largest element: a list element, a set or sorted-set member, a
    /// hash field with its value, a stream entry's fields and values, a string.
    pub largest: u64,
}

impl KeyMemory {
    /// An estimate to fill in.
    pub(crate) fn empty() -> KeyMemory {
        KeyMemory {
            db: 0,
            key: Vec::new(),
            value_type: Type::String,
            encoding: Encoding::Raw,
            memory: 0,
            elements: 0,
            largest: 0,
        }
    }
}
