//! The producer's `partitioner` setting, by librdkafka's names, so a
//! program moving from librdkafka keeps its keys on the partitions they
//! were on: a keyed record's partition is a hash of its key modulo the
//! partition count; a record without a key goes to the topic's sticky
//! partition (the `*_random` partitioners, and `random`), or is hashed
//! like an empty key (`murmur2`, `consistent`, `fnv1a`), as librdkafka
//! does.
//!
//! The default is `murmur2_random`: the Java client's partitioner, which
//! librdkafka offers under that name.

use strom_protocol::murmur2::{murmur2, to_positive};

/// How a record's partition is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Partitioner {
    /// murmur2 of the key (Java's); no key: sticky.
    #[default]
    Murmur2Random,
    /// murmur2 of the key, an absent key hashed as empty.
    Murmur2,
    /// CRC-32 of the key (librdkafka's default); no key: sticky.
    ConsistentRandom,
    /// CRC-32 of the key, an absent key hashed as empty.
    Consistent,
    /// FNV-1a of the key (Sarama's default); no key: sticky.
    Fnv1aRandom,
    /// FNV-1a of the key, an absent key hashed as empty.
    Fnv1a,
    /// Ignores keys: every record goes to the sticky partition.
    Random,
}

impl Partitioner {
    /// The setting's value by librdkafka's name.
    pub fn parse(name: &str) -> Option<Partitioner> {
        Some(match name {
            "murmur2_random" => Partitioner::Murmur2Random,
            "murmur2" => Partitioner::Murmur2,
            "consistent_random" => Partitioner::ConsistentRandom,
            "consistent" => Partitioner::Consistent,
            "fnv1a_random" => Partitioner::Fnv1aRandom,
            "fnv1a" => Partitioner::Fnv1a,
            "random" => Partitioner::Random,
            _ => return None,
        })
    }

    /// The partition of a record with this key among `count` (> 0)
    /// partitions, or `None` when it goes to the sticky partition.
    pub fn partition(self, key: Option<&[u8]>, count: i32) -> Option<i32> {
        let count = count.max(1);
        let key = match (self, key) {
            (Partitioner::Random, _) => return None,
            (_, Some(key)) => key,
            (Partitioner::Murmur2 | Partitioner::Consistent | Partitioner::Fnv1a, None) => &[],
            (_, None) => return None,
        };
        let partition = match self {
            Partitioner::Murmur2Random | Partitioner::Murmur2 => to_positive(murmur2(key)) % count,
            // librdkafka takes the unsigned hash modulo the count.
            Partitioner::ConsistentRandom | Partitioner::Consistent => {
                (crc32fast::hash(key) % count.unsigned_abs()) as i32
            }
            // As Sarama (whose partitions librdkafka's fnv1a matches): the
            // hash as a signed number, the remainder's absolute value.
            Partitioner::Fnv1aRandom | Partitioner::Fnv1a => ((fnv1a(key) as i32) % count).abs(),
            Partitioner::Random => return None,
        };
        Some(partition)
    }
}

/// 32-bit FNV-1a.
fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hashes() {
        // CRC-32 (IEEE) and FNV-1a reference values.
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    }

    #[test]
    fn keyless_records_are_sticky_or_hashed_as_empty() {
        assert_eq!(Partitioner::Murmur2Random.partition(None, 6), None);
        assert_eq!(Partitioner::ConsistentRandom.partition(None, 6), None);
        assert_eq!(Partitioner::Consistent.partition(None, 6), Some(0));
        assert_eq!(Partitioner::Random.partition(Some(b"key"), 6), None);
        assert_eq!(
            Partitioner::Murmur2.partition(None, 6),
            Some(to_positive(murmur2(b"")) % 6)
        );
    }

    #[test]
    fn keyed_records_follow_their_hash() {
        let crc = crc32fast::hash(b"user-42");
        assert_eq!(
            Partitioner::ConsistentRandom.partition(Some(b"user-42"), 7),
            Some((crc % 7) as i32)
        );
        assert_eq!(
            Partitioner::Murmur2Random.partition(Some(b"user-42"), 7),
            Some(to_positive(murmur2(b"user-42")) % 7)
        );
        assert_eq!(
            Partitioner::parse("consistent_random"),
            Some(Partitioner::ConsistentRandom)
        );
        assert_eq!(Partitioner::parse("round_robin"), None);
    }
}
