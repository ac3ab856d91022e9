//! The broker: its topic metadata ([`TopicTable`]), the partitions it holds
//! ([`PartitionManager`]), the producer-id allocator and the group
//! coordinator. On one node, topic changes (create, delete, add
//! partitions, alter configs) are serialised by one async lock; each writes
//! the topic file (this node's commit) and then applies its metadata
//! records, so the persisted metadata and the table always change
//! together. In a cluster the controller decides each change and every
//! broker applies the committed records (`crate::cluster`); `membership`
//! answers who the brokers and the controller are.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;
use strom_storage::DirHealth;

use crate::cluster::requests::ControllerRequest;
use crate::cluster::ClusterNode;
use crate::config::{BrokerConfig, TopicConfigs};
use crate::error::{ApiError, BrokerError};
use crate::fetch_sessions::FetchSessions;
use crate::file_work::{off_the_worker, on_threads};
use crate::group::{self, GroupCoordinator};
use crate::limits::RequestMemory;
use crate::metrics::BrokerMetrics;
use crate::partition::Partition;
use crate::partition_manager::{PartitionManager, Staged, Staging};
use crate::quotas::rates::QuotaMeters;
use crate::quotas::{ClientQuotas, Quotas};
use crate::security::authorizer::{Acls, Authorizer};
use crate::security::oauth::TokenValidator;
use crate::security::users::{Credentials, ScramUsers};
use crate::topic_store::{self, ProducerIdBlock, TopicMeta};
use crate::topic_table::{
    Delta, ListenerEndpoint, MetadataRecord, PartitionAssignment, Topic, TopicTable,
};

mod membership;

pub use membership::Endpoint;

pub struct Broker {
    pub config: BrokerConfig,
    pub node_id: i32,
    pub cluster_id: String,
    /// host and port clients are told to connect to.
    pub advertised_host: String,
    pub advertised_port: i32,
    pub data_dir: PathBuf,
    /// The topic metadata, changed only by [`Broker::commit`].
    metadata: RwLock<TopicTable>,
    /// The partitions this broker holds, with their logs.
    pub partitions: Arc<PartitionManager>,
    /// Serialises topic changes; held across the disk writes they make.
    topic_changes: tokio::sync::Mutex<()>,
    producer_ids: Mutex<ProducerIdBlock>,
    /// Consumer groups and committed offsets (`__consumer_offsets`).
    pub groups: GroupCoordinator,
    /// `queued.max.request.bytes`, shared by every connection.
    pub request_memory: RequestMemory,
    /// SCRAM credentials SASL logins are checked against.
    pub users: ScramUsers,
    /// The ACLs and what they allow.
    pub authorizer: Authorizer,
    /// Checks OAUTHBEARER tokens, when that mechanism is enabled.
    pub oauth: Option<Arc<TokenValidator>>,
    /// Client quotas, and what each client has used of them.
    pub quotas: ClientQuotas,
    pub quota_meters: QuotaMeters,
    /// Requests and connections, for `/metrics`.
    pub metrics: BrokerMetrics,
    /// Consumers' fetch sessions (KIP-227).
    pub fetch_sessions: FetchSessions,
    /// Set once this broker has joined its cluster (multi-node only).
    cluster: OnceLock<Arc<ClusterNode>>,
    /// Every client listener's advertised address, once bound (registered
    /// with the controller, so other brokers can name them to clients).
    listeners: OnceLock<Vec<ListenerEndpoint>>,
    /// The HTTP listener's address as other brokers reach it, if it runs.
    http_address: OnceLock<String>,
    /// In a cluster: producer ids the controller handed this broker.
    producer_id_block: Mutex<Range<i64>>,
    /// In a cluster: the topics of the one-node data dir this was, until
    /// the controller has taken them into the metadata.
    legacy_topics: Mutex<Vec<(TopicMeta, Vec<i32>)>>,
    /// In a cluster: the SCRAM users of the one-node data dir this was,
    /// until the controller has taken them in.
    pub(crate) legacy_users: Mutex<Credentials>,
    /// In a cluster: the ACLs of the one-node data dir this was, until the
    /// controller has taken them in.
    pub(crate) legacy_acls: Mutex<Acls>,
    /// In a cluster: the client quotas of the one-node data dir this was.
    pub(crate) legacy_quotas: Mutex<Quotas>,
}

impl Broker {
    /// Opens the data dir: cluster identity, topics and their logs (running
    /// recovery where the last stop was unclean).
    pub fn open(
        config: BrokerConfig,
        advertised_host: String,
        advertised_port: i32,
    ) -> Result<Broker, BrokerError> {
        let data_dir = config.data_dir();
        std::fs::create_dir_all(&data_dir).map_err(|source| BrokerError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        let identity = topic_store::load_or_create_identity(&data_dir, config.node_id())?;
        let producer_ids = ProducerIdBlock::open(&data_dir)?;
        let broker = Broker {
            request_memory: RequestMemory::new(config.settings()),
            users: ScramUsers::open(&data_dir)?,
            authorizer: Authorizer::open(&data_dir, config.settings().authorizer.clone())?,
            quotas: ClientQuotas::open(&data_dir)?,
            oauth: token_validator(&config)?,
            quota_meters: QuotaMeters::new(
                config.settings().quota_window_num.max(2) as u32,
                config.settings().quota_window_size_seconds.max(1) as u32,
            ),
            metrics: BrokerMetrics::default(),
            fetch_sessions: FetchSessions::new(
                usize::try_from(config.settings().fetch_session_cache_slots).unwrap_or(0),
            ),
            groups: GroupCoordinator::default(),
            partitions: Arc::new(PartitionManager::new(
                data_dir.clone(),
                identity.node_id,
                usize::try_from(config.settings().fetch_cache_bytes).unwrap_or(0),
            )),
            node_id: identity.node_id,
            cluster_id: identity.cluster_id,
            config,
            advertised_host,
            advertised_port,
            data_dir,
            metadata: RwLock::new(TopicTable::default()),
            topic_changes: tokio::sync::Mutex::new(()),
            producer_ids: Mutex::new(producer_ids),
            cluster: OnceLock::new(),
            listeners: OnceLock::new(),
            http_address: OnceLock::new(),
            producer_id_block: Mutex::new(0..0),
            legacy_topics: Mutex::new(Vec::new()),
            legacy_users: Mutex::new(Credentials::new()),
            legacy_acls: Mutex::new(Acls::new()),
            legacy_quotas: Mutex::new(Quotas::new()),
        };
        if broker.config.settings().is_clustered() {
            // The metadata log holds a cluster's users: a one-node data
            // dir's are offered to the controller once this broker has
            // joined (see `cluster::ClusterNode::import_users`).
            *broker
                .legacy_users
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = broker.users.snapshot();
            broker.users.replace_replicated(Default::default());
            *broker.legacy_acls.lock().unwrap_or_else(|e| e.into_inner()) =
                broker.authorizer.snapshot();
            broker.authorizer.replace_replicated(Default::default());
            *broker
                .legacy_quotas
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = broker.quotas.snapshot();
            broker.quotas.replace_replicated(Default::default());
            // The metadata log, replayed once the quorum starts, is the
            // truth. Topic files are what this dir held as a one-node
            // broker: the controller takes them in once this broker has
            // joined (see `cluster::ClusterNode::import_topics`).
            let mut legacy = Vec::new();
            for meta in topic_store::load_all(&broker.data_dir)? {
                let epochs = (0..meta.partitions)
                    .map(|index| {
                        let dir = broker.data_dir.join(format!("{}-{index}", meta.name));
                        strom_storage::latest_epoch_in(&dir)
                            .ok()
                            .flatten()
                            .unwrap_or(0)
                    })
                    .collect();
                legacy.push((meta, epochs));
            }
            *broker
                .legacy_topics
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = legacy;
            return Ok(broker);
        }
        // The topic files are this node's committed metadata: replay them.
        // An existing `__consumer_offsets` is announced to the group
        // coordinator, which replays it once `group::start` runs.
        for meta in topic_store::load_all(&broker.data_dir)? {
            let configs = TopicConfigs::new(meta.configs.clone())?;
            let effective = configs.effective(&broker.config);
            let staged = broker.partitions.stage(
                &meta.name,
                0..meta.partitions,
                &effective,
                &broker.config,
                Staging::Start,
            )?;
            broker.commit(
                topic_records(&meta, configs, broker.node_id, &staged),
                Some(staged),
            );
        }
        let table = broker.table();
        tracing::info!(topics = table.len(), dir = %broker.data_dir.display(), "loaded topics");
        broker
            .partitions
            .remove_leftover_partitions(|topic, index| {
                table
                    .topic(topic)
                    .is_some_and(|t| index >= 0 && index < t.partition_count())
            });
        drop(table);
        Ok(broker)
    }

    /// Applies committed metadata records: the table changes, then the
    /// partition manager installs `staged` logs (or opens them), and the
    /// group coordinator hears of the `__consumer_offsets` partitions this
    /// broker gained or lost. On one node, committing means the topic file
    /// was written before this is called. Returns the changes applied.
    pub(crate) fn commit(
        &self,
        records: Vec<MetadataRecord>,
        staged: Option<Staged>,
    ) -> Vec<Delta> {
        let changes_users = records.iter().any(MetadataRecord::changes_users);
        let changes_acls = records.iter().any(MetadataRecord::changes_acls);
        let changes_quotas = records.iter().any(MetadataRecord::changes_quotas);
        let mut table = self.metadata.write().unwrap_or_else(|e| e.into_inner());
        let (deltas, errors) = table.apply_all(records);
        if changes_users {
            self.users.replace_replicated(table.scram_users().clone());
        }
        if changes_acls {
            self.authorizer.replace_replicated(table.acls().clone());
        }
        if changes_quotas {
            self.quotas
                .replace_replicated(table.client_quotas().clone());
        }
        drop(table);
        // Records are built from the table under the topic lock: one that
        // does not fit is a bug, not input.
        for e in errors {
            tracing::error!("metadata record not applied: {e}");
        }
        let changes = self.partitions.apply(&deltas, staged, &self.config);
        self.groups.on_leadership_changes(&changes);
        deltas
    }

    pub(crate) fn table(&self) -> std::sync::RwLockReadGuard<'_, TopicTable> {
        self.metadata.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.table().topic(name)
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.table().topic_by_id(id)
    }

    /// Every topic, sorted by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.table().topics()
    }

    /// The topic, or the UNKNOWN_TOPIC_OR_PARTITION answer a request for a
    /// missing one gets.
    pub fn existing_topic(&self, name: &str) -> Result<Arc<Topic>, ApiError> {
        self.topic(name).ok_or_else(|| {
            ApiError::new(
                error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                format!("topic '{name}' does not exist"),
            )
        })
    }

    /// Whether the cluster has this partition, wherever its replicas are
    /// (a group coordinator takes commits for partitions it does not hold).
    pub fn partition_exists(&self, topic: &str, index: i32) -> bool {
        self.topic(topic)
            .is_some_and(|t| index >= 0 && index < t.partition_count())
    }

    /// The partition, or the Kafka error a request for it gets: one that
    /// exists on other brokers only is NOT_LEADER_OR_FOLLOWER here.
    pub fn partition(&self, topic: &str, index: i32) -> Result<Arc<Partition>, i16> {
        self.partitions
            .find(topic, index)
            .map_err(|code| self.not_held_code(topic, index, code))
    }

    /// [`Broker::partition`] for partitions `indexes` of one topic, in
    /// that order, with one lookup of the topic for all of them.
    pub fn partitions_at(
        &self,
        topic: &str,
        indexes: impl Iterator<Item = i32> + Clone,
    ) -> Vec<Result<Arc<Partition>, i16>> {
        let held = self.partitions.partitions_at(topic, indexes.clone());
        held.into_iter()
            .zip(indexes)
            .map(|(partition, index)| {
                partition.ok_or_else(|| {
                    self.not_held_code(topic, index, error_codes::UNKNOWN_TOPIC_OR_PARTITION)
                })
            })
            .collect()
    }

    /// The error for a partition this broker does not hold: it is not the
    /// leader if the partition exists on another node, else `code`.
    fn not_held_code(&self, topic: &str, index: i32, code: i16) -> i16 {
        let elsewhere = self
            .topic(topic)
            .is_some_and(|t| index >= 0 && index < t.partition_count());
        if elsewhere {
            error_codes::NOT_LEADER_OR_FOLLOWER
        } else {
            code
        }
    }

    /// The data dir's health, shared by every log in it.
    pub fn dir_health(&self) -> &Arc<DirHealth> {
        self.partitions.dir_health()
    }

    /// Creates a topic. With `validate_only` nothing is written.
    /// `assignments`, when given, names each partition's replicas.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        assignments: Option<Vec<Vec<i32>>>,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Option<Arc<Topic>>, ApiError> {
        topic_store::validate_topic_name(name)
            .map_err(|e| ApiError::new(error_codes::INVALID_TOPIC_EXCEPTION, e.to_string()))?;
        if partitions < 1 {
            return Err(ApiError::new(
                error_codes::INVALID_PARTITIONS,
                format!("number of partitions must be at least 1, got {partitions}"),
            ));
        }
        let configs = TopicConfigs::new(overrides)
            .map_err(|e| ApiError::new(e.kafka_error_code(), e.to_string()))?;
        if replication_factor < 1 {
            return Err(ApiError::new(
                error_codes::INVALID_REPLICATION_FACTOR,
                format!("replication factor must be at least 1, got {replication_factor}"),
            ));
        }
        if let Some(node) = self.cluster() {
            node.ask(ControllerRequest::CreateTopic {
                name: name.to_string(),
                partitions,
                replication_factor,
                assignments,
                configs: configs.overrides().clone(),
                validate_only,
            })
            .await?;
            return Ok(if validate_only {
                None
            } else {
                self.topic(name)
            });
        }
        if replication_factor > 1 {
            return Err(ApiError::new(
                error_codes::INVALID_REPLICATION_FACTOR,
                format!("replication factor {replication_factor} is larger than the number of brokers (1)"),
            ));
        }
        if let Some(chosen) = assignments.iter().flatten().find(|r| **r != [self.node_id]) {
            return Err(ApiError::new(
                error_codes::INVALID_REPLICA_ASSIGNMENT,
                format!(
                    "a partition is assigned to brokers {chosen:?}; this cluster has only broker {}",
                    self.node_id
                ),
            ));
        }
        let _guard = self.topic_changes.lock().await;
        check_new_topic_name(&self.topics(), name)?;
        if validate_only {
            return Ok(None);
        }
        let meta = TopicMeta {
            name: name.to_string(),
            id: uuid::Uuid::new_v4(),
            partitions,
            replication_factor: 1,
            configs: configs.overrides().clone(),
        };
        // The partitions first, the topic's file last: the file is what a
        // restart loads, so a creation that fails halfway leaves nothing.
        off_the_worker(|| {
            let staged = self
                .partitions
                .stage(
                    name,
                    0..partitions,
                    &configs.effective(&self.config),
                    &self.config,
                    Staging::Serving,
                )
                .map_err(ApiError::storage)?;
            if let Err(e) = topic_store::save(&self.data_dir, &meta) {
                self.partitions.discard(staged);
                return Err(ApiError::storage(e));
            }
            self.commit(
                topic_records(&meta, configs, self.node_id, &staged),
                Some(staged),
            );
            Ok(())
        })?;
        tracing::info!(topic = name, partitions, "created topic");
        Ok(self.topic(name))
    }

    /// Creates `name` with the broker defaults if auto-creation is on
    /// (`__consumer_offsets` with its own settings, as Kafka does).
    pub async fn auto_create_topic(&self, name: &str) -> Result<Option<Arc<Topic>>, ApiError> {
        let settings = self.config.settings();
        let (partitions, replication, configs) = if name == group::OFFSETS_TOPIC {
            // Capped at the brokers there are, so a cluster smaller than
            // the setting still gets its group coordinators.
            let brokers = i16::try_from(self.live_brokers().len()).unwrap_or(i16::MAX);
            (
                settings.offsets_topic_num_partitions,
                settings
                    .offsets_topic_replication_factor
                    .min(brokers)
                    .max(1),
                group::offsets_topic_configs(settings),
            )
        } else {
            (
                settings.num_partitions,
                settings.default_replication_factor,
                BTreeMap::new(),
            )
        };
        match self
            .create_topic(name, partitions, replication, None, configs, false)
            .await
        {
            Ok(topic) => Ok(topic),
            // Lost a race with another creator: use theirs.
            Err(e) if e.code == error_codes::TOPIC_ALREADY_EXISTS => Ok(self.topic(name)),
            Err(e) => Err(e),
        }
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), ApiError> {
        let _guard = self.topic_changes.lock().await;
        if let Some(node) = self.cluster() {
            self.existing_topic(name)?;
            node.ask(ControllerRequest::DeleteTopic {
                name: name.to_string(),
            })
            .await?;
            tracing::info!(topic = name, "deleted topic");
            group::remove_topic_offsets(self, name).await;
            return Ok(());
        }
        let topic = self.existing_topic(name)?;
        off_the_worker(|| {
            topic_store::remove(&self.data_dir, name).map_err(ApiError::storage)?;
            self.commit(
                vec![MetadataRecord::RemoveTopic { topic_id: topic.id }],
                None,
            );
            Ok::<_, ApiError>(())
        })?;
        tracing::info!(topic = name, "deleted topic");
        // Still under the topic lock: a topic recreated with this name must
        // not meet the old topic's committed offsets.
        group::remove_topic_offsets(self, name).await;
        Ok(())
    }

    /// Grows a topic to `total` partitions.
    pub async fn create_partitions(
        &self,
        name: &str,
        total: i32,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        if let Some(node) = self.cluster() {
            node.ask(ControllerRequest::CreatePartitions {
                name: name.to_string(),
                total,
                validate_only,
            })
            .await?;
            return Ok(());
        }
        let _guard = self.topic_changes.lock().await;
        let topic = self.existing_topic(name)?;
        let current = topic.partition_count();
        if total <= current {
            return Err(ApiError::new(
                error_codes::INVALID_PARTITIONS,
                format!(
                    "topic '{name}' has {current} partitions; the new count {total} must be larger"
                ),
            ));
        }
        if validate_only {
            return Ok(());
        }
        off_the_worker(|| {
            let staged = self
                .partitions
                .stage(
                    name,
                    current..total,
                    &topic.effective_config(&self.config),
                    &self.config,
                    Staging::Serving,
                )
                .map_err(ApiError::storage)?;
            // Persist first: if the write fails, clients must not have been
            // able to produce to partitions a restart would forget.
            let meta = TopicMeta {
                partitions: total,
                ..topic_meta(&topic)
            };
            if let Err(e) = topic_store::save(&self.data_dir, &meta) {
                self.partitions.discard(staged);
                return Err(ApiError::storage(e));
            }
            let records = (current..total)
                .map(|_| MetadataRecord::Partition {
                    topic_id: topic.id,
                    assignment: sole_replica(self.node_id, 0),
                })
                .collect();
            self.commit(records, Some(staged));
            Ok(())
        })?;
        tracing::info!(topic = name, from = current, to = total, "added partitions");
        Ok(())
    }

    /// Replaces a topic's config overrides (validated by the caller).
    pub async fn set_topic_configs(
        &self,
        name: &str,
        configs: TopicConfigs,
    ) -> Result<(), ApiError> {
        if let Some(node) = self.cluster() {
            node.ask(ControllerRequest::SetTopicConfigs {
                name: name.to_string(),
                configs: configs.overrides().clone(),
            })
            .await?;
            return Ok(());
        }
        let _guard = self.topic_changes.lock().await;
        let topic = self.existing_topic(name)?;
        // Persist first, so a failed write changes nothing (the client is
        // told it failed).
        let meta = TopicMeta {
            configs: configs.overrides().clone(),
            ..topic_meta(&topic)
        };
        off_the_worker(|| topic_store::save(&self.data_dir, &meta)).map_err(ApiError::storage)?;
        self.commit(
            vec![MetadataRecord::TopicConfigs {
                topic_id: topic.id,
                configs,
            }],
            None,
        );
        Ok(())
    }

    /// Applies retention to every partition; called periodically.
    pub fn enforce_retention(&self, now_ms: i64) {
        for partition in self.partitions.all() {
            if let Err(e) = partition.log.apply_retention(now_ms) {
                tracing::warn!(topic = %partition.topic, partition = partition.index, "retention failed: {e}");
            }
        }
    }

    /// Frees the tail caches of partitions nobody read at their end
    /// lately; called periodically (see `strom_storage`'s `tail_cache.rs`).
    pub fn drop_unread_tail_caches(&self, _now_ms: i64) {
        for partition in self.partitions.all() {
            partition.log.drop_unread_tail_cache();
        }
    }

    /// One log-cleaner pass: compacts every partition whose topic's
    /// `cleanup.policy` includes `compact` and whose dirty ratio calls for
    /// it. Blocking file work: run it off the async threads.
    pub fn clean_compacted_logs(&self, now_ms: i64) {
        for partition in self.partitions.all() {
            if !partition.log.config().cleanup_policy.compact {
                continue;
            }
            match partition.log.compact(now_ms) {
                Ok(outcome) if outcome.cleaned => tracing::debug!(
                    topic = %partition.topic,
                    partition = partition.index,
                    records_removed = outcome.records_removed,
                    "compacted"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(topic = %partition.topic, partition = partition.index, "compaction failed: {e}")
                }
            }
        }
    }

    /// Clean shutdown: every log flushed, checkpointed and marked clean,
    /// [`CLOSING_THREADS`] at a time. Logs that cannot be are left
    /// unmarked, so the next start recovers them; the error says how many.
    pub fn close(&self) -> Result<(), BrokerError> {
        let failures: Mutex<(usize, Option<String>)> = Mutex::new((0, None));
        on_threads(&self.partitions.all(), CLOSING_THREADS, |partition| {
            if let Err(e) = partition.log.close() {
                // A failed data dir was reported once already.
                if self.dir_health().failure().is_none() {
                    tracing::error!(topic = %partition.topic, partition = partition.index, "close failed: {e}");
                }
                let mut failures = failures.lock().unwrap_or_else(|e| e.into_inner());
                failures.0 += 1;
                failures
                    .1
                    .get_or_insert_with(|| format!("{}-{}: {e}", partition.topic, partition.index));
            }
        });
        match failures.into_inner().unwrap_or_else(|e| e.into_inner()) {
            (_, None) => Ok(()),
            (failed, Some(first)) => Err(BrokerError::UncleanShutdown { failed, first }),
        }
    }
}

/// Logs closed at the same time at shutdown. A close is a dozen small
/// file writes and fsyncs: one at a time, 5,000 partitions took 17 s to
/// close.
const CLOSING_THREADS: usize = 8;

/// Refuses a new topic whose name is taken, or collides with a taken one:
/// Kafka refuses names that differ from an existing one only in '.'
/// versus '_', as both map to the same metric names.
pub(crate) fn check_new_topic_name(topics: &[Arc<Topic>], name: &str) -> Result<(), ApiError> {
    if topics.iter().any(|t| t.name == name) {
        return Err(ApiError::new(
            error_codes::TOPIC_ALREADY_EXISTS,
            format!("topic '{name}' already exists"),
        ));
    }
    if let Some(existing) = topics
        .iter()
        .find(|t| topic_store::topic_names_collide(&t.name, name))
    {
        return Err(ApiError::new(
            error_codes::INVALID_TOPIC_EXCEPTION,
            format!(
                "topic '{name}' collides with existing topic '{}' ('.' and '_' are the same in metric names)",
                existing.name
            ),
        ));
    }
    Ok(())
}

/// A single broker leads every partition and is its only replica.
fn sole_replica(node_id: i32, leader_epoch: i32) -> PartitionAssignment {
    PartitionAssignment {
        replicas: vec![node_id],
        isr: vec![node_id],
        leader: node_id,
        leader_epoch,
        ..Default::default()
    }
}

/// The records of a topic and its partitions as one node commits them.
/// The leader epoch is the one the staged log was last written in (0 for
/// a new log): it stays there until leadership moves.
fn topic_records(
    meta: &TopicMeta,
    configs: TopicConfigs,
    node_id: i32,
    staged: &Staged,
) -> Vec<MetadataRecord> {
    let topic_id = Uuid(*meta.id.as_bytes());
    let mut records = vec![MetadataRecord::Topic {
        name: meta.name.clone(),
        id: topic_id,
        configs,
    }];
    records.extend((0..meta.partitions).map(|index| {
        let epoch = staged.latest_epoch(index).unwrap_or(0).max(0);
        MetadataRecord::Partition {
            topic_id,
            assignment: sole_replica(node_id, epoch),
        }
    }));
    records
}

/// A topic's file contents.
fn topic_meta(topic: &Topic) -> TopicMeta {
    TopicMeta {
        name: topic.name.clone(),
        id: uuid::Uuid::from_bytes(topic.id.0),
        partitions: topic.partition_count(),
        replication_factor: 1,
        configs: topic.configs.overrides().clone(),
    }
}

/// The OAUTHBEARER token validator, with its JWKS read, when that
/// mechanism is enabled: a JWKS that cannot be read stops the start.
fn token_validator(config: &BrokerConfig) -> Result<Option<Arc<TokenValidator>>, BrokerError> {
    let settings = config.settings();
    let oauth = |security: &crate::config::SecuritySettings| {
        security.sasl_mechanisms.iter().any(|m| m == "OAUTHBEARER")
    };
    let security = &settings.security;
    if !settings.listener_security.iter().any(oauth) {
        return Ok(None);
    }
    let validator = TokenValidator::open(security.oauth.clone()).map_err(|reason| {
        crate::config::ConfigError::Invalid {
            key: crate::config::JWKS_URL.into(),
            reason,
        }
    })?;
    Ok(Some(Arc::new(validator)))
}
