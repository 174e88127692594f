//! LZF, the compression Redis applies to long RDB strings.
//!
//! Decoder choice: hand-written, measured against the `lzf` crate (1.0, deprecated)
//! and `lzf-rust` (0.1) with `benches/benches/lzf.rs` (criterion, one core of a
//! 2-core machine, inputs compressed as Redis does). All three decode Redis's
//! streams exactly. `lzf` returns a new zero-filled vector per call and copies
//! back-references byte by byte; `lzf-rust` writes into a caller's slice but copies
//! overlapping references (runs) byte by byte. This decoder fills the caller's
//! reusable vector, takes one-byte literal runs (the commonest token in Redis's
//! data) apart from longer ones, copies references as one 8/16/32-byte move or in
//! 16/8-byte chunks when their distance allows, fills runs of one byte, and copies
//! shorter distances byte by byte. GiB/s of output, this / lzf-rust / lzf (one run;
//! runs vary by about 10%):
//!
//! ```text
//! JSON 1 KiB  6.05 / 4.46 / 2.34     text 1 MiB     2.06 / 1.01 / 0.80
//! JSON 16 KiB 6.77 / 4.72 / 2.44     listpack 8 KiB 3.84 / 2.73 / 1.74
//! JSON 1 MiB  2.90 / 1.97 / 1.25     ziplist 8 KiB  3.74 / 2.72 / 1.72
//! text 4 KiB  3.73 / 2.93 / 1.74     bitmap 128 KiB 27.1 / 1.05 / 1.02
//! ```
//!
//! # Wire format
//! ```text
//! 000LLLLL  literal run: the next L+1 bytes (1..32) are copied to the output
//! LLLddddd dddddddd  back-reference, L in 1..6: copy L+2 bytes starting
//!           (ddddd dddddddd)+1 bytes back in the output
//! 111ddddd LLLLLLLL dddddddd  back-reference copying LLLLLLLL+9 bytes
//! ```
//! A back-reference may overlap the bytes it produces (a distance shorter than its
//! length repeats a pattern). Source: redis `src/lzf_d.c` (`lzf_decompress`); Redis
//! compresses with `src/lzf_c.c` and stores the result only when it saves at least
//! four bytes (`src/rdb.c`, `rdbSaveLzfStringObject`).

use crate::error::{Error, ErrorKind, Result};

/// The most output one input byte can produce: a 3-byte back-reference copies at
/// most 7 + 255 + 2 = 264 bytes.
const MAX_EXPANSION: usize = 88;

/// Longest literal run.
const MAX_LITERAL: usize = 32;

/// Longest back-reference copy.
const MAX_MATCH: usize = 7 + 255 + 2;

/// Farthest back-reference distance.
const MAX_DISTANCE: usize = 1 << 13;

/// Decompresses `compressed` into `out`, which must come out exactly `expected_len`
/// bytes long; `out` is cleared first and reused, so a caller can keep one buffer
/// for many strings.
///
/// Nothing is written past `expected_len`, and `expected_len` is refused before any
/// buffer is sized by it when `compressed` cannot expand that far.
///
/// # Errors
/// [`ErrorKind::Lzf`] when the data is corrupt: a literal run or back-reference cut
/// short, a back-reference before the start of the output, or an output longer or
/// shorter than `expected_len`. The offset is the position of the faulty token in
/// `compressed`. On error `out` is left empty.
pub(crate) fn decompress_into(
    compressed: &[u8],
    expected_len: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    if expected_len > compressed.len().saturating_mul(MAX_EXPANSION) {
        out.clear();
        return Err(Error::new(
            ErrorKind::Lzf("declared length beyond what the data can expand to"),
            0,
        ));
    }
    // Room past the end lets short copies move a fixed number of bytes; the
    // excess is cut off below. `out` is not cleared first: every byte up to
    // `expected_len` is written by the decoder, so only new room is zeroed.
    out.resize(expected_len + SLACK, 0);
    let decoded = decode(compressed, out, expected_len);
    match decoded {
        Ok(()) => out.truncate(expected_len),
        Err(_) => out.clear(),
    }
    decoded
}

fn fault(what: &'static str, at: usize) -> Error {
    Error::new(ErrorKind::Lzf(what), at as u64)
}

/// Bytes allocated past the output's end, so that the copies of literal runs and
/// short back-references can move fixed-size blocks.
const SLACK: usize = MAX_LITERAL;

/// Decodes `input` into `out[..end]`, which must be filled exactly; `out[end..]`
/// is scratch room.
fn decode(input: &[u8], out: &mut [u8], end: usize) -> Result<()> {
    let mut ip = 0;
    let mut op = 0;
    while let Some(&ctrl) = input.get(ip) {
        let token = ip;
        ip += 1;
        if ctrl == 0 {
            // A one-byte literal, the commonest token in Redis's data: the next
            // token's position is then a constant step, not one computed from the
            // byte just loaded, so the CPU can run ahead to it.
            let Some(&byte) = input.get(ip) else {
                return Err(fault("literal run past the end of the data", token));
            };
            let Some(slot) = out[..end].get_mut(op) else {
                return Err(fault("output longer than declared", token));
            };
            *slot = byte;
            ip += 1;
            op += 1;
        } else if ctrl < 32 {
            let n = usize::from(ctrl) + 1;
            // Most runs are short: copy a fixed 32 bytes when both sides have room
            // (one vector move instead of a call); the bytes past the run are
            // overwritten by the tokens that follow.
            if let (true, Some(src), Some(dst)) = (
                n <= end - op,
                input.get(ip..ip + MAX_LITERAL),
                out.get_mut(op..op + MAX_LITERAL),
            ) {
                dst.copy_from_slice(src);
                ip += n;
                op += n;
                continue;
            }
            let Some(src) = input.get(ip..ip + n) else {
                return Err(fault("literal run past the end of the data", token));
            };
            let Some(dst) = out[..end].get_mut(op..op + n) else {
                return Err(fault("output longer than declared", token));
            };
            dst.copy_from_slice(src);
            ip += n;
            op += n;
        } else {
            let mut len = usize::from(ctrl >> 5);
            if len == 7 {
                let Some(&more) = input.get(ip) else {
                    return Err(fault("back-reference cut short", token));
                };
                len += usize::from(more);
                ip += 1;
            }
            let Some(&low) = input.get(ip) else {
                return Err(fault("back-reference cut short", token));
            };
            ip += 1;
            let distance = ((usize::from(ctrl & 0x1f) << 8) | usize::from(low)) + 1;
            let n = len + 2;
            if n > end - op {
                return Err(fault("output longer than declared", token));
            }
            let Some(from) = op.checked_sub(distance) else {
                return Err(fault(
                    "back-reference before the start of the output",
                    token,
                ));
            };
            copy_back(out, from, op, n);
            op += n;
        }
    }
    if op != end {
        return Err(fault("output shorter than declared", input.len()));
    }
    Ok(())
}

/// Copies `n` bytes from `from` to `to` (`from < to`, `to + n <= out.len()`), the
/// way LZF defines it: byte by byte, so an overlapping copy repeats a pattern.
fn copy_back(out: &mut [u8], from: usize, to: usize, n: usize) {
    let distance = to - from;
    let room = out.len() - to;
    if n <= 8 && distance >= 8 && 8 <= room {
        // A short match (a 2-byte token): one 8-byte move. Its source is mostly
        // output written moments ago, which the CPU forwards from its store buffer
        // only to a load inside one earlier store; a narrower load fits more often.
        out.copy_within(from..from + 8, to);
    } else if n <= 16 && distance >= 16 && 16 <= room {
        // Most longer matches in Redis's values fit one 16- or 32-byte move: no
        // loop whose trip count the CPU has to guess.
        out.copy_within(from..from + 16, to);
    } else if n <= 32 && distance >= 32 && 32 <= room {
        out.copy_within(from..from + 32, to);
    } else if distance >= 16 && n + 16 <= room {
        // Fixed 16-byte chunks; each reads only bytes already final. The few bytes
        // written past `to + n` are overwritten by the next tokens.
        let mut k = 0;
        while k < n {
            out.copy_within(from + k..from + k + 16, to + k);
            k += 16;
        }
    } else if distance >= 8 && n + 8 <= room {
        let mut k = 0;
        while k < n {
            out.copy_within(from + k..from + k + 8, to + k);
            k += 8;
        }
    } else if distance == 1 {
        let byte = out[from];
        out[to..to + n].fill(byte);
    } else {
        // A short distance: byte by byte, as LZF defines the copy (a byte may be one
        // this copy wrote). Copies here are short; a library call costs more.
        for i in to..to + n {
            out[i] = out[i - distance];
        }
    }
}

/// Compresses `data` the way Redis decides to: `None` when it is 4 bytes or
/// shorter, or when compressing would not save at least 4 bytes.
///
/// A greedy single-pass compressor (a hash of the next three bytes finds an earlier
/// occurrence); its output is what [`decompress_into`] and Redis read, though not
/// byte for byte what Redis's own compressor writes.
///
/// # Wire format
/// See the module documentation; Redis's rule for storing compressed strings is in
/// `src/rdb.c` (`rdbSaveLzfStringObject`).
#[allow(dead_code)] // Used by tests now and by the RDB encoder later.
pub(crate) fn compress(data: &[u8]) -> Option<Vec<u8>> {
    const HASH_BITS: u32 = 14;
    let limit = data.len().checked_sub(4).filter(|&l| l > 0)?;
    let mut out = Vec::with_capacity(limit);
    // Position + 1 of the last occurrence of each hashed 3-byte sequence.
    let mut table = vec![0usize; 1 << HASH_BITS];
    let hash = |at: usize| -> Option<usize> {
        let b = data.get(at..at + 3)?;
        let v = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
        Some((v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize)
    };
    let mut literal_start = 0;
    let mut ip = 0;
    while let Some(h) = hash(ip) {
        let candidate = std::mem::replace(&mut table[h], ip + 1);
        let found = candidate
            .checked_sub(1)
            .filter(|&c| ip - c <= MAX_DISTANCE && data[c..c + 3] == data[ip..ip + 3]);
        let Some(c) = found else {
            ip += 1;
            continue;
        };
        let max = MAX_MATCH.min(data.len() - ip);
        let mut len = 3;
        while len < max && data[c + len] == data[ip + len] {
            len += 1;
        }
        push_literals(&mut out, &data[literal_start..ip]);
        let distance = ip - c - 1;
        let code = len - 2;
        if code < 7 {
            out.push(((code << 5) | (distance >> 8)) as u8);
        } else {
            out.push(((7 << 5) | (distance >> 8)) as u8);
            out.push((code - 7) as u8);
        }
        out.push((distance & 0xff) as u8);
        if out.len() > limit {
            return None;
        }
        for at in ip + 1..ip + len {
            if let Some(h) = hash(at) {
                table[h] = at + 1;
            }
        }
        ip += len;
        literal_start = ip;
    }
    push_literals(&mut out, &data[literal_start..]);
    (out.len() <= limit).then_some(out)
}

/// Appends `bytes` as literal runs of at most 32 bytes.
fn push_literals(out: &mut Vec<u8>, bytes: &[u8]) {
    for run in bytes.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Decompresses an LZF string that arrives in pieces, keeping only the last
/// [`MAX_DISTANCE`] bytes of output that back-references can reach, so a string of any
/// size is decoded in bounded memory.
#[derive(Debug)]
pub(crate) struct Inflater {
    /// Recent output (the history back-references may reach), then this step's output.
    window: Vec<u8>,
    /// Where this step's output starts in `window`.
    fresh: usize,
    /// Output produced so far, and the declared total.
    produced: u64,
    expected: u64,
    /// Compressed bytes consumed so far (error offsets).
    consumed: u64,
}

impl Inflater {
    /// A decoder for a string declared to decompress to `expected` bytes.
    pub(crate) fn new(expected: u64) -> Self {
        Inflater {
            window: Vec::new(),
            fresh: 0,
            produced: 0,
            expected,
            consumed: 0,
        }
    }

    /// Decodes the whole tokens at the start of `input`, producing up to about
    /// `max_out` bytes; returns how many input bytes were used. The output is
    /// [`Inflater::output`] until the next call. A token cut by the end of `input`
    /// is left for the next call.
    ///
    /// # Errors
    /// [`ErrorKind::Lzf`] as for [`decompress_into`]; the offset counts from the start
    /// of the compressed string.
    pub(crate) fn step(&mut self, input: &[u8], max_out: usize) -> Result<usize> {
        // Keep only the reachable history.
        let keep = self.window.len().min(MAX_DISTANCE);
        self.window.drain(..self.window.len() - keep);
        self.fresh = keep;
        let mut ip = 0;
        while self.window.len() - self.fresh < max_out {
            let Some(&ctrl) = input.get(ip) else { break };
            let at = self.consumed as usize + ip;
            let (len, next) = if ctrl < 32 {
                let n = usize::from(ctrl) + 1;
                let Some(src) = input.get(ip + 1..ip + 1 + n) else {
                    break;
                };
                self.check_room(n, at)?;
                self.window.extend_from_slice(src);
                (n, ip + 1 + n)
            } else {
                let mut len = usize::from(ctrl >> 5);
                let mut p = ip + 1;
                if len == 7 {
                    let Some(&more) = input.get(p) else { break };
                    len += usize::from(more);
                    p += 1;
                }
                let Some(&low) = input.get(p) else { break };
                let distance = ((usize::from(ctrl & 0x1f) << 8) | usize::from(low)) + 1;
                if distance > self.window.len() {
                    return Err(fault("back-reference before the start of the output", at));
                }
                let n = len + 2;
                self.check_room(n, at)?;
                // Byte by byte: the reference may overlap what it produces.
                let from = self.window.len() - distance;
                for i in 0..n {
                    let b = self.window[from + i];
                    self.window.push(b);
                }
                (n, p + 1)
            };
            self.produced += len as u64;
            ip = next;
        }
        self.consumed += ip as u64;
        Ok(ip)
    }

    fn check_room(&self, n: usize, at: usize) -> Result<()> {
        if self.produced + n as u64 > self.expected {
            return Err(fault("output longer than declared", at));
        }
        Ok(())
    }

    /// The output of the last [`Inflater::step`].
    pub(crate) fn output(&self) -> &[u8] {
        &self.window[self.fresh..]
    }

    /// Checks, once all compressed bytes were stepped through, that the output has
    /// its declared length.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.produced != self.expected {
            return Err(fault(
                "output shorter than declared",
                self.consumed as usize,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listpack::tests::hex;
    use proptest::prelude::*;

    fn decompress(compressed: &[u8], len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        decompress_into(compressed, len, &mut out)?;
        Ok(out)
    }

    fn lzf_fault(r: Result<Vec<u8>>) -> &'static str {
        match r.expect_err("corrupt data must fail").kind() {
            ErrorKind::Lzf(what) => what,
            other => panic!("not an LZF error: {other:?}"),
        }
    }

    #[test]
    fn literal_only() {
        assert_eq!(decompress(b"\x04hello", 5).unwrap(), b"hello");
        let mut stream = vec![31];
        stream.extend(0..32u8);
        stream.push(0);
        stream.push(b'!');
        let mut expected: Vec<u8> = (0..32).collect();
        expected.push(b'!');
        assert_eq!(decompress(&stream, 33).unwrap(), expected);
    }

    #[test]
    fn short_back_reference() {
        // "abc" then copy 3 bytes from 3 back -> "abcabc".
        assert_eq!(decompress(b"\x02abc\x20\x02", 6).unwrap(), b"abcabc");
    }

    #[test]
    fn overlapping_back_reference_repeats_a_pattern() {
        // "a" then copy 8 bytes from 1 back: a run of nine 'a'.
        assert_eq!(decompress(b"\x00a\xc0\x00", 9).unwrap(), b"aaaaaaaaa");
        // "ab" then copy 264 bytes from 2 back (long form, 7 + 255).
        let out = decompress(b"\x01ab\xe0\xff\x01", 266).unwrap();
        assert_eq!(out.len(), 266);
        assert!(out.chunks(2).all(|c| c == b"ab"));
        // Distance 3 with a length just over it, and a 13-byte distance (no chunks).
        assert_eq!(decompress(b"\x02xyz\x40\x02", 7).unwrap(), b"xyzxyzx");
    }

    #[test]
    fn long_back_reference_far_away() {
        // 8192 distinct-ish bytes, then copy 264 bytes from the very start (distance 8192).
        let head: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut stream = Vec::new();
        for run in head.chunks(32) {
            stream.push((run.len() - 1) as u8);
            stream.extend_from_slice(run);
        }
        stream.extend_from_slice(&[0xe0 | 0x1f, 255, 0xff]);
        let out = decompress(&stream, 8192 + 264).unwrap();
        assert_eq!(&out[..8192], &head[..]);
        assert_eq!(&out[8192..], &head[..264]);
    }

    #[test]
    fn empty() {
        assert_eq!(decompress(b"", 0).unwrap(), b"");
        assert_eq!(
            lzf_fault(decompress(b"", 1)),
            "declared length beyond what the data can expand to"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a", 0)),
            "output longer than declared"
        );
    }

    #[test]
    fn corrupt_streams() {
        // Back-reference before the start (nothing decoded yet, or too far back).
        assert_eq!(
            lzf_fault(decompress(b"\x20\x00", 3)),
            "back-reference before the start of the output"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a\x20\x01", 4)),
            "back-reference before the start of the output"
        );
        // Output longer or shorter than declared.
        assert_eq!(
            lzf_fault(decompress(b"\x04hello", 4)),
            "output longer than declared"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x04hello", 6)),
            "output shorter than declared"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a\xc0\x00", 8)),
            "output longer than declared"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a\x00b", 1)),
            "output longer than declared"
        );
        // Cut short: literal run (long and one-byte), back-reference offset, long
        // length byte.
        assert_eq!(
            lzf_fault(decompress(b"\x04hell", 5)),
            "literal run past the end of the data"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a\x00", 2)),
            "literal run past the end of the data"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a\x20", 4)),
            "back-reference cut short"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a\xe0", 12)),
            "back-reference cut short"
        );
        assert_eq!(
            lzf_fault(decompress(b"\x00a\xe0\x01", 12)),
            "back-reference cut short"
        );
        // Expansion beyond 88x is refused before sizing a buffer.
        assert!(decompress(b"\x00a", 1 << 40).is_err());
    }

    #[test]
    fn error_offset_is_the_faulty_token() {
        let err = decompress(b"\x00a\x00b\x20\x05", 5).unwrap_err();
        assert_eq!(err.offset(), 4);
    }

    #[test]
    fn reused_buffer_is_cleared() {
        let mut out = b"previous content that is long".to_vec();
        decompress_into(b"\x01hi", 2, &mut out).unwrap();
        assert_eq!(out, b"hi");
        assert!(decompress_into(b"\x01hi", 3, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn compress_follows_redis_rules() {
        assert_eq!(compress(b""), None);
        assert_eq!(compress(b"aaaa"), None);
        assert_eq!(compress(b"abcdefgh"), None, "incompressible");
        let data = b"hello hello hello hello hello hello".repeat(10);
        let c = compress(&data).unwrap();
        assert!(c.len() + 4 <= data.len());
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    /// Streams Redis 7.0.15 wrote (`DUMP` with `rdbcompression yes`) and what they
    /// decompress to: a string of runs, a JSON text, and the listpack of
    /// `listpack::tests::REDIS_LIST`.
    fn redis_streams() -> Vec<(Vec<u8>, Vec<u8>)> {
        let runs = hex("016161e059000062e05a0002616263e06a02016263");
        let mut runs_text = vec![b'a'; 100];
        runs_text.extend(vec![b'b'; 100]);
        runs_text.extend(b"abc".repeat(40));

        let json = hex(concat!(
            "1c7b226964223a312c226e616d65223a227573657231222c22656d61696cc00f0b406578616d706c652e636f6d201b04",
            "6163746976202c06747275657d2c7b60410032e0044100322025e003410032e01a410033e004410033e006410033e01a",
            "410034e004410034e006410034e01a410035e004410035e006410035e01a410036e004410036e006410036e01a410037",
            "e004410037e006410037e01a410038e004410038e006410038e01241017d2c",
        ));
        let json_text: String = (1..=8)
            .map(|i| format!("{{\"id\":{i},\"name\":\"user{i}\",\"email\":\"user{i}@example.com\",\"active\":true}},"))
            .collect();

        let listpack = hex(concat!(
            "0c0e0100001c008001816102bf78e035000340e04079e036001f4200017f01c08002dfff02cfff02f1001003d00002f1",
            "ffef03f1ff7f03f20080110004f1008003f2ff7fff04f2ffff7f04f30020130105f220050104f3200f01ff05200504ff",
            "7f05f40020112003010009202003008005f44015200301ff0940094000017f09402340000c8009833030370483312e35",
            "04ff",
        ));
        vec![
            (runs, runs_text),
            (json, json_text.into_bytes()),
            (listpack, hex(crate::listpack::tests::REDIS_LIST)),
        ]
    }

    #[test]
    fn redis_written_streams() {
        for (compressed, expected) in redis_streams() {
            assert_eq!(decompress(&compressed, expected.len()).unwrap(), expected);
            // Our compressor's output of the same text decodes the same.
            let ours = compress(&expected).unwrap();
            assert_eq!(decompress(&ours, expected.len()).unwrap(), expected);
        }
    }

    #[test]
    fn every_truncation_and_byte_flip_of_redis_streams() {
        let mut out = Vec::new();
        for (compressed, expected) in redis_streams() {
            for cut in 0..compressed.len() {
                assert!(decompress_into(&compressed[..cut], expected.len(), &mut out).is_err());
            }
            for at in 0..compressed.len() {
                for xor in [0x01, 0x04, 0x20, 0x80, 0xFF] {
                    let mut flipped = compressed.clone();
                    flipped[at] ^= xor;
                    if decompress_into(&flipped, expected.len(), &mut out).is_ok() {
                        assert_eq!(out.len(), expected.len());
                    }
                }
            }
        }
    }

    fn compressible() -> impl Strategy<Value = Vec<u8>> {
        // Pieces drawn from a small alphabet and repeated, so back-references of all
        // lengths and distances (overlapping ones included) appear.
        prop::collection::vec(
            (
                prop::collection::vec(prop::sample::select(b"abc{}:\",0123".to_vec()), 1..40),
                1..300usize,
            ),
            0..30,
        )
        .prop_map(|pieces| {
            let mut out = Vec::new();
            for (piece, times) in pieces {
                for _ in 0..times {
                    out.extend_from_slice(&piece);
                }
            }
            out.truncate(20_000);
            out
        })
    }

    proptest! {
        #[test]
        fn round_trip(data in prop_oneof![compressible(), prop::collection::vec(any::<u8>(), 0..3000)]) {
            match compress(&data) {
                Some(c) => {
                    prop_assert!(c.len() + 4 <= data.len());
                    prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
                }
                // Incompressible: Redis would store the bytes as they are.
                None => prop_assert!(data.len() <= 4 || data.len() < 64 || data.iter().any(|&b| b != data[0])),
            }
        }

        #[test]
        fn arbitrary_streams_never_panic(stream in prop::collection::vec(any::<u8>(), 0..600), len in 0usize..5000) {
            let mut out = Vec::new();
            match decompress_into(&stream, len, &mut out) {
                Ok(()) => prop_assert_eq!(out.len(), len),
                Err(e) => {
                    prop_assert!(matches!(e.kind(), ErrorKind::Lzf(_)));
                    prop_assert!(out.is_empty());
                }
            }
        }

        #[test]
        fn flipped_and_truncated_streams_never_panic(
            data in compressible(),
            at in any::<prop::sample::Index>(),
            xor in 1u8..,
            cut in any::<prop::sample::Index>(),
        ) {
            let Some(c) = compress(&data) else { return Ok(()) };
            let mut out = Vec::new();
            prop_assert!(decompress_into(&c[..cut.index(c.len())], data.len(), &mut out).is_err());
            let mut flipped = c.clone();
            flipped[at.index(c.len())] ^= xor;
            if decompress_into(&flipped, data.len(), &mut out).is_ok() {
                prop_assert_eq!(out.len(), data.len());
            }
        }
    }

    proptest! {
        /// The streaming decoder gives the same bytes as the whole-buffer one, fed in
        /// pieces of any size.
        #[test]
        fn inflater_matches_whole_decoder(
            data in compressible(),
            feed in 1usize..300,
            max_out in 1usize..5000,
        ) {
            let Some(compressed) = compress(&data) else { return Ok(()) };
            let mut inflater = Inflater::new(data.len() as u64);
            let mut out = Vec::new();
            let mut at = 0;
            while at < compressed.len() {
                let end = (at + feed).min(compressed.len());
                let used = inflater.step(&compressed[at..end], max_out).unwrap();
                out.extend_from_slice(inflater.output());
                at += used;
                if used == 0 {
                    // A token cut by the piece end: give it more input.
                    let used = inflater.step(&compressed[at..(at + 300).min(compressed.len())], max_out).unwrap();
                    out.extend_from_slice(inflater.output());
                    at += used;
                }
            }
            inflater.finish().unwrap();
            prop_assert_eq!(out, data);
        }
    }
}
