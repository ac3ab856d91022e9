//! Leader epoch cache (KIP-101): the first offset written in each leader
//! epoch, persisted in `leader-epoch-checkpoint` in Kafka's text format:
//!
//! ```text
//! 0            <- version
//! 2            <- number of entries
//! 0 0          <- "epoch startOffset"
//! 3 1500
//! ```

use std::path::Path;

use crate::checkpoint::{read_optional, write_atomically, write_if_changed, LEADER_EPOCH_FILE};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct LeaderEpochCache {
    /// Strictly increasing in both epoch and start offset.
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset`. As in Kafka, entries
    /// that would break monotonicity (an epoch >= the new one, or a start
    /// offset >= the new one) are dropped first. Returns whether anything changed.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 {
            return false;
        }
        if let Some(last) = self.entries.last() {
            if last.epoch == epoch && last.start_offset <= start_offset {
                return false;
            }
        }
        self.entries
            .retain(|e| e.epoch < epoch && e.start_offset < start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// A follower append of a batch in `epoch` starting at `start_offset`.
    /// The leader's log says `epoch` runs there, so an entry for a newer
    /// epoch is stale (this replica began it as leader and never wrote in
    /// it) and goes, as Kafka's `assign` drops it; unlike Kafka's, an entry
    /// for `epoch` itself keeps its earlier start. Returns the number of
    /// stale entries dropped and whether the cache changed.
    pub fn follow(&mut self, epoch: i32, start_offset: i64) -> (usize, bool) {
        if epoch < 0 {
            return (0, false);
        }
        let before = self.entries.len();
        self.entries.retain(|e| e.epoch <= epoch);
        let dropped = before - self.entries.len();
        let assigned = self.assign(epoch, start_offset);
        (dropped, dropped > 0 || assigned)
    }

    /// Kafka's `endOffsetFor`: `(epoch, end offset)` where the end offset is
    /// the start of the next higher epoch, or the log end offset for the
    /// latest epoch. `None` when the requested epoch is newer than any known
    /// (Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET) or negative.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        if requested < 0 {
            return None;
        }
        if self.latest_epoch() == Some(requested) {
            return Some((requested, log_end_offset));
        }
        let higher = self.entries.iter().find(|e| e.epoch > requested)?;
        let floor = self.entries.iter().rev().find(|e| e.epoch <= requested);
        Some(match floor {
            Some(f) => (f.epoch, higher.start_offset),
            None => (requested, higher.start_offset),
        })
    }

    /// Drops entries starting at or after `end_offset` (log truncation).
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end_offset);
        before != self.entries.len()
    }

    /// Drops entries wholly below `start_offset`, keeping the epoch that
    /// covers it with its start moved up (log start advanced).
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let below = self
            .entries
            .iter()
            .take_while(|e| e.start_offset <= start_offset)
            .count();
        if below == 0 {
            return false;
        }
        let mut covering = self.entries[below - 1];
        let changed = below > 1 || covering.start_offset != start_offset;
        covering.start_offset = start_offset;
        self.entries.drain(..below);
        self.entries.insert(0, covering);
        changed
    }

    pub fn persist(&self, dir: &Path) -> Result<()> {
        write_atomically(dir, LEADER_EPOCH_FILE, self.encode().as_bytes())
    }

    /// [`LeaderEpochCache::persist`] unless the checkpoint already says
    /// the same (a clean stop).
    pub fn persist_if_changed(&self, dir: &Path) -> Result<()> {
        write_if_changed(dir, LEADER_EPOCH_FILE, self.encode().as_bytes())
    }

    /// The checkpoint's contents: a version line, the count, then one
    /// `epoch start_offset` line per entry.
    fn encode(&self) -> String {
        let mut text = format!("0\n{}\n", self.entries.len());
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        text
    }

    /// Loads the checkpoint. A missing file is an empty cache; a malformed
    /// one is logged and treated as empty (recovery re-learns epochs from
    /// the batches it scans).
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(LEADER_EPOCH_FILE);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(Self::default());
        };
        match parse(&bytes) {
            Some(cache) => Ok(cache),
            None => {
                tracing::warn!(path = %path.display(), "ignoring malformed leader epoch checkpoint");
                Ok(Self::default())
            }
        }
    }
}

fn parse(bytes: &[u8]) -> Option<LeaderEpochCache> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()?.trim() != "0" {
        return None;
    }
    let count: usize = lines.next()?.trim().parse().ok()?;
    let mut cache = LeaderEpochCache::default();
    for line in lines.by_ref().take(count) {
        let mut parts = line.split_whitespace();
        let epoch: i32 = parts.next()?.parse().ok()?;
        let start_offset: i64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        let monotonic = cache
            .entries
            .last()
            .is_none_or(|l| l.epoch < epoch && l.start_offset < start_offset);
        if !monotonic || epoch < 0 {
            return None;
        }
        cache.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }
    (cache.entries.len() == count).then_some(cache)
}

/// The newest leader epoch recorded in a partition dir's checkpoint, read
/// without opening the log (for moving a one-node data dir into a
/// cluster, which must go on from the epoch the log was written in).
pub fn latest_epoch_in(dir: &Path) -> Result<Option<i32>> {
    Ok(LeaderEpochCache::load(dir)?.latest_epoch())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_offsets_follow_kafka() {
        let mut cache = LeaderEpochCache::default();
        cache.assign(1, 0);
        cache.assign(3, 10);
        cache.assign(5, 20);
        assert_eq!(cache.end_offset_for(5, 30), Some((5, 30)));
        assert_eq!(cache.end_offset_for(3, 30), Some((3, 20)));
        assert_eq!(cache.end_offset_for(4, 30), Some((3, 20)));
        assert_eq!(cache.end_offset_for(0, 30), Some((0, 0)));
        assert_eq!(cache.end_offset_for(6, 30), None);
        // A new epoch starting lower than existing entries replaces them.
        cache.assign(6, 15);
        assert_eq!(
            cache.entries(),
            &[
                EpochEntry {
                    epoch: 1,
                    start_offset: 0
                },
                EpochEntry {
                    epoch: 3,
                    start_offset: 10
                },
                EpochEntry {
                    epoch: 6,
                    start_offset: 15
                }
            ]
        );
        assert!(cache.truncate_from_start(12));
        assert_eq!(
            cache.entries()[0],
            EpochEntry {
                epoch: 3,
                start_offset: 12
            }
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(parse(b"0\n2\n1 0\n").is_none());
        assert!(parse(b"0\n2\n1 0\n0 5\n").is_none());
        assert!(parse(b"1\n0\n").is_none());
        assert_eq!(parse(b"0\n1\n4 7\n").unwrap().entries().len(), 1);
    }
}
