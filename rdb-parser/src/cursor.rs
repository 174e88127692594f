//! A position in the input, reading the fixed-size primitives of the format.
//!
//! Every read checks the remaining input first, so a short input gives
//! [`ErrorKind::Incomplete`] naming what was being read, never a panic.

use nom::number::complete as num;

use crate::error::{Error, ErrorKind, Result};

type NomResult<'a, T> = nom::IResult<&'a [u8], T, nom::error::Error<&'a [u8]>>;

/// Reads primitives from a byte slice, tracking the absolute offset for errors.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
    /// Absolute offset of `input[0]` in the whole source.
    base: u64,
    /// More input may follow `input` (a streaming buffer): a count too large for the
    /// remaining bytes then means "incomplete", not "impossible".
    partial: bool,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `input`, which begins at absolute offset `base`.
    pub(crate) fn new(input: &'a [u8], base: u64) -> Self {
        Cursor {
            input,
            pos: 0,
            base,
            partial: false,
        }
    }

    /// A cursor over a buffer that more input may extend later.
    pub(crate) fn partial(input: &'a [u8], base: u64) -> Self {
        Cursor {
            partial: true,
            ..Cursor::new(input, base)
        }
    }

    /// Whether more input may follow this cursor's input.
    pub(crate) fn is_partial(&self) -> bool {
        self.partial
    }

    /// Position relative to the start of this cursor's input.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Absolute offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The input between two positions of this cursor.
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        &self.input[from..to]
    }

    /// An error of `kind` at the current offset.
    pub(crate) fn error(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.offset())
    }

    /// An error of `kind` at position `pos` of this cursor.
    pub(crate) fn error_at(&self, kind: ErrorKind, pos: usize) -> Error {
        Error::new(kind, self.base + pos as u64)
    }

    fn parse<T>(
        &mut self,
        what: &'static str,
        p: impl FnOnce(&'a [u8]) -> NomResult<'a, T>,
    ) -> Result<T> {
        match p(&self.input[self.pos..]) {
            Ok((rest, v)) => {
                self.pos = self.input.len() - rest.len();
                Ok(v)
            }
            // The complete-input number parsers fail only on short input.
            Err(_) => Err(self.error(ErrorKind::Incomplete { expected: what })),
        }
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        self.parse(what, num::u8)
    }

    pub(crate) fn u16_le(&mut self, what: &'static str) -> Result<u16> {
        self.parse(what, num::le_u16)
    }

    pub(crate) fn u32_be(&mut self, what: &'static str) -> Result<u32> {
        self.parse(what, num::be_u32)
    }

    pub(crate) fn u64_be(&mut self, what: &'static str) -> Result<u64> {
        self.parse(what, num::be_u64)
    }

    pub(crate) fn u64_le(&mut self, what: &'static str) -> Result<u64> {
        self.parse(what, num::le_u64)
    }

    pub(crate) fn i64_le(&mut self, what: &'static str) -> Result<i64> {
        self.parse(what, num::le_i64)
    }

    pub(crate) fn i32_le(&mut self, what: &'static str) -> Result<i32> {
        self.parse(what, num::le_i32)
    }

    pub(crate) fn f64_le(&mut self, what: &'static str) -> Result<f64> {
        self.parse(what, num::le_f64)
    }

    pub(crate) fn f32_le(&mut self, what: &'static str) -> Result<f32> {
        self.parse(what, num::le_f32)
    }

    /// The next `n` bytes, borrowed from the input.
    pub(crate) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(self.error(ErrorKind::Incomplete { expected: what }));
        }
        let n = n as usize;
        let out = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: u64, what: &'static str) -> Result<()> {
        self.take(n, what).map(|_| ())
    }
}
