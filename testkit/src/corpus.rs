//! The fuzz corpora (`fuzz/corpus/<target>`), for the tests that replay them with
//! the fuzz targets' checks.

use std::path::Path;

/// Every input of the corpus of fuzz target `target`, as (file name, bytes), sorted
/// by name.
///
/// # Panics
/// When the corpus is missing or empty: a replay that checks nothing must fail.
pub fn fuzz_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), bytes)
        })
        .collect()
}
