//! `strom`: the broker (`strom server`) and the client commands.

use std::process::ExitCode;

/// jemalloc, configured in `.cargo/config.toml`: glibc's malloc gives every
/// thread that allocates (tokio's workers and its blocking pool) an arena
/// of its own and keeps what is freed in each, which more than doubled
/// the broker's resident memory under load.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    ExitCode::from(strom_server::entry::run(std::env::args_os()))
}
