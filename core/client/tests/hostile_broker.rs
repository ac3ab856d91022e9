//! Nothing a broker or the network can do makes the client panic: framing,
//! version negotiation, metadata and admin answers from a hostile broker
//! (see `hostile/mod.rs`) end in a typed `ClientError` within the
//! configured timeouts, and the client stays usable afterwards.
//! Produce and Fetch answers are in `hostile_broker_records.rs`.

mod hostile;

use hostile::answers::{self, broker, metadata, partition, topic, well_behaved, NODE};
use hostile::{assert_handed_back, guarded, HostileBroker, Reply};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, ClientError, Producer, ProducerRecord};
use strom_protocol::messages::ApiKey;

async fn admin(broker: &HostileBroker) -> AdminClient {
    guarded(AdminClient::new(broker.config(&[])))
        .await
        .expect("the healthy parts of the hostile broker accept a client")
}

/// The admin client still works after a hostile answer (Metadata is
/// answered well in these scenarios).
async fn assert_still_usable(admin: &AdminClient) {
    guarded(admin.list_topics(false))
        .await
        .expect("the client recovers after a hostile answer");
}

async fn describe_cluster_error(broker: &HostileBroker) -> ClientError {
    let admin = admin(broker).await;
    let error = guarded(admin.describe_cluster())
        .await
        .expect_err("a hostile DescribeCluster answer is an error");
    assert_still_usable(&admin).await;
    error
}

// ---- framing ----

#[tokio::test]
async fn garbage_after_a_valid_api_versions_is_a_protocol_error() {
    let broker = HostileBroker::hostile_for(ApiKey::DescribeCluster, |incoming| {
        let mut body = incoming.correlation_id.to_be_bytes().to_vec();
        body.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x7f]);
        Reply::Frame(body)
    })
    .await;
    let error = describe_cluster_error(&broker).await;
    assert!(matches!(error, ClientError::Protocol { .. }), "{error:?}");
}

#[tokio::test]
async fn frame_lengths_outside_the_limit_drop_the_connection() {
    for length in [0, 3, -1, i32::MIN, i32::MAX, 200 << 20] {
        let broker = HostileBroker::hostile_for(ApiKey::DescribeCluster, move |_| {
            Reply::Raw(length.to_be_bytes().to_vec())
        })
        .await;
        let error = describe_cluster_error(&broker).await;
        let ClientError::Disconnected { reason, .. } = &error else {
            panic!("length {length}: {error:?}");
        };
        assert!(reason.contains("frame length"), "length {length}: {reason}");
    }
}

#[tokio::test]
async fn a_frame_cut_short_then_closed_is_a_disconnect() {
    let broker = HostileBroker::hostile_for(ApiKey::DescribeCluster, |incoming| {
        let mut bytes = 100i32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&incoming.correlation_id.to_be_bytes());
        bytes.extend_from_slice(&[0; 10]);
        Reply::RawThenClose(bytes)
    })
    .await;
    let error = describe_cluster_error(&broker).await;
    assert!(
        matches!(error, ClientError::Disconnected { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_wrong_correlation_id_drops_the_connection() {
    let broker = HostileBroker::hostile_for(ApiKey::DescribeCluster, |incoming| {
        let answer = answers::healthy_response(incoming);
        Reply::RespondWithId(incoming.correlation_id.wrapping_add(1000), answer)
    })
    .await;
    let error = describe_cluster_error(&broker).await;
    let ClientError::Disconnected { reason, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("correlation id"), "{reason}");
}

#[tokio::test]
async fn a_response_of_another_api_is_a_protocol_error() {
    let broker = HostileBroker::hostile_for(ApiKey::DescribeCluster, |_| {
        Reply::Respond(answers::api_versions(&[ApiKey::Produce, ApiKey::Fetch]).into())
    })
    .await;
    let error = describe_cluster_error(&broker).await;
    assert!(matches!(error, ClientError::Protocol { .. }), "{error:?}");
}

#[tokio::test]
async fn a_connection_closed_on_accept_is_a_retriable_disconnect() {
    let broker = HostileBroker::closing_on_accept().await;
    let error = guarded(AdminClient::new(broker.config(&[])))
        .await
        .err()
        .expect("no client over a connection that closes at once");
    assert!(
        matches!(error, ClientError::Disconnected { .. }),
        "{error:?}"
    );
    assert!(error.is_retriable());
}

// ---- timeouts ----

#[tokio::test]
async fn an_answer_that_never_comes_times_out_by_request_timeout() {
    let broker = HostileBroker::hostile_for(ApiKey::DescribeCluster, |_| Reply::Silence).await;
    let error = describe_cluster_error(&broker).await;
    let ClientError::Timeout { setting, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*setting, "request.timeout.ms");
}

#[tokio::test]
async fn an_api_versions_that_never_comes_times_out() {
    let broker = HostileBroker::hostile_for(ApiKey::ApiVersions, |_| Reply::Silence).await;
    let error = guarded(AdminClient::new(broker.config(&[])))
        .await
        .err()
        .expect("no client without ApiVersions");
    assert!(matches!(error, ClientError::Timeout { .. }), "{error:?}");
}

/// A topic to create whose CreateTopics request is over `config_bytes`
/// bytes big, whatever the topic.
fn big_topic(index: usize, config_bytes: usize) -> NewTopic {
    NewTopic::new(format!("t{index}"), 1, 1).with_config("padding", "x".repeat(config_bytes))
}

#[tokio::test]
async fn a_broker_that_stops_reading_times_out_every_queued_request() {
    let broker = HostileBroker::hostile_for(ApiKey::CreateTopics, |_| Reply::StopReading).await;
    let admin = admin(&broker).await;
    // Far more than the socket buffers and the writer's queue hold, so
    // later requests wait to be queued behind a write that never ends.
    let mut requests = tokio::task::JoinSet::new();
    for index in 0..120 {
        let admin = admin.clone();
        requests.spawn(async move { admin.create_topic(big_topic(index, 256 << 10)).await });
    }
    let outcomes = guarded(async {
        let mut outcomes = Vec::new();
        while let Some(outcome) = requests.join_next().await {
            outcomes.push(outcome.expect("a request task does not panic"));
        }
        outcomes
    })
    .await;
    for outcome in outcomes {
        let error = outcome.expect_err("nothing is answered");
        assert!(
            matches!(
                error,
                ClientError::Timeout { .. } | ClientError::Disconnected { .. }
            ),
            "{error:?}"
        );
    }
}

// ---- version negotiation ----

#[tokio::test]
async fn api_versions_with_no_overlap_is_unsupported_api() {
    let broker = HostileBroker::hostile_for(ApiKey::ApiVersions, |_| {
        let mut versions = answers::api_versions(ApiKey::ALL);
        for key in &mut versions.api_keys {
            if key.api_key == ApiKey::Metadata as i16 {
                (key.min_version, key.max_version) = (100, 200);
            }
        }
        Reply::Respond(versions.into())
    })
    .await;
    let error = guarded(AdminClient::new(broker.config(&[])))
        .await
        .err()
        .expect("no common Metadata version");
    assert!(
        matches!(
            error,
            ClientError::UnsupportedApi {
                api: "Metadata",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn api_versions_answering_unsupported_version_forever_ends() {
    // Advertising ApiVersions 0..=3 (the client steps down each time), 0..=0,
    // nothing, and a nonsense range.
    for advertised in [Some((0, 3)), Some((0, 0)), None, Some((-5, -1))] {
        let broker = HostileBroker::hostile_for(ApiKey::ApiVersions, move |_| {
            let mut versions = answers::api_versions(&[]);
            versions.error_code = 35;
            if let Some(range) = advertised {
                versions.api_keys = answers::api_versions(&[ApiKey::ApiVersions]).api_keys;
                (
                    versions.api_keys[0].min_version,
                    versions.api_keys[0].max_version,
                ) = range;
            }
            Reply::Respond(versions.into())
        })
        .await;
        let error = guarded(AdminClient::new(broker.config(&[])))
            .await
            .err()
            .expect("no client while ApiVersions always fails");
        assert!(
            matches!(error, ClientError::Protocol { .. }) || error.kafka_code() == Some(35),
            "{advertised:?}: {error:?}"
        );
    }
}

// ---- metadata ----

#[tokio::test]
async fn metadata_array_counts_beyond_the_frame_are_protocol_errors() {
    for huge_topics in [false, true] {
        let broker = HostileBroker::hostile_for(ApiKey::Metadata, move |incoming| {
            Reply::Frame(answers::metadata_with_huge_count(incoming, huge_topics))
        })
        .await;
        let error = guarded(AdminClient::new(broker.config(&[])))
            .await
            .err()
            .expect("no client on unreadable metadata");
        assert!(
            matches!(error, ClientError::Protocol { .. }),
            "huge topics {huge_topics}: {error:?}"
        );
    }
}

/// A broker whose Metadata lists itself plus `extra_brokers`, and topic `t`
/// with `partitions`.
async fn with_metadata(
    extra_brokers: Vec<(i32, &'static str, i32)>,
    partitions: Vec<(i32, i32)>,
) -> HostileBroker {
    HostileBroker::hostile_for(ApiKey::Metadata, move |incoming| {
        metadata_answer(incoming, &extra_brokers, &partitions)
    })
    .await
}

fn metadata_answer(
    incoming: &hostile::Incoming,
    extra_brokers: &[(i32, &str, i32)],
    partitions: &[(i32, i32)],
) -> Reply {
    let mut brokers = vec![broker(NODE, "127.0.0.1", incoming.port.into())];
    brokers.extend(
        extra_brokers
            .iter()
            .map(|(id, host, port)| broker(*id, host, *port)),
    );
    let partitions = partitions
        .iter()
        .map(|(index, leader)| partition(*index, *leader))
        .collect();
    Reply::Respond(metadata(brokers, vec![topic("t", partitions)]).into())
}

/// [`with_metadata`] on a broker too old for DescribeCluster, so that
/// `describe_cluster` shows the brokers of the client's metadata cache.
async fn with_metadata_and_no_describe_cluster(
    extra_brokers: Vec<(i32, &'static str, i32)>,
    partitions: Vec<(i32, i32)>,
) -> HostileBroker {
    HostileBroker::start(move |incoming| match incoming.api {
        ApiKey::ApiVersions => {
            let apis: Vec<ApiKey> = ApiKey::ALL
                .iter()
                .copied()
                .filter(|api| *api != ApiKey::DescribeCluster)
                .collect();
            Reply::Respond(answers::api_versions(&apis).into())
        }
        ApiKey::Metadata => metadata_answer(incoming, &extra_brokers, &partitions),
        _ => well_behaved(incoming),
    })
    .await
}

#[tokio::test]
async fn negative_and_duplicate_partition_ids_are_dropped() {
    let broker = with_metadata(vec![], vec![(-1, NODE), (0, NODE), (0, NODE), (-7, NODE)]).await;
    let admin = admin(&broker).await;
    let described = guarded(admin.describe_topics(&["t"])).await.expect("t");
    let ids: Vec<i32> = described[0]
        .partitions
        .iter()
        .map(|p| p.partition)
        .collect();
    assert_eq!(ids, vec![0]);

    // The producer then spreads records over the one real partition.
    let producer = guarded(Producer::new(broker.config(&[])))
        .await
        .expect("producer");
    for _ in 0..4 {
        let delivered = guarded(producer.send(ProducerRecord::new("t", "v")))
            .await
            .expect("delivered to partition 0");
        assert_eq!(delivered.partition, 0);
    }
}

async fn produce_error(broker: &HostileBroker) -> ClientError {
    let producer = guarded(Producer::new(broker.config(&[])))
        .await
        .expect("producer");
    let sent = ProducerRecord::new("t", "v").with_partition(0);
    let failure = guarded(producer.send(sent.clone()))
        .await
        .expect_err("no usable leader");
    assert_handed_back(&failure, &sent);
    failure.error
}

#[tokio::test]
async fn a_leader_missing_from_the_broker_list_fails_the_record_in_time() {
    let broker = with_metadata(vec![], vec![(0, 42)]).await;
    let error = produce_error(&broker).await;
    assert!(
        matches!(
            error,
            ClientError::NoBrokerAvailable { .. } | ClientError::DeliveryTimeout { .. }
        ),
        "{error:?}"
    );
    assert_still_usable(&admin(&broker).await).await;
}

#[tokio::test]
async fn brokers_with_impossible_addresses_are_never_dialled() {
    for (host, port) in [
        ("127.0.0.1", -1),
        ("127.0.0.1", 70000),
        ("", 9092),
        ("127.0.0.1", 0),
    ] {
        let broker =
            with_metadata_and_no_describe_cluster(vec![(1, host, port)], vec![(0, 1)]).await;
        let admin = admin(&broker).await;
        guarded(admin.describe_topics(&["t"]))
            .await
            .expect("metadata of t");
        // Without DescribeCluster, the brokers come from the metadata cache.
        let known = guarded(admin.describe_cluster())
            .await
            .expect("metadata")
            .brokers;
        assert!(
            known.iter().all(|b| b.node_id != 1),
            "{host}:{port} kept: {known:?}"
        );
        assert!(known.iter().any(|b| b.node_id == NODE), "{known:?}");
        let error = produce_error(&broker).await;
        assert!(
            matches!(
                error,
                ClientError::NoBrokerAvailable { .. } | ClientError::DeliveryTimeout { .. }
            ),
            "{host}:{port}: {error:?}"
        );
        assert_still_usable(&admin).await;
    }
}

// ---- coordinators ----

#[tokio::test]
async fn a_coordinator_that_never_answers_times_out() {
    let silent = HostileBroker::start(|_| Reply::Silence).await;
    let silent_port = i32::from(silent.addr.port());
    let broker = HostileBroker::start(move |incoming| match incoming.api {
        ApiKey::FindCoordinator => {
            Reply::Respond(answers::coordinator(7, "127.0.0.1", silent_port).into())
        }
        ApiKey::Metadata => Reply::Respond(
            metadata(
                vec![
                    broker(NODE, "127.0.0.1", incoming.port.into()),
                    broker(7, "127.0.0.1", silent_port),
                ],
                Vec::new(),
            )
            .into(),
        ),
        _ => well_behaved(incoming),
    })
    .await;
    let admin = admin(&broker).await;
    let error = guarded(admin.describe_group("g"))
        .await
        .expect_err("silent coordinator");
    assert!(matches!(error, ClientError::Timeout { .. }), "{error:?}");
    assert_still_usable(&admin).await;
}

#[tokio::test]
async fn a_coordinator_missing_from_the_metadata_is_an_error() {
    let broker = HostileBroker::hostile_for(ApiKey::FindCoordinator, |_| {
        Reply::Respond(answers::coordinator(99, "127.0.0.1", 1).into())
    })
    .await;
    let admin = admin(&broker).await;
    let error = guarded(admin.describe_group("g"))
        .await
        .expect_err("unknown coordinator");
    assert!(
        matches!(error, ClientError::NoBrokerAvailable { .. }),
        "{error:?}"
    );
}
