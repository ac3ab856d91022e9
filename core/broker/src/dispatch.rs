//! Routes a decoded request to its handler.

use std::net::SocketAddr;
use std::sync::Arc;

use strom_protocol::messages::{Request, RequestHeader, Response};

use crate::handlers;
use crate::state::Broker;

/// Runs the request; `None` when no handler exists (the connection then closes).
pub async fn dispatch(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    request: Request,
    peer: SocketAddr,
) -> Option<Response> {
    let version = header.request_api_version;
    let response: Response = match request {
        Request::ApiVersions(_) => handlers::api_versions::handle().into(),
        Request::Metadata(req) => handlers::metadata::handle(broker, req, version)
            .await
            .into(),
        // Connections pipeline produces themselves (append, then finish in
        // the answer queue); this is the one-at-a-time form.
        Request::Produce(req) => handlers::produce::handle(broker, req, version).await.into(),
        Request::Fetch(req) => handlers::fetch::handle(broker, req, version).await.into(),
        Request::ListOffsets(req) => {
            handlers::list_offsets::handle(&broker.partitions, req, version)
                .await
                .into()
        }
        Request::OffsetForLeaderEpoch(req) => {
            handlers::leader_epochs::handle(&broker.partitions, req).into()
        }
        Request::InitProducerId(req) => {
            handlers::init_producer_id::handle(broker, req).await.into()
        }
        Request::CreateTopics(req) => handlers::topics::create(broker, req, version).await.into(),
        Request::DeleteTopics(req) => handlers::topics::delete(broker, req, version).await.into(),
        Request::CreatePartitions(req) => handlers::topics::create_partitions(broker, req)
            .await
            .into(),
        Request::DeleteRecords(req) => handlers::delete_records::handle(&broker.partitions, req)
            .await
            .into(),
        Request::DescribeConfigs(req) => handlers::configs::describe(broker, req, version).into(),
        Request::AlterConfigs(req) => handlers::configs::alter(broker, req).await.into(),
        Request::IncrementalAlterConfigs(req) => handlers::configs::incremental_alter(broker, req)
            .await
            .into(),
        Request::DescribeTopicPartitions(req) => {
            handlers::describe_topic_partitions::handle(broker, req).into()
        }
        Request::DescribeCluster(req) => handlers::cluster::describe_cluster(broker, req).into(),
        Request::AlterPartitionReassignments(req) => {
            handlers::reassignments::alter(broker, req).await.into()
        }
        Request::ListPartitionReassignments(req) => {
            handlers::reassignments::list(broker, req).into()
        }
        Request::ElectLeaders(req) => handlers::elect_leaders::handle(broker, req, version)
            .await
            .into(),
        Request::DescribeQuorum(req) => handlers::quorum::describe_quorum(broker, req).await.into(),
        Request::DescribeLogDirs(req) => handlers::cluster::describe_log_dirs(broker, req).into(),
        Request::FindCoordinator(req) => handlers::groups::find_coordinator(broker, req, version)
            .await
            .into(),
        Request::JoinGroup(req) => {
            let client_id = header.client_id.as_deref().unwrap_or_default();
            handlers::groups::join_group(broker, req, version, client_id, peer)
                .await
                .into()
        }
        Request::SyncGroup(req) => handlers::groups::sync_group(broker, req).await.into(),
        Request::Heartbeat(req) => handlers::groups::heartbeat(broker, req).await.into(),
        Request::LeaveGroup(req) => handlers::groups::leave_group(broker, req, version)
            .await
            .into(),
        Request::ListGroups(req) => handlers::groups::list_groups(broker, req).into(),
        Request::DescribeGroups(req) => handlers::groups::describe_groups(broker, req).await.into(),
        Request::DeleteGroups(req) => handlers::groups::delete_groups(broker, req).await.into(),
        Request::OffsetCommit(req) => handlers::group_offsets::offset_commit(broker, req, version)
            .await
            .into(),
        Request::OffsetFetch(req) => handlers::group_offsets::offset_fetch(broker, req, version)
            .await
            .into(),
        Request::OffsetDelete(req) => handlers::group_offsets::offset_delete(broker, req)
            .await
            .into(),
        Request::DescribeUserScramCredentials(req) => handlers::users::describe(broker, req).into(),
        Request::AlterUserScramCredentials(req) => handlers::users::alter(broker, req).await.into(),
        Request::CreateAcls(req) => handlers::acls::create(broker, req).await.into(),
        Request::DescribeAcls(req) => handlers::acls::describe_acls(broker, req).into(),
        Request::DeleteAcls(req) => handlers::acls::delete(broker, req).await.into(),
        Request::DescribeClientQuotas(req) => handlers::client_quotas::describe(broker, req).into(),
        Request::AlterClientQuotas(req) => handlers::client_quotas::alter(broker, req).await.into(),
        other => {
            // versions::SUPPORTED lists only the APIs above, so the connection
            // refuses anything else before it gets here.
            tracing::error!(
                api = other.api_key().name(),
                "request reached dispatch without a handler"
            );
            return None;
        }
    };
    Some(response)
}
