//! Zero-copy decoding of Redis and Valkey RDB files.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
