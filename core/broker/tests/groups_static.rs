//! Static membership (KIP-345): a restarted member with the same
//! group.instance.id takes its old place without a rebalance, and the
//! member id it replaced is fenced.

mod common;
mod groups_support;

use groups_support::*;
use strom_protocol::error_codes;
use strom_protocol::messages::leave_group_request::MemberIdentity;
use strom_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

#[tokio::test]
async fn a_restarted_static_follower_gets_its_assignment_without_a_rebalance() {
    let broker = group_broker(&[]);
    let mut members = form_static_group(&broker, "static", &["a", "b"]).await;
    let mut old_b = members.pop().expect("b");
    let mut a = members.pop().expect("a");
    let generation = a.generation;

    // "b" restarts: a new process that knows only its instance id.
    let mut new_b = Member::new_static(&broker, "static", "b", &["t"]).await;
    let joined = new_b.join().await;
    assert_eq!(joined.error_code, 0);
    assert_ne!(joined.member_id, old_b.id, "a new member id");
    assert!(joined.member_id.starts_with("b-"), "{}", joined.member_id);
    assert_eq!(joined.generation_id, generation, "no new generation");
    assert_eq!(joined.leader, a.id);
    assert!(joined.members.is_empty() && !joined.skip_assignment);
    let synced = new_b.sync(&[]).await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(
        synced.assignment,
        assignment_for(&old_b.id),
        "the old assignment"
    );

    // Nobody else noticed.
    assert_eq!(a.heartbeat().await, 0);
    assert_eq!(new_b.heartbeat().await, 0);
    // The old incarnation is fenced everywhere it shows up.
    assert_eq!(old_b.heartbeat().await, error_codes::FENCED_INSTANCE_ID);
    assert_eq!(
        old_b.join().await.error_code,
        error_codes::FENCED_INSTANCE_ID
    );
    assert_eq!(
        old_b.sync(&[]).await.error_code,
        error_codes::FENCED_INSTANCE_ID
    );
    assert_eq!(
        old_b.commit("t", 0, 1).await,
        error_codes::FENCED_INSTANCE_ID
    );

    let mut admin = broker.connect().await;
    let described = describe(&mut admin, "static").await;
    assert_eq!(described.group_state, "Stable");
    let mut ids: Vec<_> = described
        .members
        .iter()
        .map(|m| (m.group_instance_id.clone(), m.member_id.clone()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            (Some("a".to_string()), a.id.clone()),
            (Some("b".to_string()), new_b.id.clone())
        ]
    );
}

#[tokio::test]
async fn a_restarted_static_leader_is_told_to_skip_the_assignment_from_v9() {
    let broker = group_broker(&[]);
    let mut members = form_static_group(&broker, "lead", &["a", "b"]).await;
    let old_a = members.remove(0);
    let generation = members[0].generation;

    let mut new_a = Member::new_static(&broker, "lead", "a", &["t"]).await;
    let joined = new_a.join().await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.generation_id, generation);
    assert_eq!(joined.leader, new_a.id, "the new id leads");
    assert!(joined.skip_assignment, "v9: lead without assigning");
    assert_eq!(joined.members.len(), 2, "but see the members");
    let synced = new_a.sync(&[]).await;
    assert_eq!(synced.assignment, assignment_for(&old_a.id));
    assert_eq!(members[0].heartbeat().await, 0, "no rebalance");

    // Before v9 the old leader id is named, so the client does not run an
    // assignment a stable group would ignore.
    let mut newer_a = Member::new_static(&broker, "lead", "a", &["t"]).await;
    let mut request = newer_a.join_request();
    request.reason = None;
    let response: strom_protocol::messages::JoinGroupResponse =
        newer_a.client.call(8, request).await;
    assert_eq!(response.error_code, 0);
    assert_eq!(response.generation_id, generation);
    assert_eq!(response.leader, new_a.id, "the previous leader id");
    assert_ne!(response.member_id, new_a.id);
    assert!(response.members.is_empty());
    assert_eq!(new_a.heartbeat().await, error_codes::FENCED_INSTANCE_ID);
}

#[tokio::test]
async fn a_static_member_removed_by_instance_id_triggers_a_rebalance() {
    let broker = group_broker(&[]);
    let mut members = form_static_group(&broker, "admin-leave", &["a", "b"]).await;
    let generation = members[0].generation;
    // An administrator removes "b" by its instance id alone (KIP-345).
    let mut admin = broker.connect().await;
    let request = LeaveGroupRequest {
        group_id: "admin-leave".into(),
        members: vec![
            MemberIdentity {
                member_id: String::new(),
                group_instance_id: Some("b".into()),
                ..Default::default()
            },
            MemberIdentity {
                member_id: String::new(),
                group_instance_id: Some("nobody".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let response: LeaveGroupResponse = admin.call(LEAVE_VERSION, request).await;
    assert_eq!(response.error_code, 0);
    let errors: Vec<i16> = response.members.iter().map(|m| m.error_code).collect();
    assert_eq!(
        errors,
        [0, error_codes::UNKNOWN_MEMBER_ID],
        "the second is unknown"
    );
    members.truncate(1);
    assert_eq!(
        members[0].heartbeat().await,
        error_codes::REBALANCE_IN_PROGRESS
    );
    let joins = rebalance(&mut members).await;
    assert_eq!(joins[0].generation_id, generation + 1);
    assert_eq!(joins[0].members.len(), 1);
}
