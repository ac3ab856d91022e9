//! Generates the Rust message types of `strom-protocol` from Kafka's JSON
//! message specs. The output is checked in under `core/protocol/src/messages`;
//! the protocol crate's drift test regenerates it and compares.

mod emit;
mod sample;
mod spec;

use std::path::Path;

pub use emit::generate_files;
pub use spec::{parse_message, MessageSpec, Versions};

/// Reads every `*.json` spec in `spec_dir` and returns the generated files
/// as (file name, contents), sorted by name.
pub fn generate(spec_dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut specs = Vec::new();
    let entries =
        std::fs::read_dir(spec_dir).map_err(|e| format!("{}: {e}", spec_dir.display()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let spec = parse_message(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        specs.push(spec);
    }
    generate_files(&specs)
}
