//! The streaming [`Reader`] over a tokio [`AsyncRead`] source.

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, ErrorKind, Result};
use crate::reader::{Event, Reader};

/// Default number of bytes asked of the source per read.
const READ_SIZE: usize = 64 << 10;

/// Reads an RDB from an async byte source in bounded memory: a [`Reader`] that fills
/// itself from the source.
///
/// ```no_run
/// # async fn run() -> Result<(), rdb_parser::Error> {
/// use rdb_parser::{AsyncReader, Event, Item, Reader};
///
/// let file = tokio::fs::File::open("dump.rdb").await.unwrap();
/// let mut rdb = AsyncReader::new(file, Reader::new());
/// while rdb.fill().await? {
///     while let Some(event) = rdb.next_event()? {
///         if let Event::Item(Item::Key(key)) = event {
///             println!("{:?}", key.key.to_vec()?);
///         }
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AsyncReader<R> {
    source: R,
    reader: Reader,
    read_size: usize,
}

impl<R: AsyncRead + Unpin> AsyncReader<R> {
    /// Reads from `source` with `reader` (its options and limits).
    pub fn new(source: R, reader: Reader) -> Self {
        AsyncReader {
            source,
            reader,
            read_size: READ_SIZE,
        }
    }

    /// Reads more input into the reader; `Ok(false)` once the RDB has ended (after
    /// [`Item::End`](crate::Item::End) was taken). Call [`AsyncReader::next_event`]
    /// until it returns `None` between fills.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the source fails; [`ErrorKind::Incomplete`] when the
    /// source ended inside the RDB and every event before was taken.
    ///
    /// # Cancel safety
    /// Cancel safe: bytes read before a cancellation are kept.
    pub async fn fill(&mut self) -> Result<bool> {
        if self.reader.is_finished() {
            return Ok(false);
        }
        if self.reader.is_input_ended() {
            // The events after the end of input said nothing: the RDB is cut short.
            return match self.reader.next_event() {
                Err(e) => Err(e),
                Ok(_) => Err(Error::new(
                    ErrorKind::Incomplete {
                        expected: "the end of the RDB",
                    },
                    self.reader.offset(),
                )),
            };
        }
        let offset = self.reader.offset();
        let buf = self.reader.input_buffer();
        buf.reserve(self.read_size);
        let n = (&mut self.source)
            .take(self.read_size as u64)
            .read_buf(buf)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io {
                        kind: e.kind(),
                        message: e.to_string(),
                    },
                    offset,
                )
            })?;
        if n == 0 {
            self.reader.end_input();
        }
        Ok(true)
    }

    /// The next event from the input read so far, or `None` when [`AsyncReader::fill`]
    /// must read more. See [`Reader::next_event`].
    ///
    /// # Errors
    /// As [`Reader::next_event`].
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        self.reader.next_event()
    }

    /// The reader, for its header, offset and options.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// The source and the reader, e.g. to read what follows the RDB.
    pub fn into_parts(self) -> (R, Reader) {
        (self.source, self.reader)
    }
}
