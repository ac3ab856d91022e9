//! The client commands' error type: one line a person can act on.

use strom_client::ClientError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Client(#[from] ClientError),

    /// A flag or argument the broker never saw, e.g. a malformed key=value.
    #[error("{0}")]
    Usage(String),

    #[error("reading standard input: {0}")]
    Stdin(#[source] std::io::Error),

    #[error("writing standard output: {0}")]
    Stdout(#[source] std::io::Error),

    #[error("group '{0}' does not exist (`strom group list` shows the groups)")]
    NoSuchGroup(String),

    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),

    /// Some items of a multi-item command failed; each was already reported.
    #[error("{failed} of {total} {what} failed")]
    Partial {
        failed: usize,
        total: usize,
        what: &'static str,
    },
}
