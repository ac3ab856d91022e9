//! The classic rebalance protocol against a real broker: joins with the
//! MEMBER_ID_REQUIRED round, generations, the leader's assignment reaching
//! every member, heartbeats, leaving, session expiry and the isolation of
//! parked requests.

mod common;
mod groups_support;

use std::time::Duration;

use common::*;
use groups_support::*;
use strom_protocol::error_codes;
use strom_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};

#[tokio::test]
async fn find_coordinator_names_this_broker_and_refuses_transactions() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    for version in 0..=3 {
        let response: FindCoordinatorResponse = client
            .call(
                version,
                FindCoordinatorRequest {
                    key: "g".into(),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(response.error_code, 0, "v{version}");
        assert_eq!(response.port, i32::from(broker.addr.port()), "v{version}");
        assert_eq!(response.host, "127.0.0.1");
    }
    let batched: FindCoordinatorResponse = client
        .call(
            4,
            FindCoordinatorRequest {
                key_type: 0,
                coordinator_keys: vec!["a".into(), "b".into()],
                ..Default::default()
            },
        )
        .await;
    let keys: Vec<(&str, i16, i32)> = batched
        .coordinators
        .iter()
        .map(|c| (c.key.as_str(), c.error_code, c.port))
        .collect();
    let port = i32::from(broker.addr.port());
    assert_eq!(keys, [("a", 0, port), ("b", 0, port)]);
    let transaction: FindCoordinatorResponse = client
        .call(
            4,
            FindCoordinatorRequest {
                key_type: 1,
                coordinator_keys: vec!["txn".into()],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        transaction.coordinators[0].error_code,
        error_codes::COORDINATOR_NOT_AVAILABLE
    );
    // Finding a coordinator created the internal offsets topic.
    assert!(broker.broker().topic("__consumer_offsets").is_some());
}

#[tokio::test]
async fn three_members_join_sync_heartbeat_and_leave() {
    let broker = group_broker(&[]);
    let mut first = Member::new(&broker, "cycle", &["t"]).await;
    let joined = first.join_new().await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(
        (joined.generation_id, joined.leader.as_str()),
        (1, first.id.as_str())
    );
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    assert_eq!(joined.members.len(), 1, "the leader sees every member");
    sync_all(std::slice::from_mut(&mut first), &[joined]).await;

    // A second and a third member: each join starts a rebalance that the
    // existing members learn about from their heartbeats.
    let mut members = vec![first];
    for expected_generation in [2, 3] {
        let newcomer = Member::new(&broker, "cycle", &["t"]).await;
        let joins = add_member(&mut members, newcomer).await;
        assert!(joins.iter().all(|j| j.generation_id == expected_generation));
        assert!(
            joins.iter().all(|j| j.leader == members[0].id),
            "the first member leads"
        );
        assert_eq!(
            joins[0].members.len(),
            members.len(),
            "the leader sees every member"
        );
        assert!(
            joins[1..].iter().all(|j| j.members.is_empty()),
            "followers see none"
        );
    }
    for member in members.iter_mut() {
        assert_eq!(member.heartbeat().await, 0);
    }
    let mut admin = broker.connect().await;
    let described = describe(&mut admin, "cycle").await;
    assert_eq!(described.group_state, "Stable");
    assert_eq!(described.protocol_type, "consumer");
    assert_eq!(described.protocol_data, "range");
    assert_eq!(described.members.len(), 3);
    for m in &described.members {
        assert_eq!(m.member_assignment, assignment_for(&m.member_id));
        assert_eq!(m.client_host, "/127.0.0.1");
        assert_eq!(m.client_id, "strom-broker-tests");
        assert_eq!(m.member_metadata, subscription(&["t"]));
    }

    // The last member leaves: the others must rejoin without it.
    let mut last = members.pop().expect("three members");
    let left = last.leave().await;
    assert_eq!((left.error_code, left.members[0].error_code), (0, 0));
    assert_eq!(
        members[0].heartbeat().await,
        error_codes::REBALANCE_IN_PROGRESS
    );
    let joins = rebalance(&mut members).await;
    assert_eq!(joins[0].generation_id, 4);
    assert_eq!(joins[0].members.len(), 2);
    assert_eq!(
        last.heartbeat().await,
        error_codes::UNKNOWN_MEMBER_ID,
        "after leaving"
    );

    // Everyone leaves: the group is empty (and kept, with its generation).
    for member in members.iter_mut() {
        assert_eq!(member.leave().await.members[0].error_code, 0);
    }
    assert_eq!(
        listed(&mut admin, &[]).await,
        [("cycle".into(), "Empty".into())]
    );
    assert_eq!(describe(&mut admin, "cycle").await.members.len(), 0);
}

#[tokio::test]
async fn a_fourth_member_gives_everyone_a_new_generation() {
    let broker = group_broker(&[]);
    let mut members = form_group(&broker, "grow", &["t"], 3).await;
    let before = members[0].generation;
    let fourth = Member::new(&broker, "grow", &["t"]).await;
    let joins = add_member(&mut members, fourth).await;
    assert!(joins.iter().all(|j| j.generation_id == before + 1));
    assert_eq!(joins.iter().filter(|j| !j.members.is_empty()).count(), 1);
    assert_eq!(joins[0].members.len(), 4);
    for member in members.iter_mut() {
        assert_eq!(member.heartbeat().await, 0);
    }
}

#[tokio::test]
async fn a_member_that_stops_heartbeating_is_removed_and_the_rest_rebalance() {
    let broker = group_broker(&[]);
    let mut members = Vec::new();
    let mut alive = Member::new(&broker, "expiry", &["t"]).await;
    alive.session_ms = 2_000;
    add_member(&mut members, alive).await;
    let mut silent = Member::new(&broker, "expiry", &["t"]).await;
    silent.session_ms = 500;
    add_member(&mut members, silent).await;
    let mut silent = members.pop().expect("two members");
    let mut alive = members.pop().expect("one member");
    let generation = alive.generation;

    // Keep the live member's session going until the coordinator notices
    // the silent one is gone.
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    loop {
        let error = alive.heartbeat().await;
        if error == error_codes::REBALANCE_IN_PROGRESS {
            break;
        }
        assert_eq!(error, 0);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the silent member expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let joins = rebalance(std::slice::from_mut(&mut alive)).await;
    assert_eq!(joins[0].generation_id, generation + 1);
    assert_eq!(joins[0].members.len(), 1, "only the live member is left");
    assert_eq!(silent.heartbeat().await, error_codes::UNKNOWN_MEMBER_ID);
}

/// Two members whose rebalance timeout is short.
async fn impatient_pair(broker: &TestBroker, group: &str) -> Vec<Member> {
    let mut members = Vec::new();
    for _ in 0..2 {
        let mut member = Member::new(broker, group, &["t"]).await;
        // Short, yet long enough for the other member's requests to
        // arrive within it on a loaded machine.
        member.rebalance_ms = 1_000;
        add_member(&mut members, member).await;
    }
    members
}

#[tokio::test]
async fn members_that_do_not_rejoin_within_the_rebalance_timeout_are_dropped() {
    let broker = group_broker(&[]);
    let mut members = impatient_pair(&broker, "rejoin").await;
    let generation = members[0].generation;
    // The second member neither rejoins nor heartbeats (its session is
    // long): the join phase ends at the rebalance timeout without it.
    let joined = members[0].join().await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.generation_id, generation + 1);
    assert_eq!(joined.members.len(), 1);
    assert_eq!(members[1].heartbeat().await, error_codes::UNKNOWN_MEMBER_ID);
}

#[tokio::test]
async fn members_that_never_sync_are_dropped_after_the_rebalance_timeout() {
    let broker = group_broker(&[]);
    let mut members = impatient_pair(&broker, "sync").await;
    members[0].send_join().await;
    wait_for_rebalance(&mut members[1]).await;
    members[1].send_join().await;
    for member in members.iter_mut() {
        assert_eq!(member.receive_join().await.error_code, 0);
    }
    // Only the leader syncs; the follower's assignment never gets fetched.
    let leader_id = members[0].id.clone();
    let synced = members[0]
        .sync(&[(&leader_id, assignment_for(&leader_id))])
        .await;
    assert_eq!(synced.error_code, 0);
    wait_for_rebalance(&mut members[0]).await;
    let joins = rebalance(&mut members[..1]).await;
    assert_eq!(joins[0].members.len(), 1, "the follower was removed");
}

#[tokio::test]
async fn stale_generations_and_unknown_members_are_refused() {
    let broker = group_broker(&[]);
    let mut member = form_group(&broker, "strict", &["t"], 1).await.remove(0);
    let good = member.generation;

    member.generation = good + 1;
    assert_eq!(member.heartbeat().await, error_codes::ILLEGAL_GENERATION);
    assert_eq!(
        member.sync(&[]).await.error_code,
        error_codes::ILLEGAL_GENERATION
    );
    assert_eq!(
        member.commit("t", 0, 1).await,
        error_codes::ILLEGAL_GENERATION
    );
    member.generation = good;

    let mut stranger = Member::new(&broker, "strict", &["t"]).await;
    stranger.id = "nobody".into();
    stranger.generation = good;
    assert_eq!(stranger.heartbeat().await, error_codes::UNKNOWN_MEMBER_ID);
    assert_eq!(
        stranger.join().await.error_code,
        error_codes::UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        stranger.sync(&[]).await.error_code,
        error_codes::UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        stranger.commit("t", 0, 1).await,
        error_codes::UNKNOWN_MEMBER_ID
    );

    // SyncGroup v5 checks the protocol type and name.
    let mut request = member.sync_request(&[]);
    request.protocol_type = Some("connect".into());
    let response: strom_protocol::messages::SyncGroupResponse =
        member.client.call(SYNC_VERSION, request).await;
    assert_eq!(
        response.error_code,
        error_codes::INCONSISTENT_GROUP_PROTOCOL
    );
    assert_eq!(member.heartbeat().await, 0, "the member is still fine");
}

#[tokio::test]
async fn join_requests_are_validated_like_kafka() {
    let broker = group_broker(&[("group.max.size", "2")]);
    let mut member = Member::new(&broker, "checks", &["t"]).await;
    member.session_ms = 50;
    assert_eq!(
        member.join().await.error_code,
        error_codes::INVALID_SESSION_TIMEOUT
    );
    member.session_ms = 2_000_000;
    assert_eq!(
        member.join().await.error_code,
        error_codes::INVALID_SESSION_TIMEOUT
    );
    member.session_ms = SESSION_MS;

    let mut nameless = Member::new(&broker, "", &["t"]).await;
    assert_eq!(
        nameless.join().await.error_code,
        error_codes::INVALID_GROUP_ID
    );

    assert_eq!(member.join_new().await.error_code, 0);
    // The group already uses "consumer": another protocol type, or no
    // protocol in common, is refused.
    let mut other = Member::new(&broker, "checks", &["t"]).await;
    let mut request = other.join_request();
    request.protocol_type = "connect".into();
    let response: strom_protocol::messages::JoinGroupResponse =
        other.client.call(JOIN_VERSION, request).await;
    assert_eq!(
        response.error_code,
        error_codes::INCONSISTENT_GROUP_PROTOCOL
    );
    other.protocols[0].0 = "roundrobin".into();
    assert_eq!(
        other.join().await.error_code,
        error_codes::INCONSISTENT_GROUP_PROTOCOL
    );

    // group.max.size=2: a third member cannot join.
    other.protocols[0].0 = "range".into();
    let mut members = vec![member];
    add_member(&mut members, other).await;
    let mut third = Member::new(&broker, "checks", &["t"]).await;
    assert_eq!(
        third.join().await.error_code,
        error_codes::GROUP_MAX_SIZE_REACHED
    );
}

#[tokio::test]
async fn the_protocol_is_chosen_by_vote_among_common_protocols() {
    let broker = group_broker(&[]);
    let offer = |names: &[&str]| -> Vec<(String, bytes::Bytes)> {
        names
            .iter()
            .map(|n| (n.to_string(), subscription(&["t"])))
            .collect()
    };
    let mut members = Vec::new();
    let mut joins = Vec::new();
    for preference in [
        &["range", "sticky"][..],
        &["sticky", "range"],
        &["sticky", "roundrobin", "range"],
    ] {
        let mut member = Member::new(&broker, "vote", &["t"]).await;
        member.protocols = offer(preference);
        joins = add_member(&mut members, member).await;
    }
    for response in joins {
        assert_eq!(
            response.protocol_name.as_deref(),
            Some("sticky"),
            "two votes of three"
        );
    }
}

#[tokio::test]
async fn a_parked_join_blocks_neither_other_groups_nor_other_members() {
    let broker = group_broker(&[]);
    let mut members = form_group(&broker, "slow", &["t"], 2).await;
    // The first member rejoins; its JoinGroup waits for the second.
    members[0].send_join().await;
    wait_for_rebalance(&mut members[1]).await;

    // Meanwhile another group goes through a whole life cycle...
    let mut other = Member::new(&broker, "fast", &["t"]).await;
    let joined = other.join_new().await;
    assert_eq!(joined.error_code, 0);
    sync_all(std::slice::from_mut(&mut other), &[joined]).await;
    create_topic(&mut broker.connect().await, "t", 1, &[]).await;
    assert_eq!(other.commit("t", 0, 5).await, 0);
    assert_eq!(fetch_offset(&mut other.client, "fast", "t", 0).await.0, 5);
    assert_eq!(other.leave().await.members[0].error_code, 0);
    // ...and the parked group's other member is served too.
    assert_eq!(
        members[1].heartbeat().await,
        error_codes::REBALANCE_IN_PROGRESS
    );
    let mut admin = broker.connect().await;
    assert_eq!(
        describe(&mut admin, "slow").await.group_state,
        "PreparingRebalance"
    );

    // Only now does the rebalance complete, for both.
    members[1].send_join().await;
    let first = members[0].receive_join().await;
    let second = members[1].receive_join().await;
    assert_eq!((first.error_code, second.error_code), (0, 0));
    assert_eq!(first.generation_id, second.generation_id);
}

#[tokio::test]
async fn every_join_group_version_completes_a_cycle() {
    let broker = group_broker(&[]);
    for version in 0..=9i16 {
        let group = format!("v{version}");
        let mut member = Member::new(&broker, &group, &["t"]).await;
        let request = |member: &Member| {
            let mut request = member.join_request();
            if version == 0 {
                request.rebalance_timeout_ms = -1;
            }
            request
        };
        let mut response: strom_protocol::messages::JoinGroupResponse =
            member.client.call(version, request(&member)).await;
        if version >= 4 {
            assert_eq!(
                response.error_code,
                error_codes::MEMBER_ID_REQUIRED,
                "v{version}"
            );
            member.id = response.member_id.clone();
            response = member.client.call(version, request(&member)).await;
        }
        assert_eq!(response.error_code, 0, "v{version}");
        assert_eq!(response.leader, response.member_id, "v{version}");
        assert_eq!(
            response.protocol_name.as_deref(),
            Some("range"),
            "v{version}"
        );
        member.id = response.member_id;
        member.generation = response.generation_id;
        member.protocol = response.protocol_name.clone();
        let sync_version = version.min(5);
        let mut request = member.sync_request(&[(&member.id.clone(), assignment_for("x"))]);
        if sync_version < 5 {
            (request.protocol_type, request.protocol_name) = (None, None);
        }
        let synced: strom_protocol::messages::SyncGroupResponse =
            member.client.call(sync_version, request).await;
        assert_eq!(synced.error_code, 0, "v{version}");
        assert_eq!(synced.assignment, assignment_for("x"));
        assert_eq!(member.heartbeat().await, 0);
        let leave_version = version.min(5);
        let mut request = strom_protocol::messages::LeaveGroupRequest {
            group_id: group.clone(),
            ..Default::default()
        };
        if leave_version >= 3 {
            request.members = vec![
                strom_protocol::messages::leave_group_request::MemberIdentity {
                    member_id: member.id.clone(),
                    ..Default::default()
                },
            ];
        } else {
            request.member_id = member.id.clone();
        }
        let left: strom_protocol::messages::LeaveGroupResponse =
            member.client.call(leave_version, request).await;
        assert_eq!(left.error_code, 0, "v{version}");
    }
}
