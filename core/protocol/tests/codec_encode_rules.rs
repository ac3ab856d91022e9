//! What the encoder refuses: values a version cannot carry (Kafka's
//! non-ignorable fields), versions outside the spec, mismatched headers.

use bytes::BytesMut;
use strom_protocol::codec::Message;
use strom_protocol::error::EncodeError;
use strom_protocol::frame::{encode_request, encode_response};
use strom_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use strom_protocol::messages::{
    ApiKey, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, Request, RequestHeader,
    Response,
};

fn list_offsets_response(leader_epoch: i32, throttle_time_ms: i32) -> ListOffsetsResponse {
    ListOffsetsResponse {
        throttle_time_ms,
        topics: vec![ListOffsetsTopicResponse {
            name: "t".into(),
            partitions: vec![ListOffsetsPartitionResponse {
                leader_epoch,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn list_offsets_request(isolation_level: i8) -> ListOffsetsRequest {
    ListOffsetsRequest {
        isolation_level,
        ..Default::default()
    }
}

#[test]
fn a_request_value_the_version_lacks_is_an_error() {
    // IsolationLevel exists from v2 and is not ignorable: a client asking
    // for read_committed from a broker that cannot honour it must learn so,
    // so v1 refuses it...
    let err = list_offsets_request(1)
        .encode(&mut BytesMut::new(), 1)
        .unwrap_err();
    assert_eq!(
        err,
        EncodeError::FieldNotInVersion {
            field: "IsolationLevel",
            version: 1
        }
    );
    // ...accepts it at its default...
    assert!(list_offsets_request(0)
        .encode(&mut BytesMut::new(), 1)
        .is_ok());
    // ...and carries it from v2 on.
    assert!(list_offsets_request(1)
        .encode(&mut BytesMut::new(), 2)
        .is_ok());
}

#[test]
fn a_response_value_the_version_lacks_is_dropped() {
    // A broker fills one response shape for every version; an older client
    // has no LeaderEpoch field (v4+), so v3 simply leaves it out.
    let mut with_epoch = BytesMut::new();
    list_offsets_response(7, 0)
        .encode(&mut with_epoch, 3)
        .unwrap();
    let mut without = BytesMut::new();
    list_offsets_response(-1, 0)
        .encode(&mut without, 3)
        .unwrap();
    assert_eq!(with_epoch, without);
}

#[test]
fn an_ignorable_value_the_version_lacks_is_dropped() {
    // ThrottleTimeMs (v2+) is ignorable: v1 encodes as if it were 0.
    let mut with_throttle = BytesMut::new();
    list_offsets_response(-1, 500)
        .encode(&mut with_throttle, 1)
        .unwrap();
    let mut without = BytesMut::new();
    list_offsets_response(-1, 0)
        .encode(&mut without, 1)
        .unwrap();
    assert_eq!(with_throttle, without);
}

#[test]
fn request_and_response_enums_refuse_versions_outside_the_spec() {
    let (_, max) = ApiKey::Metadata.codec_versions();
    let body = Request::Metadata(MetadataRequest::default());
    let err = body.encode(&mut BytesMut::new(), max + 1).unwrap_err();
    assert_eq!(
        err,
        EncodeError::UnsupportedVersion {
            what: "Metadata",
            version: max + 1
        }
    );
    let response = Response::Metadata(Default::default());
    let mut out = BytesMut::from(&b"kept"[..]);
    let err = encode_response(1, -1, &response, &mut out).unwrap_err();
    assert_eq!(
        err,
        EncodeError::UnsupportedVersion {
            what: "Metadata",
            version: -1
        }
    );
    assert_eq!(
        &out[..],
        b"kept",
        "a failed encode leaves the buffer as it was"
    );
}

#[test]
fn a_header_for_another_api_is_refused() {
    let header = RequestHeader {
        request_api_key: ApiKey::Fetch as i16,
        request_api_version: 4,
        ..Default::default()
    };
    let body = Request::Metadata(MetadataRequest::default());
    let mut out = BytesMut::new();
    let err = encode_request(&header, &body, &mut out).unwrap_err();
    assert_eq!(err, EncodeError::ApiKeyMismatch { header: 1, body: 3 });
    assert!(out.is_empty());
}

#[test]
fn a_tag_set_twice_is_refused() {
    // ClusterId is tag 0 of FetchRequest v12+; a raw field with the same tag
    // would put tag 0 on the wire twice.
    let request = strom_protocol::messages::FetchRequest {
        cluster_id: Some("c".into()),
        unknown_tagged_fields: vec![strom_protocol::codec::RawTaggedField {
            tag: 0,
            data: bytes::Bytes::from_static(&[1]),
        }],
        ..Default::default()
    };
    let err = request.encode(&mut BytesMut::new(), 12).unwrap_err();
    assert_eq!(err, EncodeError::DuplicateTag(0));
}
