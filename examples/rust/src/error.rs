//! The examples' error type.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExampleError {
    #[error("{0}")]
    Client(#[from] strom_client::ClientError),

    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}
