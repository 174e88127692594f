//! RDB files written: the header, aux fields, databases with their size hints,
//! keys with their expiries, function libraries, and the end with its checksum,
//! for a Redis RDB version or Valkey's. Values come encoded already: a key's own
//! bytes ([`Key::raw_value`](crate::Key::raw_value)) or those
//! [`value_for`](crate::value_for) re-encoded for an older version.
//!
//! # Wire format
//! ```text
//! "REDIS" + 4 digits | "VALKEY" + 3 digits
//! { AUX key value }                       (RDB 7+)
//! { FUNCTION2 code }                      (RDB 10+, Valkey)
//! { SELECTDB db [RESIZEDB keys expires]   (RESIZEDB: RDB 7+)
//!   { [EXPIRETIME_MS ms | EXPIRETIME s] type key value } }
//! EOF [CRC64 of everything before it]     (the checksum: RDB 5+)
//! ```
//! Source: redis `src/rdb.c` (`rdbSaveRio`, `rdbSaveKeyValuePair`).

use std::io::{self, Write};

use crc_fast::{CrcAlgorithm, Digest};

use crate::header::{Dialect, Header};
use crate::length::write_len;
use crate::opcode::{AUX, EOF, EXPIRETIME, EXPIRETIME_MS, FUNCTION2, RESIZEDB, SELECTDB};
use crate::string::write_string;

/// An RDB file being written to `W` (buffer it: each call writes a few slices).
///
/// ```
/// use rdb_parser::{Dialect, Header, Item, Rdb, RdbWriter};
///
/// let header = Header { version: 9, dialect: Dialect::Redis };
/// let mut rdb = RdbWriter::new(Vec::new(), header)?;
/// rdb.select_db(0)?;
/// // A string value: its length, then its bytes.
/// rdb.key(b"greeting", Some(4_102_444_800_000), 0, b"\x05hello")?;
/// let bytes = rdb.finish()?;
///
/// let keys: Vec<_> = Rdb::new(&bytes)?
///     .items()
///     .filter_map(|item| match item {
///         Ok(Item::Key(key)) => Some((key.key.to_vec().ok()?, key.expire_ms)),
///         _ => None,
///     })
///     .collect();
/// assert_eq!(keys, [(b"greeting".to_vec(), Some(4_102_444_800_000))]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RdbWriter<W: Write> {
    out: W,
    header: Header,
    crc: Digest,
    written: u64,
    /// The opcodes, lengths and names of one call, written in one piece.
    scratch: Vec<u8>,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file of `header`'s version and dialect: writes its magic.
    ///
    /// # Errors
    /// When `out` fails, or the version does not fit the magic.
    pub fn new(out: W, header: Header) -> io::Result<Self> {
        let magic = match header.dialect {
            Dialect::Redis if (1..=9999).contains(&header.version) => {
                format!("REDIS{:04}", header.version)
            }
            Dialect::Valkey if (1..=999).contains(&header.version) => {
                format!("VALKEY{:03}", header.version)
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("RDB version {} has no magic", header.version),
                ));
            }
        };
        let mut writer = RdbWriter {
            out,
            header,
            crc: Digest::new(CrcAlgorithm::Crc64Redis),
            written: 0,
            scratch: Vec::with_capacity(256),
        };
        writer.put(magic.as_bytes())?;
        Ok(writer)
    }

    /// The version and dialect written.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Whether the version has `AUX` fields and `RESIZEDB` hints (RDB 7+, Valkey).
    fn has_aux(&self) -> bool {
        self.header.dialect == Dialect::Valkey || self.header.version >= 7
    }

    /// Whether the version holds function libraries (RDB 10+, Valkey).
    pub fn has_functions(&self) -> bool {
        self.header.dialect == Dialect::Valkey || self.header.version >= 10
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc.update(bytes);
        self.written += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    /// Writes what the scratch buffer holds.
    fn flush_scratch(&mut self) -> io::Result<()> {
        self.crc.update(&self.scratch);
        self.written += self.scratch.len() as u64;
        let done = self.out.write_all(&self.scratch);
        self.scratch.clear();
        done
    }

    /// An aux field (`redis-ver`, `ctime`...); left out before RDB 7, which has
    /// none.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        if !self.has_aux() {
            return Ok(());
        }
        self.scratch.push(AUX);
        write_string(&mut self.scratch, key);
        write_string(&mut self.scratch, value);
        self.flush_scratch()
    }

    /// A function library, its code as `FUNCTION LOAD` takes it.
    ///
    /// # Errors
    /// When `out` fails; `InvalidInput` before RDB 10, which has no functions.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        if !self.has_functions() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "RDB version {} holds no function libraries",
                    self.header.version
                ),
            ));
        }
        self.scratch.push(FUNCTION2);
        write_string(&mut self.scratch, code);
        self.flush_scratch()
    }

    /// The keys that follow belong to database `db`.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn select_db(&mut self, db: u64) -> io::Result<()> {
        self.scratch.push(SELECTDB);
        write_len(&mut self.scratch, db);
        self.flush_scratch()
    }

    /// Size hints for the database just selected: how many keys follow, and how
    /// many of them expire (the loading server sizes its tables by them); left
    /// out before RDB 7.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn resize_db(&mut self, keys: u64, expires: u64) -> io::Result<()> {
        if !self.has_aux() {
            return Ok(());
        }
        self.scratch.push(RESIZEDB);
        write_len(&mut self.scratch, keys);
        write_len(&mut self.scratch, expires);
        self.flush_scratch()
    }

    /// A key: its name, its absolute expiry (unix milliseconds; in seconds
    /// before RDB 3), and its value as `type_byte` and the value's bytes, which
    /// must be of an encoding this file's version has.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn key(
        &mut self,
        name: &[u8],
        expire_ms: Option<i64>,
        type_byte: u8,
        value: &[u8],
    ) -> io::Result<()> {
        match expire_ms {
            Some(ms) if self.header.dialect == Dialect::Redis && self.header.version < 3 => {
                self.scratch.push(EXPIRETIME);
                let secs = ms.div_euclid(1000).clamp(0, i64::from(u32::MAX)) as u32;
                self.scratch.extend_from_slice(&secs.to_le_bytes());
            }
            Some(ms) => {
                self.scratch.push(EXPIRETIME_MS);
                self.scratch.extend_from_slice(&ms.to_le_bytes());
            }
            None => {}
        }
        self.scratch.push(type_byte);
        write_string(&mut self.scratch, name);
        self.flush_scratch()?;
        self.put(value)
    }

    /// Ends the file (`EOF`, then from RDB 5 the CRC64 of everything before it)
    /// and flushes it; gives `out` back.
    ///
    /// # Errors
    /// When `out` fails.
    pub fn finish(mut self) -> io::Result<W> {
        self.put(&[EOF])?;
        if self.header.dialect == Dialect::Valkey || self.header.version >= 5 {
            let crc = self.crc.finalize();
            self.put(&crc.to_le_bytes())?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Item, Rdb, Value};
    use proptest::prelude::*;

    /// What a test writes of a key: db, name, expiry, string value.
    type Written = (u64, Vec<u8>, Option<i64>, Vec<u8>);

    fn string_value(bytes: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_string(&mut v, bytes);
        v
    }

    fn read_back(bytes: &[u8]) -> (Header, Vec<Written>, Vec<Vec<u8>>) {
        let rdb = Rdb::new(bytes).expect("header");
        let header = rdb.header();
        let mut keys = Vec::new();
        let mut libraries = Vec::new();
        for item in rdb.items() {
            match item.expect("item") {
                Item::Key(k) => {
                    let Value::String(s) = &k.value else {
                        panic!("not a string: {k:?}")
                    };
                    keys.push((
                        k.db,
                        k.key.to_vec().unwrap(),
                        k.expire_ms,
                        s.to_vec().unwrap(),
                    ));
                }
                Item::Function(crate::Function::Library { code }) => {
                    libraries.push(code.to_vec().unwrap())
                }
                _ => {}
            }
        }
        (header, keys, libraries)
    }

    fn header() -> impl Strategy<Value = Header> {
        prop_oneof![
            (5u32..=12).prop_map(|version| Header {
                version,
                dialect: Dialect::Redis
            }),
            Just(Header {
                version: crate::VALKEY_VERSION,
                dialect: Dialect::Valkey
            }),
        ]
    }

    proptest! {
        /// What is written reads back: every key in its database with its expiry
        /// and value, libraries where the version has them, a checksum that holds.
        #[test]
        fn written_files_read_back(
            header in header(),
            dbs in prop::collection::btree_map(
                0u64..20,
                prop::collection::vec(
                    (
                        prop::collection::vec(any::<u8>(), 0..40),
                        prop::option::of(0i64..5_000_000_000_000),
                        prop::collection::vec(any::<u8>(), 0..200),
                    ),
                    0..20,
                ),
                0..4,
            ),
            library in prop::collection::vec(any::<u8>(), 1..100),
        ) {
            let mut w = RdbWriter::new(Vec::new(), header).unwrap();
            w.aux(b"redis-ver", b"7.0.15").unwrap();
            if w.has_functions() {
                w.function(&library).unwrap();
            }
            let mut expected = Vec::new();
            for (db, keys) in &dbs {
                w.select_db(*db).unwrap();
                let expires = keys.iter().filter(|k| k.1.is_some()).count() as u64;
                w.resize_db(keys.len() as u64, expires).unwrap();
                for (name, expire, value) in keys {
                    w.key(name, *expire, 0, &string_value(value)).unwrap();
                    expected.push((*db, name.clone(), *expire, value.clone()));
                }
            }
            let written = w.written();
            let bytes = w.finish().unwrap();
            prop_assert_eq!(bytes.len() as u64, written + 9);
            let (read_header, keys, libraries) = read_back(&bytes);
            prop_assert_eq!(read_header, header);
            prop_assert_eq!(keys, expected);
            let has = header.dialect == Dialect::Valkey || header.version >= 10;
            prop_assert_eq!(libraries, if has { vec![library] } else { vec![] });
        }
    }

    #[test]
    fn older_versions_get_what_they_have() {
        let old = Header {
            version: 2,
            dialect: Dialect::Redis,
        };
        let mut w = RdbWriter::new(Vec::new(), old).unwrap();
        w.aux(b"redis-ver", b"2.4").unwrap();
        w.resize_db(1, 1).unwrap();
        assert!(w.function(b"code").is_err());
        w.select_db(0).unwrap();
        w.key(b"k", Some(1_700_000_000_500), 0, &string_value(b"v"))
            .unwrap();
        let bytes = w.finish().unwrap();
        // No aux, no hints; the expiry in seconds; no checksum.
        assert_eq!(
            bytes,
            [
                &b"REDIS0002"[..],
                &[SELECTDB, 0, EXPIRETIME],
                &1_700_000_000u32.to_le_bytes(),
                &[0, 1, b'k', 1, b'v', EOF],
            ]
            .concat()
        );
        let (_, keys, _) = read_back(&bytes);
        assert_eq!(
            keys,
            [(0, b"k".to_vec(), Some(1_700_000_000_000), b"v".to_vec())]
        );
    }

    #[test]
    fn versions_without_a_magic_are_refused() {
        for (version, dialect) in [
            (0, Dialect::Redis),
            (10_000, Dialect::Redis),
            (1000, Dialect::Valkey),
        ] {
            assert!(RdbWriter::new(Vec::new(), Header { version, dialect }).is_err());
        }
    }
}
