//! What the broker knows: its topics, their partitions and the producer-id
//! allocator. Topic changes (create, delete, add partitions, alter configs)
//! are serialised by one async lock so the persisted metadata and the
//! in-memory map always change together; reads take a short RwLock.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;
use strom_storage::{DirHealth, Log, LogConfig};

use crate::clock::now_ms;
use crate::config::{BrokerConfig, EffectiveTopicConfig, FlushPolicy, TopicConfigs};
use crate::error::{ApiError, BrokerError};
use crate::group::{self, GroupCoordinator};
use crate::limits::RequestMemory;
use crate::partition::Partition;
use crate::topic_store::{self, ProducerIdBlock, TopicMeta};

pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub configs: RwLock<TopicConfigs>,
    pub partitions: RwLock<Vec<Arc<Partition>>>,
}

impl Topic {
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        let partitions = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        usize::try_from(index)
            .ok()
            .and_then(|i| partitions.get(i).cloned())
    }

    /// A copy of the topic's config overrides.
    pub fn configs_snapshot(&self) -> TopicConfigs {
        self.configs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn partition_count(&self) -> i32 {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len() as i32
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn effective_config(&self, broker: &BrokerConfig) -> EffectiveTopicConfig {
        self.configs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .effective(broker)
    }

    fn meta(&self) -> TopicMeta {
        TopicMeta {
            name: self.name.clone(),
            id: uuid::Uuid::from_bytes(self.id.0),
            partitions: self.partition_count(),
            replication_factor: 1,
            configs: self
                .configs
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .overrides()
                .clone(),
        }
    }
}

pub struct Broker {
    pub config: BrokerConfig,
    pub node_id: i32,
    pub cluster_id: String,
    /// host and port clients are told to connect to.
    pub advertised_host: String,
    pub advertised_port: i32,
    pub data_dir: PathBuf,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    /// Serialises topic changes; held across the disk writes they make.
    topic_changes: tokio::sync::Mutex<()>,
    producer_ids: Mutex<ProducerIdBlock>,
    /// Consumer groups and committed offsets (`__consumer_offsets`).
    pub groups: GroupCoordinator,
    /// `queued.max.request.bytes`, shared by every connection.
    pub request_memory: RequestMemory,
    /// Shared by every log in the data dir: a failed fsync in one stops
    /// writes in all (see `strom_storage::DirHealth`).
    pub dir_health: Arc<DirHealth>,
}

pub fn log_config(effective: &EffectiveTopicConfig, broker: &BrokerConfig) -> LogConfig {
    LogConfig {
        segment_bytes: effective.segment_bytes.max(0) as u64,
        segment_ms: effective.segment_ms,
        retention_ms: effective.retention_ms,
        retention_bytes: effective.retention_bytes,
        index_interval_bytes: effective.index_interval_bytes.max(0) as u64,
        segment_index_bytes: effective.segment_index_bytes.max(0) as u64,
        producer_id_expiration_ms: i64::from(broker.settings().producer_id_expiration_ms),
        flush: match effective.flush_policy {
            FlushPolicy::Fsync => strom_storage::FlushPolicy::Fsync,
            FlushPolicy::PageCache => strom_storage::FlushPolicy::PageCache,
        },
        cleanup_policy: strom_storage::CleanupPolicy {
            delete: effective.cleanup_policy.delete,
            compact: effective.cleanup_policy.compact,
        },
        delete_retention_ms: effective.delete_retention_ms,
        min_cleanable_dirty_ratio: effective.min_cleanable_dirty_ratio,
        min_compaction_lag_ms: effective.min_compaction_lag_ms,
        max_compaction_lag_ms: effective.max_compaction_lag_ms,
    }
}

fn partition_dir(data_dir: &Path, topic: &str, index: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{index}"))
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
        let mut topics = HashMap::new();
        let dir_health = DirHealth::new();
        for meta in topic_store::load_all(&data_dir)? {
            let topic = open_topic(&data_dir, &config, &dir_health, identity.node_id, meta)?;
            topics.insert(topic.name.clone(), Arc::new(topic));
        }
        tracing::info!(topics = topics.len(), dir = %data_dir.display(), "loaded topics");
        remove_leftover_partitions(&data_dir, &topics);
        // An existing offsets topic is replayed by `group::start`; its
        // groups wait for that.
        let offsets_partitions = topics
            .get(group::OFFSETS_TOPIC)
            .map(|topic| topic.partition_count())
            .unwrap_or(0);
        Ok(Broker {
            dir_health,
            request_memory: RequestMemory::new(config.settings()),
            groups: GroupCoordinator::new(0..offsets_partitions),
            node_id: identity.node_id,
            cluster_id: identity.cluster_id,
            config,
            advertised_host,
            advertised_port,
            data_dir,
            topics: RwLock::new(topics),
            topic_changes: tokio::sync::Mutex::new(()),
            producer_ids: Mutex::new(producer_ids),
        })
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        topics.values().find(|t| t.id == id).cloned()
    }

    /// Every topic, sorted by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = topics.values().cloned().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
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

    /// The partition, or the Kafka error a request for it gets.
    pub fn partition(&self, topic: &str, index: i32) -> Result<Arc<Partition>, i16> {
        self.topic(topic)
            .and_then(|t| t.partition(index))
            .ok_or(error_codes::UNKNOWN_TOPIC_OR_PARTITION)
    }

    pub fn allocate_producer_id(&self) -> Result<i64, BrokerError> {
        let mut block = self.producer_ids.lock().unwrap_or_else(|e| e.into_inner());
        Ok(block.next_id()?)
    }

    /// Creates a topic. With `validate_only` nothing is written.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
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
        let _guard = self.topic_changes.lock().await;
        if self.topic(name).is_some() {
            return Err(ApiError::new(
                error_codes::TOPIC_ALREADY_EXISTS,
                format!("topic '{name}' already exists"),
            ));
        }
        // Kafka refuses names that differ from an existing one only in '.'
        // versus '_': both map to the same metric names.
        if let Some(existing) = self
            .topics()
            .into_iter()
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
        let topic = open_new_topic(
            &self.data_dir,
            &self.config,
            &self.dir_health,
            self.node_id,
            meta.clone(),
        )?;
        if let Err(e) = topic_store::save(&self.data_dir, &meta) {
            remove_partition_dirs(&self.data_dir, name, 0..partitions);
            return Err(ApiError::storage(e));
        }
        let topic = Arc::new(topic);
        self.topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), topic.clone());
        tracing::info!(topic = name, partitions, "created topic");
        Ok(Some(topic))
    }

    /// Creates `name` with the broker defaults if auto-creation is on
    /// (`__consumer_offsets` with its own settings, as Kafka does).
    pub async fn auto_create_topic(&self, name: &str) -> Result<Option<Arc<Topic>>, ApiError> {
        let settings = self.config.settings();
        let (partitions, configs) = if name == group::OFFSETS_TOPIC {
            (
                settings.offsets_topic_num_partitions,
                group::offsets_topic_configs(settings),
            )
        } else {
            (settings.num_partitions, BTreeMap::new())
        };
        match self.create_topic(name, partitions, configs, false).await {
            Ok(topic) => Ok(topic),
            // Lost a race with another creator: use theirs.
            Err(e) if e.code == error_codes::TOPIC_ALREADY_EXISTS => Ok(self.topic(name)),
            Err(e) => Err(e),
        }
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), ApiError> {
        let _guard = self.topic_changes.lock().await;
        let topic = self.existing_topic(name)?;
        topic_store::remove(&self.data_dir, name).map_err(ApiError::storage)?;
        self.topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        for partition in topic.all_partitions() {
            if let Err(e) = partition.log.delete_dir() {
                tracing::warn!(
                    topic = name,
                    partition = partition.index,
                    "could not delete partition dir: {e}"
                );
            }
        }
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
        let effective = topic.effective_config(&self.config);
        let mut added = Vec::new();
        for index in current..total {
            match open_partition(
                &self.data_dir,
                &self.config,
                &self.dir_health,
                self.node_id,
                &effective,
                name,
                index,
            ) {
                Ok(partition) => added.push(Arc::new(partition)),
                Err(e) => {
                    drop(added);
                    remove_partition_dirs(&self.data_dir, name, current..index + 1);
                    return Err(ApiError::storage(e));
                }
            }
        }
        // Persist first: if the write fails, clients must not have been
        // able to produce to partitions a restart would forget.
        let meta = TopicMeta {
            partitions: total,
            ..topic.meta()
        };
        if let Err(e) = topic_store::save(&self.data_dir, &meta) {
            drop(added);
            remove_partition_dirs(&self.data_dir, name, current..total);
            return Err(ApiError::storage(e));
        }
        topic
            .partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(added);
        tracing::info!(topic = name, from = current, to = total, "added partitions");
        Ok(())
    }

    /// Replaces a topic's config overrides (validated by the caller).
    pub async fn set_topic_configs(
        &self,
        name: &str,
        configs: TopicConfigs,
    ) -> Result<(), ApiError> {
        let _guard = self.topic_changes.lock().await;
        let topic = self.existing_topic(name)?;
        // Persist first, so a failed write changes nothing (the client is
        // told it failed).
        let meta = TopicMeta {
            configs: configs.overrides().clone(),
            ..topic.meta()
        };
        topic_store::save(&self.data_dir, &meta).map_err(ApiError::storage)?;
        *topic.configs.write().unwrap_or_else(|e| e.into_inner()) = configs;
        let log_config = log_config(&topic.effective_config(&self.config), &self.config);
        for partition in topic.all_partitions() {
            partition.log.update_config(log_config.clone());
        }
        Ok(())
    }

    /// Applies retention to every partition, and a compaction pass to
    /// those whose cleanup policy includes `compact` (the log skips the
    /// pass unless it is dirty enough); called periodically.
    pub fn enforce_retention(&self, now_ms: i64) {
        for topic in self.topics() {
            for partition in topic.all_partitions() {
                if let Err(e) = partition.log.apply_retention(now_ms) {
                    tracing::warn!(topic = %topic.name, partition = partition.index, "retention failed: {e}");
                }
            }
        }
    }

    /// One log-cleaner pass: compacts every partition whose topic's
    /// `cleanup.policy` includes `compact` and whose dirty ratio calls for
    /// it. Blocking file work: run it off the async threads.
    pub fn clean_compacted_logs(&self, now_ms: i64) {
        for topic in self.topics() {
            for partition in topic.all_partitions() {
                if !partition.log.config().cleanup_policy.compact {
                    continue;
                }
                match partition.log.compact(now_ms) {
                    Ok(outcome) if outcome.cleaned => tracing::debug!(
                        topic = %topic.name,
                        partition = partition.index,
                        records_removed = outcome.records_removed,
                        "compacted"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(topic = %topic.name, partition = partition.index, "compaction failed: {e}")
                    }
                }
            }
        }
    }

    /// Clean shutdown: every log flushed, checkpointed and marked clean.
    /// Logs that cannot be are left unmarked, so the next start recovers
    /// them; the error says how many.
    pub fn close(&self) -> Result<(), BrokerError> {
        let mut failed = 0;
        let mut first = None;
        for topic in self.topics() {
            for partition in topic.all_partitions() {
                if let Err(e) = partition.log.close() {
                    // A failed data dir was reported once already.
                    if self.dir_health.failure().is_none() {
                        tracing::error!(topic = %topic.name, partition = partition.index, "close failed: {e}");
                    }
                    failed += 1;
                    first.get_or_insert_with(|| format!("{}-{}: {e}", topic.name, partition.index));
                }
            }
        }
        match first {
            None => Ok(()),
            Some(first) => Err(BrokerError::UncleanShutdown { failed, first }),
        }
    }
}

fn open_partition(
    data_dir: &Path,
    config: &BrokerConfig,
    health: &Arc<DirHealth>,
    node_id: i32,
    effective: &EffectiveTopicConfig,
    topic: &str,
    index: i32,
) -> Result<Partition, BrokerError> {
    let dir = partition_dir(data_dir, topic, index);
    let log =
        Log::open_in(dir, log_config(effective, config), health.clone()).map_err(|source| {
            BrokerError::Storage {
                topic: topic.to_string(),
                partition: index,
                source,
            }
        })?;
    let partition = Partition::new(topic, index, log, node_id);
    // A single broker leads every partition, and is its only replica. The
    // epoch starts at 0 and stays there until leadership moves.
    let leader_epoch = partition.log.latest_epoch().unwrap_or(0).max(0);
    partition.make_leader(leader_epoch, vec![node_id], vec![node_id]);
    Ok(partition)
}

/// Opens the partitions of a topic being created. If one fails (out of
/// file descriptors or disk), those already made are closed and removed.
fn open_new_topic(
    data_dir: &Path,
    config: &BrokerConfig,
    health: &Arc<DirHealth>,
    node_id: i32,
    meta: TopicMeta,
) -> Result<Topic, ApiError> {
    let (name, partitions) = (meta.name.clone(), meta.partitions);
    open_topic(data_dir, config, health, node_id, meta).map_err(|e| {
        remove_partition_dirs(data_dir, &name, 0..partitions);
        tracing::error!(topic = %name, partitions, "topic creation failed, nothing kept: {e}");
        ApiError::storage(e)
    })
}

/// Partition dirs no topic claims are what a creation, a partition
/// increase or a deletion left when the broker stopped halfway: the
/// topic's file, written last on creation and removed first on deletion,
/// says they are not part of any topic. Empty ones are removed. One that
/// holds records may be data someone still wants (a topic file lost by
/// hand, another program's log dir), so it is renamed aside, never
/// deleted, and never reopened by a new topic of that name.
fn remove_leftover_partitions(data_dir: &Path, topics: &HashMap<String, Arc<Topic>>) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((topic, index)) = file_name.rsplit_once('-') else {
            continue;
        };
        let Ok(index) = index.parse::<i32>() else {
            continue;
        };
        let claimed = topics
            .get(topic)
            .is_some_and(|t| index >= 0 && index < t.partition_count());
        if claimed
            || topic_store::validate_topic_name(topic).is_err()
            || !entry.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let dir = entry.path();
        if holds_records(&dir) {
            let aside = data_dir.join(format!("{file_name}.{}-stray", now_ms()));
            match std::fs::rename(&dir, &aside) {
                Ok(()) => tracing::warn!(
                    dir = %dir.display(),
                    kept_as = %aside.display(),
                    "a partition dir no topic claims holds records: moved aside; delete it once it is not needed"
                ),
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    "cannot move aside a partition dir no topic claims: {e}"
                ),
            }
            continue;
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => tracing::warn!(
                dir = %dir.display(),
                "removed an empty partition dir no topic claims (left by a topic change that did not complete)"
            ),
            Err(e) => tracing::warn!(
                dir = %dir.display(),
                "cannot remove a partition dir no topic claims: {e}"
            ),
        }
    }
}

/// Whether any segment in `dir` has bytes (or cannot be read, to be safe).
fn holds_records(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".log"))
            && entry.metadata().map_or(true, |m| m.len() > 0)
    })
}

/// Removes the dirs of partitions `indexes` of `topic`, if they exist.
fn remove_partition_dirs(data_dir: &Path, topic: &str, indexes: std::ops::Range<i32>) {
    for index in indexes {
        let dir = partition_dir(data_dir, topic, index);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(dir = %dir.display(), "cannot remove a partition dir: {e}"),
        }
    }
}

fn open_topic(
    data_dir: &Path,
    config: &BrokerConfig,
    health: &Arc<DirHealth>,
    node_id: i32,
    meta: TopicMeta,
) -> Result<Topic, BrokerError> {
    let configs = TopicConfigs::new(meta.configs.clone())?;
    let effective = configs.effective(config);
    let mut partitions = Vec::with_capacity(meta.partitions.max(0) as usize);
    for index in 0..meta.partitions {
        partitions.push(Arc::new(open_partition(
            data_dir, config, health, node_id, &effective, &meta.name, index,
        )?));
    }
    Ok(Topic {
        name: meta.name,
        id: Uuid(*meta.id.as_bytes()),
        configs: RwLock::new(configs),
        partitions: RwLock::new(partitions),
    })
}
