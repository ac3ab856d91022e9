//! Small state files in the partition directory, and file naming.
//!
//! Every checkpoint is replaced atomically: written to `<name>.tmp`, fsynced,
//! renamed over the old file, then the directory is fsynced so the rename
//! itself survives a crash. Single-value checkpoints use the text format
//! `0\n<value>\n` (a version line, then the value), in the spirit of Kafka's
//! checkpoint files; lists of offsets `0\n<count>\n` then one a line.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};

pub(crate) const LOG_START_OFFSET_FILE: &str = "log-start-offset-checkpoint";
pub(crate) const RECOVERY_POINT_FILE: &str = "recovery-point-offset-checkpoint";
pub(crate) const HIGH_WATERMARK_FILE: &str = "replication-offset-checkpoint";
pub(crate) const LEADER_EPOCH_FILE: &str = "leader-epoch-checkpoint";
pub(crate) const CLEAN_SHUTDOWN_FILE: &str = ".clean-shutdown";
/// Where the log is clean up to (see the crate docs on compaction).
pub(crate) const CLEANER_OFFSET_FILE: &str = "cleaner-offset-checkpoint";
/// Base offsets of never-cleaned segments whose offsets have gaps, which
/// follower appends bring from a compacted leader (see `replicated.rs`).
pub(crate) const GAP_SEGMENTS_FILE: &str = "gap-segments-checkpoint";

pub(crate) const LOG_SUFFIX: &str = "log";
pub(crate) const INDEX_SUFFIX: &str = "index";
pub(crate) const TIME_INDEX_SUFFIX: &str = "timeindex";
pub(crate) const SNAPSHOT_SUFFIX: &str = "snapshot";
const TMP_SUFFIX: &str = ".tmp";

/// `<offset, 20 digits>.<suffix>`, Kafka's segment file naming.
pub(crate) fn offset_file_name(offset: i64, suffix: &str) -> String {
    format!("{offset:020}.{suffix}")
}

/// Parses `<digits>.<suffix>` back into the offset; `None` for other names.
pub(crate) fn parse_offset_file_name(name: &str) -> Option<(i64, &str)> {
    let (stem, suffix) = name.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, suffix))
}

pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(|e| StorageError::io("open directory", dir, e))?;
    handle
        .sync_all()
        .map_err(|e| StorageError::io("fsync directory", dir, e))
}

/// Atomically replaces `dir/name` with `contents`.
pub(crate) fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| StorageError::io("create", &tmp, e))?;
    file.write_all(contents)
        .map_err(|e| StorageError::io("write", &tmp, e))?;
    file.sync_all()
        .map_err(|e| StorageError::io("fsync", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| StorageError::io("rename", &path, e))?;
    fsync_dir(dir)
}

/// Reads a whole small file; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("read", path, e)),
    }
}

/// [`write_atomically`] unless `dir/name` already holds exactly
/// `contents`. A checkpoint only ever gets its name from
/// `write_atomically`, which fsyncs the file before the rename, so one
/// that reads back equal has its contents on disk (and its name, or the
/// caller's next directory fsync puts it there). A clean stop of a log
/// that took no writes since it opened, most of a broker of thousands of
/// partitions, then replaces none of them: each is a new inode and two
/// fsyncs.
pub(crate) fn write_if_changed(dir: &Path, name: &str, contents: &[u8]) -> Result<()> {
    if read_optional(&dir.join(name))?.as_deref() == Some(contents) {
        return Ok(());
    }
    write_atomically(dir, name, contents)
}

/// A single-value checkpoint's contents.
pub(crate) fn encode_offset(value: i64) -> String {
    format!("0\n{value}\n")
}

pub(crate) fn write_offset(dir: &Path, name: &str, value: i64) -> Result<()> {
    write_atomically(dir, name, encode_offset(value).as_bytes())
}

/// Reads a single-value checkpoint. A missing or malformed file yields
/// `None` (with a warning for the malformed case): callers fall back to a
/// safe default rather than refusing to open the log.
pub(crate) fn read_offset(dir: &Path, name: &str) -> Result<Option<i64>> {
    let path = dir.join(name);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let parsed = std::str::from_utf8(&bytes).ok().and_then(|text| {
        let mut lines = text.lines();
        if lines.next()?.trim() != "0" {
            return None;
        }
        lines.next()?.trim().parse::<i64>().ok()
    });
    if parsed.is_none() {
        tracing::warn!(path = %path.display(), "ignoring malformed checkpoint file");
    }
    Ok(parsed)
}

pub(crate) fn write_offsets(dir: &Path, name: &str, values: &[i64]) -> Result<()> {
    let mut text = format!("0\n{}\n", values.len());
    for value in values {
        text.push_str(&format!("{value}\n"));
    }
    write_atomically(dir, name, text.as_bytes())
}

/// Reads a list checkpoint. A missing file is an empty list; a malformed
/// one too, with a warning (like [`read_offset`], the log still opens).
pub(crate) fn read_offsets(dir: &Path, name: &str) -> Result<Vec<i64>> {
    let path = dir.join(name);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(Vec::new());
    };
    let parsed = std::str::from_utf8(&bytes).ok().and_then(|text| {
        let mut lines = text.lines().map(str::trim);
        if lines.next()? != "0" {
            return None;
        }
        let count = lines.next()?.parse::<usize>().ok()?;
        let values = lines
            .map(|line| line.parse::<i64>().ok())
            .collect::<Option<Vec<i64>>>()?;
        (values.len() == count).then_some(values)
    });
    Ok(parsed.unwrap_or_else(|| {
        tracing::warn!(path = %path.display(), "ignoring malformed checkpoint file");
        Vec::new()
    }))
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("delete", path, e)),
    }
}

/// Leftover `*.tmp` files from an interrupted checkpoint write.
pub(crate) fn is_tmp_file(name: &str) -> bool {
    name.ends_with(TMP_SUFFIX)
}

/// `(name, path)` of every entry of `dir` whose name is UTF-8 (Strom
/// writes no other names; anything else is not ours and is left alone).
pub(crate) fn dir_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = fs::read_dir(dir).map_err(|e| StorageError::io("list directory", dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io("list directory", dir, e))?;
        if let Ok(name) = entry.file_name().into_string() {
            found.push((name, entry.path()));
        }
    }
    Ok(found)
}

/// `(offset, path)` of every `<offset>.<suffix>` file in `dir`, ascending.
pub(crate) fn list_offset_files(dir: &Path, suffix: &str) -> Result<Vec<(i64, PathBuf)>> {
    let mut found: Vec<(i64, PathBuf)> = dir_entries(dir)?
        .into_iter()
        .filter_map(|(name, path)| match parse_offset_file_name(&name) {
            Some((offset, s)) if s == suffix => Some((offset, path)),
            _ => None,
        })
        .collect();
    found.sort();
    Ok(found)
}

pub(crate) const DELETED_SUFFIX: &str = ".deleted";

/// Renames a file to `<name>.deleted` so its name can be reused at once;
/// the caller unlinks it later, outside any lock. `None` if it did not exist.
pub(crate) fn rename_for_deletion(path: &Path) -> Result<Option<PathBuf>> {
    let mut target = path.as_os_str().to_owned();
    target.push(DELETED_SUFFIX);
    let target = PathBuf::from(target);
    match fs::rename(path, &target) {
        Ok(()) => Ok(Some(target)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("rename for deletion", path, e)),
    }
}

pub(crate) fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| StorageError::io("rename", from, e))
}

/// Unlinks files renamed by `Segment::mark_deleted`; failures are logged,
/// not returned (the data is already gone from the log, and open cleans up
/// leftover `*.deleted` files).
pub(crate) fn remove_files(paths: &[PathBuf]) {
    for path in paths {
        if let Err(e) = remove_if_exists(path) {
            tracing::warn!(error = %e, "could not delete a removed segment file");
        }
    }
}
