//! `strom-codegen SPEC_DIR OUT_DIR`: regenerates the protocol messages.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [spec_dir, out_dir] = args.as_slice() else {
        eprintln!("usage: strom-codegen SPEC_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    let out_dir = PathBuf::from(out_dir);
    let files = match strom_codegen::generate(&PathBuf::from(spec_dir)) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("strom-codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("strom-codegen: cannot create {}: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    for (name, contents) in &files {
        let path = out_dir.join(name);
        if let Err(e) = std::fs::write(&path, contents) {
            eprintln!("strom-codegen: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("wrote {} files to {}", files.len(), out_dir.display());
    ExitCode::SUCCESS
}
