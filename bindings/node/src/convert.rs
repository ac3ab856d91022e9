//! Deliveries, partitions, offsets and configs between JS objects and the
//! core's types (records themselves travel packed: `packed.rs`).

use std::sync::Arc;

use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use strom_client::security::TokenProvider;
use strom_client::StatsCallback;
use strom_client::{RecordMetadata, TopicPartition};

/// Where a record was written.
#[napi(object)]
pub struct Delivery {
    pub topic: String,
    pub partition: i32,
    /// -1 with acks=0.
    pub offset: i64,
    pub timestamp: i64,
}

impl Delivery {
    pub fn new(topic: String, metadata: RecordMetadata) -> Delivery {
        Delivery {
            topic,
            partition: metadata.partition,
            offset: metadata.offset,
            timestamp: metadata.timestamp,
        }
    }
}

#[napi(object)]
pub struct Partition {
    pub topic: String,
    pub partition: i32,
}

impl From<&Partition> for TopicPartition {
    fn from(p: &Partition) -> TopicPartition {
        TopicPartition::new(p.topic.as_str(), p.partition)
    }
}

impl From<TopicPartition> for Partition {
    fn from(tp: TopicPartition) -> Partition {
        Partition {
            topic: tp.topic.to_string(),
            partition: tp.partition,
        }
    }
}

/// A partition and an offset (a commit, a seek, a group offset).
#[napi(object)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl PartitionOffset {
    pub fn tp(&self) -> TopicPartition {
        TopicPartition::new(self.topic.as_str(), self.partition)
    }
}

pub fn partitions(list: &[Partition]) -> Vec<TopicPartition> {
    list.iter().map(TopicPartition::from).collect()
}

/// kafkajs's `sasl.oauthBearerProvider`, wrapped in JS as a function
/// resolving to the token's text. Weak: it does not keep Node's event
/// loop alive by itself (a pending request does).
pub type TokenCallback = ThreadsafeFunction<(), Promise<String>, (), Status, false, true>;

/// Takes each statistics JSON (`statistics.interval.ms`) to the JS thread,
/// without waiting for it to be handled. Weak, like [`TokenCallback`].
pub type StatsFn = ThreadsafeFunction<String, (), String, Status, false, true>;

/// A client config from `[name, value]` pairs, the token callback when the
/// client logs in with OAUTHBEARER, and where its statistics go.
pub fn config(
    pairs: Vec<Vec<String>>,
    token_callback: Option<TokenCallback>,
    stats_callback: Option<StatsFn>,
) -> napi::Result<strom_client::ClientConfig> {
    let pairs = pairs
        .into_iter()
        .map(|pair| match <[String; 2]>::try_from(pair) {
            Ok([key, value]) => Ok((key, value)),
            Err(_) => Err(crate::errors::invalid(
                "config entries are [name, value] pairs",
            )),
        })
        .collect::<napi::Result<Vec<_>>>()?;
    let mut config = strom_client::ClientConfig::default();
    if let Some(callback) = token_callback {
        config.security.oauth_token_provider = Some(token_provider(callback));
    }
    if let Some(callback) = stats_callback {
        config.stats_callback = Some(StatsCallback::new(move |json| {
            // Queued to the JS thread; a closing environment drops it.
            let _ = callback.call(json, ThreadsafeFunctionCallMode::NonBlocking);
        }));
    }
    config.with_pairs(pairs).map_err(|e| crate::to_js_error(&e))
}

/// Asks the JS provider for a token at each login: the call is queued to
/// the JS thread and its promise awaited, holding no runtime thread.
fn token_provider(callback: TokenCallback) -> TokenProvider {
    let callback = Arc::new(callback);
    TokenProvider(Arc::new(move || {
        let callback = callback.clone();
        Box::pin(async move {
            let promise = callback
                .call_async(())
                .await
                .map_err(|e| format!("oauthBearerProvider could not be called: {e}"))?;
            promise
                .await
                .map_err(|e| format!("oauthBearerProvider failed: {}", e.reason))
        })
    }))
}
