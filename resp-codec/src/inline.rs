//! Inline commands: a line of space-separated arguments, as `redis-cli` or telnet
//! send them, split the way the server splits them (`sdssplitargs` in `sds.c`).

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use crate::error::{Error, Result};
use crate::line::Bad;

/// One argument of an inline command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Unquoted: these bytes of the line, as they are.
    Range(usize, usize),
    /// Quoted: the unescaped bytes.
    Owned(Vec<u8>),
}

/// The server's `isspace` (C locale), which separates arguments.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments like `sdssplitargs`.
///
/// Outside quotes an argument ends at a space, tab, CR or LF; a `"` or `'` starts a
/// quoted part, which may follow unquoted bytes (`a"b c"` is one argument, `ab c`).
/// In double quotes `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<any>` are escapes;
/// in single quotes only `\'` is. A closing quote must be followed by a space or
/// the end of the line, and every quote must be closed: otherwise the error is the
/// position where the offending argument starts.
/// The caller rejects NUL bytes, which end the line for the server.
pub(crate) fn split(line: &[u8]) -> Result<Vec<Piece>, usize> {
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while line.get(p).is_some_and(|&c| is_space(c)) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(args);
        }
        let start = p;
        // Bytes of a quoted argument; `None` while the argument is plain.
        let mut owned: Option<Vec<u8>> = None;
        loop {
            match line.get(p) {
                None => break,
                Some(&(b' ' | b'\t' | b'\r' | b'\n')) => break,
                Some(&quote @ (b'"' | b'\'')) => {
                    let out = owned.get_or_insert_with(|| line[start..p].to_vec());
                    p = quoted(line, p + 1, quote, out).map_err(|Bad| start)?;
                    // After the closing quote: the end, or a space.
                    match line.get(p) {
                        None => break,
                        Some(&c) if is_space(c) => break,
                        Some(_) => return Err(start),
                    }
                }
                Some(&c) => {
                    if let Some(out) = &mut owned {
                        out.push(c);
                    }
                    p += 1;
                }
            }
        }
        args.push(match owned {
            Some(bytes) => Piece::Owned(bytes),
            None => Piece::Range(start, p),
        });
    }
}

/// Splits a line into arguments as the server does (`sdssplitargs` in `sds.c`): for
/// inline commands, and for the lines of files it writes that way, such as the
/// manifest of a Redis 7 multi-part AOF.
///
/// Arguments are separated by spaces, tabs, CR or LF. A `"` or `'` starts a quoted
/// part, which may follow unquoted bytes (`a"b c"` is the one argument `ab c`). In
/// double quotes `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<any>` are escapes; in
/// single quotes only `\'` is. Unquoted arguments borrow from `line`; quoted ones
/// are unescaped into a new buffer. A NUL byte is an ordinary byte here, though the
/// server's line readers stop at it: reject it first where that matters.
///
/// ```
/// use resp_codec::split_inline;
///
/// let args = split_inline(br#"SET "a key" 'it\'s' x\y"#)?;
/// assert_eq!(args, [&b"SET"[..], b"a key", b"it's", b"x\\y"]);
/// assert!(split_inline(br#"SET "open"#).is_err());
/// # Ok::<(), resp_codec::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] when a quote is not closed, or a closing quote is followed by
/// something other than a space or the end; its offset is where that argument
/// starts in `line`.
pub fn split_inline(line: &[u8]) -> Result<Vec<Cow<'_, [u8]>>> {
    let pieces = split(line)
        .map_err(|at| Error::invalid("inline arguments (unbalanced quotes)", at as u64))?;
    Ok(pieces
        .into_iter()
        .map(|p| match p {
            Piece::Range(a, b) => Cow::Borrowed(line.get(a..b).unwrap_or_default()),
            Piece::Owned(v) => Cow::Owned(v),
        })
        .collect())
}

/// Reads a quoted part starting after its opening quote; returns the position
/// after the closing quote.
fn quoted(line: &[u8], mut p: usize, quote: u8, out: &mut Vec<u8>) -> Result<usize, Bad> {
    loop {
        let c = *line.get(p).ok_or(Bad)?;
        let next = line.get(p + 1).copied();
        if c == quote {
            return Ok(p + 1);
        }
        if c == b'\\' && quote == b'"' {
            if next == Some(b'x')
                && let (Some(hi), Some(lo)) = (
                    line.get(p + 2).copied().and_then(hex_value),
                    line.get(p + 3).copied().and_then(hex_value),
                )
            {
                out.push(hi * 16 + lo);
                p += 4;
                continue;
            }
            if let Some(e) = next {
                out.push(match e {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                p += 2;
                continue;
            }
        }
        if c == b'\\' && quote == b'\'' && next == Some(b'\'') {
            out.push(b'\'');
            p += 2;
            continue;
        }
        out.push(c);
        p += 1;
    }
}

/// Whether an argument can be written without quotes and read back unchanged.
/// A leading `*` is quoted: at the start of a line it would make the line a
/// multibulk command.
fn is_plain(arg: &[u8]) -> bool {
    !arg.is_empty()
        && arg.first() != Some(&b'*')
        && arg
            .iter()
            .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'')
}

/// Length of one argument as [`put_arg`] writes it.
pub(crate) fn arg_len(arg: &[u8]) -> usize {
    if is_plain(arg) {
        return arg.len();
    }
    2 + arg
        .iter()
        .map(|&c| match c {
            b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 0x07 | 0x08 => 2,
            c if c == b' ' || c.is_ascii_graphic() => 1,
            _ => 4,
        })
        .sum::<usize>()
}

/// Writes one argument, double-quoted and escaped when it is not plain.
pub(crate) fn put_arg(dst: &mut BytesMut, arg: &[u8]) {
    if is_plain(arg) {
        dst.put_slice(arg);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    dst.put_u8(b'"');
    for &c in arg {
        match c {
            b'\\' => dst.put_slice(b"\\\\"),
            b'"' => dst.put_slice(b"\\\""),
            b'\n' => dst.put_slice(b"\\n"),
            b'\r' => dst.put_slice(b"\\r"),
            b'\t' => dst.put_slice(b"\\t"),
            0x07 => dst.put_slice(b"\\a"),
            0x08 => dst.put_slice(b"\\b"),
            c if c == b' ' || c.is_ascii_graphic() => dst.put_u8(c),
            c => dst.put_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]),
        }
    }
    dst.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[u8]) -> Result<Vec<Vec<u8>>, usize> {
        Ok(split(line)?
            .into_iter()
            .map(|p| match p {
                Piece::Range(a, b) => line[a..b].to_vec(),
                Piece::Owned(v) => v,
            })
            .collect())
    }

    #[test]
    fn splits_like_the_server() {
        let v = |xs: &[&[u8]]| -> Vec<Vec<u8>> { xs.iter().map(|x| x.to_vec()).collect() };
        assert_eq!(
            args(b"SET  key\tvalue ").unwrap(),
            v(&[b"SET", b"key", b"value"])
        );
        assert_eq!(args(b"").unwrap(), v(&[]));
        assert_eq!(args(b"   ").unwrap(), v(&[]));
        assert_eq!(
            args(br#"set "a b" 'c d'"#).unwrap(),
            v(&[b"set", b"a b", b"c d"])
        );
        assert_eq!(args(br#"x"\x41\n\q""#).unwrap(), v(&[b"xA\nq"]));
        assert_eq!(args(br#"'it\'s' "\xZZ""#).unwrap(), v(&[b"it's", b"xZZ"]));
        assert_eq!(args(br#"'a\b'"#).unwrap(), v(&[b"a\\b"]));
        assert_eq!(args(b"\"\" ''").unwrap(), v(&[b"", b""]));
        // Vertical tab and form feed separate only before an argument.
        assert_eq!(args(b"\x0ba\x0bb").unwrap(), v(&[b"a\x0bb"]));
        for (bad, at) in [
            (&br#""abc"#[..], 0),
            (br#"'abc"#, 0),
            (br#""a"b"#, 0),
            (br#"'a'b"#, 0),
            (br#""a\"#, 0),
            (br#"set x"a"b"#, 4),
        ] {
            assert_eq!(args(bad), Err(at), "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn encoded_args_split_back() {
        let samples: [&[u8]; 7] = [
            b"plain",
            b"",
            b"a b",
            b"q\"uo'te",
            b"\x00\xff\r\n\t\x07\x08",
            b"back\\slash",
            b"'",
        ];
        for arg in samples {
            let mut dst = BytesMut::new();
            put_arg(&mut dst, arg);
            assert_eq!(dst.len(), arg_len(arg));
            assert_eq!(
                args(&dst).unwrap(),
                vec![arg.to_vec()],
                "{}",
                dst.escape_ascii()
            );
        }
    }
}
