//! Restoring RDB files, AOF files and multi-part AOF directories into a target (the
//! `restore` program): keys through the writer's `RESTORE` or command path, AOF
//! commands forwarded in order with their databases.

use std::fs::File;
use std::path::Path;

use anyhow::Context;
use aof::{AofItem, AofReader};
use key_writer::Writer;
use rdb_parser::{Function, Item, ParseOptions, Rdb};

use crate::progress::Progress;

/// What a restore did besides what the writer counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// RDB keys and AOF commands read (`SELECT`s, which set the databases of the
    /// commands after them, are not counted).
    pub items: u64,
    /// The incomplete end of an AOF that was not applied (offset, length), if any.
    pub truncated: Option<(u64, u64)>,
}

/// Whether the file at `path` is an RDB: it starts with `REDIS` or `VALKEY` and ends
/// with the RDB (an AOF with an RDB preamble goes on with commands).
///
/// # Errors
/// When the file cannot be read.
pub fn is_rdb(path: &Path) -> anyhow::Result<bool> {
    if path.is_dir() {
        return Ok(false);
    }
    let file = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let map = crate::map(&file).with_context(|| format!("map {}", path.display()))?;
    if !(map.starts_with(b"REDIS") || map.starts_with(b"VALKEY")) {
        return Ok(false);
    }
    // A corrupt RDB is reported by the RDB path, with its offset.
    Ok(match rdb_parser::measure(&map) {
        Ok(len) => len == map.len(),
        Err(_) => true,
    })
}

/// Writes every key and function of the RDB at `path`.
///
/// # Errors
/// A corrupt file, or the writer's errors (naming the key).
pub async fn restore_rdb(
    writer: &mut Writer,
    path: &Path,
    options: ParseOptions,
) -> anyhow::Result<Restored> {
    let file = File::open(path).with_context(|| format!("open {}", path.display()))?;
    // SAFETY of the mapping is the usual one: the file must not change meanwhile.
    let map = crate::map(&file).with_context(|| format!("map {}", path.display()))?;
    let mut progress = Progress::new(path.display().to_string(), Some(map.len() as u64));
    let restored = restore_rdb_bytes(writer, &map, options, &mut progress)
        .await
        .with_context(|| format!("restore {}", path.display()))?;
    eprintln!("{}", progress.line());
    Ok(restored)
}

async fn restore_rdb_bytes(
    writer: &mut Writer,
    bytes: &[u8],
    options: ParseOptions,
    progress: &mut Progress,
) -> anyhow::Result<Restored> {
    let rdb = Rdb::with_options(bytes, options)?;
    let mut items = rdb.items();
    let mut restored = Restored::default();
    while let Some(item) = items.next() {
        match item? {
            Item::Key(key) => {
                writer.write_key(&key).await?;
                restored.items += 1;
                progress.items += 1;
            }
            Item::Function(Function::Library { code }) => {
                writer.write_function(&code.to_vec()?).await?
            }
            _ => {}
        }
        progress.bytes = items.offset();
        progress.tick();
    }
    writer.flush().await?;
    Ok(restored)
}

/// Replays the AOF file or multi-part AOF directory at `path`: its RDB parts as
/// keys, its commands forwarded in order. An incomplete last command (what a crash
/// leaves) is reported, not applied.
///
/// # Errors
/// A corrupt file, or the writer's errors.
pub async fn restore_aof(
    writer: &mut Writer,
    path: &Path,
    options: ParseOptions,
) -> anyhow::Result<Restored> {
    let reader =
        AofReader::open(path).with_context(|| format!("open the AOF {}", path.display()))?;
    // As a server loading an AOF: an expiry already past does not delete a key that
    // a later command may extend (nor skip such a key in the RDB preamble); it
    // expires shortly after instead.
    writer.set_expiry_grace(Some(AOF_EXPIRY_GRACE));
    let result = replay_aof(writer, path, reader, options).await;
    writer.set_expiry_grace(None);
    result
}

/// How long a key whose expiry passed before the AOF was replayed stays.
pub const AOF_EXPIRY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

async fn replay_aof(
    writer: &mut Writer,
    path: &Path,
    reader: AofReader,
    options: ParseOptions,
) -> anyhow::Result<Restored> {
    let mut progress = Progress::new(path.display().to_string(), None);
    let mut restored = Restored::default();
    for item in reader {
        match item.with_context(|| format!("read the AOF {}", path.display()))? {
            AofItem::Rdb(bytes) => {
                let options = options.allow_trailing_bytes(false);
                let r = restore_rdb_bytes(writer, &bytes, options, &mut progress).await?;
                restored.items += r.items;
            }
            AofItem::Command(command) => {
                // The reader consumed the SELECTs: each command has its database.
                progress.bytes = command.offset;
                progress.items += 1;
                restored.items += 1;
                writer.write_command(command.db, &command.args).await?;
            }
            AofItem::Truncated(t) => {
                eprintln!(
                    "{}: the last {} bytes (from byte {}) are an incomplete command and were not applied",
                    path.display(),
                    t.len,
                    t.offset
                );
                restored.truncated = Some((t.offset, t.len));
            }
            _ => {}
        }
        progress.tick();
    }
    writer.flush().await?;
    eprintln!("{}", progress.line());
    Ok(restored)
}
