//! The README shows the crate documentation's examples, which run as doc tests:
//! the two must not drift apart.

/// The Rust code blocks of `text` (```rust or bare ``` fences), without the lines
/// rustdoc hides (`# ...`).
fn code_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    // `None` outside a block; `Some(None)` in a block of another language.
    let mut current: Option<Option<Vec<&str>>> = None;
    for line in text.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            current = match current.take() {
                Some(Some(lines)) => {
                    blocks.push(lines.join("\n"));
                    None
                }
                Some(None) => None,
                None if fence.is_empty() || fence == "rust" => Some(Some(Vec::new())),
                None => Some(None),
            };
            continue;
        }
        if let Some(Some(lines)) = &mut current
            && !(line.starts_with("# ") || line == "#")
        {
            lines.push(line);
        }
    }
    blocks
}

#[test]
fn readme_examples_are_the_doc_tests() {
    let lib = include_str!("../src/lib.rs");
    let docs: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let from_docs = code_blocks(&docs);
    let from_readme = code_blocks(include_str!("../README.md"));
    assert_eq!(
        from_docs.len(),
        3,
        "the docs show a sync, a restore and a verify"
    );
    assert_eq!(from_readme, from_docs);
}
