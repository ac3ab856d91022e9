//! Client statistics in librdkafka's shape (its `STATISTICS.md`): with
//! `statistics.interval.ms` above 0 and a [`StatsCallback`] in the config
//! ([`crate::ClientConfig::stats_callback`]), every producer and consumer
//! hands the callback a JSON object every interval, as librdkafka hands its
//! `stats_cb` one (confluent-kafka's `stats_cb`, rust-rdkafka's
//! `ClientContext::stats`, node-rdkafka's `event.stats`).
//!
//! Where the numbers come from:
//! - per broker ([`BrokerStats`], one per node id, kept by the cluster
//!   across reconnects): requests and bytes each connection writes and
//!   reads, errors, timeouts, connects, what is queued and awaiting an
//!   answer, and the round-trip times, counted with relaxed atomics on the
//!   paths that already write and read frames; the top-level `tx`, `rx`,
//!   `tx_bytes` and `rx_bytes` are their sums;
//! - the producer's records (`msg_cnt`, `txmsgs`, per-partition queues):
//!   plain counters in the partition queues, under the accumulator lock
//!   the producer already takes per record and per acknowledged batch;
//! - the consumer's records and offsets: counters and offsets in its state,
//!   read once per interval by a call that takes its turn like any other.
//!
//! A client made with a [`crate::CallbackQueue`] hands each statistics
//! object to the queue, so the callback runs on the thread that serves it
//! (`poll()`/`flush()`), as librdkafka's `stats_cb` runs from `rd_kafka_poll`;
//! while one is waiting there unserved, newer ones replace it rather than
//! pile up (the callback gets the newest when served). Without a queue the
//! callback runs on a client runtime thread and must not block.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use strom_protocol::messages::ApiKey;

use crate::callbacks::{CallbackQueue, Queued};
use crate::cluster::Cluster;

/// librdkafka's bound of `statistics.interval.ms` (a day).
pub const MAX_INTERVAL_MS: u64 = 86_400_000;

/// librdkafka's "no offset" (`RD_KAFKA_OFFSET_INVALID`), for offsets not
/// known.
pub const OFFSET_INVALID: i64 = -1001;

/// What gets each statistics JSON object (librdkafka's `stats_cb`). Set it
/// in [`crate::ClientConfig::stats_callback`]; cheap to clone.
#[derive(Clone)]
pub struct StatsCallback(pub Arc<dyn Fn(String) + Send + Sync>);

impl StatsCallback {
    pub fn new(callback: impl Fn(String) + Send + Sync + 'static) -> StatsCallback {
        StatsCallback(Arc::new(callback))
    }

    /// Calls the callback; a panic in it is caught and logged.
    pub fn call(&self, json: String) {
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.0)(json)));
        if called.is_err() {
            tracing::error!("a statistics callback panicked; the client goes on");
        }
    }
}

impl fmt::Debug for StatsCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StatsCallback")
    }
}

/// Microseconds on a monotonic clock shared by the process's clients
/// (librdkafka's `ts`): from the first time any client read it.
fn monotonic_micros() -> i64 {
    static START: OnceLock<Instant> = OnceLock::new();
    micros(START.get_or_init(Instant::now).elapsed())
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// A count as a JSON integer librdkafka would print (int64).
pub(crate) fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The instance a statistics object is about: librdkafka's handle name
/// (`client.id#producer-1`), type and age.
pub(crate) struct Instance {
    pub name: String,
    pub client_id: String,
    pub kind: &'static str,
    pub created: Instant,
}

impl Instance {
    /// Numbered as librdkafka numbers its handles: one counter for every
    /// client of the process, from 1.
    pub fn new(client_id: &str, kind: &'static str) -> Instance {
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let number = INSTANCES.fetch_add(1, Ordering::Relaxed) + 1;
        Instance {
            name: format!("{client_id}#{kind}-{number}"),
            client_id: client_id.to_string(),
            kind,
            created: Instant::now(),
        }
    }

    /// The top-level fields that do not depend on the client's kind.
    pub fn header(&self, replyq: usize) -> Map<String, Value> {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut object = Map::new();
        object.insert("name".into(), json!(self.name));
        object.insert("client_id".into(), json!(self.client_id));
        object.insert("type".into(), json!(self.kind));
        object.insert("ts".into(), json!(monotonic_micros()));
        object.insert("time".into(), json!(time));
        object.insert("age".into(), json!(micros(self.created.elapsed())));
        object.insert("replyq".into(), json!(count(replyq)));
        object
    }
}

/// What a producer or a consumer holds and moved, for the top-level
/// fields besides the traffic to brokers.
pub(crate) struct ClientTotals {
    /// Records (and their bytes) accepted and not yet acknowledged.
    pub msg_cnt: usize,
    pub msg_size: usize,
    pub msg_max: usize,
    pub msg_size_max: usize,
    pub txmsgs: u64,
    pub txmsg_bytes: u64,
    pub rxmsgs: u64,
    pub rxmsg_bytes: u64,
}

/// A client's statistics object: `instance`'s header, `totals`, the
/// brokers of `cluster` and the partitions in `rows`. The caller
/// adds what only its kind has (`eos`, `cgrp`).
pub(crate) fn document(
    instance: &Instance,
    replyq: usize,
    cluster: &Cluster,
    totals: ClientTotals,
    rows: &[PartitionRow],
    read_committed: bool,
) -> Map<String, Value> {
    let (topics, toppars) = topics_json(rows, read_committed);
    let (brokers, [tx, tx_bytes, rx, rx_bytes]) =
        brokers_json(&cluster.brokers_for_stats(), &toppars);
    let mut object = instance.header(replyq);
    let fields = [
        ("msg_cnt", json!(count(totals.msg_cnt))),
        ("msg_size", json!(count(totals.msg_size))),
        ("msg_max", json!(count(totals.msg_max))),
        ("msg_size_max", json!(count(totals.msg_size_max))),
        ("tx", json!(tx)),
        ("tx_bytes", json!(tx_bytes)),
        ("rx", json!(rx)),
        ("rx_bytes", json!(rx_bytes)),
        ("txmsgs", json!(totals.txmsgs)),
        ("txmsg_bytes", json!(totals.txmsg_bytes)),
        ("rxmsgs", json!(totals.rxmsgs)),
        ("rxmsg_bytes", json!(totals.rxmsg_bytes)),
        (
            "metadata_cache_cnt",
            json!(count(cluster.cached_topic_count())),
        ),
        ("brokers", brokers),
        ("topics", topics),
    ];
    for (key, value) in fields {
        object.insert(key.to_string(), value);
    }
    object
}

/// Hands statistics objects to the callback: through the client's callback
/// queue when it has one (run by whichever thread serves it), else at once.
pub(crate) struct Emitter {
    callback: StatsCallback,
    queue: Option<CallbackQueue>,
    /// The newest statistics not yet served, with a call queued for them:
    /// a queue served late gets the newest object once, not a backlog.
    unserved: Arc<Mutex<Option<String>>>,
}

impl Emitter {
    /// The emitter for a client with `interval` and `callback` set (both
    /// needed), or `None`: statistics are off.
    pub fn new(
        interval: Duration,
        callback: Option<&StatsCallback>,
        queue: Option<CallbackQueue>,
    ) -> Option<Emitter> {
        if interval.is_zero() {
            return None;
        }
        Some(Emitter {
            callback: callback?.clone(),
            queue,
            unserved: Arc::new(Mutex::new(None)),
        })
    }

    pub fn emit(&self, json: String) {
        let Some(queue) = &self.queue else {
            self.callback.call(json);
            return;
        };
        let replaced = {
            let mut unserved = self.unserved.lock().unwrap_or_else(PoisonError::into_inner);
            unserved.replace(json).is_some()
        };
        if replaced {
            // A call is queued already; it will hand over these instead.
            tracing::debug!("statistics not served yet (call poll): replaced by newer ones");
            return;
        }
        let unserved = self.unserved.clone();
        let callback = self.callback.clone();
        queue.push_all(vec![Queued::Call(Box::new(move || {
            let json = unserved
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(json) = json {
                callback.call(json);
            }
        }))]);
    }
}

/// The ticks of a statistics timer: the first one interval after now.
pub(crate) fn ticks(interval: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

/// One broker's counters, kept by the cluster per node id for the client's
/// life (a reconnect goes on counting). Every connection to the node
/// (the group coordinator's included) counts here.
pub(crate) struct BrokerStats {
    pub nodeid: i32,
    /// host:port, as last connected to.
    address: Mutex<String>,
    pub tx: AtomicU64,
    pub txbytes: AtomicU64,
    pub txerrs: AtomicU64,
    pub req_timeouts: AtomicU64,
    pub rx: AtomicU64,
    pub rxbytes: AtomicU64,
    pub rxerrs: AtomicU64,
    pub rxcorriderrs: AtomicU64,
    pub connects: AtomicU64,
    pub disconnects: AtomicU64,
    /// Frames queued for the socket, not yet written (gauge).
    pub outbuf: AtomicI64,
    /// Of `outbuf`, frames whose request awaits a response (gauge).
    pub outbuf_awaiting: AtomicI64,
    /// Requests awaiting a response, queued or written (gauge).
    pub awaiting: AtomicI64,
    /// Connections open and past their handshake (gauge).
    pub up: AtomicI64,
    /// Connection attempts under way (gauge).
    pub connecting: AtomicI64,
    /// Requests sent, per API key.
    requests: Box<[AtomicU64]>,
    /// Round-trip times since the last statistics object.
    pub rtt: Window,
}

impl BrokerStats {
    pub fn new(nodeid: i32, address: &str) -> BrokerStats {
        let keys = ApiKey::ALL
            .iter()
            .map(|key| *key as usize + 1)
            .max()
            .unwrap_or(0);
        BrokerStats {
            nodeid,
            address: Mutex::new(address.to_string()),
            tx: AtomicU64::new(0),
            txbytes: AtomicU64::new(0),
            txerrs: AtomicU64::new(0),
            req_timeouts: AtomicU64::new(0),
            rx: AtomicU64::new(0),
            rxbytes: AtomicU64::new(0),
            rxerrs: AtomicU64::new(0),
            rxcorriderrs: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            outbuf: AtomicI64::new(0),
            outbuf_awaiting: AtomicI64::new(0),
            awaiting: AtomicI64::new(0),
            up: AtomicI64::new(0),
            connecting: AtomicI64::new(0),
            requests: (0..keys).map(|_| AtomicU64::new(0)).collect(),
            rtt: Window::default(),
        }
    }

    pub fn set_address(&self, address: &str) {
        if let Ok(mut known) = self.address.lock() {
            if *known != address {
                *known = address.to_string();
            }
        }
    }

    pub fn address(&self) -> String {
        self.address.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Counts a request frame written to the socket.
    pub fn sent(&self, api: i16, bytes: usize) {
        self.tx.fetch_add(1, Ordering::Relaxed);
        self.txbytes.fetch_add(bytes as u64, Ordering::Relaxed);
        if let Some(counter) = usize::try_from(api).ok().and_then(|i| self.requests.get(i)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a response frame read (`bytes` with its length prefix).
    pub fn received(&self, bytes: usize) {
        self.rx.fetch_add(1, Ordering::Relaxed);
        self.rxbytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// librdkafka's broker state: UP while a connection is open, CONNECT
    /// while one is being opened, DOWN after connections failed or closed,
    /// INIT before any.
    fn state(&self) -> &'static str {
        if self.up.load(Ordering::Acquire) > 0 {
            "UP"
        } else if self.connecting.load(Ordering::Acquire) > 0 {
            "CONNECT"
        } else if self.connects.load(Ordering::Acquire) > 0 {
            "DOWN"
        } else {
            "INIT"
        }
    }

    /// The broker's object in the statistics (`brokers` entry), with the
    /// partitions this client has there (`toppars`). Takes the round-trip
    /// window: the next object starts a new one, as librdkafka's does.
    pub fn to_json(&self, name: &str, toppars: &[(&str, i32)]) -> Value {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let gauge = |counter: &AtomicI64| counter.load(Ordering::Relaxed).max(0);
        let outbuf = gauge(&self.outbuf);
        let awaiting = (gauge(&self.awaiting) - gauge(&self.outbuf_awaiting)).max(0);
        let requests: Map<String, Value> = self
            .requests
            .iter()
            .enumerate()
            .filter_map(|(key, counter)| {
                let sent = load(counter);
                let api = ApiKey::from_i16(i16::try_from(key).ok()?)?;
                (sent > 0).then(|| (api.name().to_string(), json!(sent)))
            })
            .collect();
        let toppars: Map<String, Value> = toppars
            .iter()
            .map(|(topic, partition)| {
                (
                    format!("{topic}-{partition}"),
                    json!({"topic": topic, "partition": partition}),
                )
            })
            .collect();
        let address = self.address();
        json!({
            "name": name,
            // librdkafka numbers every bootstrap server -1.
            "nodeid": self.nodeid.max(-1),
            "nodename": address,
            "source": if self.nodeid < 0 { "configured" } else { "learned" },
            "state": self.state(),
            "outbuf_cnt": outbuf,
            "waitresp_cnt": awaiting,
            "tx": load(&self.tx),
            "txbytes": load(&self.txbytes),
            "txerrs": load(&self.txerrs),
            "req_timeouts": load(&self.req_timeouts),
            "rx": load(&self.rx),
            "rxbytes": load(&self.rxbytes),
            "rxerrs": load(&self.rxerrs),
            "rxcorriderrs": load(&self.rxcorriderrs),
            "connects": load(&self.connects),
            "disconnects": load(&self.disconnects),
            "req": requests,
            "rtt": self.rtt.take().to_json(),
            "toppars": toppars,
        })
    }
}

/// Sub-buckets per power of two: values are kept to within 1/8.
const SUB_BUCKETS: usize = 8;
/// Values are capped below 2^41 µs (25 days).
const MAX_BITS: u32 = 41;
const BUCKETS: usize = (MAX_BITS as usize - 2) * SUB_BUCKETS;

/// A rolling window of values (librdkafka's "window stats", in µs): min,
/// max, sum, count and a log-linear histogram for the percentiles, all
/// atomics, so recording takes no lock. [`Window::take`] reads and resets
/// it.
pub(crate) struct Window {
    cnt: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

impl Default for Window {
    fn default() -> Window {
        Window {
            cnt: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The histogram bucket of `value` (below 8: exact; above: 8 per power of
/// two).
fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS as u64 {
        return value as usize;
    }
    let bits = 63 - value.leading_zeros();
    let sub = ((value >> (bits - 3)) & 7) as usize;
    (bits as usize - 2) * SUB_BUCKETS + sub
}

/// The largest value bucket `index` holds.
fn bucket_top(index: usize) -> u64 {
    if index < SUB_BUCKETS {
        return index as u64;
    }
    let bits = (index / SUB_BUCKETS + 2) as u32;
    let sub = (index % SUB_BUCKETS) as u64;
    let width = 1u64 << (bits - 3);
    (8 + sub) * width + width - 1
}

impl Window {
    pub fn record(&self, duration: Duration) {
        let value = u64::try_from(duration.as_micros())
            .unwrap_or(u64::MAX)
            .min((1 << MAX_BITS) - 1);
        self.cnt.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.min.fetch_min(value, Ordering::Relaxed);
        self.max.fetch_max(value, Ordering::Relaxed);
        if let Some(bucket) = self.buckets.get(bucket_of(value)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The window so far; it starts over empty. Values recorded meanwhile
    /// land in one window or the next.
    pub fn take(&self) -> WindowStats {
        let cnt = self.cnt.swap(0, Ordering::Relaxed);
        let sum = self.sum.swap(0, Ordering::Relaxed);
        let min = self.min.swap(u64::MAX, Ordering::Relaxed);
        let max = self.max.swap(0, Ordering::Relaxed);
        let buckets: Vec<u64> = self
            .buckets
            .iter()
            .map(|bucket| bucket.swap(0, Ordering::Relaxed))
            .collect();
        WindowStats {
            cnt,
            sum,
            min: if cnt == 0 { 0 } else { min },
            max,
            buckets,
        }
    }
}

/// A window as read by [`Window::take`].
pub(crate) struct WindowStats {
    pub cnt: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
    buckets: Vec<u64>,
}

impl WindowStats {
    /// The value below which a share `p` of the values lie (to within the
    /// histogram's 1/8), kept between min and max.
    pub fn percentile(&self, p: f64) -> u64 {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return 0;
        }
        let wanted = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, in_bucket) in self.buckets.iter().enumerate() {
            seen += in_bucket;
            if seen >= wanted {
                return bucket_top(index).clamp(self.min, self.max);
            }
        }
        self.max
    }

    fn stddev(&self) -> u64 {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return 0;
        }
        let mean = self.sum as f64 / self.cnt.max(1) as f64;
        let variance = self
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(index, n)| {
                let value = bucket_top(index).clamp(self.min, self.max) as f64;
                (value - mean).powi(2) * *n as f64
            })
            .sum::<f64>()
            / total as f64;
        variance.sqrt() as u64
    }

    pub fn to_json(&self) -> Value {
        json!({
            "min": self.min,
            "max": self.max,
            "avg": self.sum.checked_div(self.cnt).unwrap_or(0),
            "sum": self.sum,
            "cnt": self.cnt,
            "stddev": self.stddev(),
            "p50": self.percentile(0.50),
            "p75": self.percentile(0.75),
            "p90": self.percentile(0.90),
            "p95": self.percentile(0.95),
            "p99": self.percentile(0.99),
            "p99_99": self.percentile(0.9999),
        })
    }
}

/// The `brokers` object and the totals over them (`tx`, `tx_bytes`, `rx`,
/// `rx_bytes`), for brokers `(key name, stats)`; `toppars` lists the
/// client's partitions per leader node.
pub(crate) fn brokers_json(
    brokers: &[(String, Arc<BrokerStats>)],
    toppars: &Toppars<'_>,
) -> (Value, [u64; 4]) {
    let mut totals = [0u64; 4];
    let mut object = Map::new();
    for (name, stats) in brokers {
        let here = toppars.get(&stats.nodeid).map_or(&[][..], Vec::as_slice);
        let broker = stats.to_json(name, here);
        // Summed from the values printed, so the totals match them.
        for (total, field) in totals.iter_mut().zip(["tx", "txbytes", "rx", "rxbytes"]) {
            *total += broker[field].as_u64().unwrap_or(0);
        }
        object.insert(name.clone(), broker);
    }
    (Value::Object(object), totals)
}

/// One partition's object in the statistics (`topics.<t>.partitions.<p>`).
/// What does not apply to the client (a producer's fetch state, a
/// consumer's queue) keeps librdkafka's value for "none".
pub(crate) struct PartitionRow {
    pub topic: Arc<str>,
    pub partition: i32,
    pub leader: i32,
    /// Records queued and not yet sent, and their key and value bytes.
    pub msgq_cnt: usize,
    pub msgq_bytes: u64,
    /// Records produced (accepted, not necessarily sent) or consumed.
    pub msgs: u64,
    pub txmsgs: u64,
    pub txbytes: u64,
    pub rxmsgs: u64,
    pub rxbytes: u64,
    pub fetch_state: &'static str,
    pub next_offset: i64,
    pub app_offset: i64,
    pub stored_offset: i64,
    pub committed_offset: i64,
    pub eof_offset: i64,
    pub lo_offset: i64,
    pub hi_offset: i64,
    pub ls_offset: i64,
}

impl PartitionRow {
    pub fn new(topic: Arc<str>, partition: i32, leader: i32) -> PartitionRow {
        PartitionRow {
            topic,
            partition,
            leader,
            msgq_cnt: 0,
            msgq_bytes: 0,
            msgs: 0,
            txmsgs: 0,
            txbytes: 0,
            rxmsgs: 0,
            rxbytes: 0,
            fetch_state: "none",
            next_offset: OFFSET_INVALID,
            app_offset: OFFSET_INVALID,
            stored_offset: OFFSET_INVALID,
            committed_offset: OFFSET_INVALID,
            eof_offset: OFFSET_INVALID,
            lo_offset: OFFSET_INVALID,
            hi_offset: OFFSET_INVALID,
            ls_offset: OFFSET_INVALID,
        }
    }

    /// How far `offset` is behind the partition's end, as librdkafka
    /// counts `consumer_lag` (from the committed offset) and
    /// `consumer_lag_stored` (from the stored one): the high watermark, or
    /// under read_committed the last stable offset; -1 when either is not
    /// known.
    fn lag(&self, offset: i64, read_committed: bool) -> i64 {
        let end = if read_committed {
            self.ls_offset
        } else {
            self.hi_offset
        };
        if end < 0 || offset < 0 || offset > end {
            return -1;
        }
        end - offset
    }

    pub fn to_json(&self, read_committed: bool) -> Value {
        json!({
            "partition": self.partition,
            "broker": self.leader,
            "leader": self.leader,
            "msgq_cnt": count(self.msgq_cnt),
            "msgq_bytes": self.msgq_bytes,
            "fetch_state": self.fetch_state,
            "next_offset": self.next_offset,
            "app_offset": self.app_offset,
            "stored_offset": self.stored_offset,
            "committed_offset": self.committed_offset,
            "eof_offset": self.eof_offset,
            "lo_offset": self.lo_offset,
            "hi_offset": self.hi_offset,
            "ls_offset": self.ls_offset,
            "consumer_lag": self.lag(self.committed_offset, read_committed),
            "consumer_lag_stored": self.lag(self.stored_offset, read_committed),
            "txmsgs": self.txmsgs,
            "txbytes": self.txbytes,
            "rxmsgs": self.rxmsgs,
            "rxbytes": self.rxbytes,
            "msgs": self.msgs,
        })
    }
}

/// A client's partitions per leader node (the brokers' `toppars`).
pub(crate) type Toppars<'a> = BTreeMap<i32, Vec<(&'a str, i32)>>;

/// The `topics` object for `rows`, and the partitions per leader node for
/// the brokers' `toppars`.
pub(crate) fn topics_json(rows: &[PartitionRow], read_committed: bool) -> (Value, Toppars<'_>) {
    let mut topics: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut toppars = Toppars::new();
    for row in rows {
        topics
            .entry(&row.topic)
            .or_default()
            .insert(row.partition.to_string(), row.to_json(read_committed));
        if row.leader >= 0 && row.partition >= 0 {
            toppars
                .entry(row.leader)
                .or_default()
                .push((&row.topic, row.partition));
        }
    }
    let topics: Map<String, Value> = topics
        .into_iter()
        .map(|(topic, partitions)| {
            (
                topic.to_string(),
                json!({"topic": topic, "partitions": partitions}),
            )
        })
        .collect();
    (Value::Object(topics), toppars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_hold_their_values() {
        let mut last = 0;
        for value in (0..5000u64).chain([1 << 20, (1 << 20) + 12345, (1 << MAX_BITS) - 1]) {
            let index = bucket_of(value);
            assert!(index < BUCKETS, "{value}");
            assert!(index >= last || value >= 1 << 20, "{value}");
            last = index;
            assert!(bucket_top(index) >= value, "{value} above its bucket");
            if index > 0 {
                assert!(bucket_top(index - 1) < value, "{value} fits a lower bucket");
            }
        }
    }

    #[test]
    fn a_window_gives_its_percentiles_and_starts_over() {
        let window = Window::default();
        for micros in 1..=1000u64 {
            window.record(Duration::from_micros(micros));
        }
        let stats = window.take();
        assert_eq!((stats.cnt, stats.min, stats.max), (1000, 1, 1000));
        assert_eq!(stats.sum, 500_500);
        let p50 = stats.percentile(0.5);
        assert!((500..=563).contains(&p50), "p50 {p50}");
        let p99 = stats.percentile(0.99);
        assert!((990..=1000).contains(&p99), "p99 {p99}");
        let json = stats.to_json();
        assert_eq!(json["avg"], 500);
        let empty = window.take();
        assert_eq!((empty.cnt, empty.min, empty.max), (0, 0, 0));
        assert_eq!(empty.percentile(0.5), 0);
    }

    #[test]
    fn instances_are_named_as_librdkafka_names_them() {
        let first = Instance::new("app", "producer");
        let second = Instance::new("app", "consumer");
        let number = |name: &str| name.rsplit('-').next().unwrap().parse::<usize>().unwrap();
        assert!(first.name.starts_with("app#producer-"), "{}", first.name);
        assert!(second.name.starts_with("app#consumer-"), "{}", second.name);
        assert!(number(&second.name) > number(&first.name));
        let header = first.header(3);
        assert_eq!(header["type"], "producer");
        assert_eq!(header["client_id"], "app");
        assert_eq!(header["replyq"], 3);
        assert!(header["time"].as_u64().unwrap() > 1_600_000_000);
    }

    #[test]
    fn a_broker_reports_its_counters_and_state() {
        let stats = BrokerStats::new(-2, "localhost:9092");
        assert_eq!(stats.state(), "INIT");
        stats.connects.fetch_add(1, Ordering::Relaxed);
        stats.up.fetch_add(1, Ordering::Relaxed);
        stats.sent(ApiKey::Metadata as i16, 40);
        stats.sent(ApiKey::Produce as i16, 100);
        stats.received(60);
        stats.awaiting.fetch_add(1, Ordering::Relaxed);
        stats.rtt.record(Duration::from_micros(250));
        let json = stats.to_json("localhost:9092/bootstrap", &[("t", 0)]);
        assert_eq!(json["state"], "UP");
        assert_eq!(json["nodeid"], -1);
        assert_eq!(json["source"], "configured");
        assert_eq!(
            (json["tx"].as_u64(), json["txbytes"].as_u64()),
            (Some(2), Some(140))
        );
        assert_eq!(json["rxbytes"], 60);
        assert_eq!(json["waitresp_cnt"], 1);
        assert_eq!(json["req"]["Produce"], 1);
        assert_eq!(json["rtt"]["cnt"], 1);
        assert_eq!(json["rtt"]["p99"], 250);
        assert_eq!(json["toppars"]["t-0"]["partition"], 0);
        stats.up.fetch_sub(1, Ordering::Relaxed);
        assert_eq!(stats.state(), "DOWN");
    }

    #[test]
    fn consumer_lag_counts_from_the_committed_offset_to_the_end() {
        let mut row = PartitionRow::new("t".into(), 0, 1);
        assert_eq!(row.to_json(false)["consumer_lag"], -1, "nothing known yet");
        row.hi_offset = 10;
        row.ls_offset = 8;
        row.committed_offset = 4;
        row.stored_offset = 10;
        let json = row.to_json(false);
        assert_eq!(
            (
                json["consumer_lag"].as_i64(),
                json["consumer_lag_stored"].as_i64()
            ),
            (Some(6), Some(0))
        );
        assert_eq!(
            row.to_json(true)["consumer_lag"],
            4,
            "to the last stable offset"
        );
        let rows = [row, PartitionRow::new("t".into(), 1, -1)];
        let (topics, toppars) = topics_json(&rows, false);
        assert_eq!(topics["t"]["partitions"]["1"]["leader"], -1);
        assert_eq!(toppars[&1], [("t", 0)]);
    }

    #[test]
    fn queued_statistics_wait_for_the_serving_thread_one_at_a_time() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let callback = {
            let seen = seen.clone();
            StatsCallback::new(move |json| seen.lock().unwrap().push(json))
        };
        let queue = CallbackQueue::new();
        let emitter = Emitter::new(
            Duration::from_millis(5),
            Some(&callback),
            Some(queue.clone()),
        )
        .unwrap();
        emitter.emit("1".into());
        emitter.emit("2".into()); // the first is not served yet: replaced
        assert!(seen.lock().unwrap().is_empty());
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.serve(Duration::ZERO), 1);
        emitter.emit("3".into());
        queue.serve(Duration::ZERO);
        assert_eq!(*seen.lock().unwrap(), ["2", "3"]);
        assert!(Emitter::new(Duration::ZERO, Some(&callback), None).is_none());
        assert!(Emitter::new(Duration::from_millis(5), None, None).is_none());
    }
}
