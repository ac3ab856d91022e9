//! Fetch sessions (KIP-227): a consumer's full fetch at epoch 0 gets a
//! session; its later fetches name only what changed and are answered
//! with only what is new. Bounded, and refused clearly when misused.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::fetch_request::ForgottenTopic;
use strom_protocol::messages::{FetchRequest, FetchResponse};
use strom_protocol::records::CompressionType;

/// A fetch of `session` at `epoch` (0 with session 0: a new one).
fn session_fetch(session: i32, epoch: i32, topic: &str, partitions: &[(i32, i64)]) -> FetchRequest {
    let wanted = partitions
        .iter()
        .map(|&(partition, offset)| fetch_partition(partition, offset, 1 << 20))
        .collect();
    let mut request = fetch_request(topic, wanted);
    if partitions.is_empty() {
        request.topics.clear();
    }
    request.session_id = session;
    request.session_epoch = epoch;
    request
}

/// (partition, values) of every partition the answer carries, in order.
fn answered(response: &FetchResponse) -> Vec<(i32, Vec<String>)> {
    response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| {
            let values = fetched_values(&records_of(p))
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            (p.partition_index, values)
        })
        .collect()
}

async fn produce_value(client: &mut Client, topic: &str, partition: i32, value: &str) {
    produce_ok(
        client,
        topic,
        partition,
        batch(CompressionType::None, now_ms(), &[value]),
    )
    .await;
}

#[tokio::test]
async fn a_session_answers_only_the_partitions_with_something_new() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "s", 3, &[]).await;
    produce_value(&mut client, "s", 0, "a").await;

    let all = [(0, 0), (1, 0), (2, 0)];
    let full: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(0, 0, "s", &all))
        .await;
    assert_eq!(full.error_code, 0);
    let id = full.session_id;
    assert!(id > 0, "a full fetch at epoch 0 gets a session");
    assert_eq!(
        answered(&full),
        vec![(0, vec!["a".to_string()]), (1, vec![]), (2, vec![])]
    );

    // Partition 0's position moved; nothing else is new.
    let quiet: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(id, 1, "s", &[(0, 1)]))
        .await;
    assert_eq!((quiet.error_code, quiet.session_id), (0, id));
    assert_eq!(answered(&quiet), vec![], "nothing new, nothing answered");

    // A record in partition 2, which the fetch does not name: the
    // session remembers where its client is.
    produce_value(&mut client, "s", 2, "b").await;
    let news: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(id, 2, "s", &[]))
        .await;
    assert_eq!(answered(&news), vec![(2, vec!["b".to_string()])]);

    // A forgotten partition is read no more.
    let mut forget = session_fetch(id, 3, "s", &[(2, 1)]);
    forget.forgotten_topics_data = vec![ForgottenTopic {
        topic: "s".into(),
        partitions: vec![1],
        ..Default::default()
    }];
    let _: FetchResponse = client.call(FETCH_VERSION, forget).await;
    produce_value(&mut client, "s", 1, "c").await;
    let after: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(id, 4, "s", &[]))
        .await;
    assert_eq!(answered(&after), vec![]);

    // Out of order, unknown, or of the wrong version: refused, nothing read.
    let stale: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(id, 4, "s", &[]))
        .await;
    assert_eq!(stale.error_code, error_codes::INVALID_FETCH_SESSION_EPOCH);
    assert!(stale.responses.is_empty());
    let unknown: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(id ^ 1, 1, "s", &[]))
        .await;
    assert_eq!(unknown.error_code, error_codes::FETCH_SESSION_ID_NOT_FOUND);
    let by_id: FetchResponse = client.call(13, session_fetch(id, 5, "", &[])).await;
    assert_eq!(by_id.error_code, error_codes::FETCH_SESSION_TOPIC_ID_ERROR);

    // The same client on another connection goes on where it was.
    let mut other = broker.connect().await;
    let goes_on: FetchResponse = other
        .call(FETCH_VERSION, session_fetch(id, 5, "s", &[(1, 0)]))
        .await;
    assert_eq!(answered(&goes_on), vec![(1, vec!["c".to_string()])]);

    // Epoch -1 closes the session and is served as a full fetch.
    let closing: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(id, -1, "s", &all))
        .await;
    assert_eq!((closing.error_code, closing.session_id), (0, 0));
    assert_eq!(answered(&closing).len(), 3);
    let closed: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(id, 6, "s", &[]))
        .await;
    assert_eq!(closed.error_code, error_codes::FETCH_SESSION_ID_NOT_FOUND);
    assert_eq!(broker.broker().fetch_sessions.held(), (0, 0));
}

#[tokio::test]
async fn sessions_are_bounded_and_a_fetch_without_one_is_served_in_full() {
    let broker = TestBroker::start_with(&[("max.incremental.fetch.session.cache.slots", "2")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "b", 2, &[]).await;
    produce_value(&mut client, "b", 0, "x").await;

    let mut ids = Vec::new();
    for _ in 0..2 {
        let full: FetchResponse = client
            .call(FETCH_VERSION, session_fetch(0, 0, "b", &[(0, 0)]))
            .await;
        assert!(full.session_id > 0);
        ids.push(full.session_id);
    }
    // No slot, and both sessions are in use and no smaller: none, but
    // the fetch is answered as any full fetch.
    let no_room: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(0, 0, "b", &[(0, 0)]))
        .await;
    assert_eq!((no_room.error_code, no_room.session_id), (0, 0));
    assert_eq!(answered(&no_room), vec![(0, vec!["x".to_string()])]);
    assert_eq!(broker.broker().fetch_sessions.held(), (2, 2));

    // A larger session takes the least recently used one's slot.
    let larger: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(0, 0, "b", &[(0, 0), (1, 0)]))
        .await;
    assert!(larger.session_id > 0);
    let evicted: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(ids[0], 1, "b", &[]))
        .await;
    assert_eq!(evicted.error_code, error_codes::FETCH_SESSION_ID_NOT_FOUND);
    let kept: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(ids[1], 1, "b", &[]))
        .await;
    assert_eq!((kept.error_code, kept.session_id), (0, ids[1]));
    assert_eq!(broker.broker().fetch_sessions.held(), (2, 3));

    // Followers and pre-session versions never get one.
    let old: FetchResponse = client.call(6, session_fetch(0, 0, "b", &[(0, 0)])).await;
    assert_eq!(old.session_id, 0);
}

#[tokio::test]
async fn no_sessions_when_the_cache_has_no_slots() {
    let broker = TestBroker::start_with(&[("max.incremental.fetch.session.cache.slots", "0")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "n", 1, &[]).await;
    let full: FetchResponse = client
        .call(FETCH_VERSION, session_fetch(0, 0, "n", &[(0, 0)]))
        .await;
    assert_eq!((full.error_code, full.session_id), (0, 0));
    assert_eq!(answered(&full).len(), 1);
}

/// A fetch of `count` partitions of a topic that does not exist, from
/// partition `first` on.
fn ghost_fetch(session: i32, epoch: i32, first: i32, count: i32) -> FetchRequest {
    let wanted: Vec<(i32, i64)> = (first..first + count).map(|p| (p, 0)).collect();
    session_fetch(session, epoch, "ghost", &wanted)
}

#[tokio::test]
async fn a_session_cannot_grow_past_the_bound_on_all_sessions() {
    use strom_broker::fetch_sessions::MAX_CACHED_PARTITIONS;
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let most = MAX_CACHED_PARTITIONS as i32;
    let big: FetchResponse = client
        .call(FETCH_VERSION, ghost_fetch(0, 0, 0, most / 2 + 1))
        .await;
    assert!(big.session_id > 0);
    assert_eq!(big.responses[0].partitions.len(), (most / 2 + 1) as usize);
    assert!(big.responses[0]
        .partitions
        .iter()
        .all(|p| p.error_code != 0));

    // A second one as large does not fit beside it.
    let second: FetchResponse = client
        .call(FETCH_VERSION, ghost_fetch(0, 0, 0, most / 2 + 1))
        .await;
    assert_eq!((second.error_code, second.session_id), (0, 0));

    // Growing the first past the bound ends it: the client starts over.
    let grow: FetchResponse = client
        .call(
            FETCH_VERSION,
            ghost_fetch(big.session_id, 1, most, most / 2),
        )
        .await;
    assert_eq!(grow.error_code, error_codes::FETCH_SESSION_ID_NOT_FOUND);
    assert!(grow.responses.is_empty());
    assert_eq!(broker.broker().fetch_sessions.held(), (0, 0));
}

#[tokio::test]
async fn a_partition_that_filled_an_answer_waits_behind_the_others() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "f", 3, &[]).await;
    for partition in 0..3 {
        produce_value(&mut client, "f", partition, &format!("p{partition}")).await;
    }
    // Answers of at most 1 byte: each carries one partition's first batch.
    let small = |mut request: FetchRequest| {
        request.max_bytes = 1;
        request
    };
    let full: FetchResponse = client
        .call(
            FETCH_VERSION,
            small(session_fetch(0, 0, "f", &[(0, 0), (1, 0), (2, 0)])),
        )
        .await;
    let with_records = |response: &FetchResponse| -> Vec<i32> {
        answered(response)
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(p, _)| p)
            .collect()
    };
    assert_eq!(with_records(&full), vec![0]);
    let id = full.session_id;
    let first: FetchResponse = client
        .call(FETCH_VERSION, small(session_fetch(id, 1, "f", &[(0, 1)])))
        .await;
    assert_eq!(with_records(&first), vec![1]);

    // Partition 1 has more, but it filled the last answer: partition 2
    // is read first now, and takes this one.
    produce_value(&mut client, "f", 1, "more").await;
    let second: FetchResponse = client
        .call(FETCH_VERSION, small(session_fetch(id, 2, "f", &[(1, 1)])))
        .await;
    assert_eq!(with_records(&second), vec![2]);
    let third: FetchResponse = client
        .call(FETCH_VERSION, small(session_fetch(id, 3, "f", &[(2, 1)])))
        .await;
    assert_eq!(answered(&third), vec![(1, vec!["more".to_string()])]);
}
