//! ElectLeaders (KIP-460): move leadership back to preferred replicas
//! (`kafka-leader-election.sh --election-type PREFERRED`), or give a
//! leaderless partition any live replica (UNCLEAN). The controller
//! decides; on one node every partition has its only replica leading.

use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use strom_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};

use super::{by_topic, first_of_each};
use crate::cluster::requests::{ControllerRequest, ControllerResponse};
use crate::state::Broker;
use crate::topic_table::every_partition;

const UNCLEAN: i8 = 1;

pub async fn handle(
    broker: &Arc<Broker>,
    request: ElectLeadersRequest,
    version: i16,
) -> ElectLeadersResponse {
    let unclean = version >= 1 && request.election_type == UNCLEAN;
    let partitions: Option<Vec<(String, i32)>> = request.topic_partitions.map(|topics| {
        let named = topics.into_iter().flat_map(|t| {
            t.partitions
                .into_iter()
                .map(move |p| (t.topic.clone(), p, ()))
        });
        first_of_each(named)
            .into_iter()
            .map(|(topic, index, ())| (topic, index))
            .collect()
    });
    let results = match broker.cluster() {
        Some(node) => match node
            .ask(ControllerRequest::ElectLeaders {
                unclean,
                partitions,
            })
            .await
        {
            Ok(ControllerResponse::PartitionResults { results, .. }) => results,
            Ok(_) => return refused(error_codes::UNKNOWN_SERVER_ERROR),
            Err(e) => return refused(e.code),
        },
        None => single_node(broker, partitions),
    };
    let replica_election_results = by_topic(
        results
            .into_iter()
            .map(|(t, p, code, message)| (t, p, (code, message))),
        |_, partition_id, (error_code, error_message)| PartitionResult {
            partition_id,
            error_code,
            error_message,
            ..Default::default()
        },
        |topic, partition_result| ReplicaElectionResult {
            topic,
            partition_result,
            ..Default::default()
        },
    );
    ElectLeadersResponse {
        error_code: error_codes::NONE,
        replica_election_results,
        ..Default::default()
    }
}

/// One broker is every partition's only, preferred and leading replica.
fn single_node(
    broker: &Broker,
    partitions: Option<Vec<(String, i32)>>,
) -> Vec<(String, i32, i16, Option<String>)> {
    let partitions = partitions.unwrap_or_else(|| every_partition(&broker.topics()));
    partitions
        .into_iter()
        .map(|(topic, index)| {
            let exists = broker
                .topic(&topic)
                .is_some_and(|t| index >= 0 && index < t.partition_count());
            let code = if exists {
                error_codes::ELECTION_NOT_NEEDED
            } else {
                error_codes::UNKNOWN_TOPIC_OR_PARTITION
            };
            (topic, index, code, None)
        })
        .collect()
}

fn refused(code: i16) -> ElectLeadersResponse {
    ElectLeadersResponse {
        error_code: code,
        ..Default::default()
    }
}
