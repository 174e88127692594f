//! Config files: every option of a program in a TOML file under its long name,
//! `--config FILE`; options on the command line win over the file's.
//!
//! ```toml
//! source = ["redis://10.0.0.1:6379"]   # a repeatable option: an array
//! target = "redis://10.0.0.2:6379"
//! prefix = ["app:"]
//! drop-functions = true                  # a flag: true (false: left off)
//! io-timeout = 30
//! ```
//!
//! The file is turned into the options it stands for, placed before those of the
//! command line, so that one parser checks both: a key that is no option is
//! refused with its line, before anything starts. A single-valued option given
//! in both places takes the command line's value; a repeatable one takes both.
//! Passwords need not be in the file: each program reads them from a file or the
//! environment too (`--source-password-file`, `MIGRATE_SOURCE_PASSWORD`...).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgMatches, Command, CommandFactory, Parser};

/// The option that names the config file.
const CONFIG: &str = "config";

/// Parses the program's options as [`Parser::parse`] does, from its config file
/// (`--config FILE`) and its command line; on an error (of either) prints it and
/// exits with status 2.
pub fn parse<A: Parser>() -> A {
    match try_parse_from::<A>(std::env::args_os()) {
        Ok(args) => args,
        Err(e) => e.exit(),
    }
}

/// As [`parse`], from `argv` (the program's name first).
///
/// # Errors
/// A config file that cannot be read, is not TOML, or holds a key that is no
/// option (the error names the file, the line and the key, never a value); and
/// whatever the parser refuses.
pub fn try_parse_from<A: Parser>(
    argv: impl IntoIterator<Item = impl Into<OsString>>,
) -> Result<A, clap::Error> {
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    // The program's own name, not its package's, in the usage and the errors.
    let program = argv
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|p| p.to_string_lossy().into_owned());
    let mut command = command::<A>();
    if let Some(program) = program {
        command = command.bin_name(program);
    }
    let (file, rest) = split_config(&argv);
    let mut full = Vec::with_capacity(argv.len());
    full.extend(argv.first().cloned());
    if let Some(file) = file {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            command.clone().error(
                clap::error::ErrorKind::Io,
                format!("--config {}: {e}", file.display()),
            )
        })?;
        let options = options_of(&command, &file, &text).map_err(|message| {
            command
                .clone()
                .error(clap::error::ErrorKind::UnknownArgument, message)
        })?;
        full.extend(options);
    }
    full.extend(rest);
    let mut matches: ArgMatches = command.try_get_matches_from(full)?;
    A::from_arg_matches_mut(&mut matches)
}

/// The program's parser, with `--config` and single-valued options that a later
/// occurrence overrides (the command line's, after the file's).
fn command<A: CommandFactory>() -> Command {
    A::command().args_override_self(true).arg(
        Arg::new(CONFIG).long(CONFIG).value_name("FILE").help(
            "Read options from this TOML file (long option names as keys); the command line wins",
        ),
    )
}

/// The config file named on the command line, and the other arguments.
fn split_config(argv: &[OsString]) -> (Option<PathBuf>, Vec<OsString>) {
    let mut file = None;
    let mut rest = Vec::new();
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_str().unwrap_or_default();
        if text == "--" {
            rest.push(arg.clone());
            rest.extend(args.cloned());
            break;
        }
        if text == "--config" {
            match args.next() {
                Some(path) => file = Some(PathBuf::from(path)),
                // Left to the parser, which says the value is missing.
                None => rest.push(arg.clone()),
            }
        } else if let Some(path) = text.strip_prefix("--config=") {
            file = Some(PathBuf::from(path));
        } else {
            rest.push(arg.clone());
        }
    }
    (file, rest)
}

/// The command-line arguments the file `text` (from `path`) stands for.
fn options_of(command: &Command, path: &Path, text: &str) -> Result<Vec<OsString>, String> {
    let table: BTreeMap<String, toml::Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e| format!("--config {}: {e}", path.display()))?;
    let line = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
    let mut options = Vec::new();
    let mut positionals = Vec::new();
    for (key, value) in &table {
        let at = || format!("{}:{}", path.display(), line(value.span().start));
        let arg = command
            .get_arguments()
            .find(|a| key != CONFIG && (a.get_long() == Some(key.as_str()) || (a.is_positional() && a.get_id() == key)))
            .ok_or_else(|| {
                format!(
                    "{}: `{key}` is no option of {} (keys are the long option names, as `--help` lists them)",
                    at(),
                    command.get_bin_name().unwrap_or(command.get_name())
                )
            })?;
        let values: Vec<&toml::Value> = match value.get_ref() {
            toml::Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        for v in values {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(true) if !arg.is_positional() => {
                    options.push(OsString::from(format!("--{key}")));
                    continue;
                }
                toml::Value::Boolean(false) => continue,
                _ => {
                    return Err(format!(
                        "{}: `{key}` takes a string, a number, true or an array of them",
                        at()
                    ));
                }
            };
            if arg.is_positional() {
                positionals.push(OsString::from(text));
            } else {
                options.push(OsString::from(format!("--{key}")));
                options.push(OsString::from(text));
            }
        }
    }
    options.extend(positionals);
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options like a program's.
    #[derive(Parser, Debug, PartialEq)]
    struct Args {
        #[arg(long)]
        target: String,
        #[arg(long = "source")]
        sources: Vec<String>,
        #[arg(long)]
        drop_functions: bool,
        #[arg(long, default_value_t = 60)]
        io_timeout: u64,
        files: Vec<String>,
    }

    fn parse_with(file: &str, argv: &[&str]) -> Result<Args, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.toml");
        std::fs::write(&path, file).unwrap();
        let path = path.to_str().unwrap().to_owned();
        let mut full = vec!["prog", "--config", &path];
        full.extend_from_slice(argv);
        try_parse_from::<Args>(full).map_err(|e| e.to_string())
    }

    #[test]
    fn the_file_gives_options_and_the_command_line_wins() {
        let file = r#"
            target = "redis://file:1"
            source = ["redis://a:1", "redis://b:1"]
            drop-functions = true
            io-timeout = 5
            files = ["x.rdb"]
        "#;
        let args = parse_with(file, &[]).unwrap();
        assert_eq!(
            args,
            Args {
                target: "redis://file:1".into(),
                sources: vec!["redis://a:1".into(), "redis://b:1".into()],
                drop_functions: true,
                io_timeout: 5,
                files: vec!["x.rdb".into()],
            }
        );
        let args = parse_with(file, &["--target", "redis://cli:1", "--io-timeout=7"]).unwrap();
        assert_eq!(
            (args.target.as_str(), args.io_timeout),
            ("redis://cli:1", 7)
        );
        // A repeatable option takes both.
        let args = parse_with(file, &["--source", "redis://c:1", "y.rdb"]).unwrap();
        assert_eq!(args.sources.len(), 3);
        assert_eq!(args.files, ["x.rdb", "y.rdb"]);
        // Without a file, as before.
        let args = try_parse_from::<Args>(["prog", "--target", "t"]).unwrap();
        assert_eq!((args.target.as_str(), args.io_timeout), ("t", 60));
    }

    #[test]
    fn unknown_keys_and_values_are_refused_with_their_line() {
        let e = parse_with(
            "target = \"redis://secret@x:1\"\n\ntarget-url = \"y\"\n",
            &[],
        )
        .unwrap_err();
        assert!(e.contains("sync.toml:3: `target-url` is no option"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e = parse_with("target = \"t\"\n[tls]\nca = \"x\"\n", &[]).unwrap_err();
        assert!(e.contains("`tls` is no option"), "{e}");
        let e = parse_with("target = { url = \"t\" }\n", &[]).unwrap_err();
        assert!(e.contains("sync.toml:1: `target` takes a string"), "{e}");
        let e = parse_with("config = \"other.toml\"\n", &[]).unwrap_err();
        assert!(e.contains("`config` is no option"), "{e}");
        let e = parse_with("target = \n", &[]).unwrap_err();
        assert!(e.contains("sync.toml"), "{e}");
    }
}
