//! Crashes in the middle of a cleaner swap. Two identical logs are built
//! (appends are deterministic); one is compacted, and its cleaned files
//! are planted in the other as a crash at each stage of the swap would
//! leave them. Reopening must give either the log before the pass (crash
//! before the commit point) or the log after it, never a mix that loses
//! a latest value.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::keyed::*;
use common::*;
use strom_storage::Log;

const NOW: i64 = 5_000_000;
const CHECKPOINT: &str = "cleaner-offset-checkpoint";

fn build(dir: &Path) -> (Log, Model) {
    let log = open(dir, compact_config());
    let mut model = Model::new();
    many_updates(&log, &mut model, 21);
    roll(&log, &mut model, "end");
    (log, model)
}

fn log_bases(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".log").map(str::to_string))
        .collect()
}

/// Compacted and original copies of the same log, both closed, plus the
/// model and the sealed segment bases of each.
struct Pair {
    compacted: tempfile::TempDir,
    original: tempfile::TempDir,
    model: Model,
    /// Sealed bases the pass rewrote (present in both, different bytes).
    rewritten: Vec<String>,
    /// Sealed bases the pass removed because they came out empty.
    removed: Vec<String>,
}

fn pair() -> Pair {
    let compacted = tempfile::tempdir().unwrap();
    let original = tempfile::tempdir().unwrap();
    let (log, model) = build(compacted.path());
    assert!(log.compact(NOW).unwrap().cleaned);
    log.close().unwrap();
    let (log, _) = build(original.path());
    log.close().unwrap();
    let after = log_bases(compacted.path());
    let before = log_bases(original.path());
    let read = |dir: &Path, base: &str| fs::read(dir.join(format!("{base}.log"))).unwrap();
    let rewritten: Vec<String> = after
        .iter()
        .filter(|b| read(compacted.path(), b) != read(original.path(), b))
        .cloned()
        .collect();
    let removed: Vec<String> = before.difference(&after).cloned().collect();
    assert!(
        rewritten.len() > 4 && !removed.is_empty(),
        "{rewritten:?} {removed:?}"
    );
    Pair {
        compacted,
        original,
        model,
        rewritten,
        removed,
    }
}

fn copy(from: &Path, to: &Path, base: &str, suffix: &str, marker: &str) {
    fs::copy(
        from.join(format!("{base}.{suffix}")),
        to.join(format!("{base}.{suffix}{marker}")),
    )
    .unwrap();
}

fn plant_cleaned(pair: &Pair, base: &str, marker: &str) {
    for suffix in ["index", "timeindex", "log"] {
        copy(
            pair.compacted.path(),
            pair.original.path(),
            base,
            suffix,
            marker,
        );
    }
}

#[test]
fn crash_before_the_commit_point_keeps_the_old_log() {
    let pair = pair();
    let dir = pair.original.path();
    for base in &pair.rewritten {
        plant_cleaned(&pair, base, ".cleaned");
    }
    // A torn .cleaned file of the segment being written when it crashed.
    fs::write(
        dir.join(format!("{}.log.cleaned", pair.removed[0])),
        b"torn",
    )
    .unwrap();
    fs::remove_file(dir.join(".clean-shutdown")).unwrap();

    let log = open(dir, compact_config());
    let all: Vec<Seen> = pair.model.appended.values().cloned().collect();
    assert_eq!(consume_all(&log), all);
    assert!(fs::read_dir(dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".cleaned")));
    // The next pass does the work again.
    assert!(log.compact(NOW).unwrap().cleaned);
    assert_eq!(
        consume_all(&log),
        expected_after_compaction(&pair.model, false)
    );
}

#[test]
fn crash_after_the_commit_point_finishes_the_swap() {
    for clean_shutdown in [true, false] {
        let pair = pair();
        let dir = pair.original.path();
        fs::copy(pair.compacted.path().join(CHECKPOINT), dir.join(CHECKPOINT)).unwrap();
        let n = pair.rewritten.len();
        for (i, base) in pair.rewritten.iter().enumerate() {
            if i < n / 3 {
                // Already swapped into place.
                plant_cleaned(&pair, base, "");
            } else if i < 2 * n / 3 {
                plant_cleaned(&pair, base, ".swap");
            } else if i + 1 < n {
                // Not yet renamed to .swap when it crashed.
                plant_cleaned(&pair, base, ".cleaned");
            } else {
                // Renamed halfway: indexes are .swap, the log still .cleaned.
                copy(pair.compacted.path(), dir, base, "index", ".swap");
                copy(pair.compacted.path(), dir, base, "timeindex", ".swap");
                copy(pair.compacted.path(), dir, base, "log", ".cleaned");
            }
        }
        for base in &pair.removed {
            fs::write(dir.join(format!("{base}.log.swap")), b"").unwrap();
        }
        if !clean_shutdown {
            fs::remove_file(dir.join(".clean-shutdown")).unwrap();
            fs::remove_file(dir.join("recovery-point-offset-checkpoint")).unwrap();
        }

        let log = open(dir, compact_config());
        let expected = expected_after_compaction(&pair.model, false);
        assert_eq!(
            consume_all(&log),
            expected,
            "clean shutdown: {clean_shutdown}"
        );
        let reference = open(pair.compacted.path(), compact_config());
        assert_eq!(log.log_end_offset(), reference.log_end_offset());
        assert_eq!(log.clean_offset(), reference.clean_offset());
        let leftovers: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".swap") || n.ends_with(".cleaned"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // Reads of every survivor by its own offset still work (indexes rebuilt).
        for seen in &expected {
            let batches = read_batches(&log, seen.offset, 1, i64::MAX, true);
            assert!(batches[0].base_offset <= seen.offset && seen.offset <= batches[0].last_offset);
        }
    }
}
