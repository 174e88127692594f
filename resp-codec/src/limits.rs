//! Size and nesting limits, checked before anything is buffered or allocated.

/// Default [`Limits::max_bulk_len`]: 512 MiB, the server's `proto-max-bulk-len` default.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 << 20;
/// Default [`Limits::max_frame_len`]: 1 GiB, the server's `client-query-buffer-limit` default.
pub const DEFAULT_MAX_FRAME_LEN: usize = 1 << 30;
/// Default [`Limits::max_depth`]: deeper than any reply a server builds itself
/// (scripts can nest deeper; raise it for them).
pub const DEFAULT_MAX_DEPTH: usize = 128;
/// Default [`Limits::max_elements`]: the server's own multibulk limit (`INT_MAX`).
pub const DEFAULT_MAX_ELEMENTS: usize = i32::MAX as usize;
/// Default [`Limits::max_inline_len`]: 64 KiB, the server's `PROTO_INLINE_MAX_SIZE`.
pub const DEFAULT_MAX_INLINE_LEN: usize = 64 << 10;

/// Limits a decoder enforces on its input.
///
/// Every length and count read from the input is checked against these before any
/// byte is buffered or any memory is reserved for it; exceeding one is
/// [`Error::TooLarge`](crate::Error::TooLarge) or [`Error::TooDeep`](crate::Error::TooDeep).
///
/// ```
/// use resp_codec::{FrameCodec, Limits};
///
/// let codec = FrameCodec::with_limits(Limits::default().with_max_depth(8).with_max_bulk_len(1 << 20));
/// assert_eq!(codec.limits().max_depth(), 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    max_frame_len: usize,
    max_bulk_len: usize,
    max_depth: usize,
    max_elements: usize,
    max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
            max_elements: DEFAULT_MAX_ELEMENTS,
            max_inline_len: DEFAULT_MAX_INLINE_LEN,
        }
    }
}

impl Limits {
    /// Largest whole frame, in bytes on the wire. With
    /// [`StreamingCodec`](crate::StreamingCodec), bulks delivered in chunks do not count.
    pub fn with_max_frame_len(mut self, len: usize) -> Self {
        self.max_frame_len = len;
        self
    }

    /// Largest bulk string, bulk error or verbatim string payload, in bytes.
    pub fn with_max_bulk_len(mut self, len: usize) -> Self {
        self.max_bulk_len = len;
        self
    }

    /// Deepest nesting of aggregates; a top-level array is depth 1.
    ///
    /// Building, encoding and dropping a frame recurses once per level, so keep this
    /// well below what the thread's stack holds (a few thousand levels).
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Largest element count of one aggregate (pairs for maps and attributes).
    pub fn with_max_elements(mut self, count: usize) -> Self {
        self.max_elements = count;
        self
    }

    /// Longest inline command line, in bytes.
    pub fn with_max_inline_len(mut self, len: usize) -> Self {
        self.max_inline_len = len;
        self
    }

    /// See [`with_max_frame_len`](Self::with_max_frame_len).
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// See [`with_max_bulk_len`](Self::with_max_bulk_len).
    pub fn max_bulk_len(&self) -> usize {
        self.max_bulk_len
    }

    /// See [`with_max_depth`](Self::with_max_depth).
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// See [`with_max_elements`](Self::with_max_elements).
    pub fn max_elements(&self) -> usize {
        self.max_elements
    }

    /// See [`with_max_inline_len`](Self::with_max_inline_len).
    pub fn max_inline_len(&self) -> usize {
        self.max_inline_len
    }
}
