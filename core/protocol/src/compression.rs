//! The compression codecs of v2 record batches: gzip, snappy, lz4, zstd.
//!
//! A compressed batch keeps its 61-byte header in the clear and compresses
//! only the records section after it. Each codec here produces what the Java
//! client writes, and reads what any client (Java, librdkafka, Go, Python)
//! writes:
//!
//! - gzip: an RFC 1952 stream (several members are accepted).
//! - snappy: the Java client writes snappy-java's "xerial" framing; librdkafka
//!   may write a plain raw snappy block. Both decode; we write xerial.
//! - lz4: the LZ4 frame format with independent 64 KiB blocks, as Kafka's
//!   `KafkaLZ4BlockOutputStream` writes it (the broken header checksum of
//!   magic 0/1 batches does not concern v2).
//! - zstd: a zstd frame.
//!
//! Decompression is always bounded by a caller-given output limit, so a small
//! compressed batch cannot expand into gigabytes ("zip bomb").

use std::io::{Read, Write};

use thiserror::Error;

use crate::records::CompressionType;

/// Xerial (snappy-java) stream header: magic, then version and compatible
/// version as big-endian i32 (both 1 in every writer we know).
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
const XERIAL_VERSION: i32 = 1;
const XERIAL_COMPATIBLE_VERSION: i32 = 1;
/// snappy-java's default block size, which Kafka's producer uses.
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

/// Kafka's default levels (`compression.gzip.level` = 6 via Deflater default,
/// `compression.zstd.level` = 3).
const GZIP_LEVEL: u32 = 6;
const ZSTD_LEVEL: i32 = 3;

/// Bounds for the zstd decoder's window, in log2 bytes. The window need not
/// exceed the output limit, but the Java client's streaming frames announce
/// windows of up to 2^21 (level 3) and 2^27 (level 22).
const ZSTD_MIN_WINDOW_LOG: u32 = 22;
const ZSTD_MAX_WINDOW_LOG: u32 = 27;

#[derive(Debug, Clone, Error)]
pub enum CompressionError {
    #[error("a compressed record batch decompresses to more than {limit} bytes; refusing it (raise the decompression limit if such batches are legitimate)")]
    OutputTooLarge { limit: usize },
    #[error("{codec:?} data is corrupt: {reason}")]
    Corrupt {
        codec: CompressionType,
        reason: String,
    },
    #[error("compressing with {codec:?} failed: {reason}")]
    Compress {
        codec: CompressionType,
        reason: String,
    },
}

fn corrupt(codec: CompressionType, reason: impl ToString) -> CompressionError {
    CompressionError::Corrupt {
        codec,
        reason: reason.to_string(),
    }
}

fn compress_failed(codec: CompressionType, reason: impl ToString) -> CompressionError {
    CompressionError::Compress {
        codec,
        reason: reason.to_string(),
    }
}

/// Compresses `input` as `codec` would appear inside a v2 batch.
/// `CompressionType::None` returns a copy of the input.
pub fn compress(codec: CompressionType, input: &[u8]) -> Result<Vec<u8>, CompressionError> {
    match codec {
        CompressionType::None => Ok(input.to_vec()),
        CompressionType::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(input.len() / 2 + 64),
                flate2::Compression::new(GZIP_LEVEL),
            );
            encoder
                .write_all(input)
                .map_err(|e| compress_failed(codec, e))?;
            encoder.finish().map_err(|e| compress_failed(codec, e))
        }
        CompressionType::Snappy => compress_xerial_snappy(input),
        CompressionType::Lz4 => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(
                info,
                Vec::with_capacity(input.len() / 2 + 64),
            );
            encoder
                .write_all(input)
                .map_err(|e| compress_failed(codec, e))?;
            encoder.finish().map_err(|e| compress_failed(codec, e))
        }
        CompressionType::Zstd => {
            zstd::bulk::compress(input, ZSTD_LEVEL).map_err(|e| compress_failed(codec, e))
        }
    }
}

/// Decompresses `input`, refusing with [`CompressionError::OutputTooLarge`]
/// as soon as the output would exceed `max_output` bytes. Memory use stays
/// near `max_output` plus the codec's fixed working buffers.
pub fn decompress(
    codec: CompressionType,
    input: &[u8],
    max_output: usize,
) -> Result<Vec<u8>, CompressionError> {
    match codec {
        CompressionType::None => {
            if input.len() > max_output {
                return Err(CompressionError::OutputTooLarge { limit: max_output });
            }
            Ok(input.to_vec())
        }
        CompressionType::Gzip => {
            read_bounded(codec, flate2::read::MultiGzDecoder::new(input), max_output)
        }
        CompressionType::Snappy => {
            if is_xerial(input) {
                decompress_xerial_snappy(input, max_output)
            } else {
                let mut out = Vec::new();
                append_raw_snappy(input, max_output, &mut out)?;
                Ok(out)
            }
        }
        CompressionType::Lz4 => {
            read_bounded(codec, lz4_flex::frame::FrameDecoder::new(input), max_output)
        }
        CompressionType::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::new(input).map_err(|e| corrupt(codec, e))?;
            decoder
                .window_log_max(zstd_window_log_for(max_output))
                .map_err(|e| corrupt(codec, e))?;
            read_bounded(codec, decoder, max_output)
        }
    }
}

fn zstd_window_log_for(max_output: usize) -> u32 {
    let needed = usize::BITS - max_output.saturating_sub(1).leading_zeros();
    needed.clamp(ZSTD_MIN_WINDOW_LOG, ZSTD_MAX_WINDOW_LOG)
}

/// Reads a streaming decoder to its end, but never more than `max_output`
/// bytes: one byte past the limit proves the output is too large.
fn read_bounded(
    codec: CompressionType,
    reader: impl Read,
    max_output: usize,
) -> Result<Vec<u8>, CompressionError> {
    let mut out = Vec::new();
    let cap = u64::try_from(max_output)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > max_output {
        return Err(CompressionError::OutputTooLarge { limit: max_output });
    }
    Ok(out)
}

/// Whether `input` starts with the xerial (snappy-java) stream header.
pub fn is_xerial(input: &[u8]) -> bool {
    input.len() >= XERIAL_MAGIC.len() && input[..XERIAL_MAGIC.len()] == XERIAL_MAGIC
}

fn compress_xerial_snappy(input: &[u8]) -> Result<Vec<u8>, CompressionError> {
    let codec = CompressionType::Snappy;
    let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + input.len() / 2 + 64);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    out.extend_from_slice(&XERIAL_COMPATIBLE_VERSION.to_be_bytes());
    let mut encoder = snap::raw::Encoder::new();
    let mut block = vec![0u8; snap::raw::max_compress_len(XERIAL_BLOCK_SIZE)];
    for chunk in input.chunks(XERIAL_BLOCK_SIZE) {
        let written = encoder
            .compress(chunk, &mut block)
            .map_err(|e| compress_failed(codec, e))?;
        let len = i32::try_from(written).map_err(|e| compress_failed(codec, e))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&block[..written]);
    }
    Ok(out)
}

fn decompress_xerial_snappy(input: &[u8], max_output: usize) -> Result<Vec<u8>, CompressionError> {
    let codec = CompressionType::Snappy;
    if input.len() < XERIAL_HEADER_LEN {
        return Err(corrupt(codec, "xerial header is truncated"));
    }
    let mut rest = &input[XERIAL_HEADER_LEN..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some((len_bytes, after)) = rest.split_first_chunk::<4>() else {
            return Err(corrupt(codec, "xerial block length is truncated"));
        };
        let len = i32::from_be_bytes(*len_bytes);
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= after.len())
            .ok_or_else(|| {
                corrupt(
                    codec,
                    format!("xerial block of {len} bytes but {} remain", after.len()),
                )
            })?;
        let (block, tail) = after.split_at(len);
        append_raw_snappy(block, max_output, &mut out)?;
        rest = tail;
    }
    Ok(out)
}

/// Decompresses one raw snappy block onto `out`. The block declares its
/// decompressed length up front, so the limit is checked before allocating.
fn append_raw_snappy(
    block: &[u8],
    max_output: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressionError> {
    let codec = CompressionType::Snappy;
    let len = snap::raw::decompress_len(block).map_err(|e| corrupt(codec, e))?;
    if len > max_output.saturating_sub(out.len()) {
        return Err(CompressionError::OutputTooLarge { limit: max_output });
    }
    let start = out.len();
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| corrupt(codec, e))?;
    out.truncate(start + written);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CompressionType; 5] = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn every_codec_round_trips() {
        let input = sample();
        for codec in ALL {
            let packed = compress(codec, &input).unwrap();
            let unpacked = decompress(codec, &packed, input.len()).unwrap();
            assert_eq!(unpacked, input, "{codec:?}");
        }
    }

    #[test]
    fn empty_input_round_trips() {
        for codec in ALL {
            let packed = compress(codec, &[]).unwrap();
            assert!(
                decompress(codec, &packed, 0).unwrap().is_empty(),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn output_one_byte_over_the_limit_is_refused() {
        let input = sample();
        for codec in ALL {
            let packed = compress(codec, &input).unwrap();
            let err = decompress(codec, &packed, input.len() - 1).unwrap_err();
            assert!(
                matches!(err, CompressionError::OutputTooLarge { .. }),
                "{codec:?}: {err}"
            );
        }
    }

    #[test]
    fn snappy_writes_xerial_and_reads_raw_too() {
        let input = sample();
        let packed = compress(CompressionType::Snappy, &input).unwrap();
        assert!(is_xerial(&packed));
        assert_eq!(&packed[8..16], &[0, 0, 0, 1, 0, 0, 0, 1]);
        let raw = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        assert!(!is_xerial(&raw));
        let unpacked = decompress(CompressionType::Snappy, &raw, input.len()).unwrap();
        assert_eq!(unpacked, input);
    }

    #[test]
    fn xerial_block_longer_than_the_input_is_corrupt() {
        let mut packed = compress(CompressionType::Snappy, b"hello").unwrap();
        packed[16..20].copy_from_slice(&i32::MAX.to_be_bytes());
        let err = decompress(CompressionType::Snappy, &packed, 1 << 20).unwrap_err();
        assert!(matches!(err, CompressionError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn garbage_is_an_error_for_every_codec() {
        let garbage = [0xffu8; 64];
        for codec in &ALL[1..] {
            assert!(decompress(*codec, &garbage, 1 << 20).is_err(), "{codec:?}");
        }
    }
}
