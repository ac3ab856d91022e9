//! Why a load could not run at all. Failed deliveries are not errors here:
//! they are counted in the JSON report, where the harness sees them.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("strom-client: {0}")]
    Strom(#[from] strom_client::ClientError),

    #[error("librdkafka: {0}")]
    Rdkafka(#[from] rdkafka::error::KafkaError),

    #[error("starting the tokio runtime: {0}")]
    Runtime(#[from] std::io::Error),

    #[error("the in-flight window closed while records were still being sent")]
    WindowClosed,
}

pub type Result<T> = std::result::Result<T, BenchError>;
