//! RESP2/RESP3 frame codec and AOF reader for Redis and Valkey.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
