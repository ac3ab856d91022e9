//! Nothing a broker can answer to Produce or Fetch makes the producer or
//! the consumer panic, hang or allocate without bound: each hostile answer
//! (see `hostile/mod.rs`) ends in a typed `ClientError`, a retry that ends
//! by delivery.timeout.ms, or records the client can vouch for.

mod hostile;

use std::time::Duration;

use bytes::Bytes;
use hostile::answers::{self, batch, fetch_answer, produce_answer};
use hostile::{assert_handed_back, guarded, HostileBroker, Incoming, Reply};
use strom_client::{
    tps, ClientError, Consumer, ConsumerRecord, Producer, ProducerRecord, TopicPartition,
};
use strom_protocol::messages::fetch_response::FetchableTopicResponse;
use strom_protocol::messages::{ApiKey, ProduceResponse};
use strom_protocol::records::{rewrite, CompressionType, DEFAULT_MAX_DECOMPRESSED_BYTES};

// ---- produce ----

/// Sends one record to `t` partition 0 and returns its outcome; a
/// failure must hand the record back.
async fn produce_against(
    answer: impl Fn(&Incoming) -> Reply + Send + Sync + 'static,
) -> Result<strom_client::RecordMetadata, ClientError> {
    let broker = HostileBroker::hostile_for(ApiKey::Produce, answer).await;
    let producer = guarded(Producer::new(broker.config(&[])))
        .await
        .expect("producer");
    let sent = ProducerRecord::new("t", "v").with_partition(0);
    guarded(producer.send(sent.clone()))
        .await
        .map_err(|failure| {
            assert_handed_back(&failure, &sent);
            failure.error
        })
}

#[tokio::test]
async fn a_produce_answer_missing_the_partition_is_a_protocol_error() {
    let outcome = produce_against(|_| Reply::Respond(ProduceResponse::default().into())).await;
    let error = outcome.expect_err("no result for the partition sent");
    assert!(matches!(error, ClientError::Protocol { .. }), "{error:?}");
}

#[tokio::test]
async fn an_unknown_produce_error_code_is_reported_as_is() {
    let outcome = produce_against(|incoming| {
        Reply::Respond(produce_answer(incoming, |_, _| (32000, -1)).into())
    })
    .await;
    let error = outcome.expect_err("error 32000");
    assert_eq!(error.kafka_code(), Some(32000), "{error:?}");
    assert!(!error.is_retriable());
}

#[tokio::test]
async fn a_retriable_produce_error_forever_ends_by_delivery_timeout() {
    // NOT_LEADER_OR_FOLLOWER on every attempt.
    let outcome =
        produce_against(|incoming| Reply::Respond(produce_answer(incoming, |_, _| (6, -1)).into()))
            .await;
    let error = outcome.expect_err("never accepted");
    assert!(
        error.kafka_code() == Some(6) || matches!(error, ClientError::DeliveryTimeout { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_base_offset_of_minus_one_is_an_unknown_offset() {
    let outcome =
        produce_against(|incoming| Reply::Respond(produce_answer(incoming, |_, _| (0, -1)).into()))
            .await;
    assert_eq!(outcome.expect("accepted").offset, -1);
}

#[tokio::test]
async fn a_base_offset_near_i64_max_does_not_overflow() {
    let broker = HostileBroker::hostile_for(ApiKey::Produce, |incoming| {
        Reply::Respond(produce_answer(incoming, |_, _| (0, i64::MAX)).into())
    })
    .await;
    // linger.ms lets both records into one batch: the second one's offset
    // is base_offset + 1.
    let config = broker.config(&[("linger.ms", "200")]);
    let producer = guarded(Producer::new(config)).await.expect("producer");
    let first = producer.send(ProducerRecord::new("t", "a").with_partition(0));
    let second = producer.send(ProducerRecord::new("t", "b").with_partition(0));
    let (first, second) = guarded(async { (first.await, second.await) }).await;
    assert_eq!(first.expect("first").offset, i64::MAX);
    // i64::MAX + 1 does not exist: the offset is reported unknown (-1).
    assert_eq!(second.expect("second").offset, -1);
}

// ---- fetch ----

/// Polls `t` partition 0 from `position` against a broker whose Fetch
/// answers come from `answer`; returns the outcome and the position after.
async fn poll_against(
    position: i64,
    answer: impl Fn(&Incoming) -> Reply + Send + Sync + 'static,
) -> (Result<Vec<ConsumerRecord>, ClientError>, Option<i64>) {
    poll_with(&[], position, answer).await
}

/// `poll_against` with extra consumer settings.
async fn poll_with(
    settings: &[(&str, &str)],
    position: i64,
    answer: impl Fn(&Incoming) -> Reply + Send + Sync + 'static,
) -> (Result<Vec<ConsumerRecord>, ClientError>, Option<i64>) {
    let broker = HostileBroker::hostile_for(ApiKey::Fetch, answer).await;
    let consumer = guarded(Consumer::new(broker.config(settings)))
        .await
        .expect("consumer");
    let tp = TopicPartition::new("t", 0);
    consumer.assign(std::slice::from_ref(&tp)).await;
    consumer.seek(tp.clone(), position).await.expect("seek");
    let outcome = guarded(consumer.poll(Duration::from_millis(300))).await;
    (outcome, consumer.position(tp).await)
}

/// A Fetch answer giving `records` for every partition asked for.
fn fetch_with(records: Bytes) -> impl Fn(&Incoming) -> Reply + Send + Sync + 'static {
    move |incoming| {
        let records = records.clone();
        Reply::Respond(fetch_answer(incoming, move |_, _| (Some(records.clone()), 1)).into())
    }
}

#[tokio::test]
async fn a_valid_batch_is_consumed() {
    // The baseline the hostile cases differ from.
    let (outcome, position) = poll_against(0, fetch_with(batch(0, &[b"a", b"b"]))).await;
    let values: Vec<Bytes> = outcome
        .expect("records")
        .into_iter()
        .filter_map(|r| r.value)
        .collect();
    assert_eq!(values, vec![Bytes::from("a"), Bytes::from("b")]);
    assert_eq!(position, Some(2));
}

#[tokio::test]
async fn a_batch_with_a_bad_crc_is_refused() {
    let corrupt = answers::with_bad_crc(batch(0, &[b"a"]));
    let (outcome, position) = poll_against(0, fetch_with(corrupt)).await;
    let error = outcome.expect_err("a corrupt batch is not records");
    assert!(matches!(error, ClientError::Record(_)), "{error:?}");
    assert_eq!(position, Some(0));

    // check.crcs=false trusts the bytes (Java's option for speed): the
    // batch's record reads as it lies there.
    let corrupt = answers::with_bad_crc(batch(0, &[b"a"]));
    let (outcome, position) = poll_with(&[("check.crcs", "false")], 0, fetch_with(corrupt)).await;
    assert_eq!(outcome.expect("records").len(), 1);
    assert_eq!(position, Some(1));
}

#[tokio::test]
async fn a_batch_longer_than_the_buffer_is_an_ignored_partial_batch() {
    let cut = answers::with_length_beyond_buffer(batch(0, &[b"a"]));
    let (outcome, position) = poll_against(0, fetch_with(cut)).await;
    assert!(outcome.expect("a partial tail is not an error").is_empty());
    assert_eq!(position, Some(0));
}

#[tokio::test]
async fn a_compressed_payload_that_does_not_decompress_is_an_error() {
    let garbage = [0x13u8, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7];
    for codec in [
        CompressionType::Gzip,
        CompressionType::Zstd,
        CompressionType::Lz4,
        CompressionType::Snappy,
    ] {
        let broken = answers::compressed_batch(codec, &garbage);
        let (outcome, position) = poll_against(0, fetch_with(broken)).await;
        let error = outcome.expect_err("not a valid compressed payload");
        assert!(
            matches!(error, ClientError::Record(_) | ClientError::Compression(_)),
            "{codec:?}: {error:?}"
        );
        assert_eq!(position, Some(0), "{codec:?}");
    }
}

#[tokio::test]
async fn a_decompression_bomb_stops_at_the_limit() {
    let bomb = answers::decompression_bomb(DEFAULT_MAX_DECOMPRESSED_BYTES);
    assert!(bomb.len() < 1 << 20, "the bomb itself is small");
    let (outcome, _) = poll_against(0, fetch_with(bomb)).await;
    let error = outcome.expect_err("a bomb is refused");
    assert!(
        error.to_string().contains("decompresses to more than"),
        "{error}"
    );
}

#[tokio::test]
async fn records_for_partitions_not_asked_for_are_ignored() {
    let (outcome, position) = poll_against(0, |incoming| {
        let mut answer = fetch_answer(incoming, |_, _| (None, 0));
        let stray = Some(batch(0, &[b"stray"]));
        answer.responses[0]
            .partitions
            .push(answers::fetch_partition(5, stray.clone(), 1));
        answer.responses.push(FetchableTopicResponse {
            topic: "other".to_string(),
            partitions: vec![answers::fetch_partition(0, stray, 1)],
            ..Default::default()
        });
        Reply::Respond(answer.into())
    })
    .await;
    assert!(outcome.expect("no error").is_empty());
    assert_eq!(position, Some(0));
}

#[tokio::test]
async fn a_high_watermark_below_the_fetch_offset_does_no_harm() {
    let (outcome, _) = poll_against(10, |incoming| {
        let records = Some(batch(10, &[b"a"]));
        Reply::Respond(fetch_answer(incoming, move |_, _| (records.clone(), 0)).into())
    })
    .await;
    outcome.expect("the records themselves are well formed");
}

#[tokio::test]
async fn a_batch_at_offset_i64_max_does_not_overflow() {
    let (outcome, position) = poll_against(0, fetch_with(batch(i64::MAX, &[b"a"]))).await;
    // No record can follow offset i64::MAX: the batch is refused and the
    // position stays where it was.
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(position, Some(0));
}

#[tokio::test]
async fn a_bad_batch_after_a_good_one_does_not_duplicate_records() {
    let mut records = batch(0, &[b"a"]).to_vec();
    let mut broken = answers::compressed_batch(CompressionType::Zstd, b"not zstd").to_vec();
    rewrite::set_base_offset(&mut broken, 1);
    records.extend_from_slice(&broken);
    let broker = HostileBroker::hostile_for(ApiKey::Fetch, fetch_with(records.into())).await;
    let consumer = guarded(Consumer::new(broker.config(&[])))
        .await
        .expect("consumer");
    consumer.assign(&tps([("t", 0)])).await;
    consumer
        .seek(TopicPartition::new("t", 0), 0)
        .await
        .expect("seek");
    let mut offsets = Vec::new();
    for _ in 0..4 {
        if let Ok(records) = guarded(consumer.poll(Duration::from_millis(100))).await {
            offsets.extend(records.iter().map(|r| r.offset));
        }
    }
    assert!(
        offsets.len() <= 1,
        "offset 0 returned more than once: {offsets:?}"
    );
}
