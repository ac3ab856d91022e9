//! One module per API family. Each handler takes the decoded request and
//! returns the response body; errors become Kafka error codes in it.

use std::collections::{HashMap, HashSet};

pub mod acls;
pub mod api_versions;
pub mod client_quotas;
pub mod cluster;
pub mod configs;
pub mod delete_records;
pub mod describe_topic_partitions;
pub mod elect_leaders;
pub mod fetch;
pub mod group_offsets;
pub mod groups;
pub mod init_producer_id;
pub mod leader_epochs;
pub mod leader_hints;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
mod produce_records;
pub mod quorum;
pub mod reassignments;
pub mod topics;
pub mod users;

/// The partitions a request names, each once, in the order first named
/// (with what the first mention asked): a request repeating one partition
/// many times is answered once for it, as Kafka's sets of partitions do.
pub(crate) fn first_of_each<T>(
    named: impl IntoIterator<Item = (String, i32, T)>,
) -> Vec<(String, i32, T)> {
    let mut seen = HashSet::new();
    named
        .into_iter()
        .filter(|(topic, index, _)| seen.insert((topic.clone(), *index)))
        .collect()
}

/// Per-partition answers `(topic, partition, what)` grouped by topic in
/// first-seen order, in a response's shapes.
pub(crate) fn by_topic<X, P, T>(
    answers: impl IntoIterator<Item = (String, i32, X)>,
    partition: impl Fn(&str, i32, X) -> P,
    topic: impl Fn(String, Vec<P>) -> T,
) -> Vec<T> {
    let mut slots: HashMap<String, usize> = HashMap::new();
    let mut grouped: Vec<(String, Vec<P>)> = Vec::new();
    for (name, index, what) in answers {
        let slot = *slots.entry(name.clone()).or_insert_with(|| {
            grouped.push((name.clone(), Vec::new()));
            grouped.len() - 1
        });
        grouped[slot].1.push(partition(&name, index, what));
    }
    grouped
        .into_iter()
        .map(|(name, partitions)| topic(name, partitions))
        .collect()
}
