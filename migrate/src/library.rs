//! Function libraries as `FUNCTION LOAD` takes them: their names.

/// A library's name, from its first line (`#!lua name=lib`); empty when the
/// line names none.
pub(crate) fn library_name(code: &[u8]) -> String {
    let first = code.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(first)
        .split_whitespace()
        .find_map(|w| w.strip_prefix("name="))
        .unwrap_or("")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_first_line() {
        assert_eq!(
            library_name(b"#!lua name=mylib\nredis.register_function()"),
            "mylib"
        );
        assert_eq!(library_name(b"#!lua\nname=not-this"), "");
    }
}
