//! What the fuzz targets share. Each module is also included by its crate's corpus
//! replay test, so the fuzzer and the tests check the same way.

mod aof;
mod value;

pub use aof::{aof_items, check_aof};
pub use value::{check_transcode, check_value};
