//! Backups into a live target: RDB files key by key (`RESTORE`, or commands where
//! the target cannot read the payload), several at once if asked; AOF files and
//! multi-part AOF directories replayed in order; or one RDB file loaded by the
//! target itself through replication (`seed`).

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aof::{AofItem, AofReader, Truncation};
use endpoint::{Connection, Endpoint, Flavor};
use key_writer::{Hook, Stats, Writer, WriterOptions};
use rdb_parser::{Dialect, Item, ParseOptions, Rdb, VALKEY_VERSION};
use replica_client::{SeedOptions, Seeded};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::convert::{Convert, ConvertOptions, ConvertReport};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::rdb_file::{is_rdb, map};

/// How long a key whose expiry passed before an AOF was replayed stays: a server
/// loading an AOF never deletes a key for an expiry that has passed, since a later
/// command in the file may extend it.
pub const AOF_EXPIRY_GRACE: Duration = Duration::from_secs(5);

/// Items between two status updates.
const PUBLISH_EVERY: u64 = 4096;

/// Settings of a [`Restore`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// The writer's settings: target connection, existing-key policy, hooks
    /// (filters, database mapping, your own), commands instead of `RESTORE`.
    pub writer: WriterOptions,
    /// How RDB files are read (newer versions, checksums).
    pub parse: ParseOptions,
    /// RDB files restored at once, each with its own connections (the RDB files of a
    /// cluster's shards, say); AOF files are always replayed in order, after.
    /// 0 and 1 mean one at a time.
    pub jobs: usize,
    /// Refuse to start unless the target holds no key.
    pub check_empty: bool,
    /// Load the one RDB file into an empty standalone target through replication
    /// (`replica_client::seed`): the target loads at its own start-up speed. The
    /// file arrives whole: no hooks, no forced commands. A file of an RDB
    /// version the target cannot read is converted for it first ([`Convert`],
    /// into a temporary file under `TMPDIR`; the writer's `drop_functions` and
    /// `drop_field_ttls` apply).
    pub seed: Option<SeedOptions>,
}

/// Where a restore stands: one entry per file begun, in the order begun.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RestoreStatus {
    /// The files begun; `done` once finished.
    pub files: Vec<Progress>,
}

/// What a restore did. Its `Display` is the program's closing lines.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RestoreReport {
    /// Everything written, over all files.
    pub stats: Stats,
    /// What each writer of a parallel restore wrote (empty without `jobs`).
    pub jobs: Vec<Stats>,
    /// The incomplete ends of AOF files, which were not applied.
    pub truncated: Vec<Truncation>,
    /// What a seed loaded (then nothing else was written).
    pub seeded: Option<Seeded>,
    /// The conversion of a seed's file for a target that cannot read its RDB
    /// version.
    pub converted: Option<ConvertReport>,
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.truncated {
            let path = t.path.as_deref().unwrap_or(Path::new("(AOF)"));
            writeln!(
                f,
                "{}: the last {} bytes (from byte {}) are an incomplete command and were not applied",
                path.display(),
                t.len,
                t.offset
            )?;
        }
        if let Some(converted) = &self.converted {
            write!(f, "{converted}")?;
        }
        if let Some(seeded) = &self.seeded {
            return writeln!(
                f,
                "restore: {} bytes loaded by the target through replication; it holds {} keys",
                seeded.bytes, seeded.keys
            );
        }
        for s in &self.jobs {
            writeln!(
                f,
                "restore: {} keys restored, {} written as commands",
                s.keys_restored, s.keys_as_commands
            )?;
        }
        let s = &self.stats;
        writeln!(
            f,
            "restore: {} keys restored, {} written as commands, {} expired, {} existing kept, {} filtered, {} commands, {} functions, {} bytes",
            s.keys_restored,
            s.keys_as_commands,
            s.keys_expired,
            s.keys_existing,
            s.filtered,
            s.commands,
            s.functions,
            s.bytes
        )?;
        if s.keys_transcoded > 0 {
            writeln!(
                f,
                "restore: {} of the keys restored re-encoded for the target's older RDB version",
                s.keys_transcoded
            )?;
        }
        if s.functions_dropped + s.field_ttls_dropped > 0 {
            writeln!(
                f,
                "restore: {} function libraries and {} hash field TTLs left out, as the lossy options allow",
                s.functions_dropped, s.field_ttls_dropped
            )?;
        }
        if s.keys_empty > 0 {
            writeln!(
                f,
                "restore: {} empty collections skipped, as a server loading them skips them",
                s.keys_empty
            )?;
        }
        Ok(())
    }
}

/// Restores RDB files, AOF files and multi-part AOF directories into a target.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use migrate::Restore;
///
/// let target = "redis://127.0.0.1:7000".parse()?;
/// let report = Restore::new(target, ["dump.rdb", "appendonlydir"])
///     .run(std::future::pending())
///     .await?;
/// print!("{report}");
/// # Ok(()) }
/// ```
pub struct Restore {
    target: Endpoint,
    files: Vec<PathBuf>,
    options: RestoreOptions,
    status: Arc<watch::Sender<RestoreStatus>>,
}

impl fmt::Debug for Restore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restore")
            .field("target", &self.target)
            .field("files", &self.files)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Restore {
    /// A restore of `files` into `target` with default options.
    pub fn new(target: Endpoint, files: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        Restore {
            target,
            files: files.into_iter().map(Into::into).collect(),
            options: RestoreOptions::default(),
            status: Arc::new(watch::channel(RestoreStatus::default()).0),
        }
    }

    /// Replaces the options (hooks added before are replaced too: add them after).
    pub fn options(mut self, options: RestoreOptions) -> Self {
        self.options = options;
        self
    }

    /// Adds a hook after the ones in the options: it sees every key and command.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Self {
        self.options.writer.hooks.push(hook);
        self
    }

    /// Live status: a [`Progress`] per file begun.
    pub fn status(&self) -> watch::Receiver<RestoreStatus> {
        self.status.subscribe()
    }

    /// Restores every file, RDB files first (in parallel with `jobs`), then AOF
    /// files in the order given; or seeds the target.
    ///
    /// # Errors
    /// [`Error::Stopped`] when `shutdown` completes first; unreadable or corrupt
    /// files (naming the file and offset); the writer's errors (naming the key or
    /// command); [`Error::Options`] for a seed that cannot be done as asked; a
    /// seed's refusal ([`Error::Replica`]).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<RestoreReport> {
        tokio::select! {
            report = self.restore() => report,
            _ = shutdown => Err(Error::Stopped),
        }
    }

    async fn restore(&self) -> Result<RestoreReport> {
        if let Some(seed) = &self.options.seed {
            return self.seed(seed).await;
        }
        let options = &self.options;
        let connect = Error::writer(|| format!("connect to {}", self.target));
        let mut writer = Writer::connect(&self.target, options.writer.clone())
            .await
            .map_err(connect)?;
        if options.check_empty {
            writer
                .check_empty()
                .await
                .map_err(Error::writer(|| format!("check {}", self.target)))?;
        }
        let mut rdbs = Vec::new();
        let mut aofs = Vec::new();
        for path in &self.files {
            if is_rdb(path)? {
                rdbs.push(path.clone());
            } else {
                aofs.push(path.clone());
            }
        }
        let mut report = RestoreReport::default();
        if options.jobs > 1 && rdbs.len() > 1 {
            report.jobs = self.parallel(std::mem::take(&mut rdbs)).await?;
        }
        for path in &rdbs {
            restore_rdb(&mut writer, path, options.parse, &self.status).await?;
        }
        for path in &aofs {
            if let Some(t) = restore_aof(&mut writer, path, options.parse, &self.status).await? {
                report.truncated.push(t);
            }
        }
        report.stats = writer.stats();
        for job in &report.jobs {
            report.stats += job;
        }
        Ok(report)
    }

    /// RDB files at most `jobs` at a time, each with its own writer.
    async fn parallel(&self, files: Vec<PathBuf>) -> Result<Vec<Stats>> {
        let limit = Arc::new(Semaphore::new(self.options.jobs));
        let mut tasks = JoinSet::new();
        for path in files {
            let (target, options) = (self.target.clone(), self.options.clone());
            let (limit, status) = (limit.clone(), self.status.clone());
            let span = tracing::warn_span!("restore", file = %path.display(), target = %target);
            tasks.spawn(
                async move {
                    let _permit = limit.acquire_owned().await.expect("never closed");
                    let mut writer = Writer::connect(&target, options.writer)
                        .await
                        .map_err(Error::writer(|| format!("connect to {target}")))?;
                    restore_rdb(&mut writer, &path, options.parse, &status).await?;
                    Ok::<_, Error>(writer.stats())
                }
                .instrument(span),
            );
        }
        let mut jobs = Vec::new();
        while let Some(done) = tasks.join_next().await {
            jobs.push(done.map_err(|e| Error::joined("restore", e))??);
        }
        Ok(jobs)
    }

    /// The one RDB file through replication.
    async fn seed(&self, options: &SeedOptions) -> Result<RestoreReport> {
        let [file] = self.files.as_slice() else {
            return Err(Error::Options("seeding takes one RDB file".into()));
        };
        if !is_rdb(file)? {
            return Err(Error::Options(format!(
                "seeding takes an RDB file; {} is an AOF",
                file.display()
            )));
        }
        let writer = &self.options.writer;
        if !writer.hooks.is_empty() || writer.force_commands {
            return Err(Error::Options(
                "seeding loads the file whole: drop the filters, db mapping, hooks and forced commands"
                    .into(),
            ));
        }
        let converted = self.convert_for_target(file, options).await?;
        let seeding = converted.as_ref().map_or(file.as_path(), |c| c.0.path());
        let seeded = replica_client::seed(&self.target, seeding, options)
            .await
            .map_err(|error| Error::Replica {
                shard: format!("seed {} with {}", self.target, file.display()),
                error,
            })?;
        Ok(RestoreReport {
            seeded: Some(seeded),
            converted: converted.map(|c| c.1),
            ..RestoreReport::default()
        })
    }

    /// The seed's file converted for a target that cannot read its RDB version
    /// (a Redis 7.0 file for Redis 6.2, a Redis 7.4 file for Valkey 9), into a
    /// temporary file (under `TMPDIR`) removed once dropped; `None` when the
    /// target reads the file as it is. The writer's `drop_functions` and
    /// `drop_field_ttls` apply.
    async fn convert_for_target(
        &self,
        file: &Path,
        options: &SeedOptions,
    ) -> Result<Option<(Temporary, ConvertReport)>> {
        let header = {
            let map = map(file)?;
            Rdb::new(&map).map_err(Error::rdb_file(file))?.header()
        };
        let info = Connection::connect(&self.target, &options.connect)
            .await
            .map_err(|e| Error::endpoint(&self.target, e))?
            .server_info()
            .await
            .map_err(|e| Error::endpoint(&self.target, e))?;
        let written_by = match header.dialect {
            Dialect::Valkey => Flavor::Valkey,
            _ => Flavor::Redis,
        };
        if info.reads_rdb(header.version, written_by) {
            return Ok(None);
        }
        let convert = ConvertOptions {
            valkey: info.reads_rdb(VALKEY_VERSION, Flavor::Valkey),
            rdb_version: match info.flavor {
                Flavor::Valkey => u32::from(info.rdb_version()).min(11),
                _ => u32::from(info.rdb_version()),
            },
            drop_functions: self.options.writer.drop_functions,
            drop_field_ttls: self.options.writer.drop_field_ttls,
            ..ConvertOptions::default()
        };
        let (a, b, c) = info.version;
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let temporary = Temporary(
            std::env::temp_dir().join(format!("{name}.for-{a}.{b}.{c}-{}.rdb", std::process::id())),
        );
        tracing::info!(
            file = %file.display(),
            converted = %temporary.0.display(),
            "seeding: the target cannot read the file's RDB version; converting it first"
        );
        let (input, output) = (file.to_owned(), temporary.0.clone());
        let report =
            tokio::task::spawn_blocking(move || Convert::new(input, output).options(convert).run())
                .await
                .map_err(|e| Error::joined("convert", e))??;
        Ok(Some((temporary, report)))
    }
}

/// A file removed when dropped.
struct Temporary(PathBuf);

impl Temporary {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Adds a file to the status; returns its index.
fn begin(status: &watch::Sender<RestoreStatus>, progress: Progress) -> usize {
    let mut index = 0;
    status.send_modify(|s| {
        index = s.files.len();
        s.files.push(progress);
    });
    index
}

fn update(status: &watch::Sender<RestoreStatus>, index: usize, progress: &Progress) {
    status.send_modify(|s| {
        if let Some(p) = s.files.get_mut(index) {
            p.clone_from(progress);
        }
    });
}

/// Writes every key and function of the RDB file at `path`.
async fn restore_rdb(
    writer: &mut Writer,
    path: &Path,
    parse: ParseOptions,
    status: &watch::Sender<RestoreStatus>,
) -> Result<()> {
    let map = map(path)?;
    let mut progress = Progress::new(path.display().to_string(), Some(map.len() as u64));
    let index = begin(status, progress.clone());
    // A server loading the file ignores what follows its checksum.
    let parse = parse.allow_trailing_bytes(true);
    let end = restore_rdb_bytes(writer, &map, parse, path, &mut progress, status, index).await?;
    if end < map.len() as u64 {
        tracing::warn!(
            file = %path.display(),
            bytes = map.len() as u64 - end,
            "bytes after the RDB's checksum were ignored, as a server ignores them"
        );
    }
    writer
        .flush()
        .await
        .map_err(Error::writer(|| format!("restore {}", path.display())))?;
    progress.done = true;
    update(status, index, &progress);
    Ok(())
}

/// Writes the keys and functions of an RDB held in `bytes` (a file, or an AOF's
/// preamble), counting them in `progress`; returns where the RDB ends.
async fn restore_rdb_bytes(
    writer: &mut Writer,
    bytes: &[u8],
    parse: ParseOptions,
    path: &Path,
    progress: &mut Progress,
    status: &watch::Sender<RestoreStatus>,
    index: usize,
) -> Result<u64> {
    let corrupt = |error| Error::Rdb {
        context: path.display().to_string(),
        error,
    };
    let rdb = Rdb::with_options(bytes, parse).map_err(corrupt)?;
    let mut items = rdb.items();
    let start = progress.bytes;
    let mut end = bytes.len() as u64;
    while let Some(item) = items.next() {
        let item = item.map_err(corrupt)?;
        if let Item::End { len, .. } = item {
            end = len;
        }
        if let Item::Key(_) = item {
            progress.items += 1;
            if progress.items.is_multiple_of(PUBLISH_EVERY) {
                progress.bytes = start + items.offset();
                update(status, index, progress);
            }
        }
        writer
            .write_item(&item)
            .await
            .map_err(Error::writer(|| format!("restore {}", path.display())))?;
    }
    progress.bytes = start + items.offset();
    Ok(end)
}

/// Replays the AOF file or multi-part AOF directory at `path`: its RDB parts as
/// keys, its commands forwarded in order. An incomplete last command (what a crash
/// leaves) is not applied, and returned.
async fn restore_aof(
    writer: &mut Writer,
    path: &Path,
    parse: ParseOptions,
    status: &watch::Sender<RestoreStatus>,
) -> Result<Option<Truncation>> {
    let reader = AofReader::open(path).map_err(|error| Error::Aof {
        path: path.to_owned(),
        error,
    })?;
    // As a server loading an AOF: an expiry already past does not delete a key that
    // a later command may extend (nor skip such a key in the RDB preamble); it
    // expires shortly after instead.
    writer.set_expiry_grace(Some(AOF_EXPIRY_GRACE));
    let result = replay_aof(writer, path, reader, parse, status).await;
    writer.set_expiry_grace(None);
    result
}

async fn replay_aof(
    writer: &mut Writer,
    path: &Path,
    reader: AofReader,
    parse: ParseOptions,
    status: &watch::Sender<RestoreStatus>,
) -> Result<Option<Truncation>> {
    let mut progress = Progress::new(path.display().to_string(), None);
    let index = begin(status, progress.clone());
    let mut truncated = None;
    for item in reader {
        let item = item.map_err(|error| Error::Aof {
            path: path.to_owned(),
            error,
        })?;
        match item {
            AofItem::Rdb(bytes) => {
                let parse = parse.allow_trailing_bytes(false);
                restore_rdb_bytes(writer, &bytes, parse, path, &mut progress, status, index)
                    .await?;
            }
            AofItem::Command(command) => {
                progress.bytes = progress.bytes.max(command.offset);
                progress.items += 1;
                writer
                    .write_command(&command)
                    .await
                    .map_err(Error::writer(|| format!("replay {}", path.display())))?;
                if progress.items.is_multiple_of(PUBLISH_EVERY) {
                    update(status, index, &progress);
                }
            }
            AofItem::Truncated(t) => truncated = Some(t),
            _ => {}
        }
    }
    writer
        .flush()
        .await
        .map_err(Error::writer(|| format!("replay {}", path.display())))?;
    progress.done = true;
    update(status, index, &progress);
    Ok(truncated)
}
