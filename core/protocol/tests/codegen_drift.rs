//! The checked-in `src/messages` must be exactly what the generator makes
//! from the specs in `../shared/kafka-message-specs` (beside the repo).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const REGENERATE: &str =
    "cargo run -q -p strom-codegen -- ../shared/kafka-message-specs core/protocol/src/messages";

fn repo_root() -> PathBuf {
    // core/protocol -> core -> repo root
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.join("..").join("..")
}

#[test]
fn generated_messages_match_the_specs() {
    let root = repo_root();
    let spec_dir = root.join("..").join("shared").join("kafka-message-specs");
    if !spec_dir.is_dir() {
        eprintln!(
            "SKIPPED codegen drift check: no specs at {} (they live in the shared folder beside the repo)",
            spec_dir.display()
        );
        return;
    }
    let generated = strom_codegen::generate(&spec_dir).expect("generator runs on the specs");
    let messages_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("messages");

    let mut problems = Vec::new();
    let mut expected_names = BTreeSet::new();
    for (name, contents) in &generated {
        expected_names.insert(name.clone());
        match std::fs::read_to_string(messages_dir.join(name)) {
            Ok(on_disk) if on_disk == *contents => {}
            Ok(_) => problems.push(format!(
                "src/messages/{name} differs from the generator's output"
            )),
            Err(e) => problems.push(format!("src/messages/{name} is missing ({e})")),
        }
    }
    let on_disk = std::fs::read_dir(&messages_dir).expect("messages dir is readable");
    for entry in on_disk {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !expected_names.contains(&name) {
            problems.push(format!(
                "src/messages/{name} is not generated from any spec"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "generated code is out of date:\n  {}\nRegenerate from the repo root with:\n  {REGENERATE}\n(and delete extra files)",
        problems.join("\n  ")
    );
}
