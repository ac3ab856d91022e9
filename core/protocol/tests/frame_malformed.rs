//! Bad frames: length prefixes out of range, headers cut short, bodies with
//! bytes left over, unknown APIs and versions.

use bytes::{BufMut, Bytes, BytesMut};
use strom_protocol::error::DecodeError;
use strom_protocol::frame::{
    decode_request_header, decode_response, encode_request, encode_response, frame_length,
    DEFAULT_MAX_REQUEST_BYTES,
};
use strom_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataResponse, Request, RequestHeader, Response,
};

#[test]
fn frame_length_refuses_negative_oversized_and_too_small_prefixes() {
    assert_eq!(
        frame_length((-1i32).to_be_bytes(), 1024),
        Err(DecodeError::NegativeLength(-1))
    );
    assert_eq!(
        frame_length(i32::MIN.to_be_bytes(), 1024),
        Err(DecodeError::NegativeLength(i64::from(i32::MIN)))
    );
    assert_eq!(
        frame_length(1025i32.to_be_bytes(), 1024),
        Err(DecodeError::FrameTooLarge {
            size: 1025,
            limit: 1024
        })
    );
    assert!(matches!(
        frame_length(i32::MAX.to_be_bytes(), DEFAULT_MAX_REQUEST_BYTES),
        Err(DecodeError::FrameTooLarge { .. })
    ));
    assert!(matches!(
        frame_length(0i32.to_be_bytes(), 1024),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert!(matches!(
        frame_length(7i32.to_be_bytes(), 1024),
        Err(DecodeError::UnexpectedEof { .. })
    ));
    assert_eq!(frame_length(1024i32.to_be_bytes(), 1024), Ok(1024));
    assert_eq!(frame_length(8i32.to_be_bytes(), 1024), Ok(8));
}

fn api_versions_frame(version: i16, body: &Request) -> Bytes {
    let header = RequestHeader {
        request_api_key: ApiKey::ApiVersions as i16,
        request_api_version: version,
        correlation_id: 9,
        client_id: Some("c".into()),
        ..Default::default()
    };
    let mut out = BytesMut::new();
    encode_request(&header, body, &mut out).expect("encodes");
    out.split_off(4).freeze()
}

#[test]
fn trailing_bytes_after_a_request_body_are_reported_not_refused() {
    let body = Request::ApiVersions(ApiVersionsRequest {
        client_software_name: "strom".into(),
        client_software_version: "1".into(),
        ..Default::default()
    });
    let mut frame = BytesMut::from(&api_versions_frame(3, &body)[..]);
    assert!(decode_request_header(frame.clone().freeze())
        .unwrap()
        .decode_body()
        .is_ok());
    frame.put_slice(&[0, 0]);
    let parsed = decode_request_header(frame.freeze()).expect("header still fine");
    // Kafka ignores bytes after a request body, and librdkafka relies on it.
    let (request, trailing) = parsed.decode_body().expect("body decodes");
    assert_eq!(request, body);
    assert_eq!(trailing, 2);
}

#[test]
fn trailing_bytes_after_a_response_body_are_refused() {
    let mut out = BytesMut::new();
    encode_response(
        5,
        12,
        &Response::Metadata(MetadataResponse::default()),
        &mut out,
    )
    .unwrap();
    out.put_u8(0);
    let frame = out.split_off(4).freeze();
    assert_eq!(
        decode_response(frame, ApiKey::Metadata, 12).unwrap_err(),
        DecodeError::TrailingBytes(1)
    );
}

#[test]
fn headers_cut_short_are_eof() {
    let frame = api_versions_frame(3, &Request::ApiVersions(Default::default()));
    for len in 0..12 {
        let err = decode_request_header(frame.slice(..len)).unwrap_err();
        assert!(
            matches!(err, DecodeError::UnexpectedEof { .. }),
            "len {len}: {err:?}"
        );
    }
}

#[test]
fn unknown_api_keys_keep_the_correlation_id() {
    // Key 9999, version 0, correlation 77, client id "x" (v1 header assumed).
    let mut frame = BytesMut::new();
    frame.put_i16(9999);
    frame.put_i16(0);
    frame.put_i32(77);
    frame.put_i16(1);
    frame.put_u8(b'x');
    let parsed = decode_request_header(frame.freeze()).expect("header decodes");
    assert_eq!(parsed.api_key, None);
    assert_eq!(parsed.correlation_id(), 77);
    assert_eq!(
        parsed.decode_body().map(|_| ()),
        Err(DecodeError::UnknownApiKey(9999))
    );
}

#[test]
fn versions_outside_the_spec_are_refused() {
    let (_, max) = ApiKey::ApiVersions.codec_versions();
    let frame = api_versions_frame(3, &Request::ApiVersions(Default::default()));
    let mut bytes = BytesMut::from(&frame[..]);
    bytes[2..4].copy_from_slice(&(max + 1).to_be_bytes());
    let parsed = decode_request_header(bytes.freeze()).expect("header decodes");
    assert!(
        matches!(parsed.decode_body(), Err(DecodeError::UnsupportedVersion { version, .. }) if version == max + 1)
    );
    assert!(matches!(
        decode_response(Bytes::from_static(&[0, 0, 0, 1]), ApiKey::Fetch, -1),
        Err(DecodeError::UnsupportedVersion { version: -1, .. })
    ));
}
