//! `strom`: the broker (`strom server`) and the client commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(strom_server::entry::run(std::env::args_os()))
}
