//! Whole frames — length prefix, header, body — round-trip for every API at
//! every version, with the header version Kafka uses for each.

use bytes::{Buf, Bytes, BytesMut};
use strom_protocol::codec::SampleRng;
use strom_protocol::frame::{
    decode_request_header, decode_response, encode_request, encode_response, frame_length,
    DEFAULT_MAX_REQUEST_BYTES,
};
use strom_protocol::messages::{ApiKey, Request, RequestHeader, Response};

const SEEDS: u64 = 3;
const CLIENT_ID: &str = "strom-test";

/// Header versions as the Kafka protocol guide states them, written out
/// independently of the generated `request_header_version`.
fn expected_request_header_version(api: ApiKey, version: i16) -> i16 {
    if api == ApiKey::ControlledShutdown && version == 0 {
        0
    } else if api.is_flexible(version) {
        2
    } else {
        1
    }
}

fn expected_response_header_version(api: ApiKey, version: i16) -> i16 {
    if api == ApiKey::ApiVersions {
        0
    } else if api.is_flexible(version) {
        1
    } else {
        0
    }
}

/// Bytes a request header of `header_version` takes with [`CLIENT_ID`]:
/// key, version, correlation id; then the int16-prefixed client id (never
/// compact, even in v2); then an empty tagged-field section in v2.
fn request_header_len(header_version: i16) -> usize {
    match header_version {
        0 => 8,
        1 => 8 + 2 + CLIENT_ID.len(),
        _ => 8 + 2 + CLIENT_ID.len() + 1,
    }
}

fn body_bytes_of_request(body: &Request, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    body.encode(&mut buf, version).expect("body encodes");
    buf.freeze()
}

/// Strips the length prefix and checks it. `frame_length` is the request
/// reader's check (it insists on a whole request header), so responses,
/// which can be shorter, are checked by hand.
fn split_prefix(mut frame: Bytes, is_request: bool) -> Bytes {
    let prefix: [u8; 4] = frame[..4].try_into().expect("4 bytes");
    let len = if is_request {
        frame_length(prefix, DEFAULT_MAX_REQUEST_BYTES).expect("valid prefix")
    } else {
        usize::try_from(i32::from_be_bytes(prefix)).expect("non-negative prefix")
    };
    frame.advance(4);
    assert_eq!(
        len,
        frame.len(),
        "length prefix counts the rest of the frame"
    );
    frame
}

#[test]
fn every_request_frame_round_trips_with_the_right_header() {
    let mut pairs = 0;
    for &api in ApiKey::ALL {
        let (min, max) = api.codec_versions();
        for version in min..=max {
            pairs += 1;
            let header_version = expected_request_header_version(api, version);
            assert_eq!(
                api.request_header_version(version),
                header_version,
                "{api:?} v{version}"
            );
            for seed in 0..SEEDS {
                let mut rng = SampleRng::new(seed);
                let body = Request::sample(api, version, &mut rng);
                let mut header = RequestHeader {
                    request_api_key: api as i16,
                    request_api_version: version,
                    correlation_id: 1000 + i32::from(version),
                    ..Default::default()
                };
                // Header v0 has no client id: it decodes as the default.
                if header_version > 0 {
                    header.client_id = Some(CLIENT_ID.to_string());
                }
                let mut out = BytesMut::new();
                encode_request(&header, &body, &mut out).expect("request encodes");
                let frame = split_prefix(out.freeze(), true);

                let body_bytes = body_bytes_of_request(&body, version);
                let header_len = request_header_len(header_version);
                assert_eq!(
                    frame.len(),
                    header_len + body_bytes.len(),
                    "{api:?} v{version}"
                );
                assert_eq!(frame.slice(header_len..), body_bytes, "{api:?} v{version}");

                let decoded = decode_request_header(frame).expect("header decodes");
                assert_eq!(decoded.header, header, "{api:?} v{version}");
                assert_eq!(decoded.api_key, Some(api));
                assert_eq!(decoded.api_version(), version);
                assert_eq!(decoded.correlation_id(), header.correlation_id);
                let (decoded_body, trailing) = decoded.decode_body().expect("body decodes");
                assert_eq!(decoded_body, body, "{api:?} v{version} seed {seed}");
                assert_eq!(
                    trailing, 0,
                    "{api:?} v{version}: the encoder wrote extra bytes"
                );
            }
        }
    }
    assert!(pairs > 300, "only {pairs} request versions");
}

#[test]
fn every_response_frame_round_trips_with_the_right_header() {
    for &api in ApiKey::ALL {
        let (min, max) = api.codec_versions();
        for version in min..=max {
            let header_version = expected_response_header_version(api, version);
            assert_eq!(
                api.response_header_version(version),
                header_version,
                "{api:?} v{version}"
            );
            for seed in 0..SEEDS {
                let mut rng = SampleRng::new(seed);
                let body = Response::sample(api, version, &mut rng);
                let mut out = BytesMut::new();
                encode_response(-7, version, &body, &mut out).expect("response encodes");
                let frame = split_prefix(out.freeze(), false);

                let mut body_bytes = BytesMut::new();
                body.encode(&mut body_bytes, version).expect("body encodes");
                // correlation id, then one empty tagged-field byte in v1.
                let header_len = 4 + usize::from(header_version == 1);
                assert_eq!(&frame[..4], &(-7i32).to_be_bytes());
                assert_eq!(
                    frame.slice(header_len..),
                    body_bytes.freeze(),
                    "{api:?} v{version}"
                );

                let (header, decoded) = decode_response(frame, api, version).expect("decodes");
                assert_eq!(header.correlation_id, -7);
                assert_eq!(decoded, body, "{api:?} v{version} seed {seed}");
            }
        }
    }
}

#[test]
fn header_versions_match_the_protocol_guide_for_well_known_apis() {
    // (api, last non-flexible version, first flexible version), from the
    // Kafka protocol guide: a guard against a spec or generator mix-up that
    // the generic checks above would repeat.
    let known = [
        (ApiKey::Produce, 8, 9),
        (ApiKey::Fetch, 11, 12),
        (ApiKey::Metadata, 8, 9),
        (ApiKey::ApiVersions, 2, 3),
        (ApiKey::JoinGroup, 5, 6),
        (ApiKey::OffsetCommit, 7, 8),
    ];
    for (api, classic, flexible) in known {
        assert_eq!(api.request_header_version(classic), 1, "{api:?}");
        assert_eq!(api.request_header_version(flexible), 2, "{api:?}");
    }
    assert_eq!(ApiKey::ControlledShutdown.request_header_version(0), 0);
    assert_eq!(ApiKey::ApiVersions.response_header_version(3), 0);
    assert_eq!(ApiKey::Fetch.response_header_version(12), 1);
    assert_eq!(ApiKey::Fetch.response_header_version(11), 0);
}

#[test]
fn api_versions_v3_response_header_has_no_tagged_fields() {
    // A client that has not negotiated yet reads the response with a v0
    // header: correlation id directly followed by the body's error code.
    let body = Response::ApiVersions(Default::default());
    let mut out = BytesMut::new();
    encode_response(42, 3, &body, &mut out).expect("encodes");
    assert_eq!(&out[4..8], &42i32.to_be_bytes());
    assert_eq!(
        &out[8..10],
        &0i16.to_be_bytes(),
        "error code right after the correlation id"
    );
}

#[test]
fn a_spliced_fetch_response_is_the_same_frame_as_a_copied_one() {
    use strom_protocol::frame::encode_response_spliced;
    use strom_protocol::messages::fetch_response::{
        FetchResponse, FetchableTopicResponse, PartitionData,
    };
    use strom_protocol::splice::{assemble, FileRange, HeldBytes, Spliced, SPLICE_MIN_BYTES};

    let records = |len: usize, fill: u8| Some(Bytes::from(vec![fill; len]));
    // Record data still where a broker holds it: two runs of a file (the
    // second one small), then a piece in memory.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("segment");
    let in_file: Vec<u8> = (0..3 * SPLICE_MIN_BYTES).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &in_file).expect("writes");
    let file = std::sync::Arc::new(std::fs::File::open(&path).expect("opens"));
    let runs = [(10, SPLICE_MIN_BYTES + 7), (2 * SPLICE_MIN_BYTES, 300)];
    let in_memory_piece = Bytes::from(vec![9u8; 700]);
    let mut pieces: Vec<Spliced> = runs
        .iter()
        .map(|&(position, len)| {
            Spliced::File(FileRange {
                file: file.clone(),
                position: position as u64,
                len: len as u32,
            })
        })
        .collect();
    pieces.push(Spliced::Memory(in_memory_piece.clone()));
    let held_records = HeldBytes { pieces };
    let mut held_bytes: Vec<u8> = runs
        .iter()
        .flat_map(|&(position, len)| in_file[position..position + len].to_vec())
        .collect();
    held_bytes.extend_from_slice(&in_memory_piece);
    let partitions = vec![
        PartitionData {
            partition_index: 0,
            records: records(SPLICE_MIN_BYTES + 5, 1),
            ..Default::default()
        },
        PartitionData {
            partition_index: 1,
            records: records(100, 2),
            ..Default::default()
        },
        PartitionData {
            partition_index: 2,
            records: None,
            ..Default::default()
        },
        PartitionData {
            partition_index: 3,
            records: records(3 * SPLICE_MIN_BYTES, 3),
            ..Default::default()
        },
        PartitionData {
            partition_index: 4,
            held_records: Some(held_records),
            ..Default::default()
        },
    ];
    // The same answer with the held bytes in one buffer.
    let mut in_memory = partitions.clone();
    in_memory[4].held_records = None;
    in_memory[4].records = Some(Bytes::from(held_bytes));
    let body_of = |partitions: &[PartitionData]| {
        Response::Fetch(FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic: "t".into(),
                partitions: partitions.to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        })
    };
    let (min, max) = ApiKey::Fetch.codec_versions();
    for version in min..=max {
        let body = body_of(&partitions);
        let mut reference = BytesMut::new();
        encode_response(11, version, &body_of(&in_memory), &mut reference).expect("encodes");
        let mut copied = BytesMut::new();
        encode_response(11, version, &body, &mut copied).expect("encodes");
        assert_eq!(
            copied, reference,
            "v{version}: not spliced, the held bytes are read in"
        );
        let mut out = BytesMut::new();
        let splices = encode_response_spliced(11, version, &body, &mut out).expect("encodes");
        assert_eq!(
            splices.len(),
            5,
            "v{version}: the two large record sets, both runs of the file and the piece"
        );
        assert_eq!(
            assemble(&out, &splices).expect("assembles"),
            reference.to_vec(),
            "v{version}"
        );
    }
}
