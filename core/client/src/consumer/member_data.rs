//! The bytes a consumer puts in JoinGroup protocol metadata and SyncGroup
//! assignments: `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment`
//! behind an i16 version, as the Java client's `ConsumerProtocol` writes
//! them. Bytes come from other members, so decoding never panics.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use strom_protocol::codec::Message;
use strom_protocol::messages::{
    consumer_protocol_assignment, consumer_protocol_subscription, ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
};

use super::TopicPartition;
use crate::error::{ClientError, Result};

/// The subscription version written: v1 carries owned partitions; v2+
/// (generation, rack) are for the cooperative assignor and rack awareness.
const SUBSCRIPTION_VERSION: i16 = 1;
const ASSIGNMENT_VERSION: i16 = 0;

pub(crate) fn encode_subscription(topics: &[String], owned: &[TopicPartition]) -> Result<Bytes> {
    let subscription = ConsumerProtocolSubscription {
        topics: topics.to_vec(),
        owned_partitions: group_by_topic(owned)
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_subscription::TopicPartition {
                    topic,
                    partitions,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    };
    encode_versioned(&subscription, SUBSCRIPTION_VERSION)
}

pub(crate) fn decode_subscription(bytes: &Bytes) -> Result<Vec<String>> {
    let (version, mut body) = split_version(bytes, "subscription")?;
    let version = version.min(ConsumerProtocolSubscription::VERSIONS.1);
    let subscription = ConsumerProtocolSubscription::decode(&mut body, version)
        .map_err(|e| malformed("subscription", e))?;
    Ok(subscription.topics)
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
    let mut partitions: Vec<TopicPartition> = assignment
        .assigned_partitions
        .into_iter()
        .flat_map(|tp| {
            let topic = tp.topic;
            tp.partitions
                .into_iter()
                .map(move |partition| TopicPartition {
                    topic: topic.clone(),
                    partition,
                })
        })
        .collect();
    partitions.sort();
    partitions.dedup();
    Ok(partitions)
}

fn group_by_topic(partitions: &[TopicPartition]) -> BTreeMap<String, Vec<i32>> {
    let mut grouped: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        grouped
            .entry(tp.topic.clone())
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

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_string(),
            partition,
        }
    }

    #[test]
    fn subscription_starts_with_its_version_and_round_trips() {
        let bytes = encode_subscription(&["a".into(), "b".into()], &[tp("a", 1)]).unwrap();
        assert_eq!(&bytes[..2], &[0, 1]);
        assert_eq!(decode_subscription(&bytes).unwrap(), vec!["a", "b"]);
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
    fn truncated_member_data_is_an_error_not_a_panic() {
        let bytes = encode_assignment(&[tp("topic", 0)]).unwrap();
        for cut in 1..bytes.len() {
            assert!(decode_assignment(&bytes.slice(..cut)).is_err(), "cut {cut}");
        }
        assert!(decode_subscription(&Bytes::from_static(&[0])).is_err());
    }
}
