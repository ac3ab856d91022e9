//! `strom storage check DIR`: verifies partition logs offline.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct StorageArgs {
    #[command(subcommand)]
    pub command: StorageCommand,
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Verify every record batch (framing, CRC32C, offsets) of the logs in
    /// a data dir or one partition dir, and report each damaged spot with
    /// its file, byte position and offsets. Only reads. Exits 1 if damage
    /// is found.
    Check {
        /// A broker's data dir, or one partition's dir inside it.
        dir: PathBuf,
    },
}

/// Runs the command; returns the exit status.
pub fn run(args: StorageArgs) -> u8 {
    let StorageCommand::Check { dir } = args.command;
    let report = match strom_storage::check_dir(&dir) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("strom: {err}");
            return 2;
        }
    };
    for damage in &report.damage {
        let around = match (damage.after_offset, damage.before_offset) {
            (Some(after), Some(before)) => {
                format!("after offset {after}; intact again from offset {before}")
            }
            (Some(after), None) => {
                format!("after offset {after}; nothing intact follows in this file")
            }
            (None, Some(before)) => format!("intact again from offset {before}"),
            (None, None) => "no intact batch in this file".to_string(),
        };
        println!(
            "{}: byte {}: {} ({around}; {} bytes skipped)",
            damage.file.display(),
            damage.position,
            damage.reason,
            damage.skipped
        );
    }
    println!(
        "checked {} partition(s), {} segment(s), {} batch(es): {}",
        report.partitions,
        report.segments,
        report.batches,
        match report.damage.len() {
            0 => "no damage".to_string(),
            n => format!("{n} damaged spot(s)"),
        }
    );
    u8::from(!report.damage.is_empty())
}
