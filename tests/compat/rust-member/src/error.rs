//! The driver's one error type: what stops it before or at a clean close.

use strom_client::ClientError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MemberError {
    #[error("usage: strom-compat-member CONFIG_JSON (the JSON tests/compat/groups.py writes)")]
    Usage,

    #[error("the member config is not the JSON groups.py writes: {0}")]
    Config(#[from] serde_json::Error),

    #[error("{what}: {source}")]
    Client {
        what: &'static str,
        #[source]
        source: ClientError,
    },

    #[error("cannot listen for commands: {0}")]
    Commands(#[from] std::io::Error),
}

impl MemberError {
    /// Wraps a client error with the step that failed.
    pub fn client(what: &'static str) -> impl FnOnce(ClientError) -> MemberError {
        move |source| MemberError::Client { what, source }
    }
}
