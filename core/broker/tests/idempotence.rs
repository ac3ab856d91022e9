//! Idempotent producers: producer ids, duplicate detection (also across
//! restarts, clean and crashed), sequence gaps and fencing.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};

#[tokio::test]
async fn producer_ids_are_distinct_and_never_reused_after_restarts() {
    let mut broker = TestBroker::start();
    let mut seen = Vec::new();
    for restart in 0..3 {
        let mut client = broker.connect().await;
        for _ in 0..3 {
            let (id, epoch) = init_producer_id(&mut client).await;
            assert!(id >= 0);
            assert_eq!(epoch, 0);
            assert!(!seen.contains(&id), "id {id} handed out twice");
            seen.push(id);
        }
        match restart {
            0 => broker.restart_cleanly().await,
            _ => broker.crash_and_reopen(),
        }
    }
}

#[tokio::test]
async fn a_retried_batch_is_stored_once_and_answered_with_its_first_offset() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "dedupe", 1, &[]).await;
    let (pid, epoch) = init_producer_id(&mut client).await;

    let first = idempotent_batch(pid, epoch, 0, &["a", "b"]);
    assert_eq!(produce_ok(&mut client, "dedupe", 0, first.clone()).await, 0);
    let retry = produce(&mut client, "dedupe", 0, first).await;
    assert_eq!(retry.error_code, 0);
    assert_eq!(retry.base_offset, 0, "the original's offset");

    let next = idempotent_batch(pid, epoch, 2, &["c"]);
    assert_eq!(produce_ok(&mut client, "dedupe", 0, next).await, 2);
    let values = fetched_values(&records_of(&fetch(&mut client, "dedupe", 0, 0).await));
    let values: Vec<&str> = values.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, ["a", "b", "c"], "the retry was not stored again");
}

#[tokio::test]
async fn a_sequence_gap_is_out_of_order() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "gap", 1, &[]).await;
    let (pid, epoch) = init_producer_id(&mut client).await;
    produce_ok(
        &mut client,
        "gap",
        0,
        idempotent_batch(pid, epoch, 0, &["a"]),
    )
    .await;
    let skipped = produce(
        &mut client,
        "gap",
        0,
        idempotent_batch(pid, epoch, 5, &["f"]),
    )
    .await;
    assert_eq!(
        skipped.error_code,
        error_codes::OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    assert_eq!(list_offset(&mut client, "gap", 0, -1).await.offset, 1);
}

#[tokio::test]
async fn an_older_epoch_is_fenced() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "fence", 1, &[]).await;
    let (pid, _) = init_producer_id(&mut client).await;
    produce_ok(
        &mut client,
        "fence",
        0,
        idempotent_batch(pid, 3, 0, &["new"]),
    )
    .await;
    let stale = produce(
        &mut client,
        "fence",
        0,
        idempotent_batch(pid, 2, 1, &["old"]),
    )
    .await;
    assert_eq!(stale.error_code, error_codes::INVALID_PRODUCER_EPOCH);
}

async fn retry_is_recognised_after(restart: impl AsyncFnOnce(&mut TestBroker)) {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "survive", 1, &[]).await;
    let (pid, epoch) = init_producer_id(&mut client).await;
    produce_ok(
        &mut client,
        "survive",
        0,
        idempotent_batch(pid, epoch, 0, &["a"]),
    )
    .await;
    let second = idempotent_batch(pid, epoch, 1, &["b", "c"]);
    assert_eq!(
        produce_ok(&mut client, "survive", 0, second.clone()).await,
        1
    );
    drop(client);

    restart(&mut broker).await;

    let mut client = broker.connect().await;
    let retry = produce(&mut client, "survive", 0, second).await;
    assert_eq!(retry.error_code, 0, "{:?}", retry.error_message);
    assert_eq!(retry.base_offset, 1, "recognised as the batch stored at 1");
    assert_eq!(list_offset(&mut client, "survive", 0, -1).await.offset, 3);
    // And the producer continues where it was.
    let next = idempotent_batch(pid, epoch, 3, &["d"]);
    assert_eq!(produce_ok(&mut client, "survive", 0, next).await, 3);
}

#[tokio::test]
async fn a_retry_is_recognised_after_a_clean_restart() {
    retry_is_recognised_after(async |broker: &mut TestBroker| broker.restart_cleanly().await).await;
}

#[tokio::test]
async fn a_retry_is_recognised_after_a_crash() {
    retry_is_recognised_after(async |broker: &mut TestBroker| broker.crash_and_reopen()).await;
}

#[tokio::test]
async fn naming_a_producer_id_gets_a_fresh_one_not_someone_elses() {
    let broker = TestBroker::start();
    let mut owner = broker.connect().await;
    create_topic(&mut owner, "owned", 1, &[]).await;
    let (pid, epoch) = init_producer_id(&mut owner).await;
    produce_ok(
        &mut owner,
        "owned",
        0,
        idempotent_batch(pid, epoch, 0, &["a"]),
    )
    .await;

    // Another client names the owner's id, or an id not handed out yet
    // (which a later producer would then share).
    let mut other = broker.connect().await;
    for (claimed_id, claimed_epoch) in [(pid, epoch), (pid + 500, 3)] {
        let response: InitProducerIdResponse = other
            .call(
                4,
                InitProducerIdRequest {
                    transactional_id: None,
                    transaction_timeout_ms: 60_000,
                    producer_id: claimed_id,
                    producer_epoch: claimed_epoch,
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(response.error_code, 0);
        assert_ne!(response.producer_id, pid, "not the owner's id");
        assert_ne!(response.producer_id, claimed_id, "not the claimed id");
        assert_eq!(response.producer_epoch, 0);
    }
    // The owner is not fenced.
    assert_eq!(
        produce_ok(
            &mut owner,
            "owned",
            0,
            idempotent_batch(pid, epoch, 1, &["b"])
        )
        .await,
        1
    );
}
