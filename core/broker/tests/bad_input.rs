//! Bad input on a live socket closes that connection only: connections
//! opened before and after keep being served.

mod common;

use bytes::BytesMut;
use common::*;
use rand::{Rng, SeedableRng};
use strom_protocol::messages::{ApiKey, MetadataResponse};

/// Runs `attack` on a fresh connection, checks the broker closes it, and
/// that a connection opened before and one opened after still work.
async fn survives(broker: &TestBroker, what: &str, attack: &[u8], then_eof: bool) {
    let mut before = broker.connect().await;
    let _: MetadataResponse = before
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;

    let mut bad = broker.connect().await;
    bad.write_raw(attack).await;
    if then_eof {
        bad.shutdown_write().await;
    }
    assert!(bad.is_closed_by_broker().await, "{what}: connection closed");

    for client in [&mut before, &mut broker.connect().await] {
        let response: MetadataResponse = client
            .call(
                METADATA_VERSION,
                metadata_request(Some(&["still-alive"]), true),
            )
            .await;
        assert_eq!(response.topics[0].error_code, 0, "{what}");
    }
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    frame
}

/// A request header (v1: key, version, correlation id, client id) with
/// `body` after it.
fn header_v1(api_key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&api_key.to_be_bytes());
    frame.extend_from_slice(&version.to_be_bytes());
    frame.extend_from_slice(&5i32.to_be_bytes());
    frame.extend_from_slice(&(-1i16).to_be_bytes());
    frame.extend_from_slice(body);
    framed(&frame)
}

#[tokio::test]
async fn oversized_and_negative_lengths_close_the_connection() {
    let broker = TestBroker::start();
    survives(
        &broker,
        "200 MiB",
        &(200 * 1024 * 1024i32).to_be_bytes(),
        false,
    )
    .await;
    survives(&broker, "-1", &(-1i32).to_be_bytes(), false).await;
    survives(&broker, "i32::MIN", &i32::MIN.to_be_bytes(), false).await;
    survives(
        &broker,
        "too short for a header",
        &framed(&[0, 3, 0]),
        false,
    )
    .await;
}

#[tokio::test]
async fn a_frame_over_socket_request_max_bytes_is_refused() {
    let broker = TestBroker::start_with(&[("socket.request.max.bytes", "1024")]);
    let mut client = broker.connect().await;
    let small: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
    assert!(small.topics.is_empty());
    survives(&broker, "2 KiB frame", &2048i32.to_be_bytes(), false).await;
}

#[tokio::test]
async fn random_bytes_close_the_connection() {
    let broker = TestBroker::start();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x0057_420d);
    for round in 0..20 {
        let len = rng.gen_range(1..300);
        let mut noise: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if round % 2 == 0 && noise.len() > 4 {
            // Half the time, a plausible length so the noise reaches the
            // header and body decoders.
            let body_len = (noise.len() - 4) as i32;
            noise[..4].copy_from_slice(&body_len.to_be_bytes());
        }
        survives(&broker, &format!("noise round {round}"), &noise, true).await;
    }
}

#[tokio::test]
async fn a_truncated_frame_then_close() {
    let broker = TestBroker::start();
    let full = header_v1(ApiKey::Metadata as i16, 4, &[0, 0, 0, 0, 1]);
    survives(&broker, "truncated", &full[..full.len() - 3], true).await;
    survives(&broker, "prefix only", &full[..2], true).await;
}

#[tokio::test]
async fn unknown_apis_and_versions_close_the_connection() {
    let broker = TestBroker::start();
    survives(&broker, "api key 9999", &header_v1(9999, 0, &[]), false).await;
    survives(&broker, "negative api key", &header_v1(-7, 0, &[]), false).await;
    survives(
        &broker,
        "Metadata v99",
        &header_v1(ApiKey::Metadata as i16, 99, &[]),
        false,
    )
    .await;
    // A known API the broker does not serve (CreateDelegationToken) is
    // refused too.
    survives(
        &broker,
        "CreateDelegationToken",
        &header_v1(ApiKey::CreateDelegationToken as i16, 1, &[0; 16]),
        false,
    )
    .await;
    // Supported API and version, body that does not decode.
    survives(
        &broker,
        "garbage Metadata body",
        &header_v1(ApiKey::Metadata as i16, 4, &[0x7f, 0xff, 0xff, 0xff]),
        false,
    )
    .await;
    // Bytes after a whole body are ignored, as Kafka does (librdkafka
    // sends some): the request is answered.
    let mut client = broker.connect().await;
    client
        .write_raw(&header_v1(
            ApiKey::Metadata as i16,
            4,
            &[0, 0, 0, 0, 1, 9, 9],
        ))
        .await;
    assert!(
        client.read_frame().await.is_some(),
        "trailing bytes: answered"
    );
}
