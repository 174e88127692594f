//! The manifest of a Redis 7 multi-part AOF: which files make up the dataset, in
//! which order.
//!
//! Format (`aof.c`, `aofLoadManifestFromFile`): one file per line, as key/value
//! pairs split like an inline command, e.g. `file appendonly.aof.1.base.rdb seq 1
//! type b`. Keys other than `file`, `seq` and `type` are ignored (Redis 8 adds
//! `startoffset` and `endoffset`); lines starting with `#` are comments.

use resp_codec::split_inline;

use crate::error::{Error, Result};

/// Longest manifest line the server accepts (`MANIFEST_MAX_LINE`).
const MAX_LINE: usize = 1024;

/// What a manifest says a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `type b`: the base, an RDB (`.base.rdb`) or an AOF (`.base.aof`) written by
    /// the last rewrite.
    Base,
    /// `type h`: a file of an older generation, waiting for deletion; not loaded.
    History,
    /// `type i`: commands appended after the base, loaded in sequence order.
    Incr,
}

/// One line of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The file name, relative to the AOF directory.
    pub file: String,
    /// Its sequence number.
    pub seq: u64,
    /// Its role.
    pub kind: FileKind,
}

/// A parsed multi-part AOF manifest.
///
/// ```
/// use aof::{FileKind, Manifest};
///
/// let m = Manifest::parse(b"file appendonly.aof.1.base.rdb seq 1 type b\n\
///                           file appendonly.aof.1.incr.aof seq 1 type i\n")?;
/// assert_eq!(m.base().unwrap().file, "appendonly.aof.1.base.rdb");
/// let order: Vec<_> = m.load_order().map(|e| e.kind).collect();
/// assert_eq!(order, [FileKind::Base, FileKind::Incr]);
/// # Ok::<(), aof::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Parses a manifest as the server does.
    ///
    /// # Errors
    /// [`Error::Manifest`] for a line that is too long, is not key/value pairs,
    /// lacks `file`, `seq` or `type`, names a path rather than a file, has an
    /// unknown type, repeats the base, or breaks the increasing order of the incr
    /// files' sequence numbers; and for a manifest with no file at all.
    pub fn parse(text: &[u8]) -> Result<Manifest> {
        let mut entries: Vec<ManifestEntry> = Vec::new();
        let mut max_incr_seq = 0;
        let mut pos = 0;
        let mut number = 0;
        while pos < text.len() {
            number += 1;
            let rest = text.get(pos..).unwrap_or_default();
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            let raw = rest.get(..end).unwrap_or_default();
            let line_start = pos as u64;
            let bad = |what| Error::Manifest {
                what,
                line: number,
                offset: line_start,
            };
            pos += end + 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            if raw.len() > MAX_LINE {
                return Err(bad("line too long"));
            }
            if raw.contains(&0) {
                return Err(bad("NUL byte"));
            }
            let words = split_inline(raw).map_err(|_| bad("unbalanced quotes"))?;
            if words.is_empty() {
                continue;
            }
            if words.len() < 6 || words.len() % 2 != 0 {
                return Err(bad("expected file, seq and type key/value pairs"));
            }
            let (mut file, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks_exact(2) {
                let (key, value) = (&pair[0], &pair[1]);
                match &key[..] {
                    b"file" => file = Some(value),
                    b"seq" => seq = Some(value),
                    b"type" => kind = Some(value),
                    _ => {}
                }
            }
            let (Some(file), Some(seq), Some(kind)) = (file, seq, kind) else {
                return Err(bad("missing file, seq or type"));
            };
            let file =
                String::from_utf8(file.to_vec()).map_err(|_| bad("file name is not UTF-8"))?;
            if file.is_empty() || file.contains('/') || file == "." || file == ".." {
                return Err(bad("file must be a name in the AOF directory, not a path"));
            }
            let seq = std::str::from_utf8(seq)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .filter(|&s| s > 0)
                .ok_or_else(|| bad("invalid seq"))?;
            let kind = match kind.first() {
                Some(b'b') => FileKind::Base,
                Some(b'h') => FileKind::History,
                Some(b'i') => FileKind::Incr,
                _ => return Err(bad("unknown file type")),
            };
            match kind {
                FileKind::Base if entries.iter().any(|e| e.kind == FileKind::Base) => {
                    return Err(bad("a second base file"));
                }
                FileKind::Incr => {
                    if seq <= max_incr_seq {
                        return Err(bad("incr sequence numbers not increasing"));
                    }
                    max_incr_seq = seq;
                }
                _ => {}
            }
            entries.push(ManifestEntry { file, seq, kind });
        }
        if entries.is_empty() {
            return Err(Error::Manifest {
                what: "no file listed",
                line: number,
                offset: text.len() as u64,
            });
        }
        Ok(Manifest { entries })
    }

    /// Every entry, in manifest order.
    pub fn entries(&self) -> &[ManifestEntry] {
        &self.entries
    }

    /// The base file, if there is one.
    pub fn base(&self) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| e.kind == FileKind::Base)
    }

    /// The files to load, in order: the base, then the incr files by sequence
    /// number. History files are left out.
    pub fn load_order(&self) -> impl Iterator<Item = &ManifestEntry> {
        self.base()
            .into_iter()
            .chain(self.entries.iter().filter(|e| e.kind == FileKind::Incr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_7_manifest_with_history_and_comments() {
        let text = b"# written by Redis\n\
            file appendonly.aof.2.base.rdb seq 2 type b\n\
            file appendonly.aof.1.base.rdb seq 1 type h\n\
            \n\
            file appendonly.aof.3.incr.aof seq 3 type i startoffset 0 endoffset 10\n\
            file \"appendonly.aof.4.incr.aof\" seq 4 type i\r\n";
        let m = Manifest::parse(text).unwrap();
        let order: Vec<_> = m.load_order().map(|e| (e.file.as_str(), e.seq)).collect();
        assert_eq!(
            order,
            [
                ("appendonly.aof.2.base.rdb", 2),
                ("appendonly.aof.3.incr.aof", 3),
                ("appendonly.aof.4.incr.aof", 4)
            ]
        );
        assert_eq!(m.entries().len(), 4);
    }

    #[test]
    fn invalid_manifests() {
        let cases: &[(&[u8], &str, usize)] = &[
            (
                b"file a seq 1\n",
                "expected file, seq and type key/value pairs",
                1,
            ),
            (
                b"file a seq 1 type i x\n",
                "expected file, seq and type key/value pairs",
                1,
            ),
            (b"file a seq 1 kind i\n", "missing file, seq or type", 1),
            (
                b"file ../a seq 1 type b\n",
                "file must be a name in the AOF directory, not a path",
                1,
            ),
            (b"file a seq 0 type b\n", "invalid seq", 1),
            (b"file a seq x type b\n", "invalid seq", 1),
            (b"file a seq 1 type z\n", "unknown file type", 1),
            (
                b"file a seq 1 type b\nfile b seq 2 type b\n",
                "a second base file",
                2,
            ),
            (
                b"file a seq 2 type i\nfile b seq 2 type i\n",
                "incr sequence numbers not increasing",
                2,
            ),
            (b"file \"a seq 1 type b\n", "unbalanced quotes", 1),
            (b"# only a comment\n", "no file listed", 1),
        ];
        for &(text, what, line) in cases {
            match Manifest::parse(text) {
                Err(Error::Manifest {
                    what: w, line: l, ..
                }) => assert_eq!((w, l), (what, line), "{}", text.escape_ascii()),
                other => panic!("{}: {other:?}", text.escape_ascii()),
            }
        }
        let long = format!("file {} seq 1 type b\n", "a".repeat(2000));
        assert!(matches!(
            Manifest::parse(long.as_bytes()),
            Err(Error::Manifest {
                what: "line too long",
                ..
            })
        ));
    }
}
