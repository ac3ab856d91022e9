//! Decoding arbitrary bytes returns Ok or Err and never panics: random byte
//! strings, every truncation of a valid encoding, and bit flips of it, for
//! every message at every version, and whole request frames too.
//!
//! A panic anywhere fails the test; the deterministic generator makes any
//! failure reproducible from the printed message, version and seed.

use bytes::{Bytes, BytesMut};
use strom_protocol::codec::{Exercise, SampleRng};
use strom_protocol::error::DecodeError;
use strom_protocol::frame::decode_request_header;
use strom_protocol::messages::{sample_exercises, ApiKey};

const RANDOM_INPUTS: usize = 64;
const BIT_FLIPS: usize = 64;

fn random_bytes(rng: &mut SampleRng, max_len: u64) -> Bytes {
    let len = rng.below(max_len + 1);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn flip_bit(valid: &Bytes, rng: &mut SampleRng) -> Bytes {
    let mut flipped = BytesMut::from(&valid[..]);
    let bit = rng.below(valid.len() as u64 * 8) as usize;
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped.freeze()
}

/// Returns how many inputs were decoded. Results are ignored: random bytes
/// are sometimes a valid message, and only a panic is a failure here.
fn fuzz_one(exercise: &Exercise, version: i16, rng: &mut SampleRng) -> usize {
    let decode = |bytes: Bytes| -> Result<(), DecodeError> { (exercise.decode)(bytes, version) };
    let mut runs = 0;
    for _ in 0..RANDOM_INPUTS {
        runs += 1;
        let _ = decode(random_bytes(rng, 64));
    }
    let valid = (exercise.round_trip)(version, rng).unwrap_or_else(|e| panic!("{e}"));
    for len in 0..valid.len() {
        runs += 1;
        let _ = decode(valid.slice(..len));
    }
    if !valid.is_empty() {
        for _ in 0..BIT_FLIPS {
            runs += 1;
            let _ = decode(flip_bit(&valid, rng));
        }
    }
    runs
}

#[test]
fn decoding_garbage_never_panics() {
    let mut runs = 0;
    for exercise in sample_exercises() {
        let (min, max) = exercise.versions;
        for version in min..=max {
            let mut rng = SampleRng::new(0x5eed ^ u64::from(version as u16));
            runs += fuzz_one(&exercise, version, &mut rng);
        }
    }
    eprintln!("decoded {runs} malformed inputs without a panic");
}

#[test]
fn valid_encodings_cut_short_are_refused() {
    // Every strict prefix of a FetchRequest v12 misses at least the final
    // tagged-field section: truncation is reported, never silently accepted.
    let mut rng = SampleRng::new(3);
    let exercises = sample_exercises();
    let fetch = exercises
        .iter()
        .find(|e| e.name == "FetchRequest")
        .expect("FetchRequest");
    let valid = (fetch.round_trip)(12, &mut rng).expect("round trip");
    for len in 0..valid.len() {
        assert!(
            (fetch.decode)(valid.slice(..len), 12).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    assert!((fetch.decode)(valid, 12).is_ok());
}

#[test]
fn random_request_frames_never_panic() {
    let mut rng = SampleRng::new(42);
    for &api in ApiKey::ALL {
        let (min, max) = api.codec_versions();
        for version in min..=max {
            for _ in 0..8 {
                let mut frame = BytesMut::new();
                frame.extend_from_slice(&(api as i16).to_be_bytes());
                frame.extend_from_slice(&version.to_be_bytes());
                frame.extend_from_slice(&random_bytes(&mut rng, 48));
                if let Ok(parsed) = decode_request_header(frame.freeze()) {
                    let _ = parsed.decode_body();
                }
            }
        }
    }
}
