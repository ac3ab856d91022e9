//! The README's Rust quickstart is the one in `src/lib.rs`'s docs, which
//! `cargo test` compiles: this keeps the two from drifting apart.

use std::path::Path;

fn rust_block_of_readme(readme: &str) -> Vec<String> {
    let start = readme
        .find("```rust\n")
        .expect("the README has a Rust code block")
        + "```rust\n".len();
    let end = start + readme[start..].find("```").expect("the block ends");
    readme[start..end].lines().map(str::to_string).collect()
}

fn quickstart_of_lib_docs(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .skip_while(|line| *line != "```no_run")
        .skip(1)
        .take_while(|line| *line != "```")
        .filter(|line| !line.starts_with("# ") && *line != "#")
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_quickstart_is_the_compiled_one() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(crate_dir.join("../../README.md")).unwrap();
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    let documented = quickstart_of_lib_docs(&lib);
    assert!(documented.len() > 10, "no quickstart in src/lib.rs");
    assert_eq!(rust_block_of_readme(&readme), documented);
}
