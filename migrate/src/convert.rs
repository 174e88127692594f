//! An RDB file rewritten as one another server loads at start-up: of an older
//! Redis RDB version (values re-encoded where their encoding is newer than it),
//! of a newer one, or in Valkey 9's dialect; with the pipelines' filter,
//! database map and hooks. A server loads such a file at its own speed, where a
//! copy key by key would write commands.
//!
//! What is written of each item:
//! - Keys: the value's own bytes where the output's version reads them, else
//!   those [`rdb_parser::value_for`] re-encodes (for Valkey 9:
//!   [`rdb_parser::valkey_value_for`], which keeps the field TTLs of Redis
//!   7.4's hashes in Valkey's own form); with their expiry (their LRU
//!   and LFU data are left out: the loading server starts them afresh).
//! - Function libraries (RDB 10 and on, Valkey); aux fields but those of
//!   replication (`repl-*`) and `aof-base`, which describe the file's origin, not
//!   its data; size hints of databases kept whole.
//! - Left out: slot counts (`SLOT_INFO`) and Valkey slot imports, which describe
//!   the server that wrote the file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use key_writer::{DbMap, Filter, Hook, Hooks, KeyEdit, Verdict};
use rdb_parser::{
    Dialect, Function, Header, Item, Key, ParseOptions, Rdb, RdbWriter, VALKEY_VERSION, Value,
    hash_without_field_ttls, valkey_value_for, value_for,
};

use crate::error::{Error, Result, show};
use crate::library::library_name;
use crate::rdb_file::map;

/// The newest Redis RDB version Valkey 9 reads besides its own.
const VALKEY_READS_REDIS: u32 = 11;

/// What a conversion writes, and what it may leave out.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// The Redis RDB version written (default 11, Redis 7.2's): 9 for Redis
    /// 6.0 and 6.2, 10 for 7.0, 11 for 7.2, 12 for 7.4. Ignored with `valkey`.
    pub rdb_version: u32,
    /// Writes Valkey 9's format (`VALKEY080`; values in the encodings of Redis
    /// RDB 11 or Valkey's own) instead.
    pub valkey: bool,
    /// Which keys are written.
    pub filter: Option<Filter>,
    /// Which database each source database's keys go to.
    pub db_map: Option<DbMap>,
    /// Your hooks, after the filter and the database map (as the pipelines run
    /// them): they may drop, rename or move keys, or refuse the conversion.
    pub hooks: Hooks,
    /// Leaves out function libraries the output cannot hold (before RDB 10),
    /// counted in [`ConvertReport::functions_dropped`] (default: an error).
    pub drop_functions: bool,
    /// Writes hashes with field TTLs that the output cannot hold as plain
    /// hashes, their fields without TTLs (fields already expired left out),
    /// counted in [`ConvertReport::field_ttls_dropped`] (default: an error).
    pub drop_field_ttls: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            rdb_version: 11,
            valkey: false,
            filter: None,
            db_map: None,
            hooks: Hooks::new(),
            drop_functions: false,
            drop_field_ttls: false,
        }
    }
}

impl ConvertOptions {
    /// The output's header.
    fn header(&self) -> Header {
        match self.valkey {
            true => Header {
                version: VALKEY_VERSION,
                dialect: Dialect::Valkey,
            },
            false => Header {
                version: self.rdb_version,
                dialect: Dialect::Redis,
            },
        }
    }
}

/// What a conversion did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConvertReport {
    /// Keys written, by output database.
    pub keys: BTreeMap<u64, u64>,
    /// Keys whose values were re-encoded for the output's version.
    pub keys_reencoded: u64,
    /// Keys a filter or hook left out.
    pub filtered: u64,
    /// Function libraries written.
    pub functions: u64,
    /// Function libraries left out ([`ConvertOptions::drop_functions`]).
    pub functions_dropped: u64,
    /// Hashes written without their field TTLs
    /// ([`ConvertOptions::drop_field_ttls`]).
    pub field_ttls_dropped: u64,
    /// Bytes read and written.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// The time it took.
    pub elapsed: Duration,
}

impl ConvertReport {
    /// Keys written in all.
    pub fn total_keys(&self) -> u64 {
        self.keys.values().sum()
    }
}

/// The program's summary: `convert: N keys written, ...`, then a line per
/// thing left out.
impl fmt::Display for ConvertReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dbs: Vec<String> = self
            .keys
            .iter()
            .map(|(db, n)| format!("db{db} {n}"))
            .collect();
        writeln!(
            f,
            "convert: {} keys written ({}), {} re-encoded, {} filtered, {} functions, {} bytes read, {} bytes written in {:.2}s",
            self.total_keys(),
            if dbs.is_empty() {
                "none".to_owned()
            } else {
                dbs.join(", ")
            },
            self.keys_reencoded,
            self.filtered,
            self.functions,
            self.bytes_in,
            self.bytes_out,
            self.elapsed.as_secs_f64()
        )?;
        if self.functions_dropped > 0 {
            writeln!(
                f,
                "convert: {} function libraries left out (--drop-functions)",
                self.functions_dropped
            )?;
        }
        if self.field_ttls_dropped > 0 {
            writeln!(
                f,
                "convert: {} hashes written without their field TTLs (--drop-field-ttls)",
                self.field_ttls_dropped
            )?;
        }
        Ok(())
    }
}

/// Rewrites an RDB file for another server; see the module documentation.
///
/// ```no_run
/// use migrate::{Convert, ConvertOptions};
///
/// # fn main() -> Result<(), migrate::Error> {
/// // A Redis 7.0 file for Redis 6.2, which reads RDB 9.
/// let mut options = ConvertOptions::default();
/// options.rdb_version = 9;
/// options.drop_functions = true;
/// let report = Convert::new("dump.rdb", "for-6.2.rdb").options(options).run()?;
/// println!("{} keys, {} re-encoded", report.total_keys(), report.keys_reencoded);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Convert {
    input: PathBuf,
    output: PathBuf,
    options: ConvertOptions,
}

impl Convert {
    /// Converts the RDB file `input` into `output` with the default options.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        Convert {
            input: input.into(),
            output: output.into(),
            options: ConvertOptions::default(),
        }
    }

    /// Sets the options.
    pub fn options(mut self, options: ConvertOptions) -> Self {
        self.options = options;
        self
    }

    /// Adds a hook, run after the filter, the database map and the hooks before.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Self {
        self.options.hooks.push(hook);
        self
    }

    /// Writes the output: into a temporary file beside it, renamed over it once
    /// complete, so that a failed conversion leaves no partial file behind.
    ///
    /// # Errors
    /// [`Error::Options`] for a version no server reads; [`Error::Rdb`] for a
    /// corrupt input (with the byte offset); [`Error::Convert`] for an item the
    /// output cannot hold; [`Error::Key`] for a key a hook refused;
    /// [`Error::Io`] when a file cannot be read or written.
    pub fn run(self) -> Result<ConvertReport> {
        let started = Instant::now();
        let header = self.options.header();
        if header.dialect == Dialect::Redis
            && !(7..=rdb_parser::MAX_REDIS_VERSION).contains(&header.version)
        {
            return Err(Error::Options(format!(
                "RDB version {}: written are versions 7 (Redis 3.2) to {}",
                header.version,
                rdb_parser::MAX_REDIS_VERSION
            )));
        }
        let input = map(&self.input)?;
        let rdb = Rdb::with_options(&input, ParseOptions::default())
            .map_err(Error::rdb_file(&self.input))?;
        let temporary = temporary_path(&self.output);
        let io = |what, path: &Path| {
            let path = path.to_owned();
            move |error| Error::Io { what, path, error }
        };
        let file = File::create(&temporary).map_err(io("create", &temporary))?;
        let written = Writing::new(&self, header, BufWriter::with_capacity(1 << 20, file))
            .map_err(io("write", &temporary))
            .and_then(|w| w.convert(&rdb));
        let mut report = match written {
            Ok(report) => report,
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(e);
            }
        };
        std::fs::rename(&temporary, &self.output).map_err(io("rename", &self.output))?;
        report.bytes_in = input.len() as u64;
        report.elapsed = started.elapsed();
        Ok(report)
    }
}

/// `out.rdb` -> `out.rdb.converting-<pid>`, in the same directory (so that the
/// rename does not cross file systems).
fn temporary_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_owned();
    name.push(format!(".converting-{}", std::process::id()));
    output.with_file_name(name)
}

/// One conversion under way.
struct Writing<'c> {
    convert: &'c Convert,
    out: RdbWriter<BufWriter<File>>,
    hooks: Hooks,
    /// The Redis RDB version whose encodings the output's values may have.
    reads: u32,
    now_ms: i64,
    /// The output database selected last.
    db: Option<u64>,
    /// Size hints of the input's databases.
    hints: BTreeMap<u64, (u64, u64)>,
    report: ConvertReport,
}

impl<'c> Writing<'c> {
    fn new(
        convert: &'c Convert,
        header: Header,
        out: BufWriter<File>,
    ) -> std::io::Result<Writing<'c>> {
        let o = &convert.options;
        let mut hooks = Hooks::new();
        if let Some(f) = &o.filter {
            hooks.push(f.clone());
        }
        if let Some(m) = &o.db_map {
            hooks.push(m.clone());
        }
        hooks.push(o.hooks.clone());
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Ok(Writing {
            convert,
            out: RdbWriter::new(out, header)?,
            hooks,
            reads: match header.dialect {
                Dialect::Valkey => VALKEY_READS_REDIS,
                _ => header.version,
            },
            now_ms,
            db: None,
            hints: BTreeMap::new(),
            report: ConvertReport::default(),
        })
    }

    fn refused(&self, offset: u64, what: String, reason: impl Into<String>) -> Error {
        Error::Convert {
            path: self.convert.input.clone(),
            offset,
            what,
            reason: reason.into(),
        }
    }

    fn corrupt(&self) -> impl Fn(rdb_parser::Error) -> Error + use<> {
        Error::rdb_file(&self.convert.input)
    }

    fn write_error(&self) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = temporary_path(&self.convert.output);
        move |error| Error::Io {
            what: "write",
            path,
            error,
        }
    }

    fn convert(mut self, rdb: &Rdb<'_>) -> Result<ConvertReport> {
        let input = rdb.header();
        let mut items = rdb.items();
        let mut input_db = 0;
        loop {
            let offset = items.offset();
            let Some(item) = items.next() else { break };
            let item = item.map_err(self.corrupt())?;
            match item {
                Item::Aux { key, value } => {
                    let (key, value) = (key.to_vec(), value.to_vec());
                    if let (Ok(key), Ok(value)) = (key, value)
                        && !key.starts_with(b"repl-")
                        && key != b"aof-base"
                    {
                        self.out.aux(&key, &value).map_err(self.write_error())?;
                    }
                }
                Item::SelectDb { db } => input_db = db,
                // The hint belongs to the database selected just before.
                Item::ResizeDb {
                    db_size,
                    expires_size,
                } => {
                    self.hints.insert(input_db, (db_size, expires_size));
                }
                Item::Function(f) => self.function(offset, &f)?,
                Item::ModuleAux { module, .. } => {
                    return Err(self.refused(
                        offset,
                        format!("aux data of module {}", module.name()),
                        "module data is not converted (a file with module aux data is converted by its own server)",
                    ));
                }
                Item::Key(key) => self.key(input, &key)?,
                Item::End { .. } => break,
                // Slot counts and slot imports describe the server that wrote the
                // file.
                _ => {}
            }
        }
        let failed = self.write_error();
        let out = self.out.finish().map_err(failed)?;
        self.report.bytes_out = out.get_ref().metadata().map_or(0, |m| m.len());
        Ok(self.report)
    }

    fn function(&mut self, offset: u64, f: &Function<'_>) -> Result<()> {
        let code = match f {
            Function::Library { code } => code.to_vec(),
            _ => {
                return Err(self.refused(
                    offset,
                    "a function of a Redis 7.0 release candidate".to_owned(),
                    "no server reads these any more; write the library again with FUNCTION LOAD",
                ));
            }
        };
        let code = code.map_err(self.corrupt())?;
        if !self.out.has_functions() {
            if self.convert.options.drop_functions {
                self.report.functions_dropped += 1;
                return Ok(());
            }
            return Err(self.refused(
                offset,
                format!("function library {:?}", library_name(&code)),
                format!(
                    "RDB {} holds no functions (Redis before 7.0): --drop-functions leaves them out",
                    self.out.header().version
                ),
            ));
        }
        self.out.function(&code).map_err(self.write_error())?;
        self.report.functions += 1;
        Ok(())
    }

    fn key(&mut self, input: Header, key: &Key<'_>) -> Result<()> {
        let name = key.key.to_vec().map_err(self.corrupt())?;
        let name = Bytes::from(name);
        let mut edit = KeyEdit::new(
            key.db,
            name.clone(),
            key.value.value_type(),
            key.expire_ms,
            Some(&key.value),
        );
        match self.hooks.key(&mut edit) {
            Verdict::Keep => {}
            Verdict::Refuse(reason) => {
                return Err(Error::Key {
                    side: "source",
                    node: self.convert.input.display().to_string(),
                    db: key.db,
                    key: show(&name),
                    reason: format!("a hook refused the key: {reason}"),
                });
            }
            _ => {
                self.report.filtered += 1;
                return Ok(());
            }
        }
        let what = || format!("db {}, key {}", key.db, show(&name));
        // The value's own bytes wherever the output reads them (both borrow them).
        let converted = if self.out.header().dialect == Dialect::Valkey {
            valkey_value_for(key.type_byte, key.raw_value, &key.value, input)
        } else {
            value_for(key.type_byte, key.raw_value, &key.value, input, self.reads)
        };
        let converted = converted.map_err(self.corrupt())?;
        let (type_byte, bytes) = match (converted, &key.value) {
            (Some(c), _) => c,
            (None, Value::Hash(hash)) if self.convert.options.drop_field_ttls => {
                self.report.field_ttls_dropped += 1;
                let (t, b) = hash_without_field_ttls(hash, self.now_ms).map_err(self.corrupt())?;
                (t, Cow::Owned(b))
            }
            (None, value) => {
                let reason = match value {
                    Value::Hash(_) => format!(
                        "a hash with field TTLs has no form in {}: --drop-field-ttls writes it without them",
                        self.describe()
                    ),
                    Value::Module(m) => format!(
                        "a value of module {} is kept only in a file of its own dialect and version or newer; --skip-type module leaves it out",
                        m.name()
                    ),
                    other => format!(
                        "a {} of type {} has no form in {}",
                        other.value_type().as_str(),
                        key.type_byte,
                        self.describe()
                    ),
                };
                return Err(self.refused(key.offset, what(), reason));
            }
        };
        if matches!(bytes, Cow::Owned(_)) {
            self.report.keys_reencoded += 1;
        }
        if self.db != Some(edit.db) {
            self.out.select_db(edit.db).map_err(self.write_error())?;
            // The input database's size hint, once per output database: only a
            // hint (the loading server sizes its tables by it), so a filter
            // making it too large costs a little memory at most.
            if let Some((keys, expires)) = self.hints.remove(&key.db) {
                self.out
                    .resize_db(keys, expires)
                    .map_err(self.write_error())?;
            }
            self.db = Some(edit.db);
        }
        self.out
            .key(&edit.name, key.expire_ms, type_byte, &bytes)
            .map_err(self.write_error())?;
        *self.report.keys.entry(edit.db).or_default() += 1;
        Ok(())
    }

    /// The output, for errors: `RDB 9`, `Valkey 9's format`.
    fn describe(&self) -> String {
        match self.out.header().dialect {
            Dialect::Valkey => "Valkey 9's format".to_owned(),
            _ => format!("RDB {}", self.out.header().version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use key_writer::hook::on_keys;

    const SAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rdb-parser/tests/fixtures/redis-7.0.15/sample.rdb"
    );

    /// (db, name) of each key.
    type Names = Vec<(u64, Vec<u8>)>;

    /// The header of an RDB file, (db, name) of every key, and its aux field names.
    fn read(path: &Path) -> (Header, Names, Vec<Vec<u8>>) {
        let bytes = std::fs::read(path).unwrap();
        let rdb = Rdb::new(&bytes).unwrap();
        let mut keys = Vec::new();
        let mut aux = Vec::new();
        for item in rdb.items() {
            match item.unwrap() {
                Item::Key(k) => keys.push((k.db, k.key.to_vec().unwrap())),
                Item::Aux { key, .. } => aux.push(key.to_vec().unwrap()),
                _ => {}
            }
        }
        (rdb.header(), keys, aux)
    }

    #[test]
    fn hooks_rename_move_and_drop_keys() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.rdb");
        let options = ConvertOptions {
            rdb_version: 10,
            ..ConvertOptions::default()
        };
        let report = Convert::new(SAMPLE, &out)
            .options(options)
            .hook(on_keys(|k| {
                if k.name.as_ref() == b"tags" {
                    return Verdict::Drop;
                }
                if k.name.as_ref() == b"greeting" {
                    k.name = Bytes::from_static(b"hello");
                }
                if k.db == 1 {
                    k.db = 3;
                }
                Verdict::Keep
            }))
            .run()
            .unwrap();
        let (header, keys, aux) = read(&out);
        assert_eq!((header.version, header.dialect), (10, Dialect::Redis));
        let (_, before, before_aux) = read(Path::new(SAMPLE));
        assert_eq!(keys.len(), before.len() - 1);
        assert!(keys.contains(&(0, b"hello".to_vec())));
        assert!(keys.contains(&(3, b"other-db".to_vec())));
        assert!(!keys.iter().any(|(_, k)| k == b"tags" || k == b"greeting"));
        assert_eq!(
            (report.filtered, report.total_keys(), report.functions),
            (1, keys.len() as u64, 1)
        );
        assert_eq!(report.keys.get(&3), Some(&1));
        // The replication aux fields describe the server that wrote the file.
        assert!(
            before_aux
                .iter()
                .any(|k| k.starts_with(b"repl-") || k == b"aof-base")
        );
        assert!(
            !aux.iter()
                .any(|k| k.starts_with(b"repl-") || k == b"aof-base")
        );
        assert!(aux.contains(&b"redis-ver".to_vec()));

        let refused = Convert::new(SAMPLE, &out)
            .hook(on_keys(|k| match k.name.as_ref() {
                b"colors" => Verdict::Refuse("no lists".into()),
                _ => Verdict::Keep,
            }))
            .run();
        match refused {
            Err(Error::Key { key, reason, .. }) => {
                assert!(
                    key.contains("colors") && reason.contains("no lists"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        // The earlier output is left as it was, and no temporary file.
        assert_eq!(read(&out).1, keys);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
