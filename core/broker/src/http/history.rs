//! The console's charts over the last minutes (`GET /v1/history`): every
//! [`INTERVAL`] a sample of each topic's traffic counters and each group's
//! total lag, the last [`KEPT`] samples kept. Bounded like the metrics:
//! at most [`MAX_TOPICS`] topics and [`MAX_GROUPS`] groups per sample.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::peers::escape;
use crate::clock::now_ms;
use crate::group::lock;
use crate::metrics::collect::{groups_by_name, lag_of, MAX_GROUPS, MAX_TOPICS};
use crate::state::Broker;

/// Time between two samples.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// Samples kept: six minutes.
const KEPT: usize = 72;

/// One topic's traffic counters through this broker: records in, bytes
/// in, bytes out.
type Traffic = [u64; 3];

struct Sample {
    time_ms: i64,
    topics: BTreeMap<Arc<str>, Traffic>,
    /// Total lag per group; `None` where a partition's lag is unknown here.
    groups: BTreeMap<Arc<str>, Option<i64>>,
}

/// The samples, oldest first.
#[derive(Default)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
}

/// What `/v1/history` is asked for: everything summed, one topic, or one
/// group.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Query {
    topic: Option<String>,
    group: Option<String>,
}

impl Query {
    pub fn is_group(&self) -> bool {
        self.group.is_some()
    }

    /// The query string that asks another broker the same.
    pub fn to_query(&self) -> String {
        match (&self.topic, &self.group) {
            (Some(topic), _) => format!("topic={}", escape(topic)),
            (None, Some(group)) => format!("group={}", escape(group)),
            (None, None) => String::new(),
        }
    }
}

impl History {
    /// Takes one sample of the broker (blocking work: it reads every
    /// partition and locks every group). `ends`: high watermarks of
    /// partitions held by other brokers, for the lag of groups this broker
    /// coordinates.
    pub fn sample(&self, broker: &Broker, ends: &HashMap<(String, i32), i64>) {
        // Samples share one copy of each name: the last sample's.
        let known = self.last_names();
        let interned = |name: &str| known.get(name).cloned().unwrap_or_else(|| Arc::from(name));
        let mut topics: BTreeMap<Arc<str>, Traffic> = BTreeMap::new();
        for partition in broker.partitions.all() {
            let now = partition.traffic.totals();
            let name = interned(&partition.topic);
            if !topics.contains_key(&name) && topics.len() == MAX_TOPICS {
                continue;
            }
            let total = topics.entry(name).or_default();
            for (sum, count) in total.iter_mut().zip(now) {
                *sum += count;
            }
        }
        let groups = groups_by_name(broker)
            .into_iter()
            .take(MAX_GROUPS)
            .map(|(id, group)| {
                let g = lock(&group);
                let lag = g.offsets.iter().try_fold(0i64, |sum, ((topic, p), c)| {
                    let committed = c.value.offset;
                    let elsewhere = || {
                        let end = ends.get(&(topic.clone(), *p))?;
                        Some((end - committed).max(0))
                    };
                    Some(sum + lag_of(broker, topic, *p, committed).or_else(elsewhere)?)
                });
                (interned(&id), lag)
            })
            .collect();
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() == KEPT {
            samples.pop_front();
        }
        samples.push_back(Sample {
            time_ms: now_ms(),
            topics,
            groups,
        });
    }

    /// The topic and group names of the last sample.
    fn last_names(&self) -> HashSet<Arc<str>> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let Some(last) = samples.back() else {
            return HashSet::new();
        };
        last.topics
            .keys()
            .chain(last.groups.keys())
            .cloned()
            .collect()
    }

    /// The answer to `query`: cumulative counters (the page turns them
    /// into rates) or a group's lag, per sample.
    pub fn view(&self, query: &Query) -> Value {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let points: Vec<Value> = samples
            .iter()
            .filter_map(|s| {
                if let Some(group) = &query.group {
                    let lag = s.groups.get(group.as_str())?;
                    return Some(json!({"time_ms": s.time_ms, "lag": lag}));
                }
                let traffic = match &query.topic {
                    Some(topic) => *s.topics.get(topic.as_str())?,
                    None => s.topics.values().fold([0; 3], |mut sum, t| {
                        sum.iter_mut().zip(t).for_each(|(a, b)| *a += b);
                        sum
                    }),
                };
                let [records_in, bytes_in, bytes_out] = traffic;
                Some(json!({"time_ms": s.time_ms, "records_in": records_in,
                            "bytes_in": bytes_in, "bytes_out": bytes_out}))
            })
            .collect();
        json!({"interval_ms": INTERVAL.as_millis() as u64, "samples": points})
    }
}
