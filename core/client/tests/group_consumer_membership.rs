//! Group membership details against a real Strom broker: the assignor the
//! group agrees on, LeaveGroup on close, static members that stay.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::{tps, AdminClient, Consumer};
use tokio::time::Instant;

const TOPIC: &str = "events";

async fn setup(partitions: i32) -> (TestBroker, AdminClient) {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new(TOPIC, partitions, 1))
        .await
        .unwrap();
    (broker, admin)
}

async fn member(broker: &TestBroker, group: &str, extra: &[(&str, &str)]) -> Consumer {
    let mut config = vec![("group.id", group), ("heartbeat.interval.ms", "100")];
    config.extend_from_slice(extra);
    let consumer = Consumer::new(broker.client_config(&config)).await.unwrap();
    consumer.subscribe(&[TOPIC]).await.unwrap();
    consumer
}

async fn partitions(consumer: &Consumer) -> BTreeSet<i32> {
    let assignment = consumer.assignment().await;
    assignment.into_iter().map(|tp| tp.partition).collect()
}

/// Polls both members side by side until together they own `total`
/// partitions and neither is still rejoining.
async fn poll_until_assigned(a: &Consumer, b: &Consumer, total: usize) {
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    loop {
        let (ra, rb) = tokio::join!(
            a.poll(Duration::from_millis(100)),
            b.poll(Duration::from_millis(100))
        );
        ra.unwrap();
        rb.unwrap();
        let (mine, theirs) = (partitions(a).await, partitions(b).await);
        let owned = mine.len() + theirs.len();
        if owned == total && !mine.is_empty() && !theirs.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "members own {owned} of {total}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundrobin_deals_partitions_over_members_sorted_by_id() {
    let (broker, admin) = setup(6).await;
    let strategy = [("partition.assignment.strategy", "roundrobin,range")];
    let a = member(&broker, "dealers", &strategy).await;
    let b = member(&broker, "dealers", &strategy).await;
    poll_until_assigned(&a, &b, 6).await;

    let group = admin.describe_group("dealers").await.unwrap();
    assert_eq!(
        group.protocol, "roundrobin",
        "the first listed strategy wins"
    );
    let (first, second) = if a.member_id().await < b.member_id().await {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_eq!(partitions(first).await, BTreeSet::from([0, 2, 4]));
    assert_eq!(partitions(second).await, BTreeSet::from([1, 3, 5]));
    // Both know the one leader of the generation, and it is one of them.
    let leader = a.group_leader_id().await.expect("a leader once joined");
    assert_eq!(b.group_leader_id().await.as_ref(), Some(&leader));
    let members = [a.member_id().await, b.member_id().await];
    assert!(
        members.contains(&Some(leader.clone())),
        "{leader} not in {members:?}"
    );
    a.close(SAFETY_TIMEOUT).await.unwrap();
    b.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_java_default_strategy_list_agrees_on_range() {
    let (broker, admin) = setup(3).await;
    // The default `range,cooperative-sticky`: every member prefers range,
    // so the coordinator picks range, as with Java members.
    let a = member(&broker, "defaults", &[]).await;
    let b = member(&broker, "defaults", &[]).await;
    poll_until_assigned(&a, &b, 3).await;
    let group = admin.describe_group("defaults").await.unwrap();
    assert_eq!(group.protocol, "range");
    assert_eq!(group.protocol_type, "consumer");
    assert_eq!(a.rebalance_protocol().await, Some("EAGER"));
    let (first, second) = if a.member_id().await < b.member_id().await {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_eq!(partitions(first).await, BTreeSet::from([0, 1]));
    assert_eq!(partitions(second).await, BTreeSet::from([2]));
    a.close(SAFETY_TIMEOUT).await.unwrap();
    b.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rebalance_protocol_follows_the_groups_assignor() {
    let (broker, _admin) = setup(2).await;
    let strategy = [("partition.assignment.strategy", "cooperative-sticky")];
    let a = member(&broker, "cooperative", &strategy).await;
    let b = member(&broker, "cooperative", &strategy).await;
    assert_eq!(a.rebalance_protocol().await, None, "not joined yet");
    poll_until_assigned(&a, &b, 2).await;
    assert_eq!(a.rebalance_protocol().await, Some("COOPERATIVE"));
    assert_eq!(b.rebalance_protocol().await, Some("COOPERATIVE"));
    a.close(SAFETY_TIMEOUT).await.unwrap();
    b.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_leaves_the_group_at_once_but_a_static_member_stays() {
    let (broker, admin) = setup(2).await;
    let dynamic = member(&broker, "leavers", &[]).await;
    let fixed = member(&broker, "leavers", &[("group.instance.id", "fixed-1")]).await;
    poll_until_assigned(&dynamic, &fixed, 2).await;
    assert_eq!(
        admin.describe_group("leavers").await.unwrap().members.len(),
        2
    );

    // Closing sends LeaveGroup: the member is gone without waiting for
    // session.timeout.ms (45 s by default).
    let dynamic_id = dynamic.member_id().await.unwrap();
    dynamic.close(SAFETY_TIMEOUT).await.unwrap();
    let group = admin.describe_group("leavers").await.unwrap();
    assert!(
        group.members.iter().all(|m| m.member_id != dynamic_id),
        "{group:?}"
    );

    // A static member keeps its place in the group when it closes.
    fixed.close(SAFETY_TIMEOUT).await.unwrap();
    let group = admin.describe_group("leavers").await.unwrap();
    let instances: Vec<Option<String>> = group
        .members
        .iter()
        .map(|m| m.group_instance_id.clone())
        .collect();
    assert_eq!(instances, vec![Some("fixed-1".to_string())], "{group:?}");
    assert!(fixed.poll(Duration::from_millis(10)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_without_a_group_or_a_supported_assignor_is_refused() {
    let (broker, _admin) = setup(1).await;
    let no_group = Consumer::new(broker.client_config(&[])).await.unwrap();
    assert!(no_group.subscribe(&[TOPIC]).await.is_err());
    assert!(no_group.commit_sync().await.is_err());
    let unknown_only = Consumer::new(broker.client_config(&[
        ("group.id", "g"),
        ("partition.assignment.strategy", "lottery"),
    ]))
    .await
    .unwrap();
    let error = unknown_only.subscribe(&[TOPIC]).await.unwrap_err();
    assert!(error.to_string().contains("partition.assignment.strategy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_partition_is_read_again_from_its_first_unreturned_record_on_resume() {
    let (broker, _admin) = setup(2).await;
    let producer = strom_client::Producer::new(broker.client_config(&[]))
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for partition in 0..2 {
        for i in 0..10 {
            let record = strom_client::ProducerRecord::new(TOPIC, format!("{partition}-{i}"));
            deliveries.push(producer.send(record.with_partition(partition)));
        }
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    let consumer = Consumer::new(
        broker.client_config(&[("auto.offset.reset", "earliest"), ("max.poll.records", "1")]),
    )
    .await
    .unwrap();
    consumer.assign(&tps([(TOPIC, 0), (TOPIC, 1)])).await;
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut read: Vec<Vec<i64>> = vec![Vec::new(), Vec::new()];
    // One record out; the fetch behind it buffered more of both partitions.
    while read.iter().all(Vec::is_empty) {
        assert!(Instant::now() < deadline);
        for record in consumer.poll(Duration::from_millis(100)).await.unwrap() {
            read[record.partition as usize].push(record.offset);
        }
    }
    consumer.pause(&tps([(TOPIC, 1)])).await;
    assert_eq!(consumer.paused().await, tps([(TOPIC, 1)]));
    let read_from_1_before_pause = read[1].len();
    while read[0].len() < 10 {
        assert!(Instant::now() < deadline, "read {:?}", read);
        for record in consumer.poll(Duration::from_millis(100)).await.unwrap() {
            read[record.partition as usize].push(record.offset);
        }
    }
    assert_eq!(
        read[1].len(),
        read_from_1_before_pause,
        "paused partition read"
    );
    consumer.resume(&tps([(TOPIC, 1)])).await;
    while read[1].len() < 10 {
        assert!(Instant::now() < deadline, "read {:?}", read);
        for record in consumer.poll(Duration::from_millis(100)).await.unwrap() {
            read[record.partition as usize].push(record.offset);
        }
    }
    let expected: Vec<i64> = (0..10).collect();
    assert_eq!(read, vec![expected.clone(), expected]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_by_the_coordinator_loses_its_partitions_and_rejoins() {
    use std::sync::{Arc, Mutex};

    let (broker, admin) = setup(2).await;
    let consumer = member(&broker, "fenced", &[]).await;
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = events.clone();
    consumer
        .on_assigned(move |p| log.lock().unwrap().push(format!("assigned {}", p.len())))
        .await;
    let log = events.clone();
    consumer
        .on_revoked(move |p| log.lock().unwrap().push(format!("revoked {}", p.len())))
        .await;
    let log = events.clone();
    consumer
        .on_lost(move |p| log.lock().unwrap().push(format!("lost {}", p.len())))
        .await;
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while consumer.assignment().await.len() < 2 {
        assert!(Instant::now() < deadline);
        consumer.poll(Duration::from_millis(50)).await.unwrap();
    }
    let first_id = consumer.member_id().await.unwrap();

    // Someone else removes the member (what `kafka-consumer-groups
    // --remove-members` does): its next heartbeat gets UNKNOWN_MEMBER_ID.
    let coordinator = admin.find_coordinator("fenced").await.unwrap();
    let brokers = admin.describe_cluster().await.unwrap().brokers;
    assert!(
        brokers.iter().any(|b| b.node_id == coordinator),
        "{coordinator} {brokers:?}"
    );
    remove_member(&broker, "fenced", &first_id).await;
    while consumer.member_id().await.as_ref() == Some(&first_id)
        || consumer.assignment().await.len() < 2
    {
        assert!(
            Instant::now() < deadline,
            "events {:?}",
            events.lock().unwrap()
        );
        consumer.poll(Duration::from_millis(50)).await.unwrap();
    }
    assert_eq!(
        *events.lock().unwrap(),
        vec!["assigned 2", "lost 2", "assigned 2"],
        "fenced partitions are lost, not revoked"
    );
    consumer.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_rebalances_when_a_subscribed_topic_appears_or_grows() {
    let (broker, admin) = setup(1).await;
    let config = broker.client_config(&[
        ("group.id", "watchers"),
        ("heartbeat.interval.ms", "100"),
        ("metadata.max.age.ms", "100"),
    ]);
    let consumer = Consumer::new(config).await.unwrap();
    consumer.subscribe(&[TOPIC, "created-later"]).await.unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while consumer.member_id().await.is_none() || consumer.assignment().await.is_empty() {
        assert!(Instant::now() < deadline);
        consumer.poll(Duration::from_millis(50)).await.unwrap();
    }
    assert_eq!(consumer.assignment().await, tps([(TOPIC, 0)]));

    admin
        .create_topic(NewTopic::new("created-later", 2, 1))
        .await
        .unwrap();
    while consumer.assignment().await.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            consumer.assignment().await
        );
        consumer.poll(Duration::from_millis(50)).await.unwrap();
    }
    for (topic, outcome) in admin.create_partitions(&[(TOPIC, 3)], false).await.unwrap() {
        outcome.unwrap_or_else(|e| panic!("growing {topic}: {e}"));
    }
    while consumer.assignment().await.len() < 5 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            consumer.assignment().await
        );
        consumer.poll(Duration::from_millis(50)).await.unwrap();
    }
    consumer.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_hands_partitions_over_and_the_consumer_can_subscribe_again() {
    let (broker, _admin) = setup(2).await;
    let a = member(&broker, "switchers", &[]).await;
    let b = member(&broker, "switchers", &[]).await;
    poll_until_assigned(&a, &b, 2).await;

    a.unsubscribe().await.unwrap();
    assert!(a.assignment().await.is_empty() && a.subscription().await.is_empty());
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while partitions(&b).await.len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", b.assignment().await);
        b.poll(Duration::from_millis(50)).await.unwrap();
    }

    a.subscribe(&[TOPIC]).await.unwrap();
    poll_until_assigned(&a, &b, 2).await;
    assert_eq!(partitions(&a).await.len(), 1);
    a.close(SAFETY_TIMEOUT).await.unwrap();
    b.close(SAFETY_TIMEOUT).await.unwrap();
}

/// Removes `member_id` from `group` as `kafka-consumer-groups
/// --remove-members` does: LeaveGroup v3 naming the member, sent by
/// another client straight to the coordinator (the one broker).
async fn remove_member(broker: &TestBroker, group: &str, member_id: &str) {
    use bytes::BytesMut;
    use strom_protocol::frame::{decode_response, encode_request};
    use strom_protocol::messages::leave_group_request::MemberIdentity;
    use strom_protocol::messages::{ApiKey, LeaveGroupRequest, RequestHeader, Response};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const VERSION: i16 = 3;
    let request = LeaveGroupRequest {
        group_id: group.to_string(),
        members: vec![MemberIdentity {
            member_id: member_id.to_string(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let header = RequestHeader {
        request_api_key: ApiKey::LeaveGroup as i16,
        request_api_version: VERSION,
        correlation_id: 1,
        client_id: Some("member-remover".to_string()),
        ..Default::default()
    };
    let mut frame = BytesMut::new();
    encode_request(&header, &request.into(), &mut frame).expect("LeaveGroup encodes");
    let answer = tokio::time::timeout(SAFETY_TIMEOUT, async {
        let mut stream = tokio::net::TcpStream::connect(broker.addr).await?;
        stream.write_all(&frame).await?;
        let mut prefix = [0u8; 4];
        stream.read_exact(&mut prefix).await?;
        let mut body = vec![0u8; usize::try_from(i32::from_be_bytes(prefix)).unwrap_or(0)];
        stream.read_exact(&mut body).await?;
        std::io::Result::Ok(body)
    })
    .await
    .expect("the coordinator answers in time")
    .expect("LeaveGroup round trip");
    let (header, response) = decode_response(answer.into(), ApiKey::LeaveGroup, VERSION)
        .expect("LeaveGroup response decodes");
    assert_eq!(header.correlation_id, 1);
    let Response::LeaveGroup(response) = response else {
        panic!("not a LeaveGroup response: {response:?}");
    };
    assert_eq!(response.error_code, 0, "{response:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_auto_create_topics_lets_the_broker_create_a_subscribed_topic() {
    let (broker, admin) = setup(1).await;
    let listed = || async { admin.list_topics(false).await.unwrap() };
    // By default a consumer does not create what it subscribes to.
    let plain = Consumer::new(broker.client_config(&[("group.id", "plain")]))
        .await
        .unwrap();
    plain.subscribe(&["wished-for"]).await.unwrap();
    for _ in 0..5 {
        plain.poll(Duration::from_millis(100)).await.unwrap();
    }
    assert!(!listed().await.contains(&"wished-for".to_string()));
    plain.close(SAFETY_TIMEOUT).await.unwrap();

    let creating = Consumer::new(broker.client_config(&[
        ("group.id", "creating"),
        ("allow.auto.create.topics", "true"),
    ]))
    .await
    .unwrap();
    creating.subscribe(&["wished-for"]).await.unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while creating.assignment().await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "never assigned the created topic"
        );
        creating.poll(Duration::from_millis(100)).await.unwrap();
    }
    assert!(listed().await.contains(&"wished-for".to_string()));
    creating.close(SAFETY_TIMEOUT).await.unwrap();
}
