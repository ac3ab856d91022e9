//! Groups and committed offsets live in `__consumer_offsets`: they survive
//! a clean stop and a crash, deleted groups stay deleted, and while the
//! topic is replayed the coordinator answers COORDINATOR_LOAD_IN_PROGRESS.

mod common;
mod groups_support;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use groups_support::*;
use strom_broker::config::BrokerConfig;
use strom_broker::handlers::{group_offsets, groups};
use strom_broker::state::Broker;
use strom_protocol::error_codes;
use strom_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use strom_protocol::messages::*;

/// Leaves behind: "consumers" (a consumer group that emptied after two
/// generations, with offsets), "simple" (offsets only) and "deleted".
async fn populate(broker: &TestBroker) {
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 2, &[]).await;
    let mut members = form_group(broker, "consumers", &["t"], 2).await;
    assert_eq!(members[0].commit("t", 0, 100).await, 0);
    assert_eq!(members[1].commit("t", 1, 200).await, 0);
    for member in members.iter_mut() {
        member.leave().await;
    }
    commit_simple(&mut client, "simple", &[("t", 0, 7, Some("note"))]).await;
    commit_simple(&mut client, "deleted", &[("t", 0, 1, None)]).await;
    let request = DeleteGroupsRequest {
        groups_names: vec!["deleted".into()],
        ..Default::default()
    };
    let response: DeleteGroupsResponse = client.call(2, request).await;
    assert_eq!(response.results[0].error_code, 0);
}

/// Waits for the replay to end: ListGroups stops reporting it.
async fn wait_loaded(client: &mut Client) {
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    while list_groups(client, &[]).await.error_code == error_codes::COORDINATOR_LOAD_IN_PROGRESS {
        assert!(tokio::time::Instant::now() < deadline, "offsets loaded");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn assert_restored(broker: &TestBroker) {
    let mut client = broker.connect().await;
    wait_loaded(&mut client).await;
    assert_eq!(
        listed(&mut client, &[]).await,
        [
            ("consumers".into(), "Empty".into()),
            ("simple".into(), "Empty".into())
        ]
    );
    assert_eq!(
        fetch_offset(&mut client, "consumers", "t", 0).await,
        (100, 3, String::new())
    );
    assert_eq!(fetch_offset(&mut client, "consumers", "t", 1).await.0, 200);
    assert_eq!(
        fetch_offset(&mut client, "simple", "t", 0).await,
        (7, 3, "note".into())
    );
    assert_eq!(fetch_offset(&mut client, "deleted", "t", 0).await.0, -1);
    assert_eq!(
        describe(&mut client, "consumers").await.protocol_type,
        "consumer"
    );

    // The group's generations continue where they stopped.
    let mut member = Member::new(broker, "consumers", &["t"]).await;
    let joined = member.join_new().await;
    assert_eq!(joined.error_code, 0);
    // Generations 1 and 2 formed the group; the leaves ended in 3.
    assert_eq!(joined.generation_id, 4, "generations continue");
}

#[tokio::test]
async fn groups_and_offsets_survive_a_clean_restart() {
    let mut broker = group_broker(&[]);
    populate(&broker).await;
    broker.restart_cleanly().await;
    assert_restored(&broker).await;
}

#[tokio::test]
async fn groups_and_offsets_survive_a_crash() {
    let mut broker = group_broker(&[]);
    populate(&broker).await;
    broker.crash_and_reopen();
    assert_restored(&broker).await;
}

#[tokio::test]
async fn a_stable_group_comes_back_with_its_members_after_a_crash() {
    let mut broker = group_broker(&[]);
    let mut members = form_group(&broker, "steady", &["t"], 2).await;
    let generation = members[0].generation;
    broker.crash_and_reopen();
    let mut admin = broker.connect().await;
    wait_loaded(&mut admin).await;
    let described = describe(&mut admin, "steady").await;
    assert_eq!(described.group_state, "Stable");
    assert_eq!(described.members.len(), 2);
    // Members reconnect and carry on with their generation.
    for member in members.iter_mut() {
        member.client = broker.connect().await;
        assert_eq!(member.heartbeat().await, 0);
        let synced = member.sync(&[]).await;
        assert_eq!(synced.error_code, 0);
        assert_eq!(synced.assignment, assignment_for(&member.id));
        assert_eq!(member.generation, generation);
    }
}

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5555))
}

#[tokio::test]
async fn groups_answer_load_in_progress_until_the_offsets_topic_is_replayed() {
    let mut test_broker = group_broker(&[]);
    populate(&test_broker).await;
    test_broker.stop().await;

    // The broker opened but not yet serving: nothing has been replayed.
    let dir = test_broker.data_dir();
    let dir = dir.to_str().expect("utf-8 dir");
    let config = BrokerConfig::from_pairs(&[
        ("log.dirs", dir),
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
    ])
    .expect("config");
    let broker = Arc::new(Broker::open(config, "127.0.0.1".into(), 9092).expect("broker opens"));
    let fetch_request = OffsetFetchRequest {
        group_id: "simple".into(),
        topics: Some(vec![OffsetFetchRequestTopic {
            name: "t".into(),
            partition_indexes: vec![0],
            ..Default::default()
        }]),
        ..Default::default()
    };
    let fetched = group_offsets::offset_fetch(&broker, fetch_request.clone(), 7).await;
    assert_eq!(
        fetched.error_code,
        error_codes::COORDINATOR_LOAD_IN_PROGRESS
    );
    let commit = commit_request("simple", -1, "", &[("t", 0, 9, None)]);
    let committed = group_offsets::offset_commit(&broker, commit.clone(), 8).await;
    assert_eq!(
        committed.topics[0].partitions[0].error_code,
        error_codes::COORDINATOR_LOAD_IN_PROGRESS
    );
    let join = JoinGroupRequest {
        group_id: "consumers".into(),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: SESSION_MS,
        protocol_type: "consumer".into(),
        protocols: vec![join_group_request::JoinGroupRequestProtocol {
            name: "range".into(),
            metadata: subscription(&["t"]),
            ..Default::default()
        }],
        ..Default::default()
    };
    let joined = groups::join_group(&broker, join, 9, "c", peer()).await;
    assert_eq!(joined.error_code, error_codes::COORDINATOR_LOAD_IN_PROGRESS);
    let listed = groups::list_groups(&broker, ListGroupsRequest::default());
    assert_eq!(listed.error_code, error_codes::COORDINATOR_LOAD_IN_PROGRESS);
    // Kafka's answers where the load error would confuse older clients.
    let heartbeat = HeartbeatRequest {
        group_id: "consumers".into(),
        member_id: "someone".into(),
        ..Default::default()
    };
    assert_eq!(groups::heartbeat(&broker, heartbeat).await.error_code, 0);
    let sync = SyncGroupRequest {
        group_id: "consumers".into(),
        member_id: "someone".into(),
        ..Default::default()
    };
    assert_eq!(
        groups::sync_group(&broker, sync).await.error_code,
        error_codes::REBALANCE_IN_PROGRESS
    );

    // Replay, then everything is there.
    let _tasks = strom_broker::group::start(&broker);
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    while broker.groups.any_loading() {
        assert!(tokio::time::Instant::now() < deadline, "loaded");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let fetched = group_offsets::offset_fetch(&broker, fetch_request, 7).await;
    assert_eq!(fetched.error_code, 0);
    assert_eq!(fetched.topics[0].partitions[0].committed_offset, 7);
    let committed = group_offsets::offset_commit(&broker, commit, 8).await;
    assert_eq!(committed.topics[0].partitions[0].error_code, 0);
    broker.close().expect("a clean close");
}
