//! Wire fuzzing seeded with real clients' requests.
//!
//! `fuzz/corpus` holds request frames captured from librdkafka and
//! kafka-python by `fuzz/capture.py`. Every seed must decode exactly (the
//! broker understands what real clients send) and every Produce seed's
//! records must pass the batch validator. Then seeded mutations of them
//! (bit flips, cuts, insertions, hostile lengths, splices; for record
//! batches, with the CRC fixed up so the validator reads past it) go
//! through the request decoder and the validator as the broker runs them:
//! each must return Ok or Err, never panic, and never allocate far beyond
//! its size.
//!
//! STROM_FUZZ_ITERATIONS (default 200000, about a second) and
//! STROM_FUZZ_SEED change the run; a failure names the seed and iteration
//! and writes the input to `target/tmp/fuzz-failure.bin`.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use strom_protocol::codec::SampleRng;
use strom_protocol::frame::decode_request_header;
use strom_protocol::messages::{ApiKey, Request};
use strom_protocol::records::{validate_produce_batches, ValidationOptions};

/// Counts every allocation, so one input's can be bounded. The count is
/// process-wide: this file holds a single test, so nothing else runs
/// beside it.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Runs `f` and returns the bytes it allocated in all (a bound on the
/// most it held at once).
fn allocated_bytes(f: impl FnOnce()) -> usize {
    let region = Region::new(ALLOCATOR);
    f();
    region.change().bytes_allocated
}

/// Decompression ceiling for the fuzzed validator: small, so the bound on
/// allocation below means something.
const MAX_DECOMPRESSED: usize = 1 << 20;

fn options(produce_version: i16) -> ValidationOptions {
    ValidationOptions {
        produce_version,
        max_decompressed_bytes: MAX_DECOMPRESSED,
        ..ValidationOptions::new(i64::MAX / 4)
    }
}

/// The most one input may make the decoder and validator allocate:
/// decoded structs are larger than their encoding, buffers grow by
/// doubling, decompression is capped.
fn allocation_bound(input_len: usize) -> usize {
    256 * input_len + 4 * MAX_DECOMPRESSED
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

fn load_corpus() -> Vec<(String, Bytes)> {
    let mut seeds: Vec<(String, Bytes)> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus exists")
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, Bytes::from(std::fs::read(&path).unwrap()))
        })
        .filter(|(name, _)| name.ends_with(".bin"))
        .collect();
    seeds.sort_by(|a, b| a.0.cmp(&b.0));
    seeds
}

/// The records of each partition of a Produce request, with its version.
fn produce_records(request: &Request, version: i16) -> Vec<(i16, Bytes)> {
    let Request::Produce(produce) = request else {
        return Vec::new();
    };
    produce
        .topic_data
        .iter()
        .flat_map(|topic| &topic.partition_data)
        .filter_map(|partition| partition.records.clone())
        .map(|records| (version, records))
        .collect()
}

/// Decodes a frame as the broker does, then validates any Produce records.
fn exercise_frame(frame: Bytes) {
    let Ok(parsed) = decode_request_header(frame) else {
        return;
    };
    let version = parsed.api_version();
    if let Ok((request, _)) = parsed.decode_body() {
        for (version, records) in produce_records(&request, version) {
            let _ = validate_produce_batches(&records, &options(version));
        }
    }
}

/// Every seed decodes exactly and its records validate: the broker
/// understands what real clients send.
fn every_seed_decodes_and_validates(seeds: &[(String, Bytes)]) {
    let mut apis = std::collections::BTreeSet::new();
    let mut batches = 0;
    for (name, frame) in seeds {
        let parsed =
            decode_request_header(frame.clone()).unwrap_or_else(|e| panic!("{name}: header: {e}"));
        let version = parsed.api_version();
        let (request, left) = parsed
            .decode_body()
            .unwrap_or_else(|e| panic!("{name}: body: {e}"));
        assert_eq!(left, 0, "{name}: {left} bytes after the body");
        apis.insert(request.api_key());
        for (version, records) in produce_records(&request, version) {
            validate_produce_batches(&records, &options(version))
                .unwrap_or_else(|e| panic!("{name}: records: {e}"));
            batches += 1;
        }
    }
    for api in [
        ApiKey::ApiVersions,
        ApiKey::Metadata,
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::FindCoordinator,
        ApiKey::JoinGroup,
        ApiKey::SyncGroup,
        ApiKey::Heartbeat,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::ListOffsets,
        ApiKey::CreateTopics,
        ApiKey::InitProducerId,
    ] {
        assert!(apis.contains(&api), "the corpus has no {api:?} request");
    }
    assert!(batches >= 10, "only {batches} record batches in the corpus");
}

fn interesting_i32(rng: &mut SampleRng) -> i32 {
    const VALUES: [i32; 8] = [0, -1, 1, i32::MAX, i32::MIN, 0xffff, 1 << 20, 1 << 30];
    VALUES[rng.below(VALUES.len() as u64) as usize]
}

/// One random change to `input`; `other` is another seed to splice from.
fn mutate(input: &[u8], other: &[u8], rng: &mut SampleRng) -> BytesMut {
    let mut out = BytesMut::from(input);
    let at = |rng: &mut SampleRng, len: usize| rng.below(len as u64 + 1) as usize;
    match rng.below(8) {
        0 if !out.is_empty() => {
            for _ in 0..=rng.below(4) {
                let bit = rng.below(out.len() as u64 * 8) as usize;
                out[bit / 8] ^= 1 << (bit % 8);
            }
        }
        1 => out.truncate(at(rng, input.len())),
        2 => {
            let position = at(rng, out.len());
            let inserted: Vec<u8> = (0..=rng.below(8)).map(|_| rng.next_u64() as u8).collect();
            let tail = out.split_off(position);
            out.extend_from_slice(&inserted);
            out.extend_from_slice(&tail);
        }
        3 if out.len() >= 4 => {
            let position = rng.below(out.len() as u64 - 3) as usize;
            out[position..position + 4].copy_from_slice(&interesting_i32(rng).to_be_bytes());
        }
        4 if !out.is_empty() => {
            // A varint that never ends, or ends far too large.
            let position = rng.below(out.len() as u64) as usize;
            let end = (position + 1 + rng.below(5) as usize).min(out.len());
            out[position..end].fill(0xff);
        }
        5 if !out.is_empty() => {
            let start = rng.below(out.len() as u64) as usize;
            let end = start + rng.below((out.len() - start) as u64 + 1) as usize;
            let chunk = out[start..end].to_vec();
            let position = at(rng, out.len());
            let tail = out.split_off(position);
            out.extend_from_slice(&chunk);
            out.extend_from_slice(&tail);
        }
        6 => {
            let cut = at(rng, out.len());
            out.truncate(cut);
            out.extend_from_slice(&other[at(rng, other.len()).min(other.len())..]);
        }
        _ if out.len() > 2 => {
            let start = rng.below(out.len() as u64) as usize;
            let end = start + rng.below((out.len() - start) as u64 + 1) as usize;
            let tail = out.split_off(end);
            out.truncate(start);
            out.extend_from_slice(&tail);
        }
        _ => {}
    }
    out
}

/// Rewrites a batch's CRC (CRC-32C of everything after the CRC field) so
/// the validator reads the mutated records instead of stopping at the CRC.
fn fix_crc(batch: &mut [u8]) {
    const CRC_AT: usize = 17;
    const CRC_FROM: usize = 21;
    if batch.len() > CRC_FROM {
        let crc = crc32c::crc32c(&batch[CRC_FROM..]);
        batch[CRC_AT..CRC_FROM].copy_from_slice(&crc.to_be_bytes());
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs one input; on a panic or an allocation past the bound, saves it
/// and fails naming how to reproduce it.
fn check(input: Bytes, what: &str, seed: u64, iteration: u64, run: impl Fn(Bytes)) {
    let len = input.len();
    let kept = input.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        allocated_bytes(|| run(input))
    }));
    let failure = match outcome {
        Ok(bytes) if bytes <= allocation_bound(len) => return,
        Ok(bytes) => format!("allocated {bytes} bytes for a {len}-byte input"),
        Err(_) => "panicked".to_string(),
    };
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failure.bin");
    let _ = std::fs::write(&saved, &kept);
    panic!(
        "{what} {failure} (STROM_FUZZ_SEED={seed}, iteration {iteration}); input saved to {}",
        saved.display()
    );
}

#[test]
fn real_client_requests_decode_and_their_mutations_never_panic_or_balloon() {
    let seeds = load_corpus();
    every_seed_decodes_and_validates(&seeds);
    let batches: Vec<(i16, Bytes)> = seeds
        .iter()
        .filter_map(|(_, frame)| {
            let parsed = decode_request_header(frame.clone()).ok()?;
            let version = parsed.api_version();
            Some(produce_records(&parsed.decode_body().ok()?.0, version))
        })
        .flatten()
        .collect();
    let iterations = env_number("STROM_FUZZ_ITERATIONS", 200_000);
    let seed = env_number("STROM_FUZZ_SEED", 0x5eed_f022);
    let mut rng = SampleRng::new(seed);
    for iteration in 0..iterations {
        if iteration % 2 == 0 {
            let (_, input) = &seeds[rng.below(seeds.len() as u64) as usize];
            let (_, other) = &seeds[rng.below(seeds.len() as u64) as usize];
            let mut frame = mutate(input, other, &mut rng);
            for _ in 0..rng.below(3) {
                frame = mutate(&frame, other, &mut rng);
            }
            check(frame.freeze(), "request", seed, iteration, exercise_frame);
        } else {
            let (version, batch) = &batches[rng.below(batches.len() as u64) as usize];
            let (_, other) = &batches[rng.below(batches.len() as u64) as usize];
            let mut mutated = mutate(batch, other, &mut rng);
            if rng.below(4) != 0 {
                fix_crc(&mut mutated);
            }
            let version = *version;
            check(mutated.freeze(), "record batch", seed, iteration, |b| {
                let _ = validate_produce_batches(&b, &options(version));
            });
        }
    }
    eprintln!(
        "{iterations} mutated inputs from {} seeds ({} record batches), seed {seed}",
        seeds.len(),
        batches.len()
    );
}
