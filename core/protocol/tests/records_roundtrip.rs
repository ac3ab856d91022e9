//! Builder → reader round trips for every codec, snappy framings, framing of
//! concatenated batches, and robustness of the readers on hostile bytes.

use bytes::Bytes;
use rand::{rngs::StdRng, Rng, SeedableRng};
use strom_protocol::compression::{self, CompressionError};
use strom_protocol::records::{
    batches, validate_produce_batches, CompressionType, Record, RecordBatch, RecordBatchBuilder,
    RecordError, TimestampType, ValidationOptions, BATCH_HEADER_LEN,
};

const CODECS: [CompressionType; 5] = [
    CompressionType::None,
    CompressionType::Gzip,
    CompressionType::Snappy,
    CompressionType::Lz4,
    CompressionType::Zstd,
];
const LIMIT: usize = 16 << 20;
const T0: i64 = 1_700_000_000_000;

type Headers<'a> = Vec<(&'a [u8], Option<&'a [u8]>)>;

/// A record as the tests describe it: (timestamp, key, value, headers).
struct Sample {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn sample(
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&[u8], Option<&[u8]>)],
) -> Sample {
    Sample {
        timestamp,
        key: key.map(<[u8]>::to_vec),
        value: value.map(<[u8]>::to_vec),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect(),
    }
}

/// A mix of the shapes users send.
fn sample_records() -> Vec<Sample> {
    let big_key = vec![7u8; 3000];
    let big_value = vec![42u8; 70_000];
    vec![
        sample(T0, Some(b"user-1"), Some(b"{\"a\":1}"), &[]),
        sample(T0 + 5, None, Some(b"keyless"), &[]),
        sample(T0 + 3, Some(b"tombstone"), None, &[]),
        sample(
            T0 - 1_000, // earlier than the base timestamp: a negative delta
            Some(b""),
            Some(b""),
            &[
                (b"trace-id", Some(b"abc123")),
                (b"null-valued", None),
                (b"", Some(b"")),
            ],
        ),
        sample(T0 + 9, Some(&big_key), Some(&big_value), &[]),
    ]
}

fn build(codec: CompressionType, base_offset: i64) -> Bytes {
    let mut builder = RecordBatchBuilder::new(codec)
        .with_base_offset(base_offset)
        .with_producer(4000, 3, 17)
        .with_transactional(true);
    for record in sample_records() {
        let headers: Headers = record
            .headers
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        builder
            .append(
                record.timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &headers,
            )
            .unwrap();
    }
    builder.build().unwrap()
}

fn read_all(batch: &RecordBatch) -> Vec<Record> {
    batch
        .records(LIMIT)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn assert_matches_sample(records: &[Record], base_offset: i64) {
    let expected = sample_records();
    assert_eq!(records.len(), expected.len());
    for (i, (record, want)) in records.iter().zip(expected).enumerate() {
        let Sample {
            timestamp,
            key,
            value,
            headers,
        } = want;
        assert_eq!(record.offset_delta, i as i32);
        assert_eq!(record.offset, base_offset + i as i64);
        assert_eq!(record.timestamp, timestamp);
        assert_eq!(record.timestamp_delta, timestamp - T0);
        assert_eq!(record.key.as_deref(), key.as_deref());
        assert_eq!(record.value.as_deref(), value.as_deref());
        let got: Vec<(&[u8], Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|h| (h.key.as_ref(), h.value.as_deref()))
            .collect();
        let want: Vec<(&[u8], Option<&[u8]>)> = headers
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        assert_eq!(got, want, "headers of record {i}");
    }
}

#[test]
fn every_codec_round_trips_keys_nulls_and_headers() {
    for codec in CODECS {
        let bytes = build(codec, 500);
        let batch = RecordBatch::new(bytes.clone()).unwrap();
        batch.verify_crc().unwrap();
        let header = batch.header();
        assert_eq!(header.compression(), Some(codec));
        assert_eq!(header.record_count(), 5);
        assert_eq!(header.last_offset_delta(), 4);
        assert_eq!(header.base_offset(), 500);
        assert_eq!(header.base_timestamp(), T0, "first record's timestamp");
        assert_eq!(header.max_timestamp(), T0 + 9);
        assert_eq!(header.producer_id(), 4000);
        assert_eq!(header.producer_epoch(), 3);
        assert_eq!(header.base_sequence(), 17);
        assert!(header.is_transactional());
        assert!(!header.is_control());
        assert_eq!(header.timestamp_type(), TimestampType::CreateTime);
        assert_eq!(header.total_len(), bytes.len() as i64);
        assert_eq!(header.validate_frame(bytes.len()).unwrap(), bytes.len());
        assert_matches_sample(&read_all(&batch), 500);
    }
}

#[test]
fn compressed_batches_are_smaller_for_repetitive_data() {
    let plain = build(CompressionType::None, 0).len();
    for codec in &CODECS[1..] {
        assert!(build(*codec, 0).len() < plain / 4, "{codec:?}");
    }
}

/// Rebuilds `plain` (an uncompressed batch) with `section` as its records
/// section and `codec_id` in its attributes, with a correct length and CRC.
fn with_section(plain: &[u8], codec_id: i16, section: &[u8]) -> Bytes {
    let mut out = plain[..BATCH_HEADER_LEN].to_vec();
    out.extend_from_slice(section);
    let length = (out.len() - 12) as i32;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let attributes = (i16::from_be_bytes([out[21], out[22]]) & !0x07) | codec_id;
    out[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&out[21..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(out)
}

#[test]
fn snappy_batches_decode_in_both_xerial_and_raw_framing() {
    let plain = build(CompressionType::None, 0);
    let section = &plain[BATCH_HEADER_LEN..];
    let raw = snap::raw::Encoder::new().compress_vec(section).unwrap();
    let xerial = compression::compress(CompressionType::Snappy, section).unwrap();
    assert!(compression::is_xerial(&xerial));
    assert!(!compression::is_xerial(&raw));
    for framed in [raw, xerial] {
        let bytes = with_section(&plain, 2, &framed);
        let batch = RecordBatch::new(bytes.clone()).unwrap();
        batch.verify_crc().unwrap();
        assert_matches_sample(&read_all(&batch), 0);
        let validated = validate_produce_batches(&bytes, &ValidationOptions::new(T0)).unwrap();
        assert_eq!(validated[0].record_count, 5);
    }
}

#[test]
fn fetch_buffers_yield_whole_batches_and_ignore_a_partial_tail() {
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    for (i, codec) in CODECS.iter().enumerate() {
        buf.extend_from_slice(&build(*codec, i as i64 * 5));
        ends.push(buf.len());
    }
    let whole = buf.len();
    let partial = build(CompressionType::None, 99);
    buf.extend_from_slice(&partial[..partial.len() / 2]);

    let mut iter = batches(Bytes::from(buf));
    let mut seen = 0;
    for (i, batch) in iter.by_ref().enumerate() {
        let batch = batch.unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.header().base_offset(), i as i64 * 5);
        assert_matches_sample(&read_all(&batch), i as i64 * 5);
        seen += 1;
    }
    assert_eq!(seen, CODECS.len());
    assert_eq!(iter.partial_tail_len(), partial.len() / 2);
    assert_eq!(*ends.last().unwrap(), whole);
}

#[test]
fn fetch_buffer_with_a_tail_shorter_than_the_length_field_is_fine() {
    let mut buf = build(CompressionType::None, 0).to_vec();
    buf.extend_from_slice(&[0, 0, 0, 0, 0]);
    let mut iter = batches(Bytes::from(buf));
    assert!(iter.next().unwrap().is_ok());
    assert!(iter.next().is_none());
    assert_eq!(iter.partial_tail_len(), 5);
}

#[test]
fn fetch_buffer_with_a_corrupt_length_stops_with_an_error() {
    let mut buf = build(CompressionType::None, 0).to_vec();
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(&3i32.to_be_bytes());
    buf.extend_from_slice(&[0; 20]);
    let mut iter = batches(Bytes::from(buf));
    assert!(iter.next().unwrap().is_ok());
    let err = iter.next().unwrap().unwrap_err();
    assert!(matches!(err, RecordError::LengthTooSmall { .. }), "{err}");
    assert!(iter.next().is_none());
}

#[test]
fn log_append_time_batches_read_every_record_at_the_max_timestamp() {
    let mut builder = RecordBatchBuilder::new(CompressionType::None)
        .with_timestamp_type(TimestampType::LogAppendTime);
    builder.append(T0, None, Some(b"a"), &[]).unwrap();
    builder.append(T0 + 50, None, Some(b"b"), &[]).unwrap();
    let batch = RecordBatch::new(builder.build().unwrap()).unwrap();
    assert!(read_all(&batch).iter().all(|r| r.timestamp == T0 + 50));
}

#[test]
fn building_an_empty_batch_is_an_error() {
    assert!(RecordBatchBuilder::new(CompressionType::None)
        .build()
        .is_err());
}

#[test]
fn decompression_refuses_a_bomb_for_every_codec() {
    let zeros = vec![0u8; 8 << 20];
    for codec in &CODECS[1..] {
        let bomb = compression::compress(*codec, &zeros).unwrap();
        assert!(
            bomb.len() < zeros.len() / 20,
            "{codec:?} should compress zeros well"
        );
        let err = compression::decompress(*codec, &bomb, 1 << 20).unwrap_err();
        assert!(
            matches!(err, CompressionError::OutputTooLarge { limit } if limit == 1 << 20),
            "{codec:?}: {err}"
        );
    }
}

#[test]
fn reading_a_bomb_batch_is_refused_with_message_too_large() {
    let zeros = vec![0u8; 4 << 20];
    for codec in &CODECS[1..] {
        let mut builder = RecordBatchBuilder::new(*codec);
        builder.append(T0, None, Some(&zeros), &[]).unwrap();
        let batch = RecordBatch::new(builder.build().unwrap()).unwrap();
        let err = batch.records(1 << 20).unwrap_err();
        assert_eq!(err.kafka_error_code(), 10, "{codec:?}: {err}");
        let mut opts = ValidationOptions::new(T0);
        opts.max_decompressed_bytes = 1 << 20;
        let err = validate_produce_batches(batch.as_bytes(), &opts).unwrap_err();
        assert_eq!(err.kafka_error_code(), 10, "{codec:?}: {err}");
    }
}

/// One record, encoded by hand, whose header count is `header_count`.
fn batch_with_header_count(header_count: i32) -> Bytes {
    let plain = build(CompressionType::None, 0);
    let mut body = vec![0u8, 0, 0]; // attributes, timestamp delta 0, offset delta 0
    body.push(1); // key: null (zigzag -1)
    body.push(1); // value: null
    zigzag_varint(header_count, &mut body);
    let mut section = Vec::new();
    zigzag_varint(body.len() as i32, &mut section);
    section.extend_from_slice(&body);
    let mut bytes = with_section(&plain, 0, &section).to_vec();
    bytes[23..27].copy_from_slice(&0i32.to_be_bytes()); // last offset delta
    bytes[57..61].copy_from_slice(&1i32.to_be_bytes()); // record count
    let crc = crc32c::crc32c(&bytes[21..]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(bytes)
}

fn zigzag_varint(value: i32, out: &mut Vec<u8>) {
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[test]
fn a_huge_header_count_in_a_tiny_record_is_an_error_not_an_allocation() {
    let bytes = batch_with_header_count(i32::MAX);
    let batch = RecordBatch::new(bytes.clone()).unwrap();
    let results: Vec<_> = batch.records(LIMIT).unwrap().collect();
    assert_eq!(results.len(), 1);
    let err = results.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(err, RecordError::MalformedRecord { index: 0, .. }),
        "{err}"
    );

    let err = validate_produce_batches(&bytes, &ValidationOptions::new(T0)).unwrap_err();
    assert_eq!(err.kafka_error_code(), 87, "{err}");
    assert_eq!(err.record_index(), Some(0));

    // The same shape with zero headers is a valid record.
    let ok = batch_with_header_count(0);
    validate_produce_batches(&ok, &ValidationOptions::new(T0)).unwrap();
}

#[test]
fn a_huge_record_count_in_a_tiny_batch_is_an_error() {
    let mut bytes = build(CompressionType::None, 0).to_vec();
    bytes[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    let batch = RecordBatch::new(Bytes::from(bytes)).unwrap();
    let results: Vec<_> = batch.records(LIMIT).unwrap().collect();
    assert_eq!(results.len(), 6, "five records, then the count mismatch");
    let err = results.into_iter().last().unwrap().unwrap_err();
    assert!(
        matches!(err, RecordError::RecordCountMismatch { found: 5, .. }),
        "{err}"
    );
}

/// Runs every reader over `bytes`; the only acceptable outcomes are values
/// and errors.
fn exercise_readers(bytes: &[u8]) {
    let mut opts = ValidationOptions::new(T0);
    opts.max_decompressed_bytes = 1 << 20;
    let _ = validate_produce_batches(bytes, &opts);
    let shared = Bytes::copy_from_slice(bytes);
    let _ = RecordBatch::new(shared.clone());
    for batch in batches(shared).flatten() {
        let _ = batch.verify_crc();
        if let Ok(records) = batch.records(1 << 20) {
            for record in records {
                let _ = record;
            }
        }
    }
}

#[test]
fn readers_never_panic_on_random_bytes() {
    let mut rng = StdRng::seed_from_u64(0x5712_0a11);
    for _ in 0..3000 {
        let len = rng.gen_range(0..400);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // Half the time make the frame plausible so the deeper paths run.
        if len >= BATCH_HEADER_LEN && rng.gen_bool(0.5) {
            bytes[8..12].copy_from_slice(&((len - 12) as i32).to_be_bytes());
            bytes[16] = 2;
            let crc = crc32c::crc32c(&bytes[21..]);
            bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        }
        exercise_readers(&bytes);
    }
}

#[test]
fn readers_never_panic_on_mutated_valid_batches() {
    let mut rng = StdRng::seed_from_u64(42);
    let originals: Vec<Vec<u8>> = CODECS.iter().map(|c| build(*c, 0).to_vec()).collect();
    for round in 0..2000 {
        let mut bytes = originals[round % originals.len()].clone();
        for _ in 0..rng.gen_range(1..6) {
            let at = rng.gen_range(0..bytes.len());
            bytes[at] = rng.gen();
        }
        if rng.gen_bool(0.3) {
            bytes.truncate(rng.gen_range(0..bytes.len()));
        }
        // Re-seal the CRC so the mutation reaches the record walk.
        if bytes.len() >= BATCH_HEADER_LEN {
            let crc = crc32c::crc32c(&bytes[21..]);
            bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        }
        exercise_readers(&bytes);
    }
}
