//! Reading a whole RDB held in memory: header, then items to the checksum.

use crate::checksum::crc64;
use crate::cursor::Cursor;
use crate::error::{Error, ErrorKind, Result};
use crate::header::Header;
use crate::item::Item;
use crate::record::{self, Head};

/// Options for [`Rdb::with_options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Try files whose version is newer than this crate knows, instead of failing
    /// with [`ErrorKind::UnsupportedVersion`]. Unknown types still fail.
    pub lenient_version: bool,
    /// Verify the CRC64 footer (default). Skipped anyway when the stored checksum is 0
    /// or the version is below 5 (no footer).
    pub verify_checksum: bool,
    /// Accept bytes after the RDB (as in an AOF with an RDB preamble); by default they
    /// are an error, since they would otherwise be ignored silently.
    pub allow_trailing_bytes: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            lenient_version: false,
            verify_checksum: true,
            allow_trailing_bytes: false,
        }
    }
}

impl ParseOptions {
    /// Sets [`ParseOptions::lenient_version`].
    pub fn lenient_version(mut self, yes: bool) -> Self {
        self.lenient_version = yes;
        self
    }

    /// Sets [`ParseOptions::verify_checksum`].
    pub fn verify_checksum(mut self, yes: bool) -> Self {
        self.verify_checksum = yes;
        self
    }

    /// Sets [`ParseOptions::allow_trailing_bytes`].
    pub fn allow_trailing_bytes(mut self, yes: bool) -> Self {
        self.allow_trailing_bytes = yes;
        self
    }
}

/// An RDB held in memory (a byte slice, e.g. a memory-mapped file).
///
/// Items borrow from the input: nothing is copied until the caller asks.
#[derive(Clone, Copy, Debug)]
pub struct Rdb<'a> {
    input: &'a [u8],
    header: Header,
    options: ParseOptions,
}

impl<'a> Rdb<'a> {
    /// Reads the header of `input` with the default options.
    ///
    /// # Errors
    /// When the input is not an RDB or its version is unknown.
    pub fn new(input: &'a [u8]) -> Result<Self> {
        Self::with_options(input, ParseOptions::default())
    }

    /// Reads the header of `input`.
    ///
    /// # Errors
    /// When the input is not an RDB or (without `lenient_version`) its version is unknown.
    pub fn with_options(input: &'a [u8], options: ParseOptions) -> Result<Self> {
        let header = Header::read(&mut Cursor::new(input, 0), options.lenient_version)?;
        Ok(Rdb {
            input,
            header,
            options,
        })
    }

    /// The RDB version and dialect.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The items in file order, ending with [`Item::End`].
    pub fn items(&self) -> Items<'a> {
        let mut cur = Cursor::new(self.input, 0);
        // Read by `with_options` already; cannot fail.
        let _ = cur.skip(Header::LEN as u64, "the RDB header");
        Items {
            input: self.input,
            cur,
            header: self.header,
            options: self.options,
            db: 0,
            done: false,
        }
    }
}

/// The length in bytes of the RDB at the start of `input` (magic through checksum),
/// e.g. to find where an AOF's RDB preamble ends. Every item is read and checked.
///
/// # Errors
/// When the RDB is corrupt or truncated.
pub fn measure(input: &[u8]) -> Result<usize> {
    let rdb = Rdb::with_options(input, ParseOptions::default().allow_trailing_bytes(true))?;
    for item in rdb.items() {
        if let Item::End { len, .. } = item? {
            return Ok(len as usize);
        }
    }
    Err(Error::new(
        ErrorKind::Incomplete {
            expected: "the EOF opcode",
        },
        input.len() as u64,
    ))
}

/// Iterator over the items of an [`Rdb`]; it stops after the first error.
#[derive(Clone, Debug)]
pub struct Items<'a> {
    input: &'a [u8],
    cur: Cursor<'a>,
    header: Header,
    options: ParseOptions,
    db: u64,
    done: bool,
}

impl<'a> Items<'a> {
    /// Absolute offset of the next item.
    pub fn offset(&self) -> u64 {
        self.cur.offset()
    }

    /// Hands every remaining item to `f` by reference, in order, stopping at the
    /// first error (the parser's, converted with `From`, or `f`'s own).
    ///
    /// The fastest way through a whole file: an [`Item`] is a few hundred bytes, and
    /// a `for` loop moves each one out of the iterator, a copy per key; here each
    /// item is read where `f` sees it.
    ///
    /// # Errors
    /// The first fault in the input, or the first error `f` returns.
    pub fn try_for_each_ref<E: From<Error>>(
        &mut self,
        mut f: impl FnMut(&Item<'a>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        loop {
            match self.next() {
                None => return Ok(()),
                Some(Ok(ref item)) => f(item)?,
                Some(Err(e)) => return Err(E::from(e)),
            }
        }
    }

    #[inline]
    fn next_item(&mut self) -> Result<Item<'a>> {
        let cur = &mut self.cur;
        match record::read_head(cur, self.header, &mut self.db)? {
            Head::Item(item) => Ok(item),
            Head::Eof { at } => self.end(at),
            Head::Key(head) => head.read_value(cur, self.header),
        }
    }

    fn end(&mut self, eof_at: usize) -> Result<Item<'a>> {
        let checksum = if self.header.version >= 5 {
            let stored = self.cur.u64_le("the CRC64 checksum")?;
            if self.options.verify_checksum && stored != 0 {
                let computed = crc64(&self.input[..=eof_at]);
                if computed != stored {
                    return Err(self
                        .cur
                        .error_at(ErrorKind::ChecksumMismatch { stored, computed }, eof_at + 1));
                }
            }
            Some(stored)
        } else {
            None
        };
        self.done = true;
        if !self.options.allow_trailing_bytes && !self.cur.is_empty() {
            return Err(self.cur.error(ErrorKind::TrailingBytes));
        }
        Ok(Item::End {
            checksum,
            len: self.cur.pos() as u64,
        })
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_item();
        if item.is_err() {
            self.done = true;
        }
        Some(item)
    }
}
