//! A broker as a member of a multi-node cluster: the metadata quorum
//! (`strom_raft`, whose committed records this module applies to the
//! broker's topic table), the controller that runs on the quorum's leader,
//! heartbeats, ISR upkeep for the partitions this broker leads, and the
//! replica fetchers for those it follows.
//!
//! A one-node broker (no `controller.quorum.voters`) uses none of this: it
//! keeps its metadata in topic files, as it always has.

pub mod controller;
mod decisions;
pub mod fetcher;
pub mod isr;
pub mod placement;
mod probe;
pub mod records;
pub mod requests;
mod stall;

use crate::quotas::QuotaChange;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use strom_protocol::error_codes;
use strom_raft::{LeaderHandler, Quorum, QuorumConfig, StateMachine};
use tokio::task::JoinHandle;

use crate::error::{ApiError, BrokerError};
use crate::file_work::off_the_worker;
use crate::security::tls;
use crate::security::users::StoredCredential;
use crate::state::Broker;
use crate::topic_table::{Delta, TopicTable};
use controller::Controller;
use requests::{ControllerRequest, ControllerResponse};

/// Pause between attempts to join while the controller refuses.
const CATCH_UP_RETRY: Duration = Duration::from_millis(200);

/// How long a broker waits for the controller to decide a change.
const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(15);

pub struct ClusterNode {
    pub quorum: Arc<Quorum>,
    pub controller: Arc<Controller>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// Joins (or forms) the cluster: starts the metadata quorum, whose log
/// replays into `broker`'s table, and this broker's background duties.
pub async fn start(broker: &Arc<Broker>) -> Result<Arc<ClusterNode>, BrokerError> {
    let settings = broker.config.settings().clone();
    let listen_address = settings.cluster_listen_address().ok_or_else(|| {
        BrokerError::Cluster(format!(
            "node {} is not in controller.quorum.voters and has no strom.cluster.listen",
            broker.node_id
        ))
    })?;
    let listen = tokio::net::lookup_host(&listen_address)
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            BrokerError::Cluster(format!(
                "cannot resolve the cluster listener {listen_address}"
            ))
        })?;
    let controller = Arc::new(Controller::new(Arc::downgrade(broker)));
    let tls = match settings.inter_broker_tls {
        true => Some(tls::cluster_tls(
            settings.inter_broker_security(),
            &settings.authorizer,
        )?),
        false => None,
    };
    let fetcher_tls = tls.as_ref().map(|tls| tls.client.clone());
    let config = QuorumConfig {
        node_id: node_id(broker.node_id),
        listen,
        voters: settings
            .quorum_voters
            .iter()
            .map(|v| (node_id(v.id), v.address.clone()))
            .collect(),
        dir: broker.data_dir.join("cluster-metadata"),
        snapshot_every: settings.metadata_snapshot_records as u64,
        keep_after_snapshot: QuorumConfig::default()
            .keep_after_snapshot
            .min(settings.metadata_snapshot_records as u64),
        tls,
        ..QuorumConfig::default()
    };
    let quorum = Quorum::start(
        config,
        Arc::new(Applier {
            broker: Arc::downgrade(broker),
        }),
        Arc::new(Handler {
            controller: controller.clone(),
        }),
    )
    .await
    .map_err(|e| BrokerError::Cluster(format!("metadata quorum: {e}")))?;
    controller.set_quorum(quorum.clone());
    let node = Arc::new(ClusterNode {
        quorum,
        controller,
        tasks: std::sync::Mutex::new(Vec::new()),
    });
    // The heartbeats come first: `shut_down` stops them before the rest.
    let tasks = vec![
        tokio::spawn(heartbeats(Arc::downgrade(broker), node.clone())),
        tokio::spawn(leader_duties(node.clone(), settings.clone())),
        tokio::spawn(isr::maintain(Arc::downgrade(broker), node.clone())),
        tokio::spawn(fetcher::run(Arc::downgrade(broker), fetcher_tls)),
    ];
    *node.tasks.lock().unwrap_or_else(|e| e.into_inner()) = tasks;
    Ok(node)
}

fn node_id(id: i32) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

impl ClusterNode {
    /// Asks the controller for a change and waits until this broker has
    /// applied it, so the caller's next read of the table sees it.
    pub async fn ask(&self, request: ControllerRequest) -> Result<ControllerResponse, ApiError> {
        let reply = self
            .quorum
            .call_leader(requests::encode(&request), CONTROLLER_TIMEOUT)
            .await
            .map_err(|e| {
                ApiError::new(error_codes::REQUEST_TIMED_OUT, format!("controller: {e}"))
            })?;
        let response: ControllerResponse = requests::decode(&reply).map_err(|e| {
            ApiError::new(
                error_codes::UNKNOWN_SERVER_ERROR,
                format!("controller answer: {e}"),
            )
        })?;
        let index = match &response {
            ControllerResponse::Error { code, message } => {
                return Err(ApiError::new(*code, message.clone()))
            }
            ControllerResponse::Applied { index }
            | ControllerResponse::ProducerIds { index, .. }
            | ControllerResponse::PartitionResults { index, .. } => *index,
            ControllerResponse::Quorum(_) => 0,
        };
        if index > 0 {
            self.quorum
                .wait_applied(index, CONTROLLER_TIMEOUT)
                .await
                .map_err(|e| {
                    ApiError::new(error_codes::REQUEST_TIMED_OUT, format!("metadata: {e}"))
                })?;
        }
        Ok(response)
    }

    /// Registers this broker and waits until it has applied the metadata
    /// committed so far: until then its idea of who leads what may be
    /// stale, so it must not serve clients (Kafka's broker stays fenced
    /// until it has caught up).
    pub async fn catch_up(&self, broker: &Broker) {
        loop {
            match self.ask(heartbeat(broker)).await {
                Ok(_) => return,
                Err(e) => tracing::warn!(
                    "waiting for the metadata quorum before serving ({}): is a majority of controller.quorum.voters running?",
                    e.message
                ),
            }
            // A refusal can come back at once (a membership change in
            // progress): do not spin on it.
            tokio::time::sleep(CATCH_UP_RETRY).await;
        }
    }

    /// Offers the topics of the one-node data dir this broker was to the
    /// controller, once: they join the metadata on this broker alone, with
    /// their logs, ids, configs and epochs (add replicas afterwards with a
    /// reassignment). Retried at the next start if it fails.
    pub async fn import_topics(&self, broker: &Broker) {
        let (topics, producer_id_bound) = broker.legacy_topics();
        if topics.is_empty() {
            return;
        }
        let names: Vec<String> = topics.iter().map(|(meta, _)| meta.name.clone()).collect();
        let request = ControllerRequest::ImportTopics {
            node: broker.node_id,
            producer_id_bound,
            topics: topics
                .into_iter()
                .map(|(meta, epochs)| requests::ImportedTopic {
                    name: meta.name,
                    id: *meta.id.as_bytes(),
                    configs: meta.configs,
                    epochs,
                })
                .collect(),
        };
        match self.ask(request).await {
            Ok(_) => {
                tracing::info!(topics = ?names, "topics of this one-node data dir joined the cluster's metadata");
                broker.legacy_topics_imported();
            }
            Err(e) => tracing::error!(
                "the one-node topics were not imported ({}); they are offered again at the next start",
                e.message
            ),
        }
    }

    /// The SCRAM users of the one-node data dir this broker was join the
    /// cluster's metadata (but for credentials it already has), and the
    /// local file is retired so a later start does not offer them again.
    pub async fn import_users(&self, broker: &Broker) {
        let local = std::mem::take(
            &mut *broker
                .legacy_users
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if local.is_empty() {
            return;
        }
        let known = broker.table().scram_users().clone();
        let upserts: Vec<_> = local
            .iter()
            .flat_map(|(user, creds)| creds.iter().map(move |c| (user, c)))
            .filter(|(user, c)| {
                !known
                    .get(*user)
                    .is_some_and(|held| held.iter().any(|h| h.mechanism == c.mechanism))
            })
            .map(|(user, c)| (user.clone(), StoredCredential::from(c)))
            .collect();
        let count = upserts.len();
        if count > 0 {
            let request = ControllerRequest::AlterScramCredentials {
                upserts,
                deletions: Vec::new(),
            };
            if let Err(e) = self.ask(request).await {
                tracing::error!(
                    "the one-node SCRAM users were not imported ({}); they are offered again at the next start",
                    e.message
                );
                return;
            }
        }
        tracing::info!(
            credentials = count,
            "SCRAM users of this one-node data dir joined the cluster's metadata"
        );
        if let Err(e) = broker.users.retire_file() {
            tracing::warn!("imported, but the local credentials file stays: {e}");
        }
    }

    /// The ACLs of the one-node data dir this broker was join the
    /// cluster's metadata, and the local file is retired.
    pub async fn import_acls(&self, broker: &Broker) {
        let local =
            std::mem::take(&mut *broker.legacy_acls.lock().unwrap_or_else(|e| e.into_inner()));
        if local.is_empty() {
            return;
        }
        let known = broker.table().acls().clone();
        let created: Vec<_> = local.difference(&known).cloned().collect();
        let count = created.len();
        if count > 0 {
            let request = ControllerRequest::AlterAcls {
                created,
                deleted: Vec::new(),
            };
            if let Err(e) = self.ask(request).await {
                tracing::error!(
                    "the one-node ACLs were not imported ({}); they are offered again at the next start",
                    e.message
                );
                return;
            }
        }
        tracing::info!(
            acls = count,
            "ACLs of this one-node data dir joined the cluster's metadata"
        );
        if let Err(e) = broker.authorizer.retire_file() {
            tracing::warn!("imported, but the local ACL file stays: {e}");
        }
    }

    /// The client quotas of the one-node data dir this broker was join the
    /// cluster's metadata (but for keys it already has), and the local file
    /// is retired.
    pub async fn import_quotas(&self, broker: &Broker) {
        let local = std::mem::take(
            &mut *broker
                .legacy_quotas
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if local.is_empty() {
            return;
        }
        let known = broker.table().client_quotas().clone();
        let changes: Vec<QuotaChange> = local
            .into_iter()
            .flat_map(|(entity, values)| {
                values.into_iter().map(move |(key, value)| QuotaChange {
                    entity: entity.clone(),
                    key,
                    value: Some(value),
                })
            })
            .filter(|c| !known.get(&c.entity).is_some_and(|v| v.contains_key(&c.key)))
            .collect();
        let count = changes.len();
        if count > 0 {
            if let Err(e) = self
                .ask(ControllerRequest::AlterClientQuotas { changes })
                .await
            {
                tracing::error!(
                    "the one-node client quotas were not imported ({}); they are offered again at the next start",
                    e.message
                );
                return;
            }
        }
        tracing::info!(
            quotas = count,
            "client quotas of this one-node data dir joined the cluster's metadata"
        );
        if let Err(e) = broker.quotas.retire_file() {
            tracing::warn!("imported, but the local quota file stays: {e}");
        }
    }

    /// A clean shutdown: the controller moves this broker's leaderships
    /// to other in-sync replicas before it goes (Kafka's controlled
    /// shutdown), then the background tasks stop.
    pub async fn shut_down(&self, id: i32) {
        // Heartbeats stop first: one answered after the fence would
        // register this broker again (a heartbeat unfences), and the
        // controller could hand it back a partition while it exits.
        if let Some(heartbeats) = self.tasks.lock().unwrap_or_else(|e| e.into_inner()).first() {
            heartbeats.abort();
        }
        match tokio::time::timeout(
            Duration::from_secs(5),
            self.ask(ControllerRequest::ShutDown { id }),
        )
        .await
        {
            Ok(Ok(_)) => tracing::info!("leaderships handed off"),
            Ok(Err(e)) => tracing::warn!("controlled shutdown refused: {}", e.message),
            Err(_) => tracing::warn!("controlled shutdown timed out"),
        }
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
        self.quorum.shutdown().await;
    }
}

/// Feeds committed metadata records to the broker.
struct Applier {
    broker: Weak<Broker>,
}

impl StateMachine for Applier {
    fn apply(&self, index: u64, record: &[u8]) {
        let Some(broker) = self.broker.upgrade() else {
            return;
        };
        match records::decode(record) {
            Ok(records) => {
                let deltas = off_the_worker(|| broker.commit(records, None));
                forget_offsets_of_removed_topics(&broker, deltas)
            }
            // Every node decodes the same bytes the same way: skipping the
            // entry keeps them all in step, and the log says what was lost.
            Err(e) => tracing::error!(index, "metadata entry cannot be decoded, skipped: {e}"),
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        match self.broker.upgrade() {
            Some(broker) => records::encode(&broker.table().to_records()),
            None => Vec::new(),
        }
    }

    fn restore(&self, snapshot: &[u8]) {
        let Some(broker) = self.broker.upgrade() else {
            return;
        };
        let mut target = TopicTable::default();
        match records::decode(snapshot) {
            Ok(records) => {
                for record in records {
                    if let Err(e) = target.apply(record) {
                        tracing::error!("metadata snapshot record not applied: {e}");
                    }
                }
            }
            Err(e) => {
                tracing::error!("metadata snapshot cannot be decoded: {e}");
                return;
            }
        }
        let changes = broker.table().records_to_reach(&target);
        let deltas = off_the_worker(|| broker.commit(changes, None));
        forget_offsets_of_removed_topics(&broker, deltas);
    }
}

/// Every broker, not only the one that handled the DeleteTopics, removes
/// the committed offsets of a deleted topic from the groups it
/// coordinates, so a topic recreated under the same name starts from
/// nothing in every group (Kafka's `onPartitionsDeleted`).
fn forget_offsets_of_removed_topics(broker: &Arc<Broker>, deltas: Vec<Delta>) {
    for delta in deltas {
        if let Delta::TopicRemoved { topic } = delta {
            let broker = broker.clone();
            tokio::spawn(
                async move { crate::group::remove_topic_offsets(&broker, &topic.name).await },
            );
        }
    }
}

struct Handler {
    controller: Arc<Controller>,
}

impl LeaderHandler for Handler {
    fn handle(&self, request: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>> {
        let controller = self.controller.clone();
        Box::pin(async move {
            let response = match requests::decode::<ControllerRequest>(&request) {
                Ok(request) => controller.handle(request).await,
                Err(e) => ControllerResponse::Error {
                    code: error_codes::INVALID_REQUEST,
                    message: format!("undecodable controller request: {e}"),
                },
            };
            requests::encode(&response)
        })
    }
}

/// "Alive, reachable here": a non-voter also says where its cluster
/// listener is, so the controller adds it to the quorum as a learner.
fn heartbeat(broker: &Broker) -> ControllerRequest {
    let settings = broker.config.settings();
    let is_voter = settings
        .quorum_voters
        .iter()
        .any(|v| v.id == broker.node_id);
    ControllerRequest::Heartbeat {
        id: broker.node_id,
        host: broker.advertised_host.clone(),
        port: broker.advertised_port,
        listeners: broker.listener_endpoints(),
        http: broker.http_address(),
        learner_address: if is_voter {
            None
        } else {
            settings.cluster_listen_address()
        },
    }
}

/// Tells the controller, every `broker.heartbeat.interval.ms`, that this
/// broker is alive and where clients reach it. The first heartbeat
/// registers the broker; one after a fence brings it back.
async fn heartbeats(broker: Weak<Broker>, node: Arc<ClusterNode>) {
    let mut failing = false;
    loop {
        let Some(b) = broker.upgrade() else {
            return;
        };
        let interval =
            Duration::from_millis(b.config.settings().broker_heartbeat_interval_ms.max(10) as u64);
        let request = heartbeat(&b);
        drop(b);
        match tokio::time::timeout(interval * 4, node.ask(request)).await {
            Ok(Ok(_)) => {
                if failing {
                    tracing::info!("heartbeats reach the controller again");
                }
                failing = false;
            }
            Ok(Err(e)) if !failing => {
                tracing::warn!("heartbeat failed: {}", e.message);
                failing = true;
            }
            Err(_) if !failing => {
                tracing::warn!("heartbeat timed out");
                failing = true;
            }
            _ => {}
        }
        tokio::time::sleep(interval).await;
    }
}

/// Runs the controller's watch of the brokers while this node leads the
/// metadata quorum.
async fn leader_duties(node: Arc<ClusterNode>, settings: crate::config::BrokerSettings) {
    let mut leader = node.quorum.leader_watch();
    let mut duty: Option<JoinHandle<()>> = None;
    let watch = controller::Watch {
        session: Duration::from_millis(settings.broker_session_timeout_ms.max(100) as u64),
        // Two missed heartbeats make a broker worth a probe.
        probe_after: Duration::from_millis(
            2 * settings.broker_heartbeat_interval_ms.max(10) as u64,
        ),
        rebalance: settings.auto_leader_rebalance_enable.then(|| {
            Duration::from_millis(settings.leader_imbalance_check_interval_ms.max(1000) as u64)
        }),
    };
    loop {
        let leading = node.quorum.is_leader();
        match (leading, duty.is_some()) {
            (true, false) => {
                tracing::info!("this node is the controller");
                duty = Some(tokio::spawn(
                    node.controller.clone().watch_brokers(watch.clone()),
                ));
            }
            (false, true) => {
                if let Some(task) = duty.take() {
                    task.abort();
                }
            }
            _ => {}
        }
        if leader.changed().await.is_err() {
            return;
        }
    }
}
