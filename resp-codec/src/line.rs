//! RESP lines: the `\r\n`-terminated text after a type byte (lengths, integers,
//! simple strings), scanned without re-reading and without `memchr`.
//!
//! Every function takes the buffer and a position and answers `Ok(None)` when the
//! buffer ends before the line does: the caller decides whether that is an error.

/// A line that does not follow the format; the caller knows what and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bad;

/// `Ok(Some(x))`: parsed; `Ok(None)`: the buffer ends first; `Err(Bad)`: malformed.
pub(crate) type Scan<T> = Result<Option<T>, Bad>;

/// At most this many digits in an integer line: `i64::MIN` has 19.
const MAX_DIGITS: usize = 19;

/// Parses `[-]digits\r\n` at `pos`, returning the value and the position after `\n`.
///
/// Strict like the server's `string2ll`: no `+` sign, no leading zeros, no `-0`,
/// no spaces, and the value must fit an `i64`.
#[inline]
pub(crate) fn int(buf: &[u8], pos: usize) -> Scan<(i64, usize)> {
    let neg = buf.get(pos) == Some(&b'-');
    let first = pos + usize::from(neg);
    let mut i = first;
    let mut value: u64 = 0;
    loop {
        match buf.get(i) {
            Some(&c) if c.is_ascii_digit() => {
                if i - first == MAX_DIGITS {
                    return Err(Bad);
                }
                value = value * 10 + u64::from(c - b'0');
                i += 1;
            }
            Some(b'\r') => break,
            Some(_) => return Err(Bad),
            None => return Ok(None),
        }
    }
    let digits = i - first;
    if digits == 0 || (digits > 1 && buf.get(first) == Some(&b'0')) || (neg && value == 0) {
        return Err(Bad);
    }
    let value = if neg {
        // `i64::MIN` has no positive counterpart, hence the detour through `checked_sub`.
        0i64.checked_sub_unsigned(value).ok_or(Bad)?
    } else {
        i64::try_from(value).map_err(|_| Bad)?
    };
    match buf.get(i + 1) {
        Some(b'\n') => Ok(Some((value, i + 2))),
        Some(_) => Err(Bad),
        None => Ok(None),
    }
}

/// Parses a length line (`digits\r\n`, or `-1\r\n` for null) at `pos`.
///
/// Returns `-1` for null and the position after `\n`; any other negative is `Bad`.
#[inline]
pub(crate) fn len(buf: &[u8], pos: usize) -> Scan<(i64, usize)> {
    // The common case: a few digits, no sign. Falls back to `int` for the rest.
    let mut i = pos;
    let mut value: u64 = 0;
    while let Some(&c) = buf.get(i) {
        if !c.is_ascii_digit() || i - pos == MAX_DIGITS - 1 {
            break;
        }
        value = value * 10 + u64::from(c - b'0');
        i += 1;
    }
    let digits = i - pos;
    if digits > 0
        && !(digits > 1 && buf.get(pos) == Some(&b'0'))
        && buf.get(i) == Some(&b'\r')
        && buf.get(i + 1) == Some(&b'\n')
    {
        // At most 18 digits: fits an i64.
        return Ok(Some((value as i64, i + 2)));
    }
    match int(buf, pos)? {
        Some((v, next)) if v >= -1 => Ok(Some((v, next))),
        Some(_) => Err(Bad),
        None => Ok(None),
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of the result where `word` has a zero byte; exact for
/// the lowest such byte (bits above it may be false positives, which we never use).
#[inline]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(LO) & !word & HI
}

/// Position of the first `\r` or `\n` at or after `from`, eight bytes at a time.
#[inline]
pub(crate) fn find_eol(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = buf.get(i..).and_then(|s| s.first_chunk::<8>()) {
        let word = u64::from_le_bytes(*chunk);
        let hits =
            zero_bytes(word ^ (LO * u64::from(b'\r'))) | zero_bytes(word ^ (LO * u64::from(b'\n')));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    buf.get(i..)?
        .iter()
        .position(|&c| c == b'\r' || c == b'\n')
        .map(|p| i + p)
}

/// Position of the first `\n` at or after `from`, eight bytes at a time.
#[inline]
pub(crate) fn find_lf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = buf.get(i..).and_then(|s| s.first_chunk::<8>()) {
        let hits = zero_bytes(u64::from_le_bytes(*chunk) ^ (LO * u64::from(b'\n')));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    buf.get(i..)?
        .iter()
        .position(|&c| c == b'\n')
        .map(|p| i + p)
}

/// Finds the end of a simple line (simple string, error, double, big number) that
/// starts at `pos`: returns the position of its `\r`, which `\n` must follow.
///
/// `scanned` is where a previous call stopped for lack of input, so a long line
/// arriving in pieces is scanned once. A bare `\r` or `\n` inside the line is `Bad`:
/// no server writes one and no encoder could reproduce it.
#[inline]
pub(crate) fn simple(buf: &[u8], pos: usize, scanned: &mut usize) -> Scan<usize> {
    let from = (*scanned).max(pos);
    match find_eol(buf, from) {
        None => {
            *scanned = buf.len();
            Ok(None)
        }
        Some(cr) => match (buf.get(cr), buf.get(cr + 1)) {
            (Some(b'\r'), Some(b'\n')) => {
                *scanned = 0;
                Ok(Some(cr))
            }
            (Some(b'\r'), None) => {
                *scanned = cr;
                Ok(None)
            }
            _ => Err(Bad),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_lines() {
        assert_eq!(int(b"0\r\n", 0), Ok(Some((0, 3))));
        assert_eq!(int(b"-42\r\nx", 0), Ok(Some((-42, 5))));
        assert_eq!(int(b"9223372036854775807\r\n", 0), Ok(Some((i64::MAX, 21))));
        assert_eq!(
            int(b"-9223372036854775808\r\n", 0),
            Ok(Some((i64::MIN, 22)))
        );
        assert_eq!(int(b"9223372036854775808\r\n", 0), Err(Bad));
        assert_eq!(int(b"99999999999999999999", 0), Err(Bad));
        for bad in [
            &b"\r\n"[..],
            b"-\r\n",
            b"-0\r\n",
            b"01\r\n",
            b"+1\r\n",
            b"1 \r\n",
            b"1\rx",
            b"1\n",
        ] {
            assert_eq!(int(bad, 0), Err(Bad), "{}", bad.escape_ascii());
        }
        for short in [&b""[..], b"-", b"12", b"12\r"] {
            assert_eq!(int(short, 0), Ok(None), "{}", short.escape_ascii());
        }
    }

    #[test]
    fn len_lines() {
        assert_eq!(len(b"3\r\n", 0), Ok(Some((3, 3))));
        assert_eq!(len(b"-1\r\n", 0), Ok(Some((-1, 4))));
        assert_eq!(
            len(b"999999999999999999\r\n", 0),
            Ok(Some((999_999_999_999_999_999, 20)))
        );
        assert_eq!(len(b"9223372036854775807\r\n", 0), Ok(Some((i64::MAX, 21))));
        assert_eq!(len(b"-2\r\n", 0), Err(Bad));
        assert_eq!(len(b"00\r\n", 0), Err(Bad));
        assert_eq!(len(b"12", 0), Ok(None));
    }

    #[test]
    fn eol_scans_every_alignment() {
        for n in 0..40 {
            let mut line = vec![b'a'; n];
            line.extend_from_slice(b"\r\nzz\r\n");
            for from in 0..=n {
                assert_eq!(find_eol(&line, from), Some(n));
                assert_eq!(find_lf(&line, from), Some(n + 1));
            }
            let mut scanned = 0;
            assert_eq!(simple(&line, 0, &mut scanned), Ok(Some(n)));
            let mut scanned = 0;
            assert_eq!(simple(&line[..n + 1], 0, &mut scanned), Ok(None));
            assert_eq!(simple(&line, 0, &mut scanned), Ok(Some(n)));
        }
        assert_eq!(simple(b"a\nb\r\n", 0, &mut 0), Err(Bad));
        assert_eq!(simple(b"a\rb\r\n", 0, &mut 0), Err(Bad));
        assert_eq!(find_eol(b"abc", 0), None);
    }
}
