//! `/metrics`: the broker's state, read when Prometheus scrapes, in its
//! text format through `prometheus-client`. Per-topic, per-partition and
//! per-group series are capped ([`MAX_TOPICS`], [`MAX_GROUPS`]), so a
//! broker with a million topics does not answer a scrape with gigabytes;
//! `strom_metrics_series_omitted` says what was left out.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use strom_protocol::error_codes;
use strom_protocol::messages::ApiKey;

use crate::group::{lock, GroupRef};
use crate::partition::Partition;
use crate::state::Broker;

/// Topics (and their partitions) reported, in name order.
pub const MAX_TOPICS: usize = 1000;
/// Consumer groups reported, in name order.
pub const MAX_GROUPS: usize = 1000;

/// The text `/metrics` answers with, or why there is none yet.
pub fn render(broker: &Weak<Broker>) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(BrokerCollector {
        broker: broker.clone(),
    }));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

#[derive(Debug)]
struct BrokerCollector {
    broker: Weak<Broker>,
}

type Labels = Vec<(&'static str, String)>;

/// One of a partition's traffic counters.
type PartitionCount = dyn Fn(&Partition) -> u64;

/// One metric's descriptor and its labelled values.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric_type: MetricType,
    series: impl IntoIterator<Item = (Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in series {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for BrokerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        process(&mut encoder)?;
        let Some(broker) = self.broker.upgrade() else {
            return Ok(());
        };
        topics(&broker, &mut encoder)?;
        groups(&broker, &mut encoder)?;
        requests(&broker, &mut encoder)?;
        let connections = broker.metrics.connections.load(Ordering::Relaxed);
        family(
            &mut encoder,
            "strom_connections",
            "Client connections open now, on every listener.",
            MetricType::Gauge,
            [(Labels::new(), ConstGauge::new(connections))],
        )?;
        let cached = broker.dir_health().tail_cache_held();
        family(
            &mut encoder,
            "strom_fetch_cache_bytes",
            "Memory the partitions' tail caches hold now, entries included; at most strom.fetch.cache.bytes.",
            MetricType::Gauge,
            [(Labels::new(), ConstGauge::new(cached as i64))],
        )?;
        let (sessions, session_partitions) = broker.fetch_sessions.held();
        family(
            &mut encoder,
            "strom_fetch_sessions",
            "Consumers' fetch sessions (KIP-227) held now; at most max.incremental.fetch.session.cache.slots.",
            MetricType::Gauge,
            [(Labels::new(), ConstGauge::new(sessions as i64))],
        )?;
        family(
            &mut encoder,
            "strom_fetch_session_partitions",
            "Partitions the fetch sessions hold now, all sessions together.",
            MetricType::Gauge,
            [(Labels::new(), ConstGauge::new(session_partitions as i64))],
        )?;
        let (from_memory, from_files) = broker.dir_health().fetch_reads();
        family(
            &mut encoder,
            "strom_fetch_reads",
            "Fetch reads that returned record batches, from the tail cache (memory) or the segment files (files); followers' fetches included.",
            MetricType::Counter,
            [
                (vec![("from", "memory".to_string())], ConstCounter::new(from_memory)),
                (vec![("from", "files".to_string())], ConstCounter::new(from_files)),
            ],
        )
    }
}

fn topics(broker: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let mut by_topic: BTreeMap<String, Vec<Arc<Partition>>> = BTreeMap::new();
    for partition in broker.partitions.all() {
        by_topic
            .entry(partition.topic.clone())
            .or_default()
            .push(partition);
    }
    let omitted = by_topic.len().saturating_sub(MAX_TOPICS);
    let shown: Vec<(&String, &Vec<Arc<Partition>>)> = by_topic.iter().take(MAX_TOPICS).collect();
    let total = |count: &PartitionCount| {
        shown
            .iter()
            .map(|(topic, partitions)| {
                let sum: u64 = partitions.iter().map(|p| count(p)).sum();
                (vec![("topic", topic.to_string())], ConstCounter::new(sum))
            })
            .collect::<Vec<_>>()
    };
    let counters: [(&str, &str, &PartitionCount); 3] = [
        (
            "strom_topic_records_in",
            "Records produced to the topic's partitions on this broker.",
            &|p| p.traffic.records_in.load(Ordering::Relaxed),
        ),
        (
            "strom_topic_bytes_in",
            "Bytes of record batches produced to the topic on this broker.",
            &|p| p.traffic.bytes_in.load(Ordering::Relaxed),
        ),
        (
            "strom_topic_bytes_out",
            "Bytes of record batches fetched by consumers from the topic on this broker.",
            &|p| p.traffic.bytes_out.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, count) in counters {
        family(encoder, name, help, MetricType::Counter, total(count))?;
    }
    let partitions = || {
        shown.iter().flat_map(|(topic, partitions)| {
            partitions.iter().map(move |p| {
                let labels = vec![
                    ("topic", topic.to_string()),
                    ("partition", p.index.to_string()),
                ];
                (labels, p)
            })
        })
    };
    family(
        encoder,
        "strom_partition_log_end_offset",
        "The offset the next record appended to the partition gets.",
        MetricType::Gauge,
        partitions().map(|(labels, p)| (labels, ConstGauge::new(p.log.log_end_offset()))),
    )?;
    family(
        encoder,
        "strom_partition_log_size_bytes",
        "Bytes of the partition's log segments on disk.",
        MetricType::Gauge,
        partitions().map(|(labels, p)| {
            let size = i64::try_from(p.log.size_bytes()).unwrap_or(i64::MAX);
            (labels, ConstGauge::new(size))
        }),
    )?;
    omitted_series(encoder, "topics", omitted)
}

fn groups(broker: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let mut members = Vec::new();
    let mut lags = Vec::new();
    let all = groups_by_name(broker);
    let omitted = all.len().saturating_sub(MAX_GROUPS);
    for (group_id, group) in all.into_iter().take(MAX_GROUPS) {
        let (member_count, mut committed) = {
            let g = lock(&group);
            let committed: Vec<((String, i32), i64)> = g
                .offsets
                .iter()
                .map(|(tp, offset)| (tp.clone(), offset.value.offset))
                .collect();
            (g.members.len(), committed)
        };
        committed.sort();
        members.push((
            vec![("group", group_id.clone())],
            ConstGauge::new(i64::try_from(member_count).unwrap_or(i64::MAX)),
        ));
        for ((topic, partition), offset) in committed {
            let Some(lag) = lag_of(broker, &topic, partition, offset) else {
                continue;
            };
            let labels = vec![
                ("group", group_id.clone()),
                ("topic", topic),
                ("partition", partition.to_string()),
            ];
            lags.push((labels, ConstGauge::new(lag)));
        }
    }
    family(
        encoder,
        "strom_consumer_group_members",
        "Members of the consumer group now.",
        MetricType::Gauge,
        members,
    )?;
    family(
        encoder,
        "strom_consumer_group_lag",
        "Records between the group's committed offset and the partition's high watermark.",
        MetricType::Gauge,
        lags,
    )?;
    omitted_series(encoder, "groups", omitted)
}

/// Every group this broker coordinates, by id.
pub(crate) fn groups_by_name(broker: &Broker) -> Vec<(String, GroupRef)> {
    let mut all: Vec<_> = broker
        .groups
        .all()
        .into_iter()
        .map(|group| {
            let id = lock(&group).group_id.clone();
            (id, group)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Records between a committed offset and the partition's high watermark;
/// unknown where this broker does not hold the partition.
pub(crate) fn lag_of(broker: &Broker, topic: &str, partition: i32, committed: i64) -> Option<i64> {
    broker
        .partition(topic, partition)
        .ok()
        .map(|p| (p.log.high_watermark() - committed).max(0))
}

fn omitted_series(
    encoder: &mut DescriptorEncoder,
    kind: &str,
    omitted: usize,
) -> Result<(), std::fmt::Error> {
    family(
        encoder,
        &format!("strom_metrics_omitted_{kind}"),
        &format!("{kind} left out of these metrics past the cap of what one scrape reports."),
        MetricType::Gauge,
        [(
            Labels::new(),
            ConstGauge::new(i64::try_from(omitted).unwrap_or(i64::MAX)),
        )],
    )
}

fn requests(broker: &Broker, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let used: Vec<(String, &crate::metrics::LatencyHistogram)> = broker
        .metrics
        .requests
        .used()
        .map(|(key, stats)| {
            let name =
                ApiKey::from_i16(key).map_or_else(|| key.to_string(), |api| api.name().to_string());
            (name, stats)
        })
        .collect();
    let api_name = |key: i16| {
        ApiKey::from_i16(key).map_or_else(|| key.to_string(), |api| api.name().to_string())
    };
    family(
        encoder,
        "strom_requests",
        "Kafka requests answered, by API and by the response's top-level error code (NONE for APIs that answer errors per item).",
        MetricType::Counter,
        broker.metrics.requests.by_error().into_iter().map(|(key, code, count)| {
            let error = error_codes::error_name(code).to_string();
            (vec![("api", api_name(key)), ("error", error)], ConstCounter::new(count))
        }),
    )?;
    let (sum, count, buckets) = strom_storage::latency::FSYNC_LATENCY.snapshot();
    encoder
        .encode_descriptor(
            "strom_log_fsync_duration_seconds",
            "Time each fsync, fdatasync or syncfs of the logs took (acknowledgements wait for one).",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<Labels>(sum, count, &buckets, None)?;
    let mut metric = encoder.encode_descriptor(
        "strom_request_duration_seconds",
        "Time from a Kafka request's arrival to its answer, by API.",
        None,
        MetricType::Histogram,
    )?;
    for (api, stats) in &used {
        let labels = vec![("api", api.clone())];
        let (sum, count, buckets) = stats.snapshot();
        metric
            .encode_family(&labels)?
            .encode_histogram::<Labels>(sum, count, &buckets, None)?;
    }
    Ok(())
}

/// Resident memory and CPU time of the broker's process, under the names
/// every Prometheus client library gives them.
fn process(encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let Some((resident, cpu_seconds)) = process_stats() else {
        return Ok(());
    };
    family(
        encoder,
        "process_resident_memory_bytes",
        "Resident memory of the broker's process.",
        MetricType::Gauge,
        [(Labels::new(), ConstGauge::new(resident))],
    )?;
    family(
        encoder,
        "process_cpu_seconds",
        "CPU time (user and system) the broker's process has used.",
        MetricType::Counter,
        [(Labels::new(), ConstCounter::new(cpu_seconds))],
    )
}

/// (resident bytes, CPU seconds) from /proc/self.
fn process_stats() -> Option<(i64, f64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page = i64::try_from(rustix::param::page_size()).ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Some((resident_pages * page, ticks as f64 / per_second as f64))
}
