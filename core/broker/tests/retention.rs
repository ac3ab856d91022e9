//! The broker's periodic retention pass deletes old segments: consumers
//! then start at a later log start offset.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::records::CompressionType;

#[tokio::test]
async fn expired_segments_are_deleted_by_the_retention_pass() {
    // 1000 ms is the shortest check interval the broker uses.
    let broker = TestBroker::start_with(&[("log.retention.check.interval.ms", "1000")]);
    let mut client = broker.connect().await;
    create_topic(
        &mut client,
        "expiring",
        1,
        &[("retention.ms", "60000"), ("segment.bytes", "200")],
    )
    .await;
    let an_hour_ago = now_ms() - 3_600_000;
    for n in 0..6 {
        produce_ok(
            &mut client,
            "expiring",
            0,
            batch(CompressionType::None, an_hour_ago, &[&format!("old-{n}")]),
        )
        .await;
    }
    produce_ok(
        &mut client,
        "expiring",
        0,
        batch(CompressionType::None, now_ms(), &["fresh"]),
    )
    .await;

    let partition = broker.broker().partition("expiring", 0).expect("partition");
    wait_until("the retention pass", || {
        partition.log.log_start_offset() > 0
    })
    .await;

    let earliest = list_offset(&mut client, "expiring", 0, -2).await.offset;
    assert!(earliest > 0 && earliest <= 6, "{earliest}");
    assert_eq!(
        fetch(&mut client, "expiring", 0, 0).await.error_code,
        error_codes::OFFSET_OUT_OF_RANGE,
        "expired data is gone"
    );
    let values = fetched_values(&records_of(&fetch(&mut client, "expiring", 0, 6).await));
    assert_eq!(
        values,
        [(6, "fresh".to_string())],
        "the active segment stays"
    );
}
