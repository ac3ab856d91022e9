//! The cluster: bootstrap, a metadata cache and one reused connection per
//! broker node. Everything the admin client, producer and consumer send
//! goes through [`Cluster`], which is cheap to clone and shared.
//!
//! Bootstrap servers get negative node ids (-1, -2, ...) as in the Java
//! client, so a connection made to bootstrap is reused like any other.
//! Metadata is refreshed in the background every metadata.max.age.ms and
//! on demand (callers call [`Cluster::refresh_metadata`] after errors like
//! NOT_LEADER_OR_FOLLOWER; see [`crate::metadata::invalidates_metadata`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use rand::Rng;
use strom_protocol::messages::metadata_request::MetadataRequestTopic;
use strom_protocol::messages::{ApiKey, MetadataRequest, Request, Response};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::ClientConfig;
use crate::connection::{Connection, ConnectionSettings};
use crate::error::{ClientError, Result};
use crate::metadata::{Metadata, PartitionInfo, TopicInfo};
use crate::statistics::BrokerStats;

/// A shared handle on the cluster; clones share connections and metadata.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<ClientConfig>,
    settings: ConnectionSettings,
    metadata: RwLock<Metadata>,
    /// Topics the cache keeps fresh (asked for by some caller).
    watched: Mutex<HashSet<String>>,
    nodes: Mutex<HashMap<i32, Arc<tokio::sync::Mutex<NodeSlot>>>>,
    /// One metadata request at a time; callers that queue behind it reuse
    /// its answer when it is newer than their request.
    refresh_lock: tokio::sync::Mutex<Instant>,
    refresher: Mutex<Option<JoinHandle<()>>>,
    /// Client-level errors not yet taken ([`Cluster::take_errors`]).
    errors: Mutex<ErrorLog>,
    /// Whether `errors` holds unread ones: bindings ask on every poll, and
    /// the answer is almost always no.
    errors_unread: std::sync::atomic::AtomicBool,
    /// Each node's statistics, for the client's life.
    broker_stats: Mutex<BTreeMap<i32, Arc<BrokerStats>>>,
}

/// Errors of the client as a whole, not of one call (librdkafka's
/// `error_cb` events): a broker that cannot be reached, all of them down,
/// a subscribed topic that does not exist. Bounded: past
/// [`MAX_UNREAD_ERRORS`] the oldest unread go.
#[derive(Default)]
struct ErrorLog {
    unread: VecDeque<ClientError>,
    /// "All brokers down" was reported and no connection succeeded since.
    all_down_reported: bool,
}

/// Client-level errors kept for a binding to take, at most.
pub const MAX_UNREAD_ERRORS: usize = 64;

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut refresher) = self.refresher.lock() {
            if let Some(task) = refresher.take() {
                task.abort();
            }
        }
    }
}

/// A node's connection and its reconnect backoff.
#[derive(Default)]
struct NodeSlot {
    connection: Option<Connection>,
    failures: u32,
    retry_at: Option<Instant>,
}

impl Cluster {
    /// Connects to the first reachable bootstrap server and loads the list
    /// of brokers. Fails with a hint when none can be reached.
    pub async fn connect(config: ClientConfig) -> Result<Cluster> {
        if config.bootstrap_servers.is_empty() {
            return Err(ClientError::invalid_config(
                "bootstrap.servers",
                "",
                "name at least one broker as host:port",
            ));
        }
        let inner = Arc::new(Inner {
            settings: ConnectionSettings::from(&config),
            config: Arc::new(config),
            metadata: RwLock::new(Metadata::default()),
            watched: Mutex::new(HashSet::new()),
            nodes: Mutex::new(HashMap::new()),
            refresh_lock: tokio::sync::Mutex::new(Instant::now()),
            refresher: Mutex::new(None),
            errors: Mutex::new(ErrorLog::default()),
            errors_unread: std::sync::atomic::AtomicBool::new(false),
            broker_stats: Mutex::new(BTreeMap::new()),
        });
        let cluster = Cluster { inner };
        cluster.refresh_metadata(&[]).await?;
        let task = tokio::spawn(refresh_periodically(Arc::downgrade(&cluster.inner)));
        if let Ok(mut refresher) = cluster.inner.refresher.lock() {
            *refresher = Some(task);
        }
        Ok(cluster)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A copy of the cached metadata.
    pub fn metadata(&self) -> Metadata {
        self.inner
            .metadata
            .read()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// A topic as cached, without asking the broker.
    pub fn cached_topic(&self, topic: &str) -> Option<TopicInfo> {
        self.inner.metadata.read().ok()?.topics.get(topic).cloned()
    }

    /// A topic's partition count as cached, without asking the broker.
    pub fn cached_partition_count(&self, topic: &str) -> Option<i32> {
        let metadata = self.inner.metadata.read().ok()?;
        let info = metadata.topics.get(topic)?;
        (info.error_code == 0 && !info.partitions.is_empty())
            .then_some(info.partitions.len() as i32)
    }

    /// A topic's metadata, fetched when not cached.
    pub async fn topic(&self, topic: &str) -> Result<TopicInfo> {
        if let Some(info) = self.cached_topic(topic) {
            return Ok(info);
        }
        self.refresh_metadata(&[topic.to_string()]).await?;
        self.cached_topic(topic)
            .ok_or_else(|| ClientError::kafka(3, format!("looking up topic `{topic}`"), None))
    }

    /// The leader node and leader epoch of a partition, refreshing the
    /// cache once when the topic is unknown or the leader is missing.
    pub async fn leader_for(&self, topic: &str, partition: i32) -> Result<(i32, i32)> {
        for attempt in 0..2 {
            if attempt == 1 {
                self.refresh_metadata(&[topic.to_string()]).await?;
            }
            let Some(info) = self.cached_topic(topic) else {
                continue;
            };
            let Some(p) = info.partition(partition) else {
                continue;
            };
            if p.leader >= 0 {
                return Ok((p.leader, p.leader_epoch));
            }
        }
        match self.cached_topic(topic) {
            None => Err(ClientError::kafka(
                3,
                format!("finding the leader of `{topic}`"),
                None,
            )),
            Some(info) if info.partition(partition).is_none() => Err(ClientError::kafka(
                3,
                format!(
                    "`{topic}` has {} partitions, not partition {partition}",
                    info.partitions.len()
                ),
                None,
            )),
            Some(_) => Err(ClientError::NoLeader {
                topic: topic.to_string(),
                partition,
            }),
        }
    }

    /// Partitions of a topic with their leaders (fetched when not cached).
    pub async fn partitions(&self, topic: &str) -> Result<Vec<PartitionInfo>> {
        Ok(self.topic(topic).await?.partitions)
    }

    /// Asks the cluster for fresh metadata about `topics` (and the broker
    /// list) and folds it into the cache. The topics stay watched.
    pub async fn refresh_metadata(&self, topics: &[String]) -> Result<()> {
        let asked_at = Instant::now();
        let mut last_refresh = self.inner.refresh_lock.lock().await;
        let mut wanted: Vec<String> = match self.inner.watched.lock() {
            Ok(mut watched) => {
                watched.extend(topics.iter().cloned());
                watched.iter().cloned().collect()
            }
            Err(_) => topics.to_vec(),
        };
        // Someone refreshed while this call waited, and nothing new is asked.
        let cached = self
            .inner
            .metadata
            .read()
            .is_ok_and(|m| topics.iter().all(|t| m.topics.contains_key(t)));
        if *last_refresh > asked_at && cached {
            return Ok(());
        }
        wanted.sort();
        let response = self.request_metadata(Some(wanted), false).await?;
        if let Ok(mut metadata) = self.inner.metadata.write() {
            metadata.merge(response);
        }
        *last_refresh = Instant::now();
        Ok(())
    }

    /// Sends one Metadata request to any broker; `None` asks for all topics.
    pub async fn request_metadata(
        &self,
        topics: Option<Vec<String>>,
        allow_auto_topic_creation: bool,
    ) -> Result<strom_protocol::messages::MetadataResponse> {
        let response = self
            .send_to_any(ApiKey::Metadata, |version| {
                let topics = topics.clone().map(|names| {
                    names
                        .into_iter()
                        .map(|name| MetadataRequestTopic {
                            name: Some(name),
                            ..Default::default()
                        })
                        .collect()
                });
                MetadataRequest {
                    // v0 cannot say "no topics" (empty means all); asking
                    // for all is the closest it gets.
                    topics: if version == 0 {
                        Some(topics.unwrap_or_default())
                    } else {
                        topics
                    },
                    allow_auto_topic_creation,
                    ..Default::default()
                }
                .into()
            })
            .await?;
        match response {
            Response::Metadata(metadata) => Ok(metadata),
            other => Err(unexpected(ApiKey::Metadata, &other)),
        }
    }

    /// Sends a request to one node, at the highest version both speak.
    pub async fn send(
        &self,
        node: i32,
        api: ApiKey,
        build: impl FnOnce(i16) -> Request,
    ) -> Result<Response> {
        let connection = self.connection(node).await?;
        connection.send(api, build).await
    }

    /// The live connection to `node`, opened (with backoff) when needed.
    pub async fn connection(&self, node: i32) -> Result<Connection> {
        let address = self
            .address_of(node)
            .ok_or_else(|| ClientError::NoBrokerAvailable {
                reason: format!("node {node} is not in the cluster metadata"),
            })?;
        let slot = {
            let mut nodes = self.inner.nodes.lock().map_err(|_| poisoned())?;
            nodes.entry(node).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(connection) = &slot.connection {
            if !connection.is_closed() && connection.addr() == address {
                return Ok(connection.clone());
            }
        }
        slot.connection = None;
        if let Some(retry_at) = slot.retry_at {
            tokio::time::sleep_until(retry_at).await;
        }
        let stats = self.broker_stats(node, &address);
        match Connection::connect(&address, self.inner.settings.clone(), stats).await {
            Ok(connection) => {
                slot.failures = 0;
                slot.retry_at = None;
                slot.connection = Some(connection.clone());
                if let Ok(mut errors) = self.inner.errors.lock() {
                    errors.all_down_reported = false;
                }
                Ok(connection)
            }
            Err(error) => {
                slot.failures = slot.failures.saturating_add(1);
                slot.retry_at = Some(Instant::now() + self.backoff(slot.failures));
                // Once per outage of this broker, not once per retry.
                if slot.failures == 1 {
                    self.report(error.clone());
                }
                if self.all_down_but(node) {
                    self.report_all_down(&error);
                }
                Err(error)
            }
        }
    }

    /// The statistics of `node` (at `address`), which its connections
    /// count in.
    pub(crate) fn broker_stats(&self, node: i32, address: &str) -> Arc<BrokerStats> {
        let mut known = self
            .inner
            .broker_stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .entry(node)
            .or_insert_with(|| Arc::new(BrokerStats::new(node, address)))
            .clone()
    }

    /// Every broker for the statistics, by librdkafka's name for it
    /// (`host:port/nodeid`, `host:port/bootstrap`): those connected to
    /// so far and those the metadata names.
    pub(crate) fn brokers_for_stats(&self) -> Vec<(String, Arc<BrokerStats>)> {
        let learned: Vec<(i32, String)> = self
            .inner
            .metadata
            .read()
            .map(|m| {
                m.brokers
                    .iter()
                    .map(|(id, broker)| (*id, broker.address()))
                    .collect()
            })
            .unwrap_or_default();
        for (node, address) in &learned {
            self.broker_stats(*node, address);
        }
        let known = self
            .inner
            .broker_stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .iter()
            .map(|(node, stats)| {
                let address = stats.address();
                let name = if *node < 0 {
                    format!("{address}/bootstrap")
                } else {
                    format!("{address}/{node}")
                };
                (name, stats.clone())
            })
            .collect()
    }

    /// How many topics the metadata cache holds.
    pub(crate) fn cached_topic_count(&self) -> usize {
        self.inner.metadata.read().map_or(0, |m| m.topics.len())
    }

    /// A partition's leader as cached (-1: not known).
    pub(crate) fn cached_leader(&self, topic: &str, partition: i32) -> i32 {
        let Ok(metadata) = self.inner.metadata.read() else {
            return -1;
        };
        metadata
            .topics
            .get(topic)
            .and_then(|info| info.partition(partition))
            .map_or(-1, |p| p.leader)
    }

    /// Keeps a client-level error for [`Cluster::take_errors`] (and logs it).
    pub(crate) fn report(&self, error: ClientError) {
        tracing::warn!("{error}");
        if let Ok(mut errors) = self.inner.errors.lock() {
            if errors.unread.len() >= MAX_UNREAD_ERRORS {
                errors.unread.pop_front();
            }
            errors.unread.push_back(error);
            self.inner
                .errors_unread
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }

    /// The client-level errors since the last call, oldest first: what
    /// librdkafka hands its `error_cb`. The calls themselves still fail
    /// with their own errors; these say what the client sees meanwhile.
    pub fn take_errors(&self) -> Vec<ClientError> {
        use std::sync::atomic::Ordering;
        if !self.inner.errors_unread.load(Ordering::Acquire) {
            return Vec::new();
        }
        match self.inner.errors.lock() {
            Ok(mut errors) => {
                self.inner.errors_unread.store(false, Ordering::Release);
                errors.unread.drain(..).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    fn report_all_down(&self, last: &ClientError) {
        let first = match self.inner.errors.lock() {
            Ok(mut errors) => !std::mem::replace(&mut errors.all_down_reported, true),
            Err(_) => false,
        };
        if first {
            self.report(ClientError::NoBrokerAvailable {
                reason: format!("all brokers are down (the last: {last})"),
            });
        }
    }

    /// Whether every broker the client knows (the bootstrap servers until
    /// metadata names some) failed its last connection attempt; `node`,
    /// whose slot the caller holds, just did.
    fn all_down_but(&self, node: i32) -> bool {
        let known: Vec<i32> = match self.inner.metadata.read() {
            Ok(metadata) if !metadata.brokers.is_empty() => {
                metadata.brokers.keys().copied().collect()
            }
            _ => (0..self.inner.config.bootstrap_servers.len())
                .map(|i| -1 - i as i32)
                .collect(),
        };
        let Ok(nodes) = self.inner.nodes.lock() else {
            return false;
        };
        known.iter().all(|known| {
            *known == node
                || nodes.get(known).is_some_and(|slot| {
                    slot.try_lock()
                        .is_ok_and(|slot| slot.failures > 0 && slot.connection.is_none())
                })
        })
    }

    /// Sends to a node that answers: connected ones first, then the known
    /// brokers, then the bootstrap servers.
    pub async fn send_to_any(
        &self,
        api: ApiKey,
        build: impl Fn(i16) -> Request,
    ) -> Result<Response> {
        let mut last_error = None;
        for node in self.candidate_nodes() {
            let connection = match self.connection(node).await {
                Ok(connection) => connection,
                Err(error) => {
                    last_error = Some(error);
                    continue;
                }
            };
            match connection.send(api, &build).await {
                Err(error @ (ClientError::Disconnected { .. } | ClientError::Timeout { .. })) => {
                    last_error = Some(error)
                }
                result => return result,
            }
        }
        Err(
            last_error.unwrap_or_else(|| ClientError::NoBrokerAvailable {
                reason: "no broker is known; check bootstrap.servers".to_string(),
            }),
        )
    }

    /// Node ids to try, connected ones first.
    fn candidate_nodes(&self) -> Vec<i32> {
        let mut known: Vec<i32> = self
            .inner
            .metadata
            .read()
            .map(|m| m.brokers.keys().copied().collect())
            .unwrap_or_default();
        known.sort();
        let bootstrap = (0..self.inner.config.bootstrap_servers.len()).map(|i| -1 - i as i32);
        let mut nodes: Vec<i32> = known.into_iter().chain(bootstrap).collect();
        let connected: HashSet<i32> = self
            .inner
            .nodes
            .lock()
            .map(|nodes| {
                nodes
                    .iter()
                    .filter(|(_, slot)| {
                        slot.try_lock()
                            .is_ok_and(|s| s.connection.as_ref().is_some_and(|c| !c.is_closed()))
                    })
                    .map(|(node, _)| *node)
                    .collect()
            })
            .unwrap_or_default();
        nodes.sort_by_key(|node| !connected.contains(node));
        nodes
    }

    fn address_of(&self, node: i32) -> Option<String> {
        if node < 0 {
            let index = usize::try_from(-1 - i64::from(node)).ok()?;
            return self.inner.config.bootstrap_servers.get(index).cloned();
        }
        self.inner
            .metadata
            .read()
            .ok()?
            .brokers
            .get(&node)
            .map(|b| b.address())
    }

    /// reconnect.backoff.ms doubled per failure, capped at
    /// reconnect.backoff.max.ms, with +-20% jitter as in the Java client.
    fn backoff(&self, failures: u32) -> Duration {
        let base = self.inner.config.reconnect_backoff;
        let max = self.inner.config.reconnect_backoff_max;
        let doubled = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        doubled
            .min(max)
            .mul_f64(rand::thread_rng().gen_range(0.8..1.2))
    }
}

async fn refresh_periodically(cluster: Weak<Inner>) {
    loop {
        let Some(period) = cluster.upgrade().map(|inner| inner.config.metadata_max_age) else {
            return;
        };
        tokio::time::sleep(period).await;
        let Some(inner) = cluster.upgrade() else {
            return;
        };
        let cluster = Cluster { inner };
        if let Err(error) = cluster.refresh_metadata(&[]).await {
            tracing::debug!("periodic metadata refresh failed: {error}");
        }
    }
}

fn poisoned() -> ClientError {
    ClientError::NoBrokerAvailable {
        reason: "internal state lock poisoned by a panic".to_string(),
    }
}

/// Groups per-partition entries under their topic, in first-seen order:
/// the shape every multi-topic request (produce, fetch, list offsets,
/// commits) wants.
pub(crate) fn group_by_topic<P>(
    entries: impl IntoIterator<Item = (String, P)>,
) -> Vec<(String, Vec<P>)> {
    let mut topics: Vec<(String, Vec<P>)> = Vec::new();
    for (topic, entry) in entries {
        match topics.iter_mut().find(|(name, _)| *name == topic) {
            Some((_, partitions)) => partitions.push(entry),
            None => topics.push((topic, vec![entry])),
        }
    }
    topics
}

/// The error for a response of the wrong API (a broker or codec bug).
pub(crate) fn unexpected(api: ApiKey, response: &Response) -> ClientError {
    ClientError::Protocol {
        addr: "broker".to_string(),
        reason: format!(
            "{} request answered with a {} response",
            api.name(),
            response.api_key().name()
        ),
    }
}
