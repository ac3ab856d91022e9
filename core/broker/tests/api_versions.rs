//! ApiVersions: every supported version answers with the advertised ranges;
//! an unknown version gets a v0 body with UNSUPPORTED_VERSION (KIP-511).

mod common;

use bytes::BytesMut;
use common::TestBroker;
use strom_broker::versions::SUPPORTED;
use strom_protocol::error_codes;
use strom_protocol::frame::decode_response;
use strom_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, Response};

fn expected_ranges() -> Vec<(i16, i16, i16)> {
    let mut ranges: Vec<_> = SUPPORTED
        .iter()
        .map(|(key, min, max)| (*key as i16, *min, *max))
        .collect();
    ranges.sort();
    ranges
}

fn ranges_of(response: &ApiVersionsResponse) -> Vec<(i16, i16, i16)> {
    let mut ranges: Vec<_> = response
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    ranges.sort();
    ranges
}

#[tokio::test]
async fn every_supported_version_is_answered_with_the_supported_ranges() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    for version in 0..=4 {
        let request = ApiVersionsRequest {
            client_software_name: if version >= 3 {
                "strom-tests".into()
            } else {
                String::new()
            },
            client_software_version: if version >= 3 {
                "1.0".into()
            } else {
                String::new()
            },
            ..Default::default()
        };
        let response: ApiVersionsResponse = client.call(version, request).await;
        assert_eq!(response.error_code, 0, "v{version}");
        assert_eq!(ranges_of(&response), expected_ranges(), "v{version}");
    }
    // ApiVersions itself is advertised as 0..=4.
    assert!(expected_ranges().contains(&(ApiKey::ApiVersions as i16, 0, 4)));
}

#[tokio::test]
async fn an_unknown_version_gets_a_v0_error_body_with_the_ranges() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    // Hand-built v99 frame, as a newer client would send: header v2
    // (flexible) with correlation id 77 and a body the broker must not parse.
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&(ApiKey::ApiVersions as i16).to_be_bytes());
    frame.extend_from_slice(&99i16.to_be_bytes());
    frame.extend_from_slice(&77i32.to_be_bytes());
    frame.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
    frame.extend_from_slice(&[0]); // no tagged fields
    frame.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // a body from the future
    let mut bytes = (frame.len() as i32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&frame);
    client.write_raw(&bytes).await;

    let response = client.read_frame().await.expect("a response, not a close");
    let (header, body) = decode_response(response, ApiKey::ApiVersions, 0).expect("v0 body");
    assert_eq!(header.correlation_id, 77);
    let Response::ApiVersions(body) = body else {
        panic!("not an ApiVersions response")
    };
    assert_eq!(body.error_code, error_codes::UNSUPPORTED_VERSION);
    assert_eq!(ranges_of(&body), expected_ranges());

    // The connection stays usable: the client retries with a version it
    // now knows the broker speaks.
    let retry: ApiVersionsResponse = client.call(3, ApiVersionsRequest::default()).await;
    assert_eq!(retry.error_code, 0);
}
