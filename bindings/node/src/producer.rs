//! `NativeProducer`: `node/lib/producer.js` makes kafkajs's producer of it.

use napi::bindgen_prelude::{Buffer, Object};
use napi::Env;
use napi_derive::napi;
use strom_client::{Producer, ProducerRecord};

use crate::convert::{config, Delivery, StatsFn, TokenCallback};
use crate::outcomes::Outcomes;
use crate::packed::Reader;
use crate::{client_work, millis, on_client, promise};

#[napi]
pub struct NativeProducer {
    inner: Producer,
}

/// A producer with `config` (`[name, value]` pairs by librdkafka's or
/// Java's names).
#[napi]
pub async fn create_producer(
    config_pairs: Vec<Vec<String>>,
    token_callback: Option<TokenCallback>,
    stats_callback: Option<StatsFn>,
) -> napi::Result<NativeProducer> {
    let config = config(config_pairs, token_callback, stats_callback)?;
    let inner = on_client(Producer::new(config)).await?;
    Ok(NativeProducer { inner })
}

#[napi]
impl NativeProducer {
    /// Sends the records packed in `records` (the outgoing layout of
    /// `packed.rs`; `topics` are the names they index) and resolves, once
    /// all are acknowledged, with the first offset written in each
    /// partition (kafkajs's RecordMetadata), in the order first written;
    /// rejects with the first failure in record order.
    ///
    /// Records are handed to the core here, on the JS thread, without
    /// waiting: each is encoded into its batch from the Buffer's bytes.
    /// Should buffer.memory be full, that record and every later one wait
    /// for room in the promise's task instead, in order.
    #[napi(ts_return_type = "Promise<Array<Delivery>>")]
    pub fn send_packed<'env>(
        &self,
        env: &'env Env,
        topics: Vec<String>,
        records: Buffer,
    ) -> napi::Result<Object<'env>> {
        let mut reader = Reader::new(&records);
        let count = reader.u32()? as usize;
        let outcomes = Outcomes::new(count.min(records.len() / 24));
        let mut headers = Vec::new();
        let mut waiting: Vec<(usize, usize, ProducerRecord)> = Vec::new();
        for index in 0..count {
            let (topic, record) = reader.record(&topics, &mut headers)?;
            if !waiting.is_empty() {
                waiting.push((index, topic, record.to_owned_record()));
                continue;
            }
            let report = outcomes.reporter(index, topic);
            if let Err(refused) = self.inner.try_send_ref_with_callback(record, report) {
                match refused.record {
                    Some(record) if refused.error.is_retriable() => {
                        waiting.push((index, topic, *record))
                    }
                    _ => outcomes.settle(index, topic, Err(refused.error)),
                }
            }
        }
        let producer = self.inner.clone();
        promise(env, async move {
            for (index, topic, record) in waiting {
                producer
                    .send_wait_with_callback(record, outcomes.reporter(index, topic))
                    .await;
            }
            let firsts = client_work(outcomes.all_settled()).await?;
            Ok(firsts
                .into_iter()
                .map(|(topic, metadata)| Delivery::new(topics[topic].clone(), metadata))
                .collect::<Vec<_>>())
        })
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
