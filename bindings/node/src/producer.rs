//! `NativeProducer`: `node/lib/producer.js` makes kafkajs's producer of it.

use napi_derive::napi;
use strom_client::{Producer, ProducerRecord};

use crate::convert::{config, Delivery, OutRecord};
use crate::{millis, on_client};

#[napi]
pub struct NativeProducer {
    inner: Producer,
}

/// A producer with `config` (`[name, value]` pairs by librdkafka's or
/// Java's names).
#[napi]
pub async fn create_producer(config_pairs: Vec<Vec<String>>) -> napi::Result<NativeProducer> {
    let config = config(config_pairs)?;
    let inner = on_client(Producer::new(config)).await?;
    Ok(NativeProducer { inner })
}

#[napi]
impl NativeProducer {
    /// Sends `records` and resolves with where each was written, in order,
    /// once all are acknowledged; rejects with the first failure.
    #[napi]
    pub async fn send(&self, records: Vec<OutRecord>) -> napi::Result<Vec<Delivery>> {
        let producer = self.inner.clone();
        let records: Vec<ProducerRecord> = records.into_iter().map(Into::into).collect();
        on_client(async move {
            let pending: Vec<_> = records
                .into_iter()
                .map(|record| (record.topic.clone(), producer.send(record)))
                .collect();
            let mut delivered = Vec::with_capacity(pending.len());
            for (topic, delivery) in pending {
                let metadata = delivery.await.map_err(|failed| failed.error)?;
                delivered.push(Delivery::new(topic, metadata));
            }
            Ok(delivered)
        })
        .await
    }

    /// Waits until every record sent so far is acknowledged or failed.
    #[napi]
    pub async fn flush(&self, timeout_ms: f64) -> napi::Result<()> {
        on_client(self.inner.flush(millis(timeout_ms))).await
    }

    /// Delivers what is queued (waiting at most `timeout_ms`) and closes.
    #[napi]
    pub async fn close(&self, timeout_ms: f64) -> napi::Result<()> {
        on_client(self.inner.close(millis(timeout_ms))).await
    }
}
