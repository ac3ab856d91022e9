//! Malformed input is refused with the error that names the problem, and
//! never costs an allocation sized by a count read from the wire.

use bytes::{BufMut, Bytes, BytesMut};
use strom_protocol::codec::Field as WireField;
use strom_protocol::codec::{get_uvarint, Ctx, Message};
use strom_protocol::error::DecodeError;
use strom_protocol::messages::{
    ApiVersionsRequest, ConsumerGroupHeartbeatResponse, FetchRequest, MetadataRequest,
};

fn ctx(flexible: bool, nullable: bool) -> Ctx {
    Ctx {
        version: 0,
        flexible,
        nullable,
        name: "Test",
    }
}

fn decode<T: WireField>(bytes: &[u8], flexible: bool, nullable: bool) -> Result<T, DecodeError> {
    <T as WireField>::decode(&mut Bytes::copy_from_slice(bytes), ctx(flexible, nullable))
}

#[test]
fn string_length_past_the_end_is_eof() {
    let err = decode::<String>(&[0, 10, b'a', b'b'], false, false).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            needed: 10,
            remaining: 2
        }
    );
    // Compact: varint 11 means 10 bytes.
    let err = decode::<String>(&[11, b'a'], true, false).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            needed: 10,
            remaining: 1
        }
    );
}

#[test]
fn bytes_length_past_the_end_is_eof() {
    let err = decode::<Bytes>(&[0, 0, 0, 5, 1, 2], false, false).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            needed: 5,
            remaining: 2
        }
    );
}

#[test]
fn array_count_past_the_end_is_refused_before_allocating() {
    let err = decode::<Vec<i32>>(&[0, 0, 0, 3, 0, 0, 0, 1], false, false).unwrap_err();
    assert!(matches!(err, DecodeError::UnexpectedEof { .. }), "{err:?}");
    // i32::MAX elements in a 4-byte remainder: refused by count, not by
    // running out of memory.
    let err = decode::<Vec<i64>>(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0], false, false).unwrap_err();
    assert_eq!(
        err,
        DecodeError::CountExceedsFrame {
            count: i32::MAX as usize,
            remaining: 4
        }
    );
    // The same for a compact array (uvarint 0xffff_ffff - 1 elements) of structs.
    let err =
        decode::<Vec<FetchRequest>>(&[0xff, 0xff, 0xff, 0xff, 0x0f, 1], true, false).unwrap_err();
    assert_eq!(
        err,
        DecodeError::CountExceedsFrame {
            count: u32::MAX as usize - 1,
            remaining: 1
        }
    );
}

#[test]
fn arrays_past_the_decode_budget_are_refused_and_the_budget_ends_with_the_call() {
    use strom_protocol::codec::decode_within;
    // Three i64s take 24 bytes in memory.
    let wire = [
        0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3,
    ];
    let (fits, used) = decode_within(24, || decode::<Vec<i64>>(&wire, false, false)).unwrap();
    assert_eq!((fits, used), (vec![1, 2, 3], 24));
    let err = decode_within(23, || decode::<Vec<i64>>(&wire, false, false)).unwrap_err();
    assert_eq!(
        err,
        DecodeError::OverBudget {
            wanted: 24,
            left: 23
        }
    );
    // Nested arrays share one budget: two arrays of one i64 (8 bytes each,
    // plus the outer array's two 24-byte vectors) need 64 bytes.
    let nested = [
        0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8,
    ];
    let (_, used) = decode_within(64, || decode::<Vec<Vec<i64>>>(&nested, false, false)).unwrap();
    assert_eq!(used, 64);
    let err = decode_within(63, || decode::<Vec<Vec<i64>>>(&nested, false, false)).unwrap_err();
    assert_eq!(err, DecodeError::OverBudget { wanted: 8, left: 7 });
    // Outside the call, and after a call that failed, nothing is limited.
    assert_eq!(decode::<Vec<i64>>(&wire, false, false).unwrap().len(), 3);
}

#[test]
fn unknown_tagged_fields_count_against_the_decode_budget() {
    use strom_protocol::codec::{decode_tagged_fields, decode_within, RawTaggedField};
    // Two unknown fields of one byte each.
    let wire = [2, 0, 1, 9, 1, 1, 9];
    let each = std::mem::size_of::<RawTaggedField>();
    let decode_fields =
        || decode_tagged_fields(&mut Bytes::copy_from_slice(&wire), |_, _| Ok(false));
    let (fields, used) = decode_within(2 * each, decode_fields).unwrap();
    assert_eq!((fields.len(), used), (2, 2 * each));
    let err = decode_within(2 * each - 1, decode_fields).unwrap_err();
    assert!(matches!(err, DecodeError::OverBudget { .. }), "{err:?}");
}

#[test]
fn big_elements_do_not_reserve_more_than_the_frame() {
    // 64 one-byte elements claimed, each a large struct in memory: decoding
    // fails on the first truncated element. What matters is that it fails
    // cleanly, and the reservation is capped (see decode_elements).
    let mut wire = vec![0, 0, 0, 64];
    wire.extend(std::iter::repeat_n(0u8, 64));
    let err = decode::<Vec<FetchRequest>>(&wire, false, false).unwrap_err();
    assert!(matches!(err, DecodeError::UnexpectedEof { .. }), "{err:?}");
}

#[test]
fn negative_lengths_other_than_null_are_refused() {
    assert_eq!(
        decode::<String>(&[0xff, 0xfe], false, true).unwrap_err(),
        DecodeError::NegativeLength(-2)
    );
    assert_eq!(
        decode::<Option<Bytes>>(&[0x80, 0, 0, 0], false, true).unwrap_err(),
        DecodeError::NegativeLength(i64::from(i32::MIN))
    );
    assert_eq!(
        decode::<Option<Vec<i32>>>(&[0xff, 0xff, 0xff, 0xfd], false, true).unwrap_err(),
        DecodeError::NegativeLength(-3)
    );
}

#[test]
fn null_is_refused_where_the_field_is_not_nullable() {
    // Classic -1 and compact 0 both mean null.
    assert_eq!(
        decode::<String>(&[0xff, 0xff], false, false).unwrap_err(),
        DecodeError::UnexpectedNull("Test")
    );
    assert_eq!(
        decode::<String>(&[0], true, false).unwrap_err(),
        DecodeError::UnexpectedNull("Test")
    );
    assert_eq!(
        decode::<Option<String>>(&[0], true, false).unwrap_err(),
        DecodeError::UnexpectedNull("Test")
    );
    assert_eq!(
        decode::<Vec<i32>>(&[0], true, false).unwrap_err(),
        DecodeError::UnexpectedNull("Test")
    );
    assert_eq!(
        decode::<Bytes>(&[0], true, false).unwrap_err(),
        DecodeError::UnexpectedNull("Test")
    );
    // ...and accepted where it is.
    assert_eq!(decode::<Option<String>>(&[0], true, true).unwrap(), None);
    assert_eq!(
        decode::<Option<Vec<i32>>>(&[0xff, 0xff, 0xff, 0xff], false, true).unwrap(),
        None
    );
}

#[test]
fn null_is_refused_by_the_encoder_where_not_nullable() {
    let mut buf = BytesMut::new();
    let err = WireField::encode(&None::<String>, &mut buf, ctx(true, false)).unwrap_err();
    assert_eq!(
        err,
        strom_protocol::error::EncodeError::NullNotAllowed("Test")
    );
}

#[test]
fn compact_non_nullable_string_in_a_real_message() {
    // ApiVersions v3: ClientSoftwareName with compact length 0 (null).
    let err = <ApiVersionsRequest as Message>::decode(&mut Bytes::from_static(&[0, 1, 0]), 3)
        .unwrap_err();
    assert_eq!(err, DecodeError::UnexpectedNull("ClientSoftwareName"));
}

#[test]
fn invalid_utf8_is_refused() {
    assert_eq!(
        decode::<String>(&[0, 2, 0xc3, 0x28], false, false).unwrap_err(),
        DecodeError::InvalidUtf8
    );
    assert_eq!(
        decode::<String>(&[2, 0xff], true, false).unwrap_err(),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn invalid_booleans_are_refused() {
    assert_eq!(
        decode::<bool>(&[2], false, false).unwrap_err(),
        DecodeError::InvalidBool(2)
    );
}

#[test]
fn varints_that_never_end_are_refused() {
    let mut endless = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        get_uvarint(&mut endless).unwrap_err(),
        DecodeError::VarintOverflow
    );
    // A fifth byte above 0x0f would overflow 32 bits.
    let mut too_big = Bytes::from_static(&[0x80, 0x80, 0x80, 0x80, 0x10]);
    assert_eq!(
        get_uvarint(&mut too_big).unwrap_err(),
        DecodeError::VarintOverflow
    );
    let mut max = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(get_uvarint(&mut max).unwrap(), u32::MAX);
    let mut cut = Bytes::from_static(&[0xff, 0xff]);
    assert!(matches!(
        get_uvarint(&mut cut).unwrap_err(),
        DecodeError::UnexpectedEof { .. }
    ));
}

/// An ApiVersions v3 request body whose tagged-field section is `tagged`.
fn api_versions_v3(tagged: &[u8]) -> Bytes {
    let mut wire = BytesMut::new();
    wire.put_slice(&[2, b'c', 2, b'1']);
    wire.put_slice(tagged);
    wire.freeze()
}

#[test]
fn truncated_tagged_fields_are_eof() {
    // Says two fields, holds one.
    let err = <ApiVersionsRequest as Message>::decode(&mut api_versions_v3(&[2, 0, 1, 9]), 3)
        .unwrap_err();
    assert!(matches!(err, DecodeError::UnexpectedEof { .. }), "{err:?}");
    // Field declares 5 bytes, 1 is there.
    let err = <ApiVersionsRequest as Message>::decode(&mut api_versions_v3(&[1, 0, 5, 9]), 3)
        .unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            needed: 5,
            remaining: 1
        }
    );
    // No tagged-field section at all.
    let err = <ApiVersionsRequest as Message>::decode(&mut api_versions_v3(&[]), 3).unwrap_err();
    assert!(matches!(err, DecodeError::UnexpectedEof { .. }), "{err:?}");
}

#[test]
fn a_huge_tagged_field_count_is_refused_by_count() {
    let err = <ApiVersionsRequest as Message>::decode(
        &mut api_versions_v3(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
        3,
    )
    .unwrap_err();
    assert_eq!(
        err,
        DecodeError::CountExceedsFrame {
            count: u32::MAX as usize,
            remaining: 0
        }
    );
}

/// A FetchRequest v12 body with nothing but the tagged section `tagged`.
fn fetch_v12(tagged: &[u8]) -> Bytes {
    let mut wire = BytesMut::new();
    wire.put_i32(-1); // replica id
    wire.put_i32(500); // max wait
    wire.put_i32(1); // min bytes
    wire.put_i32(1024); // max bytes
    wire.put_i8(0); // isolation level
    wire.put_i32(0); // session id
    wire.put_i32(-1); // session epoch
    wire.put_u8(1); // topics: empty compact array
    wire.put_u8(1); // forgotten topics: empty
    wire.put_u8(1); // rack id: empty compact string
    wire.put_slice(tagged);
    wire.freeze()
}

#[test]
fn known_tagged_fields_decode_and_sizes_that_lie_are_refused() {
    // Tag 0 (ClusterId) = compact string "ab": 3 bytes.
    let ok =
        <FetchRequest as Message>::decode(&mut fetch_v12(&[1, 0, 3, 3, b'a', b'b']), 12).unwrap();
    assert_eq!(ok.cluster_id.as_deref(), Some("ab"));
    assert!(ok.unknown_tagged_fields.is_empty());
    // Declared 4 bytes, the string uses 3: the extra byte is not skipped.
    let err = <FetchRequest as Message>::decode(&mut fetch_v12(&[1, 0, 4, 3, b'a', b'b', 0]), 12)
        .unwrap_err();
    assert_eq!(
        err,
        DecodeError::TaggedFieldSize {
            tag: 0,
            declared: 4,
            used: 3
        }
    );
    // Declared 2 bytes, the string needs 3: it cannot read past its slice.
    let err = <FetchRequest as Message>::decode(&mut fetch_v12(&[1, 0, 2, 3, b'a', b'b']), 12)
        .unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            needed: 2,
            remaining: 1
        }
    );
}

#[test]
fn duplicate_and_out_of_order_tags_are_refused() {
    let err = <FetchRequest as Message>::decode(&mut fetch_v12(&[2, 5, 0, 5, 0]), 12).unwrap_err();
    assert_eq!(err, DecodeError::TaggedFieldOrder(5));
    let err = <FetchRequest as Message>::decode(&mut fetch_v12(&[2, 7, 0, 6, 0]), 12).unwrap_err();
    assert_eq!(err, DecodeError::TaggedFieldOrder(6));
}

#[test]
fn unknown_tagged_fields_survive_a_round_trip_in_order() {
    // Tag 200 is the two-byte varint [0xc8, 0x01].
    let wire = fetch_v12(&[3, 0, 2, 2, b'x', 9, 1, 0xaa, 0xc8, 0x01, 1, 0xbb]);
    let mut input = wire.clone();
    let decoded = <FetchRequest as Message>::decode(&mut input, 12).unwrap();
    assert!(input.is_empty());
    assert_eq!(decoded.cluster_id.as_deref(), Some("x"));
    let tags: Vec<u32> = decoded
        .unknown_tagged_fields
        .iter()
        .map(|f| f.tag)
        .collect();
    assert_eq!(tags, [9, 200]);
    let mut again = BytesMut::new();
    Message::encode(&decoded, &mut again, 12).unwrap();
    assert_eq!(again.freeze(), wire);
}

#[test]
fn nullable_struct_markers() {
    // ConsumerGroupHeartbeatResponse v0: throttle, error code, error message
    // (compact nullable), member id, member epoch, heartbeat interval, then
    // the Assignment marker: -1 is null.
    let mut wire = BytesMut::new();
    wire.put_i32(0);
    wire.put_i16(0);
    wire.put_u8(0); // error message: null
    wire.put_u8(0); // member id: null
    wire.put_i32(1);
    wire.put_i32(3000);
    wire.put_i8(-1);
    wire.put_u8(0); // no tagged fields
    let wire = wire.freeze();
    let decoded =
        <ConsumerGroupHeartbeatResponse as Message>::decode(&mut wire.clone(), 0).unwrap();
    assert_eq!(decoded.assignment, None);
    let mut again = BytesMut::new();
    Message::encode(&decoded, &mut again, 0).unwrap();
    assert_eq!(again.freeze(), wire);
    // A marker with nothing after it is truncated, not a panic.
    let cut = wire.slice(..wire.len() - 2);
    let mut cut_present = BytesMut::from(&cut[..]);
    cut_present.put_i8(1);
    let err = <ConsumerGroupHeartbeatResponse as Message>::decode(&mut cut_present.freeze(), 0)
        .unwrap_err();
    assert!(matches!(err, DecodeError::UnexpectedEof { .. }), "{err:?}");
}

#[test]
fn metadata_null_topics_means_all_topics_and_is_refused_before_v1() {
    // v1+: null array (-1) is allowed ("all topics").
    let mut wire = BytesMut::new();
    wire.put_i32(-1);
    let decoded = <MetadataRequest as Message>::decode(&mut wire.clone().freeze(), 1).unwrap();
    assert_eq!(decoded.topics, None);
    // v0 has no null: -1 is refused.
    let err = <MetadataRequest as Message>::decode(&mut wire.freeze(), 0).unwrap_err();
    assert_eq!(err, DecodeError::UnexpectedNull("Topics"));
}
