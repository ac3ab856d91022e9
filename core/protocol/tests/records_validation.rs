//! The broker's produce-path checks: each bad batch is refused with the
//! Kafka error code a real broker would answer, and good batches pass.

use bytes::Bytes;
use strom_protocol::error_codes::{
    CORRUPT_MESSAGE, INVALID_RECORD, INVALID_TIMESTAMP, MESSAGE_TOO_LARGE,
    UNSUPPORTED_COMPRESSION_TYPE, UNSUPPORTED_FOR_MESSAGE_FORMAT,
};
use strom_protocol::records::{
    rewrite, validate_produce_batches, CompressionType, RecordBatchBuilder, RecordError,
    TimestampType, ValidationOptions,
};

const NOW: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

const CODECS: [CompressionType; 5] = [
    CompressionType::None,
    CompressionType::Gzip,
    CompressionType::Snappy,
    CompressionType::Lz4,
    CompressionType::Zstd,
];

fn batch_with(codec: CompressionType, timestamps: &[i64]) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(codec).with_producer(7, 0, 0);
    for (i, ts) in timestamps.iter().enumerate() {
        let key = format!("key-{i}");
        builder
            .append(
                *ts,
                Some(key.as_bytes()),
                Some(b"value"),
                &[(b"h", Some(b"v"))],
            )
            .unwrap();
    }
    builder.build().unwrap().to_vec()
}

fn good(codec: CompressionType) -> Vec<u8> {
    batch_with(codec, &[NOW - 10, NOW + 20, NOW])
}

fn opts() -> ValidationOptions {
    ValidationOptions::new(NOW)
}

fn reseal(bytes: &mut [u8]) {
    let crc = crc32c::crc32c(&bytes[21..]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
}

fn refused(bytes: &[u8], opts: &ValidationOptions) -> RecordError {
    match validate_produce_batches(bytes, opts) {
        Ok(batches) => panic!("expected a refusal, got {batches:?}"),
        Err(err) => err,
    }
}

fn assert_code(bytes: &[u8], opts: &ValidationOptions, code: i16) -> RecordError {
    let err = refused(bytes, opts);
    assert_eq!(err.kafka_error_code(), code, "{err}");
    assert!(!err.to_string().is_empty());
    err
}

#[test]
fn good_batches_of_every_codec_are_accepted() {
    for codec in CODECS {
        let bytes = good(codec);
        let validated = validate_produce_batches(&bytes, &opts()).unwrap();
        assert_eq!(validated.len(), 1, "{codec:?}");
        let batch = &validated[0];
        assert_eq!(batch.byte_range, 0..bytes.len());
        assert_eq!(batch.record_count, 3);
        assert_eq!(batch.producer_id, 7);
        assert_eq!(batch.producer_epoch, 0);
        assert_eq!(batch.base_sequence, 0);
        assert!(!batch.is_transactional);
        assert_eq!(batch.compression, codec);
        assert_eq!(batch.max_timestamp, NOW + 20);
    }
}

#[test]
fn a_corrupt_crc_is_corrupt_message_and_retriable() {
    for codec in CODECS {
        let mut bytes = good(codec);
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let err = assert_code(&bytes, &opts(), CORRUPT_MESSAGE);
        assert!(matches!(err, RecordError::CrcMismatch { .. }), "{err}");
        assert!(err.is_retriable());
    }
}

#[test]
fn legacy_magic_is_invalid_record_and_unknown_magic_is_corrupt() {
    let mut bytes = good(CompressionType::None);
    bytes[16] = 1;
    assert_code(&bytes, &opts(), INVALID_RECORD);
    let mut old_request = opts();
    old_request.produce_version = 2;
    assert_code(&bytes, &old_request, UNSUPPORTED_FOR_MESSAGE_FORMAT);
    bytes[16] = 3;
    assert_code(&bytes, &opts(), CORRUPT_MESSAGE);
}

#[test]
fn truncated_batches_and_trailing_bytes_are_corrupt_message() {
    let bytes = good(CompressionType::None);
    for cut in [1, 11, 30, 61, bytes.len() - 1] {
        assert_code(&bytes[..cut], &opts(), CORRUPT_MESSAGE);
    }
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(&[0, 0, 0]);
    assert_code(&trailing, &opts(), CORRUPT_MESSAGE);

    let mut tiny_length = bytes.clone();
    tiny_length[8..12].copy_from_slice(&20i32.to_be_bytes());
    let err = assert_code(&tiny_length, &opts(), CORRUPT_MESSAGE);
    assert!(matches!(err, RecordError::LengthTooSmall { .. }), "{err}");
    let mut negative_length = bytes;
    negative_length[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    assert_code(&negative_length, &opts(), CORRUPT_MESSAGE);
}

#[test]
fn no_batch_or_two_batches_are_invalid_record() {
    assert_code(&[], &opts(), INVALID_RECORD);
    let mut two = good(CompressionType::None);
    two.extend_from_slice(&good(CompressionType::Lz4));
    let err = assert_code(&two, &opts(), INVALID_RECORD);
    assert!(matches!(err, RecordError::MultipleBatches), "{err}");
}

#[test]
fn a_batch_over_max_message_bytes_is_message_too_large() {
    let bytes = good(CompressionType::None);
    let mut small_topic = opts();
    small_topic.max_message_bytes = bytes.len() - 1;
    assert_code(&bytes, &small_topic, MESSAGE_TOO_LARGE);
    small_topic.max_message_bytes = bytes.len();
    validate_produce_batches(&bytes, &small_topic).unwrap();
}

#[test]
fn header_counts_that_disagree_are_invalid_record() {
    for codec in CODECS {
        // Count and last offset delta agree, but there are fewer records.
        let mut more_declared = good(codec);
        more_declared[23..27].copy_from_slice(&3i32.to_be_bytes());
        more_declared[57..61].copy_from_slice(&4i32.to_be_bytes());
        reseal(&mut more_declared);
        let err = assert_code(&more_declared, &opts(), INVALID_RECORD);
        assert!(
            matches!(
                err,
                RecordError::RecordCountMismatch {
                    declared: 4,
                    found: 3
                }
            ),
            "{codec:?}: {err}"
        );

        // Fewer declared than present.
        let mut fewer_declared = good(codec);
        fewer_declared[23..27].copy_from_slice(&1i32.to_be_bytes());
        fewer_declared[57..61].copy_from_slice(&2i32.to_be_bytes());
        reseal(&mut fewer_declared);
        let err = assert_code(&fewer_declared, &opts(), INVALID_RECORD);
        assert!(
            matches!(
                err,
                RecordError::RecordCountMismatch {
                    declared: 2,
                    found: 3
                }
            ),
            "{codec:?}: {err}"
        );
    }

    let mut count_only = good(CompressionType::None);
    count_only[57..61].copy_from_slice(&5i32.to_be_bytes());
    reseal(&mut count_only);
    let err = assert_code(&count_only, &opts(), INVALID_RECORD);
    assert!(
        matches!(err, RecordError::OffsetRangeMismatch { .. }),
        "{err}"
    );

    let mut empty = good(CompressionType::None);
    empty[23..27].copy_from_slice(&0i32.to_be_bytes());
    empty[57..61].copy_from_slice(&0i32.to_be_bytes());
    reseal(&mut empty);
    assert_code(&empty, &opts(), INVALID_RECORD);
}

#[test]
fn offset_deltas_out_of_order_are_invalid_record() {
    // Two single-record batches spliced: both records carry offset delta 0.
    let first = batch_with(CompressionType::None, &[NOW]);
    let second = batch_with(CompressionType::None, &[NOW]);
    let mut bytes = first.clone();
    bytes.extend_from_slice(&second[61..]);
    let length = (bytes.len() - 12) as i32;
    bytes[8..12].copy_from_slice(&length.to_be_bytes());
    bytes[23..27].copy_from_slice(&1i32.to_be_bytes());
    bytes[57..61].copy_from_slice(&2i32.to_be_bytes());
    reseal(&mut bytes);
    let err = assert_code(&bytes, &opts(), INVALID_RECORD);
    assert!(
        matches!(
            err,
            RecordError::OffsetDeltaOutOfOrder {
                index: 1,
                offset_delta: 0
            }
        ),
        "{err}"
    );
    assert_eq!(err.record_index(), Some(1));
}

#[test]
fn timestamps_outside_the_topic_bounds_are_invalid_timestamp() {
    for codec in CODECS {
        let future = batch_with(codec, &[NOW, NOW + HOUR + 1]);
        let err = assert_code(&future, &opts(), INVALID_TIMESTAMP);
        assert_eq!(err.record_index(), Some(1), "{codec:?}");
        validate_produce_batches(&batch_with(codec, &[NOW + HOUR]), &opts()).unwrap();
    }

    let ancient = batch_with(CompressionType::None, &[0]);
    validate_produce_batches(&ancient, &opts()).unwrap(); // before.max.ms defaults to unlimited
    let mut strict = opts();
    strict.timestamp_before_max_ms = 24 * HOUR;
    assert_code(&ancient, &strict, INVALID_TIMESTAMP);

    // Extreme values must not wrap around into the accepted range.
    let extreme = batch_with(CompressionType::None, &[i64::MIN + 1]);
    assert_code(&extreme, &strict, INVALID_TIMESTAMP);

    // -1 means "no timestamp" and is not range-checked.
    validate_produce_batches(&batch_with(CompressionType::None, &[-1]), &strict).unwrap();
}

#[test]
fn log_append_time_topics_skip_the_range_but_refuse_producer_log_append_time() {
    let mut topic = opts();
    topic.timestamp_type = TimestampType::LogAppendTime;
    let future = batch_with(CompressionType::None, &[NOW + 10 * HOUR]);
    validate_produce_batches(&future, &topic).unwrap();

    let mut builder = RecordBatchBuilder::new(CompressionType::None)
        .with_timestamp_type(TimestampType::LogAppendTime);
    builder.append(NOW, None, Some(b"v"), &[]).unwrap();
    let producer_log_append = builder.build().unwrap();
    assert_code(&producer_log_append, &topic, INVALID_TIMESTAMP);
}

#[test]
fn unknown_codecs_are_unsupported_compression_type() {
    for id in 5..=7i16 {
        let mut bytes = good(CompressionType::None);
        let attributes = (i16::from_be_bytes([bytes[21], bytes[22]]) & !0x07) | id;
        bytes[21..23].copy_from_slice(&attributes.to_be_bytes());
        reseal(&mut bytes);
        let err = assert_code(&bytes, &opts(), UNSUPPORTED_COMPRESSION_TYPE);
        assert!(
            matches!(err, RecordError::UnknownCompression(got) if got == id),
            "{err}"
        );
    }
    let mut before_zstd = opts();
    before_zstd.produce_version = 6;
    assert_code(
        &good(CompressionType::Zstd),
        &before_zstd,
        UNSUPPORTED_COMPRESSION_TYPE,
    );
    validate_produce_batches(&good(CompressionType::Lz4), &before_zstd).unwrap();
}

#[test]
fn garbage_inside_a_compressed_batch_is_corrupt_message() {
    let mut bytes = good(CompressionType::Lz4);
    for b in &mut bytes[70..] {
        *b = 0xAB;
    }
    reseal(&mut bytes);
    assert_code(&bytes, &opts(), CORRUPT_MESSAGE);
}

#[test]
fn producer_mistakes_in_the_header_are_invalid_record() {
    let mut builder = RecordBatchBuilder::new(CompressionType::None).with_control(true);
    builder.append(NOW, Some(b"k"), Some(b"v"), &[]).unwrap();
    let err = assert_code(&builder.build().unwrap(), &opts(), INVALID_RECORD);
    assert!(matches!(err, RecordError::ControlBatchFromClient), "{err}");

    let mut builder = RecordBatchBuilder::new(CompressionType::None).with_base_offset(42);
    builder.append(NOW, Some(b"k"), Some(b"v"), &[]).unwrap();
    let err = assert_code(&builder.build().unwrap(), &opts(), INVALID_RECORD);
    assert!(matches!(err, RecordError::NonZeroBaseOffset(42)), "{err}");

    let mut builder = RecordBatchBuilder::new(CompressionType::None).with_producer(9, 1, -1);
    builder.append(NOW, Some(b"k"), Some(b"v"), &[]).unwrap();
    let err = assert_code(&builder.build().unwrap(), &opts(), INVALID_RECORD);
    assert!(matches!(err, RecordError::InvalidSequence { .. }), "{err}");
}

#[test]
fn compacted_topics_need_a_key_on_every_record() {
    let mut builder = RecordBatchBuilder::new(CompressionType::Snappy);
    builder.append(NOW, Some(b"k"), Some(b"v"), &[]).unwrap();
    builder.append(NOW, None, Some(b"v"), &[]).unwrap();
    let bytes = builder.build().unwrap();
    validate_produce_batches(&bytes, &opts()).unwrap();
    let mut compacted = opts();
    compacted.compacted_topic = true;
    let err = assert_code(&bytes, &compacted, INVALID_RECORD);
    assert_eq!(err.record_index(), Some(1));
}

#[test]
fn a_record_whose_length_disagrees_with_its_contents_is_invalid_record() {
    let mut bytes = good(CompressionType::None);
    // The first record's length varint is the first byte of the section:
    // make it claim one byte less than the record holds.
    let first_len = bytes[61];
    bytes[61] = first_len - 2; // zigzag: -2 is one less
    reseal(&mut bytes);
    let err = assert_code(&bytes, &opts(), INVALID_RECORD);
    assert!(
        matches!(err, RecordError::MalformedRecord { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn the_validated_max_timestamp_can_be_written_back() {
    let mut bytes = good(CompressionType::None);
    bytes[35..43].copy_from_slice(&0i64.to_be_bytes()); // a wrong max timestamp
    reseal(&mut bytes);
    let validated = validate_produce_batches(&bytes, &opts()).unwrap();
    rewrite::set_max_timestamp(&mut bytes, validated[0].max_timestamp);
    let batch = strom_protocol::records::RecordBatch::new(Bytes::from(bytes)).unwrap();
    batch.verify_crc().unwrap();
    assert_eq!(batch.header().max_timestamp(), NOW + 20);
}
