//! The outcomes of one send of many records: each record's delivery
//! callback writes its slot, and the send's promise waits until every slot
//! is written. One lock per delivery, no future or task per record.

use std::sync::{Arc, Mutex};

use strom_client::{ClientError, DeliveryResult, RecordMetadata};
use tokio::sync::Notify;

use crate::lock;

pub struct Outcomes {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    all_in: Notify,
}

struct State {
    /// Per record in send order: its topic (an index into the send's
    /// topics) and where it was written, once delivered.
    delivered: Vec<Option<(usize, RecordMetadata)>>,
    /// The failure of the earliest record that failed.
    failure: Option<(usize, ClientError)>,
    unsettled: usize,
}

impl Outcomes {
    pub fn new(records: usize) -> Outcomes {
        let state = State {
            delivered: (0..records).map(|_| None).collect(),
            failure: None,
            unsettled: records,
        };
        Outcomes {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                all_in: Notify::new(),
            }),
        }
    }

    /// The delivery callback of record `index` (of topic `topic`).
    pub fn reporter(&self, index: usize, topic: usize) -> impl FnOnce(DeliveryResult) + Send {
        let shared = self.shared.clone();
        move |result| settle(&shared, index, topic, result.map_err(|failed| failed.error))
    }

    /// Settles record `index` here (a record the core refused at once).
    pub fn settle(&self, index: usize, topic: usize, result: Result<RecordMetadata, ClientError>) {
        settle(&self.shared, index, topic, result)
    }

    /// Once every record is settled: the first offset written in each
    /// partition, in the order first written, or the earliest failure.
    pub async fn all_settled(self) -> Result<Vec<(usize, RecordMetadata)>, ClientError> {
        loop {
            // Registered before the check, so a settle in between still wakes it.
            let notified = self.shared.all_in.notified();
            {
                let mut state = lock(&self.shared.state);
                if state.unsettled == 0 {
                    if let Some((_, error)) = state.failure.take() {
                        return Err(error);
                    }
                    return Ok(first_per_partition(&mut state.delivered));
                }
            }
            notified.await;
        }
    }
}

fn settle(
    shared: &Shared,
    index: usize,
    topic: usize,
    result: Result<RecordMetadata, ClientError>,
) {
    let mut state = lock(&shared.state);
    let Some(slot) = state.delivered.get_mut(index) else {
        return;
    };
    match result {
        Ok(metadata) => *slot = Some((topic, metadata)),
        Err(error) => {
            if state
                .failure
                .as_ref()
                .is_none_or(|(earliest, _)| index < *earliest)
            {
                state.failure = Some((index, error));
            }
        }
    }
    state.unsettled = state.unsettled.saturating_sub(1);
    if state.unsettled == 0 {
        shared.all_in.notify_one();
    }
}

fn first_per_partition(
    delivered: &mut [Option<(usize, RecordMetadata)>],
) -> Vec<(usize, RecordMetadata)> {
    let mut firsts: Vec<(usize, RecordMetadata)> = Vec::new();
    for (topic, metadata) in delivered.iter_mut().filter_map(Option::take) {
        let seen = firsts
            .iter()
            .any(|(t, m)| *t == topic && m.partition == metadata.partition);
        if !seen {
            firsts.push((topic, metadata));
        }
    }
    firsts
}
