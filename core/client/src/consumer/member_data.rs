//! The bytes a consumer puts in JoinGroup protocol metadata and SyncGroup
//! assignments: `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment`
//! behind an i16 version, as the Java client's `ConsumerProtocol` writes
//! them, plus the assignor user data of Java's sticky assignors. Bytes come
//! from other members, so decoding never panics and never allocates by a
//! count read from the wire.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use strom_protocol::codec::Message;
use strom_protocol::messages::{
    consumer_protocol_assignment, consumer_protocol_subscription, ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
};

use super::TopicPartition;
use crate::error::{ClientError, Result};

/// The subscription version written: v1 added owned partitions, v2 the
/// generation they belong to, v3 the rack. The Java client writes v3 too.
const SUBSCRIPTION_VERSION: i16 = 3;
const ASSIGNMENT_VERSION: i16 = 0;
/// The generation of a member that has none (Java's `DEFAULT_GENERATION`).
pub(crate) const NO_GENERATION: i32 = -1;

/// A member's subscription as the leader reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Subscription {
    pub topics: Vec<String>,
    /// Partitions the member still holds while it joins (cooperative
    /// members; eager ones revoke everything first and send none).
    pub owned: Vec<TopicPartition>,
    /// The generation `owned` comes from; `None` below v2.
    pub generation: Option<i32>,
    pub user_data: Option<Bytes>,
}

pub(crate) fn encode_subscription(subscription: &Subscription) -> Result<Bytes> {
    let message = ConsumerProtocolSubscription {
        topics: subscription.topics.clone(),
        user_data: subscription.user_data.clone(),
        owned_partitions: group_by_topic(&subscription.owned)
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_subscription::TopicPartition {
                    topic,
                    partitions,
                    ..Default::default()
                },
            )
            .collect(),
        generation_id: subscription.generation.unwrap_or(NO_GENERATION),
        rack_id: None,
        ..Default::default()
    };
    encode_versioned(&message, SUBSCRIPTION_VERSION)
}

/// Reads versions 0 to 3; a newer version is read as the newest known one,
/// as the spec asks (later versions only append fields).
pub(crate) fn decode_subscription(bytes: &Bytes) -> Result<Subscription> {
    let (version, mut body) = split_version(bytes, "subscription")?;
    let version = version.min(ConsumerProtocolSubscription::VERSIONS.1);
    let message = ConsumerProtocolSubscription::decode(&mut body, version)
        .map_err(|e| malformed("subscription", e))?;
    Ok(Subscription {
        topics: message.topics,
        user_data: message.user_data.filter(|d| !d.is_empty()),
        owned: flatten(
            message
                .owned_partitions
                .into_iter()
                .map(|tp| (tp.topic, tp.partitions)),
        ),
        generation: (version >= 2).then_some(message.generation_id),
    })
}

pub(crate) fn encode_assignment(partitions: &[TopicPartition]) -> Result<Bytes> {
    let assignment = ConsumerProtocolAssignment {
        assigned_partitions: group_by_topic(partitions)
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_assignment::TopicPartition {
                    topic,
                    partitions,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    };
    encode_versioned(&assignment, ASSIGNMENT_VERSION)
}

/// An empty byte string is an empty assignment (what the broker sends a
/// member the leader left out).
pub(crate) fn decode_assignment(bytes: &Bytes) -> Result<Vec<TopicPartition>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let (version, mut body) = split_version(bytes, "assignment")?;
    let version = version.min(ConsumerProtocolAssignment::VERSIONS.1);
    let assignment = ConsumerProtocolAssignment::decode(&mut body, version)
        .map_err(|e| malformed("assignment", e))?;
    Ok(flatten(
        assignment
            .assigned_partitions
            .into_iter()
            .map(|tp| (tp.topic, tp.partitions)),
    ))
}

/// Java `StickyAssignor` user data (its `StickyAssignorUserData` v1): the
/// member's previous assignment and generation. The eager sticky assignor
/// needs it because eager members revoke everything before they join, so
/// their owned partitions are always empty.
pub(crate) fn encode_sticky_user_data(previous: &[TopicPartition], generation: i32) -> Bytes {
    let grouped = group_by_topic(previous);
    let mut buf = BytesMut::new();
    put_count(&mut buf, grouped.len());
    for (topic, partitions) in grouped {
        // Topic names are at most 249 bytes, so an i16 length always fits.
        put_count16(&mut buf, topic.len());
        buf.put_slice(topic.as_bytes());
        put_count(&mut buf, partitions.len());
        for partition in partitions {
            buf.put_i32(partition);
        }
    }
    buf.put_i32(generation);
    buf.freeze()
}

/// Reads `encode_sticky_user_data`'s format (v0, without the generation,
/// too); `None` for bytes that are not sticky user data.
pub(crate) fn decode_sticky_user_data(bytes: &Bytes) -> Option<(Vec<TopicPartition>, i32)> {
    let mut buf = bytes.clone();
    let topics = read_count(&mut buf)?;
    let mut grouped = Vec::new();
    for _ in 0..topics {
        if buf.remaining() < 2 {
            return None;
        }
        let length = usize::try_from(buf.get_i16()).ok()?;
        if buf.remaining() < length {
            return None;
        }
        let topic = String::from_utf8(buf.split_to(length).to_vec()).ok()?;
        let count = read_count(&mut buf)?;
        if buf.remaining() < count.checked_mul(4)? {
            return None;
        }
        let partitions: Vec<i32> = (0..count).map(|_| buf.get_i32()).collect();
        grouped.push((topic, partitions));
    }
    let generation = if buf.remaining() >= 4 {
        buf.get_i32()
    } else {
        NO_GENERATION
    };
    Some((flatten(grouped.into_iter()), generation))
}

/// Java `CooperativeStickyAssignor` user data: just the generation, for
/// leaders that read subscriptions older than v2.
pub(crate) fn encode_generation_user_data(generation: i32) -> Bytes {
    Bytes::copy_from_slice(&generation.to_be_bytes())
}

pub(crate) fn decode_generation_user_data(bytes: &Bytes) -> Option<i32> {
    let mut buf = bytes.clone();
    (buf.remaining() >= 4).then(|| buf.get_i32())
}

/// A non-negative i32 count that the remaining bytes could hold (every
/// element takes at least one byte), so it is safe to loop over.
fn read_count(buf: &mut Bytes) -> Option<usize> {
    if buf.remaining() < 4 {
        return None;
    }
    let count = usize::try_from(buf.get_i32()).ok()?;
    (count <= buf.remaining()).then_some(count)
}

fn put_count(buf: &mut BytesMut, count: usize) {
    buf.put_i32(i32::try_from(count).unwrap_or(i32::MAX));
}

fn put_count16(buf: &mut BytesMut, count: usize) {
    buf.put_i16(i16::try_from(count).unwrap_or(i16::MAX));
}

/// Sorted, duplicate-free partitions from per-topic lists.
fn flatten(grouped: impl Iterator<Item = (String, Vec<i32>)>) -> Vec<TopicPartition> {
    let mut partitions: Vec<TopicPartition> = grouped
        .flat_map(|(topic, partitions)| {
            let topic: std::sync::Arc<str> = topic.into();
            partitions
                .into_iter()
                .map(move |partition| TopicPartition::new(topic.clone(), partition))
        })
        .collect();
    partitions.sort();
    partitions.dedup();
    partitions
}

fn group_by_topic(partitions: &[TopicPartition]) -> BTreeMap<String, Vec<i32>> {
    let mut grouped: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        grouped
            .entry(tp.topic.to_string())
            .or_default()
            .push(tp.partition);
    }
    grouped
}

fn encode_versioned(message: &impl Message, version: i16) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    message
        .encode(&mut buf, version)
        .map_err(|e| ClientError::InvalidArgument(format!("encoding group member data: {e}")))?;
    Ok(buf.freeze())
}

fn split_version(bytes: &Bytes, what: &str) -> Result<(i16, Bytes)> {
    let mut body = bytes.clone();
    if body.remaining() < 2 {
        return Err(malformed(what, "shorter than its version"));
    }
    let version = body.get_i16();
    if version < 0 {
        return Err(malformed(what, format!("negative version {version}")));
    }
    Ok((version, body))
}

fn malformed(what: &str, reason: impl std::fmt::Display) -> ClientError {
    ClientError::Protocol {
        addr: "group coordinator".to_string(),
        reason: format!("a group member's consumer {what} cannot be read: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::test_support::tp;

    #[test]
    fn subscription_v3_round_trips_owned_partitions_and_generation() {
        let subscription = Subscription {
            topics: vec!["a".into(), "b".into()],
            owned: vec![tp("a", 1), tp("b", 0)],
            generation: Some(7),
            user_data: Some(encode_generation_user_data(7)),
        };
        let bytes = encode_subscription(&subscription).unwrap();
        assert_eq!(&bytes[..2], &[0, 3]);
        assert_eq!(decode_subscription(&bytes).unwrap(), subscription);
    }

    #[test]
    fn older_subscription_versions_from_other_clients_decode() {
        for version in 0..=3i16 {
            let message = ConsumerProtocolSubscription {
                topics: vec!["t".into()],
                owned_partitions: vec![consumer_protocol_subscription::TopicPartition {
                    topic: "t".into(),
                    partitions: vec![2, 0],
                    ..Default::default()
                }],
                generation_id: 4,
                rack_id: Some("rack-1".into()),
                ..Default::default()
            };
            let bytes = encode_versioned(&message, version).unwrap();
            let decoded = decode_subscription(&bytes).unwrap();
            assert_eq!(decoded.topics, vec!["t"]);
            let owned = if version >= 1 {
                vec![tp("t", 0), tp("t", 2)]
            } else {
                vec![]
            };
            assert_eq!(decoded.owned, owned, "v{version}");
            assert_eq!(
                decoded.generation,
                (version >= 2).then_some(4),
                "v{version}"
            );
        }
    }

    #[test]
    fn assignment_round_trips_and_empty_bytes_mean_nothing_assigned() {
        let partitions = vec![tp("a", 0), tp("a", 2), tp("b", 1)];
        let bytes = encode_assignment(&partitions).unwrap();
        assert_eq!(&bytes[..2], &[0, 0]);
        assert_eq!(decode_assignment(&bytes).unwrap(), partitions);
        assert!(decode_assignment(&Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn sticky_user_data_round_trips_and_rejects_garbage() {
        let previous = vec![tp("a", 0), tp("a", 3), tp("b", 1)];
        let bytes = encode_sticky_user_data(&previous, 12);
        assert_eq!(decode_sticky_user_data(&bytes), Some((previous, 12)));
        for cut in 0..bytes.len() - 4 {
            assert_eq!(
                decode_sticky_user_data(&bytes.slice(..cut)),
                None,
                "cut {cut}"
            );
        }
        // A huge count is refused before anything is allocated.
        let huge = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 1]);
        assert_eq!(decode_sticky_user_data(&huge), None);
        assert_eq!(
            decode_generation_user_data(&encode_generation_user_data(5)),
            Some(5)
        );
    }

    #[test]
    fn truncated_member_data_is_an_error_not_a_panic() {
        let bytes = encode_assignment(&[tp("topic", 0)]).unwrap();
        for cut in 1..bytes.len() {
            assert!(decode_assignment(&bytes.slice(..cut)).is_err(), "cut {cut}");
        }
        assert!(decode_subscription(&Bytes::from_static(&[0])).is_err());
    }
}
