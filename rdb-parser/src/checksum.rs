//! The CRC64 footer of RDB files and DUMP payloads.
//!
//! CRC-64 with the Jones polynomial (`0xad93d23594c935a9`, reflected, init 0,
//! xorout 0), computed with `crc-fast`'s SIMD `Crc64Redis`. Note that `crc64fast`
//! computes CRC-64/XZ, a different checksum. Source: redis `src/crc64.c`.

use crc_fast::CrcAlgorithm;

/// CRC64 of `bytes` as Redis computes it.
pub fn crc64(bytes: &[u8]) -> u64 {
    crc_fast::checksum(CrcAlgorithm::Crc64Redis, bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_value() {
        // The check value of CRC-64/REDIS (redis src/crc64.c's test).
        assert_eq!(super::crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }
}
