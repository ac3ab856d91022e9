//! Helpers shared by the consumer-group tests: a broker configured for fast
//! groups, a group member speaking the raw protocol on its own connection,
//! and builders for the group and offset requests.

#![allow(dead_code)] // every test binary uses a different subset

use bytes::{BufMut, Bytes, BytesMut};
use strom_protocol::codec::Message;
use strom_protocol::error_codes::{self, ErrorCode};
use strom_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use strom_protocol::messages::leave_group_request::MemberIdentity;
use strom_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use strom_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use strom_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use strom_protocol::messages::*;

use super::common::client::ApiResponse;
use super::common::{Client, TestBroker};

macro_rules! group_responses {
    ($($variant:ident => $ty:ty),* $(,)?) => {$(
        impl ApiResponse for $ty {
            const KEY: ApiKey = ApiKey::$variant;
            fn from_response(response: Response) -> Option<Self> {
                match response {
                    Response::$variant(body) => Some(body),
                    _ => None,
                }
            }
        }
    )*};
}

group_responses! {
    FindCoordinator => FindCoordinatorResponse,
    JoinGroup => JoinGroupResponse,
    SyncGroup => SyncGroupResponse,
    Heartbeat => HeartbeatResponse,
    LeaveGroup => LeaveGroupResponse,
    OffsetCommit => OffsetCommitResponse,
    OffsetFetch => OffsetFetchResponse,
    ListGroups => ListGroupsResponse,
    DescribeGroups => DescribeGroupsResponse,
    DeleteGroups => DeleteGroupsResponse,
    OffsetDelete => OffsetDeleteResponse,
}

/// Versions current Java clients use.
pub const JOIN_VERSION: i16 = 9;
pub const SYNC_VERSION: i16 = 5;
pub const HEARTBEAT_VERSION: i16 = 4;
pub const LEAVE_VERSION: i16 = 5;
pub const COMMIT_VERSION: i16 = 8;
pub const FETCH_OFFSETS_VERSION: i16 = 7;

/// Session timeout of test members: long enough never to expire by
/// accident, except in the tests that let it expire on purpose.
pub const SESSION_MS: i32 = 30_000;

/// A broker whose groups rebalance without the initial delay, accept short
/// session timeouts, and whose offsets topic is small.
pub fn group_broker(extra: &[(&str, &str)]) -> TestBroker {
    let mut settings = vec![
        ("group.initial.rebalance.delay.ms", "0"),
        ("group.min.session.timeout.ms", "100"),
        ("offsets.topic.num.partitions", "3"),
    ];
    settings.extend_from_slice(extra);
    TestBroker::start_with(&settings)
}

/// ConsumerProtocolSubscription v0 bytes for `topics`.
pub fn subscription(topics: &[&str]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    ConsumerProtocolSubscription {
        topics: topics.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
    .encode(&mut buf, 0)
    .expect("subscription encodes");
    buf.freeze()
}

/// One member of a group, with its own connection.
pub struct Member {
    pub client: Client,
    pub group: String,
    pub id: String,
    pub instance: Option<String>,
    pub generation: i32,
    pub session_ms: i32,
    pub rebalance_ms: i32,
    pub protocols: Vec<(String, Bytes)>,
    /// The protocol the last join chose.
    pub protocol: Option<String>,
}

impl Member {
    pub async fn new(broker: &TestBroker, group: &str, topics: &[&str]) -> Member {
        Member {
            client: broker.connect().await,
            group: group.to_string(),
            id: String::new(),
            instance: None,
            generation: -1,
            session_ms: SESSION_MS,
            rebalance_ms: 10_000,
            protocols: vec![("range".to_string(), subscription(topics))],
            protocol: None,
        }
    }

    pub async fn new_static(
        broker: &TestBroker,
        group: &str,
        instance: &str,
        topics: &[&str],
    ) -> Member {
        Member {
            instance: Some(instance.to_string()),
            ..Member::new(broker, group, topics).await
        }
    }

    pub fn join_request(&self) -> JoinGroupRequest {
        JoinGroupRequest {
            group_id: self.group.clone(),
            session_timeout_ms: self.session_ms,
            rebalance_timeout_ms: self.rebalance_ms,
            member_id: self.id.clone(),
            group_instance_id: self.instance.clone(),
            protocol_type: "consumer".to_string(),
            protocols: self
                .protocols
                .iter()
                .map(|(name, metadata)| JoinGroupRequestProtocol {
                    name: name.clone(),
                    metadata: metadata.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Sends JoinGroup without waiting for the answer.
    pub async fn send_join(&mut self) {
        let request = self.join_request();
        self.client.send(JOIN_VERSION, request).await;
    }

    /// Reads the answer of a [`Member::send_join`] and adopts its member id
    /// and generation.
    pub async fn receive_join(&mut self) -> JoinGroupResponse {
        let (_, response) = self.client.receive::<JoinGroupResponse>(JOIN_VERSION).await;
        if !response.member_id.is_empty() {
            self.id = response.member_id.clone();
        }
        if response.error_code == 0 {
            self.generation = response.generation_id;
            self.protocol = response.protocol_name.clone();
        }
        response
    }

    pub async fn join(&mut self) -> JoinGroupResponse {
        self.send_join().await;
        self.receive_join().await
    }

    /// Joins as a new dynamic member: MEMBER_ID_REQUIRED, then the real
    /// join (which may park until the rebalance completes).
    pub async fn join_new(&mut self) -> JoinGroupResponse {
        let first = self.join().await;
        assert_eq!(
            first.error_code,
            error_codes::MEMBER_ID_REQUIRED,
            "first join of a new member"
        );
        assert!(!first.member_id.is_empty(), "an assigned member id");
        self.join().await
    }

    pub fn sync_request(&self, assignments: &[(&str, Bytes)]) -> SyncGroupRequest {
        SyncGroupRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.id.clone(),
            group_instance_id: self.instance.clone(),
            protocol_type: Some("consumer".into()),
            protocol_name: self.protocol.clone(),
            assignments: assignments
                .iter()
                .map(|(member_id, assignment)| SyncGroupRequestAssignment {
                    member_id: member_id.to_string(),
                    assignment: assignment.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    pub async fn send_sync(&mut self, assignments: &[(&str, Bytes)]) {
        let request = self.sync_request(assignments);
        self.client.send(SYNC_VERSION, request).await;
    }

    pub async fn receive_sync(&mut self) -> SyncGroupResponse {
        self.client
            .receive::<SyncGroupResponse>(SYNC_VERSION)
            .await
            .1
    }

    pub async fn sync(&mut self, assignments: &[(&str, Bytes)]) -> SyncGroupResponse {
        self.send_sync(assignments).await;
        self.receive_sync().await
    }

    pub async fn heartbeat(&mut self) -> i16 {
        let request = HeartbeatRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.id.clone(),
            group_instance_id: self.instance.clone(),
            ..Default::default()
        };
        let response: HeartbeatResponse = self.client.call(HEARTBEAT_VERSION, request).await;
        response.error_code
    }

    pub async fn leave(&mut self) -> LeaveGroupResponse {
        let request = LeaveGroupRequest {
            group_id: self.group.clone(),
            members: vec![MemberIdentity {
                member_id: self.id.clone(),
                group_instance_id: self.instance.clone(),
                ..Default::default()
            }],
            ..Default::default()
        };
        self.client.call(LEAVE_VERSION, request).await
    }

    pub async fn commit(&mut self, topic: &str, partition: i32, offset: i64) -> i16 {
        let mut request = commit_request(
            &self.group,
            self.generation,
            &self.id,
            &[(topic, partition, offset, None)],
        );
        request.group_instance_id = self.instance.clone();
        let response: OffsetCommitResponse = self.client.call(COMMIT_VERSION, request).await;
        response.topics[0].partitions[0].error_code
    }
}

/// Assignment bytes that name their member, so tests can tell them apart.
pub fn assignment_for(member: &str) -> Bytes {
    Bytes::from(format!("assignment-of-{member}"))
}

/// Polls the member's heartbeat until it reports a rebalance.
pub async fn wait_for_rebalance(member: &mut Member) {
    let deadline = tokio::time::Instant::now() + super::common::SAFETY_TIMEOUT;
    loop {
        match member.heartbeat().await {
            error_codes::REBALANCE_IN_PROGRESS => return,
            0 => {}
            other => panic!(
                "heartbeat of {} failed with {}",
                member.id,
                ErrorCode(other)
            ),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a rebalance started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Adds `newcomer` to a stable group (or starts the group with it), the
/// way a consumer does: MEMBER_ID_REQUIRED, a parked JoinGroup, the others
/// see the rebalance in their heartbeats and rejoin, everyone syncs.
/// Returns the join responses in member order (the newcomer last).
pub async fn add_member(members: &mut Vec<Member>, mut newcomer: Member) -> Vec<JoinGroupResponse> {
    if newcomer.instance.is_none() {
        // Static members (KIP-345) skip this round.
        let first_try = newcomer.join().await;
        assert_eq!(
            first_try.error_code,
            error_codes::MEMBER_ID_REQUIRED,
            "first join of a new member"
        );
    }
    newcomer.send_join().await;
    for member in members.iter_mut() {
        wait_for_rebalance(member).await;
        member.send_join().await;
    }
    members.push(newcomer);
    let mut joins = Vec::new();
    for member in members.iter_mut() {
        let response = member.receive_join().await;
        assert_eq!(response.error_code, 0, "join of {}", member.id);
        joins.push(response);
    }
    sync_all(members, &joins).await;
    joins
}

/// A stable group of static members, one per instance id.
pub async fn form_static_group(
    broker: &TestBroker,
    group: &str,
    instances: &[&str],
) -> Vec<Member> {
    let mut members = Vec::new();
    for instance in instances {
        let newcomer = Member::new_static(broker, group, instance, &["t"]).await;
        add_member(&mut members, newcomer).await;
    }
    members
}

/// A stable group of `count` dynamic members subscribed to `topics`.
pub async fn form_group(
    broker: &TestBroker,
    group: &str,
    topics: &[&str],
    count: usize,
) -> Vec<Member> {
    let mut members = Vec::new();
    for _ in 0..count {
        let newcomer = Member::new(broker, group, topics).await;
        add_member(&mut members, newcomer).await;
    }
    members
}

/// Runs a whole rebalance of a non-empty group: the first member (the
/// leader) rejoins, which starts the rebalance; each other member rejoins
/// once its heartbeat reports it (a follower rejoining a stable group is
/// just told the current generation). The JoinGroups stay parked until
/// all have arrived; then everyone syncs and the leader assigns each
/// member its [`assignment_for`]. Returns the join responses in order.
pub async fn rebalance(members: &mut [Member]) -> Vec<JoinGroupResponse> {
    for (index, member) in members.iter_mut().enumerate() {
        if index > 0 {
            wait_for_rebalance(member).await;
        }
        member.send_join().await;
    }
    let mut joins = Vec::new();
    for member in members.iter_mut() {
        let response = member.receive_join().await;
        assert_eq!(response.error_code, 0, "join of {}", member.id);
        joins.push(response);
    }
    sync_all(members, &joins).await;
    joins
}

/// SyncGroup for every member after a join phase; checks each gets its
/// own assignment.
pub async fn sync_all(members: &mut [Member], joins: &[JoinGroupResponse]) {
    let leader_id = joins[0].leader.clone();
    let assignments: Vec<(String, Bytes)> = members
        .iter()
        .map(|m| (m.id.clone(), assignment_for(&m.id)))
        .collect();
    let refs: Vec<(&str, Bytes)> = assignments
        .iter()
        .map(|(id, bytes)| (id.as_str(), bytes.clone()))
        .collect();
    for member in members.iter_mut().filter(|m| m.id != leader_id) {
        member.send_sync(&[]).await;
    }
    for member in members.iter_mut().filter(|m| m.id == leader_id) {
        member.send_sync(&refs).await;
    }
    for member in members.iter_mut() {
        let response = member.receive_sync().await;
        assert_eq!(response.error_code, 0, "sync of {}", member.id);
        assert_eq!(response.assignment, assignment_for(&member.id));
    }
}

pub fn commit_request(
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &[(&str, i32, i64, Option<&str>)],
) -> OffsetCommitRequest {
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for (topic, partition, offset, metadata) in offsets {
        let entry = OffsetCommitRequestPartition {
            partition_index: *partition,
            committed_offset: *offset,
            committed_leader_epoch: 3,
            committed_metadata: metadata.map(str::to_string),
            ..Default::default()
        };
        match topics.iter_mut().find(|t| t.name == *topic) {
            Some(t) => t.partitions.push(entry),
            None => topics.push(OffsetCommitRequestTopic {
                name: topic.to_string(),
                partitions: vec![entry],
                ..Default::default()
            }),
        }
    }
    OffsetCommitRequest {
        group_id: group.to_string(),
        generation_id_or_member_epoch: generation,
        member_id: member_id.to_string(),
        topics,
        ..Default::default()
    }
}

/// Commits as a consumer without group management; asserts success.
pub async fn commit_simple(
    client: &mut Client,
    group: &str,
    offsets: &[(&str, i32, i64, Option<&str>)],
) {
    let response: OffsetCommitResponse = client
        .call(COMMIT_VERSION, commit_request(group, -1, "", offsets))
        .await;
    for topic in &response.topics {
        for p in &topic.partitions {
            assert_eq!(
                p.error_code, 0,
                "commit {group} {}-{}",
                topic.name, p.partition_index
            );
        }
    }
}

/// The committed (offset, leader epoch, metadata) of one partition.
pub async fn fetch_offset(
    client: &mut Client,
    group: &str,
    topic: &str,
    partition: i32,
) -> (i64, i32, String) {
    let request = OffsetFetchRequest {
        group_id: group.to_string(),
        topics: Some(vec![OffsetFetchRequestTopic {
            name: topic.to_string(),
            partition_indexes: vec![partition],
            ..Default::default()
        }]),
        ..Default::default()
    };
    let response: OffsetFetchResponse = client.call(FETCH_OFFSETS_VERSION, request).await;
    assert_eq!(response.error_code, 0, "fetch offsets of {group}");
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    (
        p.committed_offset,
        p.committed_leader_epoch,
        p.metadata.clone().unwrap_or_default(),
    )
}

pub async fn list_groups(client: &mut Client, states: &[&str]) -> ListGroupsResponse {
    let request = ListGroupsRequest {
        states_filter: states.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    client.call(4, request).await
}

/// (group id, state) of every listed group, sorted.
pub async fn listed(client: &mut Client, states: &[&str]) -> Vec<(String, String)> {
    let response = list_groups(client, states).await;
    assert_eq!(response.error_code, 0);
    let mut groups: Vec<_> = response
        .groups
        .into_iter()
        .map(|g| (g.group_id, g.group_state))
        .collect();
    groups.sort();
    groups
}

pub async fn describe(
    client: &mut Client,
    group: &str,
) -> describe_groups_response::DescribedGroup {
    let request = DescribeGroupsRequest {
        groups: vec![group.to_string()],
        ..Default::default()
    };
    let mut response: DescribeGroupsResponse = client.call(5, request).await;
    response.groups.remove(0)
}
