//! A position in the input, reading the fixed-size primitives of the format.
//!
//! Every read checks the remaining input first, so a short input gives
//! [`ErrorKind::Incomplete`] naming what was being read, never a panic.

use crate::error::{Error, ErrorKind, Result};

/// Reads primitives from a byte slice, tracking the absolute offset for errors.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
    /// Absolute offset of `input[0]` in the whole source.
    base: u64,
    /// More input may follow `input` (a streaming buffer): a count too large for the
    /// remaining bytes then means "incomplete", not "impossible". Non-zero when so.
    /// A whole word, not a `bool`: cursors are moved in whole words, and a word read
    /// back over a one-byte store cannot be forwarded from it (a measured stall
    /// each time a collection walker is made).
    partial: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `input`, which begins at absolute offset `base`.
    #[inline]
    pub(crate) fn new(input: &'a [u8], base: u64) -> Self {
        Cursor {
            input,
            pos: 0,
            base,
            partial: 0,
        }
    }

    /// A cursor over a buffer that more input may extend later.
    #[inline]
    pub(crate) fn partial(input: &'a [u8], base: u64) -> Self {
        Cursor {
            partial: 1,
            ..Cursor::new(input, base)
        }
    }

    /// Whether more input may follow this cursor's input.
    #[inline]
    pub(crate) fn is_partial(&self) -> bool {
        self.partial != 0
    }

    /// Position relative to the start of this cursor's input.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes left to read.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The input between two positions of this cursor.
    #[inline]
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        &self.input[from..to]
    }

    /// An error of `kind` at the current offset.
    #[inline]
    pub(crate) fn error(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.offset())
    }

    /// An error of `kind` at position `pos` of this cursor.
    #[inline]
    pub(crate) fn error_at(&self, kind: ErrorKind, pos: usize) -> Error {
        Error::new(kind, self.base + pos as u64)
    }

    /// The next `N` bytes as an array.
    #[inline]
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        match self.input[self.pos..].first_chunk::<N>() {
            Some(bytes) => {
                self.pos += N;
                Ok(*bytes)
            }
            None => Err(self.error(ErrorKind::Incomplete { expected: what })),
        }
    }

    #[inline]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        match self.input.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.error(ErrorKind::Incomplete { expected: what })),
        }
    }

    #[inline]
    pub(crate) fn u16_le(&mut self, what: &'static str) -> Result<u16> {
        self.array(what).map(u16::from_le_bytes)
    }

    #[inline]
    pub(crate) fn u32_be(&mut self, what: &'static str) -> Result<u32> {
        self.array(what).map(u32::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u64_be(&mut self, what: &'static str) -> Result<u64> {
        self.array(what).map(u64::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u64_le(&mut self, what: &'static str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    #[inline]
    pub(crate) fn i64_le(&mut self, what: &'static str) -> Result<i64> {
        self.array(what).map(i64::from_le_bytes)
    }

    #[inline]
    pub(crate) fn i32_le(&mut self, what: &'static str) -> Result<i32> {
        self.array(what).map(i32::from_le_bytes)
    }

    #[inline]
    pub(crate) fn f64_le(&mut self, what: &'static str) -> Result<f64> {
        self.array(what).map(f64::from_le_bytes)
    }

    #[inline]
    pub(crate) fn f32_le(&mut self, what: &'static str) -> Result<f32> {
        self.array(what).map(f32::from_le_bytes)
    }

    /// The next `n` bytes, borrowed from the input.
    #[inline]
    pub(crate) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(self.error(ErrorKind::Incomplete { expected: what }));
        }
        let n = n as usize;
        let out = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// A plain string with a 6-bit length prefix (`00LLLLLL` then the bytes), taken
    /// when it is whole; `None` (nothing taken) for any other prefix, or when short.
    #[inline(always)]
    pub(crate) fn short_string(&mut self) -> Option<&'a [u8]> {
        let &first = self.input.get(self.pos)?;
        if first >= 0x40 {
            return None;
        }
        let from = self.pos + 1;
        let bytes = self.input.get(from..from + usize::from(first))?;
        self.pos = from + usize::from(first);
        Some(bytes)
    }

    /// The input not read yet.
    #[inline]
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.input[self.pos..]
    }

    /// Moves past `n` bytes of [`Cursor::rest`], which the caller has checked are there.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.remaining());
        self.pos += n;
    }

    /// Skips `n` bytes.
    #[inline]
    pub(crate) fn skip(&mut self, n: u64, what: &'static str) -> Result<()> {
        self.take(n, what).map(|_| ())
    }
}
