//! Files of a cleaning pass, and how an interrupted swap is finished.
//!
//! A pass writes each rewritten segment as `<base>.log.cleaned` with
//! `.index.cleaned` and `.timeindex.cleaned`, and fsyncs them. Then the
//! cleaner checkpoint is written (first, so that on any later open every
//! cleaned segment lies below the clean offset and its gaps are accepted).
//! The commit point is the rename of the files to `.swap`: once any
//! `.swap` file exists, every `.cleaned` file of the pass is complete.
//! Last, each `.swap` is renamed over the live file.
//!
//! On open, [`finish_interrupted_swap`] applies the same rule: with any
//! `.swap` present, every `.swap` and `.cleaned` log file replaces its
//! segment and that segment's indexes are deleted (rebuilt on load, which
//! is cheaper to get right than reasoning about which index renames
//! happened); with none, the `.cleaned` files of an unfinished pass are
//! deleted and the log is as before the pass.
//!
//! The cleaner checkpoint holds `0\n<clean offset>\n<earliest delete
//! horizon or "none">\n`: offsets below the clean offset have been cleaned
//! (so cleaned segments, whose offsets have gaps, all lie below it), and
//! the horizon says when the next pass may drop tombstones even without
//! new data.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::checkpoint::{
    dir_entries, fsync_dir, parse_offset_file_name, read_optional, remove_if_exists,
    write_atomically, CLEANER_OFFSET_FILE, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX,
};
use crate::error::{Result, StorageError};
use crate::segment::segment_file;

pub(crate) const CLEANED: &str = ".cleaned";
pub(crate) const SWAP: &str = ".swap";

/// The cleaner's persistent state (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CleanerCheckpoint {
    pub clean_offset: i64,
    pub earliest_delete_horizon: Option<i64>,
}

impl CleanerCheckpoint {
    pub fn write(&self, dir: &Path) -> Result<()> {
        let horizon = self
            .earliest_delete_horizon
            .map_or_else(|| "none".to_string(), |h| h.to_string());
        let text = format!("0\n{}\n{horizon}\n", self.clean_offset);
        write_atomically(dir, CLEANER_OFFSET_FILE, text.as_bytes())
    }

    /// A missing file means nothing was cleaned yet; a malformed one is
    /// treated the same (with a warning): the next pass cleans everything
    /// again, which is only slower.
    pub fn read(dir: &Path) -> Result<CleanerCheckpoint> {
        let path = dir.join(CLEANER_OFFSET_FILE);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(CleanerCheckpoint::default());
        };
        let parsed = std::str::from_utf8(&bytes).ok().and_then(|text| {
            let mut lines = text.lines().map(str::trim);
            if lines.next()? != "0" {
                return None;
            }
            let clean_offset = lines.next()?.parse::<i64>().ok()?;
            let earliest_delete_horizon = match lines.next()? {
                "none" => None,
                h => Some(h.parse::<i64>().ok()?),
            };
            Some(CleanerCheckpoint {
                clean_offset,
                earliest_delete_horizon,
            })
        });
        Ok(parsed.unwrap_or_else(|| {
            tracing::warn!(path = %path.display(), "ignoring malformed cleaner checkpoint");
            CleanerCheckpoint::default()
        }))
    }
}

/// `(base offset, suffix, marker)` for `<base>.<suffix><marker>` names.
fn parse_cleaner_file(name: &str) -> Option<(i64, &str, &'static str)> {
    let (stem, marker) = if let Some(stem) = name.strip_suffix(CLEANED) {
        (stem, CLEANED)
    } else {
        (name.strip_suffix(SWAP)?, SWAP)
    };
    let (base, suffix) = parse_offset_file_name(stem)?;
    Some((base, suffix, marker))
}

fn cleaner_files(dir: &Path) -> Result<Vec<(i64, String, &'static str)>> {
    Ok(dir_entries(dir)?
        .iter()
        .filter_map(|(name, _)| parse_cleaner_file(name))
        .map(|(base, suffix, marker)| (base, suffix.to_string(), marker))
        .collect())
}

/// Deletes the files of an abandoned pass. At run time no `.swap` file
/// outlives its pass, so both kinds are leftovers.
pub(crate) fn discard_leftovers(dir: &Path) -> Result<()> {
    for (base, suffix, marker) in cleaner_files(dir)? {
        remove_if_exists(&segment_file(dir, base, &suffix, marker))?;
    }
    Ok(())
}

/// Finishes or rolls back a pass that a crash interrupted (module docs).
/// Runs on open, before the segments are listed.
pub(crate) fn finish_interrupted_swap(dir: &Path) -> Result<()> {
    let files = cleaner_files(dir)?;
    if files.is_empty() {
        return Ok(());
    }
    if !files.iter().any(|(_, _, marker)| *marker == SWAP) {
        tracing::warn!(dir = %dir.display(), "discarding the files of an unfinished cleaning pass");
        return discard_leftovers(dir);
    }
    let bases: BTreeSet<i64> = files.iter().map(|(base, ..)| *base).collect();
    for base in bases {
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            for marker in ["", CLEANED, SWAP] {
                remove_if_exists(&segment_file(dir, base, suffix, marker))?;
            }
        }
        let log = segment_file(dir, base, LOG_SUFFIX, "");
        for marker in [SWAP, CLEANED] {
            let replacement = segment_file(dir, base, LOG_SUFFIX, marker);
            if replacement.exists() {
                tracing::warn!(segment = %log.display(), "finishing an interrupted cleaner swap");
                fs::rename(&replacement, &log)
                    .map_err(|e| StorageError::io("rename cleaned segment", &replacement, e))?;
                break;
            }
        }
        // A log that was swapped already may leave a second copy behind.
        for marker in [SWAP, CLEANED] {
            remove_if_exists(&segment_file(dir, base, LOG_SUFFIX, marker))?;
        }
    }
    fsync_dir(dir)
}
