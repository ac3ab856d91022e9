//! Committed offsets and the administrative group APIs: OffsetCommit and
//! OffsetFetch across versions, several groups per OffsetFetch (v8),
//! ListGroups, DescribeGroups, DeleteGroups, OffsetDelete, retention, and
//! the internal topic clients may not write to.

mod common;
mod groups_support;

use common::*;
use groups_support::*;
use strom_protocol::error_codes;
use strom_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use strom_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use strom_protocol::messages::*;

#[tokio::test]
async fn committed_offsets_come_back_with_metadata_and_leader_epoch() {
    let broker = group_broker(&[("offset.metadata.max.bytes", "16")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 3, &[]).await;
    create_topic(&mut client, "u", 1, &[]).await;
    commit_simple(
        &mut client,
        "g",
        &[
            ("t", 0, 10, Some("m0")),
            ("t", 1, 20, None),
            ("u", 0, 5, Some("")),
        ],
    )
    .await;
    assert_eq!(
        fetch_offset(&mut client, "g", "t", 0).await,
        (10, 3, "m0".into())
    );
    assert_eq!(
        fetch_offset(&mut client, "g", "t", 1).await,
        (20, 3, String::new())
    );
    assert_eq!(
        fetch_offset(&mut client, "g", "t", 2).await,
        (-1, -1, String::new())
    );
    assert_eq!(fetch_offset(&mut client, "nobody", "t", 0).await.0, -1);

    // A later commit replaces the earlier one.
    commit_simple(&mut client, "g", &[("t", 0, 11, Some("m1"))]).await;
    assert_eq!(
        fetch_offset(&mut client, "g", "t", 0).await,
        (11, 3, "m1".into())
    );

    // Null topics: everything the group committed, sorted.
    let all: OffsetFetchResponse = client
        .call(
            FETCH_OFFSETS_VERSION,
            OffsetFetchRequest {
                group_id: "g".into(),
                topics: None,
                ..Default::default()
            },
        )
        .await;
    let listed: Vec<(String, i32, i64)> = all
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.clone(), p.partition_index, p.committed_offset))
        })
        .collect();
    assert_eq!(
        listed,
        [("t".into(), 0, 11), ("t".into(), 1, 20), ("u".into(), 0, 5)]
    );

    // Per-partition errors: an unknown topic, metadata over the limit.
    let response: OffsetCommitResponse = client
        .call(
            COMMIT_VERSION,
            commit_request(
                "g",
                -1,
                "",
                &[
                    ("nope", 0, 1, None),
                    ("t", 2, 7, Some("far too long metadata")),
                    ("t", 2, 8, None),
                ],
            ),
        )
        .await;
    let errors: Vec<Vec<i16>> = response
        .topics
        .iter()
        .map(|t| t.partitions.iter().map(|p| p.error_code).collect())
        .collect();
    assert_eq!(
        errors,
        [
            vec![error_codes::UNKNOWN_TOPIC_OR_PARTITION],
            vec![error_codes::OFFSET_METADATA_TOO_LARGE, 0]
        ]
    );
    assert_eq!(fetch_offset(&mut client, "g", "t", 2).await.0, 8);
}

#[tokio::test]
async fn every_offset_commit_and_fetch_version_round_trips() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 1, &[]).await;
    for version in 2..=8i16 {
        let offset = 100 + i64::from(version);
        let mut request = commit_request("versions", -1, "", &[("t", 0, offset, Some("v"))]);
        if version < 6 {
            request.topics[0].partitions[0].committed_leader_epoch = -1;
        }
        let response: OffsetCommitResponse = client.call(version, request).await;
        assert_eq!(
            response.topics[0].partitions[0].error_code, 0,
            "commit v{version}"
        );
        for fetch_version in 1..=7i16 {
            let request = OffsetFetchRequest {
                group_id: "versions".into(),
                topics: Some(vec![offset_fetch_request::OffsetFetchRequestTopic {
                    name: "t".into(),
                    partition_indexes: vec![0],
                    ..Default::default()
                }]),
                ..Default::default()
            };
            let response: OffsetFetchResponse = client.call(fetch_version, request).await;
            let p = &response.topics[0].partitions[0];
            assert_eq!(
                (p.error_code, p.committed_offset, p.metadata.as_deref()),
                (0, offset, Some("v")),
                "commit v{version}, fetch v{fetch_version}"
            );
            let epoch = if version >= 6 && fetch_version >= 5 {
                3
            } else {
                -1
            };
            assert_eq!(
                p.committed_leader_epoch, epoch,
                "commit v{version}, fetch v{fetch_version}"
            );
        }
    }
}

/// (group, error, [(partition, offset)]) of an OffsetFetch v8 answer.
type GroupOffsets = (String, i16, Vec<(i32, i64)>);

#[tokio::test]
async fn offset_fetch_v8_answers_several_groups_at_once() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 2, &[]).await;
    commit_simple(&mut client, "one", &[("t", 0, 1, None), ("t", 1, 2, None)]).await;
    commit_simple(&mut client, "two", &[("t", 1, 9, Some("x"))]).await;
    let wanted = |group: &str, partitions: Option<Vec<i32>>| OffsetFetchRequestGroup {
        group_id: group.into(),
        topics: partitions.map(|partition_indexes| {
            vec![OffsetFetchRequestTopics {
                name: "t".into(),
                partition_indexes,
                ..Default::default()
            }]
        }),
        ..Default::default()
    };
    let request = OffsetFetchRequest {
        groups: vec![
            wanted("one", Some(vec![1])),
            wanted("two", None),
            wanted("three", Some(vec![0])),
        ],
        ..Default::default()
    };
    let response: OffsetFetchResponse = client.call(8, request).await;
    let summary: Vec<GroupOffsets> = response
        .groups
        .iter()
        .map(|g| {
            let offsets = g
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (p.partition_index, p.committed_offset))
                })
                .collect();
            (g.group_id.clone(), g.error_code, offsets)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("one".into(), 0, vec![(1, 2)]),
            ("two".into(), 0, vec![(1, 9)]),
            ("three".into(), 0, vec![(0, -1)]),
        ]
    );
}

#[tokio::test]
async fn only_members_commit_into_a_group_with_members() {
    let broker = group_broker(&[]);
    create_topic(&mut broker.connect().await, "t", 1, &[]).await;
    let mut members = form_group(&broker, "members-only", &["t"], 1).await;
    let mut outsider = broker.connect().await;
    let response: OffsetCommitResponse = outsider
        .call(
            COMMIT_VERSION,
            commit_request("members-only", -1, "", &[("t", 0, 1, None)]),
        )
        .await;
    assert_eq!(
        response.topics[0].partitions[0].error_code,
        error_codes::UNKNOWN_MEMBER_ID
    );
    assert_eq!(members[0].commit("t", 0, 42).await, 0);
    assert_eq!(
        fetch_offset(&mut outsider, "members-only", "t", 0).await.0,
        42
    );
    // Once the group is empty, anyone may (a reset tool does).
    members[0].leave().await;
    commit_simple(&mut outsider, "members-only", &[("t", 0, 7, None)]).await;
    assert_eq!(
        fetch_offset(&mut outsider, "members-only", "t", 0).await.0,
        7
    );
}

#[tokio::test]
async fn list_groups_filters_by_state_and_describe_knows_unknown_groups() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let _members = form_group(&broker, "busy", &["t"], 2).await;
    commit_simple(&mut client, "idle", &[("t", 0, 1, None)]).await;

    assert_eq!(
        listed(&mut client, &[]).await,
        [
            ("busy".into(), "Stable".into()),
            ("idle".into(), "Empty".into())
        ]
    );
    assert_eq!(
        listed(&mut client, &["Stable"]).await,
        [("busy".into(), "Stable".into())]
    );
    assert_eq!(
        listed(&mut client, &["empty"]).await,
        [("idle".into(), "Empty".into())]
    );
    assert!(listed(&mut client, &["Dead"]).await.is_empty());
    let all = list_groups(&mut client, &[]).await;
    let busy = all
        .groups
        .iter()
        .find(|g| g.group_id == "busy")
        .expect("busy listed");
    assert_eq!(busy.protocol_type, "consumer");

    let unknown = describe(&mut client, "never-seen").await;
    assert_eq!(
        (unknown.error_code, unknown.group_state.as_str()),
        (0, "Dead")
    );
    assert!(unknown.members.is_empty());
    let idle = describe(&mut client, "idle").await;
    assert_eq!(
        (idle.group_state.as_str(), idle.protocol_type.as_str()),
        ("Empty", "")
    );
}

#[tokio::test]
async fn delete_groups_removes_empty_groups_and_their_offsets() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 1, &[]).await;
    let _members = form_group(&broker, "busy", &["t"], 1).await;
    commit_simple(&mut client, "done", &[("t", 0, 4, None)]).await;
    let request = DeleteGroupsRequest {
        groups_names: vec!["busy".into(), "done".into(), "ghost".into()],
        ..Default::default()
    };
    let response: DeleteGroupsResponse = client.call(2, request.clone()).await;
    let results: Vec<(String, i16)> = response
        .results
        .into_iter()
        .map(|r| (r.group_id, r.error_code))
        .collect();
    assert_eq!(
        results,
        [
            ("busy".into(), error_codes::NON_EMPTY_GROUP),
            ("done".into(), 0),
            ("ghost".into(), error_codes::GROUP_ID_NOT_FOUND)
        ]
    );
    assert_eq!(fetch_offset(&mut client, "done", "t", 0).await.0, -1);
    assert_eq!(
        listed(&mut client, &[]).await,
        [("busy".into(), "Stable".into())]
    );
    let again: DeleteGroupsResponse = client.call(0, request).await;
    assert_eq!(again.results[1].error_code, error_codes::GROUP_ID_NOT_FOUND);
}

fn offset_delete_request(group: &str, partitions: &[(&str, i32)]) -> OffsetDeleteRequest {
    let mut topics: Vec<OffsetDeleteRequestTopic> = Vec::new();
    for (topic, partition) in partitions {
        let entry = OffsetDeleteRequestPartition {
            partition_index: *partition,
            ..Default::default()
        };
        match topics.iter_mut().find(|t| t.name == *topic) {
            Some(t) => t.partitions.push(entry),
            None => topics.push(OffsetDeleteRequestTopic {
                name: topic.to_string(),
                partitions: vec![entry],
                ..Default::default()
            }),
        }
    }
    OffsetDeleteRequest {
        group_id: group.into(),
        topics,
        ..Default::default()
    }
}

#[tokio::test]
async fn offset_delete_spares_subscribed_topics_of_live_groups() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 1, &[]).await;
    create_topic(&mut client, "u", 1, &[]).await;
    let mut members = form_group(&broker, "reader", &["t"], 1).await;
    assert_eq!(members[0].commit("t", 0, 10).await, 0);
    assert_eq!(members[0].commit("u", 0, 20).await, 0);

    let request = offset_delete_request("reader", &[("t", 0), ("u", 0), ("nope", 0)]);
    let response: OffsetDeleteResponse = client.call(0, request).await;
    assert_eq!(response.error_code, 0);
    let errors: Vec<(String, i16)> = response
        .topics
        .iter()
        .map(|t| (t.name.clone(), t.partitions[0].error_code))
        .collect();
    assert_eq!(
        errors,
        [
            ("t".into(), error_codes::GROUP_SUBSCRIBED_TO_TOPIC),
            ("u".into(), 0),
            ("nope".into(), error_codes::UNKNOWN_TOPIC_OR_PARTITION)
        ],
        "the group reads t"
    );
    assert_eq!(fetch_offset(&mut client, "reader", "t", 0).await.0, 10);
    assert_eq!(fetch_offset(&mut client, "reader", "u", 0).await.0, -1);

    let unknown: OffsetDeleteResponse = client
        .call(0, offset_delete_request("ghost", &[("t", 0)]))
        .await;
    assert_eq!(unknown.error_code, error_codes::GROUP_ID_NOT_FOUND);

    // An empty group whose last offsets are deleted is gone.
    members[0].leave().await;
    let response: OffsetDeleteResponse = client
        .call(0, offset_delete_request("reader", &[("t", 0)]))
        .await;
    assert_eq!(
        (
            response.error_code,
            response.topics[0].partitions[0].error_code
        ),
        (0, 0)
    );
    assert!(listed(&mut client, &[]).await.is_empty());
}

#[tokio::test]
async fn offsets_past_their_retention_expire_and_their_group_goes() {
    let broker = group_broker(&[("offsets.retention.check.interval.ms", "20")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 1, &[]).await;
    // OffsetCommit v2-4 may ask for a retention time of its own.
    let mut request = commit_request("short-lived", -1, "", &[("t", 0, 3, None)]);
    request.retention_time_ms = 1;
    request.topics[0].partitions[0].committed_leader_epoch = -1;
    let response: OffsetCommitResponse = client.call(2, request).await;
    assert_eq!(response.topics[0].partitions[0].error_code, 0);
    commit_simple(&mut client, "long-lived", &[("t", 0, 4, None)]).await;

    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    while fetch_offset(&mut client, "short-lived", "t", 0).await.0 != -1 {
        assert!(tokio::time::Instant::now() < deadline, "the offset expired");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        listed(&mut client, &[]).await,
        [("long-lived".into(), "Empty".into())]
    );
    assert_eq!(fetch_offset(&mut client, "long-lived", "t", 0).await.0, 4);
}

#[tokio::test]
async fn auto_creation_gives_the_offsets_topic_its_own_settings() {
    let broker = group_broker(&[("num.partitions", "1")]);
    let mut client = broker.connect().await;
    let metadata: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["__consumer_offsets"]), true),
        )
        .await;
    let topic = &metadata.topics[0];
    assert_eq!((topic.error_code, topic.is_internal), (0, true));
    assert_eq!(
        topic.partitions.len(),
        3,
        "offsets.topic.num.partitions, not num.partitions"
    );
    let created = broker
        .broker()
        .topic("__consumer_offsets")
        .expect("created");
    let config = created.effective_config(&broker.broker().config);
    assert!(config.cleanup_policy.compact && !config.cleanup_policy.delete);
}

#[tokio::test]
async fn clients_cannot_write_to_the_offsets_topic() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 1, &[]).await;
    commit_simple(&mut client, "g", &[("t", 0, 1, None)]).await;
    let metadata: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["__consumer_offsets"]), false),
        )
        .await;
    let topic = &metadata.topics[0];
    assert_eq!((topic.error_code, topic.is_internal), (0, true));
    assert_eq!(topic.partitions.len(), 3, "offsets.topic.num.partitions");
    let response = produce(
        &mut client,
        "__consumer_offsets",
        0,
        batch(
            strom_protocol::records::CompressionType::None,
            now_ms(),
            &["forged"],
        ),
    )
    .await;
    assert_eq!(response.error_code, error_codes::INVALID_TOPIC_EXCEPTION);
}
