//! One difference a verification found between a source and a target: the JSON
//! line the `verify` program prints for it.

use std::fmt;
use std::io::{self, Write};

use bytes::Bytes;

use crate::json::write_bytes;

/// What differs about a key (or a function library).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DifferenceKind {
    /// In the source, not on the target.
    Missing,
    /// On the target, not in the source.
    Extra,
    /// Of another type on the target.
    Type,
    /// Another value (mode `full`).
    Value,
    /// Another number of elements (mode `length`).
    Length,
    /// Another time to live, beyond the tolerance.
    Ttl,
    /// The two sides cannot be compared (e.g. a module value whose `DUMP` payloads
    /// are written in different formats); the detail says why.
    NotComparable,
}

impl DifferenceKind {
    /// Every kind, in the order the summary lists them.
    pub const ALL: [DifferenceKind; 7] = [
        DifferenceKind::Missing,
        DifferenceKind::Extra,
        DifferenceKind::Type,
        DifferenceKind::Value,
        DifferenceKind::Length,
        DifferenceKind::Ttl,
        DifferenceKind::NotComparable,
    ];

    /// Its name in the JSON lines: `missing`, `extra`, `type`, `value`, `length`,
    /// `ttl`, `not_comparable`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::Missing => "missing",
            DifferenceKind::Extra => "extra",
            DifferenceKind::Type => "type",
            DifferenceKind::Value => "value",
            DifferenceKind::Length => "length",
            DifferenceKind::Ttl => "ttl",
            DifferenceKind::NotComparable => "not_comparable",
        }
    }
}

impl fmt::Display for DifferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a difference is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// A key: the source's database and name (the target's for an extra key).
    Key {
        /// The database.
        db: u64,
        /// The key's name.
        key: Bytes,
    },
    /// A function library, by name.
    Library(String),
}

/// A difference that remained after the last round.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Difference {
    /// The key or library.
    pub subject: Subject,
    /// What differs.
    pub kind: DifferenceKind,
    /// Details for a person: the two values, lengths or times to live, where the
    /// first difference is.
    pub detail: String,
}

impl Difference {
    /// A difference about key `key` of database `db`.
    pub fn key(db: u64, key: Bytes, kind: DifferenceKind, detail: impl Into<String>) -> Self {
        Difference {
            subject: Subject::Key { db, key },
            kind,
            detail: detail.into(),
        }
    }

    /// Writes the JSON line: `{"db":0,"key":"...","kind":"...","detail":"..."}`, or
    /// `{"function":"lib","kind":"...","detail":"..."}` for a function library. Key
    /// names are written as the `decode` program writes them: a JSON string when
    /// UTF-8, else `{"base64":"..."}`.
    ///
    /// # Errors
    /// I/O errors of `out`.
    pub fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        match &self.subject {
            Subject::Key { db, key } => {
                write!(out, "{{\"db\":{db},\"key\":")?;
                write_bytes(out, key, false)?;
            }
            Subject::Library(name) => {
                out.write_all(b"{\"function\":")?;
                write_bytes(out, name.as_bytes(), false)?;
            }
        }
        write!(out, ",\"kind\":\"{}\",\"detail\":", self.kind)?;
        write_bytes(out, self.detail.as_bytes(), false)?;
        out.write_all(b"}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_show_binary_keys_as_decode_does() {
        let mut out = Vec::new();
        Difference::key(3, Bytes::from_static(b"a\"b"), DifferenceKind::Ttl, "x")
            .write_json(&mut out)
            .unwrap();
        Difference::key(0, Bytes::from_static(b"\xff"), DifferenceKind::Missing, "")
            .write_json(&mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"db\":3,\"key\":\"a\\\"b\",\"kind\":\"ttl\",\"detail\":\"x\"}\n\
             {\"db\":0,\"key\":{\"base64\":\"/w==\"},\"kind\":\"missing\",\"detail\":\"\"}\n"
        );
    }
}
