//! confluent-kafka's rebalance callbacks (`on_assign`, `on_revoke`,
//! `on_lost`, each called as `callback(consumer, partitions)`) on the
//! core's `on_rebalance`.
//!
//! The core runs them inside `poll`, which holds the consumer: a callback
//! cannot call back into the consumer's handle. But confluent-kafka code
//! does just that (`consumer.assign(partitions)` with chosen offsets in
//! `on_assign`, `consumer.commit()` in `on_revoke`). So while a callback
//! runs, the consumer's methods called from its thread work on a
//! [`Scope`]: reads come from a snapshot taken before the call, and
//! changes (seek, assign with offsets, pause, resume, commit) are recorded
//! and applied through the core's `RebalanceContext` when it returns.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use pyo3::prelude::*;
use pyo3::types::PyWeakrefReference;
use strom_client::{
    RebalanceContext, RebalanceEvent, StartOffset, TopicPartition as CoreTopicPartition,
};

use crate::message::{partition_list, TopicPartition};
use crate::producer::CallbackFailure;

/// A change a callback asked for, applied when it returns.
pub enum Change {
    Seek(CoreTopicPartition, i64),
    Pause(Vec<CoreTopicPartition>),
    Resume(Vec<CoreTopicPartition>),
    /// Commit the positions (`None`) or these offsets.
    Commit(Option<Vec<(CoreTopicPartition, i64)>>),
}

/// The consumer as a running rebalance callback sees it.
pub struct Scope {
    thread: ThreadId,
    pub assignment: Vec<CoreTopicPartition>,
    pub positions: Vec<(CoreTopicPartition, Option<i64>)>,
    pub changes: Vec<Change>,
}

/// The scope of the callback running now, if any; shared by the consumer
/// object and its callbacks.
#[derive(Clone, Default)]
pub struct ScopeSlot(Arc<Mutex<Option<Scope>>>);

impl ScopeSlot {
    /// Runs `f` on the scope if a callback is running on this thread.
    pub fn with<T>(&self, f: impl FnOnce(&mut Scope) -> T) -> Option<T> {
        let mut slot = self.0.lock().ok()?;
        let scope = slot.as_mut()?;
        (scope.thread == std::thread::current().id()).then(|| f(scope))
    }

    /// Records a change if a callback is running on this thread; returns
    /// whether it did.
    pub fn record(&self, change: impl FnOnce() -> Change) -> bool {
        self.with(|scope| scope.changes.push(change())).is_some()
    }

    fn open(&self, context: &RebalanceContext<'_>) {
        let assignment = context.assignment();
        let positions = assignment
            .iter()
            .map(|tp| (tp.clone(), context.position(tp)))
            .collect();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(Scope {
                thread: std::thread::current().id(),
                assignment,
                positions,
                changes: Vec::new(),
            });
        }
    }

    fn close(&self) -> Vec<Change> {
        match self.0.lock().ok().and_then(|mut slot| slot.take()) {
            Some(scope) => scope.changes,
            None => Vec::new(),
        }
    }
}

/// The Python callbacks of one `subscribe`.
pub struct Callbacks {
    pub consumer: Py<PyWeakrefReference>,
    pub on_assign: Option<Py<PyAny>>,
    pub on_revoke: Option<Py<PyAny>>,
    pub on_lost: Option<Py<PyAny>>,
    pub scope: ScopeSlot,
    pub failure: CallbackFailure,
}

impl Callbacks {
    /// The core's rebalance callback for these Python callbacks.
    pub fn run(
        &self,
        event: RebalanceEvent,
        context: &mut RebalanceContext<'_>,
        partitions: &[CoreTopicPartition],
    ) {
        let callback = match event {
            RebalanceEvent::Assigned => self.on_assign.as_ref(),
            RebalanceEvent::Revoked => self.on_revoke.as_ref(),
            // As in confluent-kafka: without on_lost, on_revoke hears of it.
            RebalanceEvent::Lost => self.on_lost.as_ref().or(self.on_revoke.as_ref()),
        };
        let Some(callback) = callback else {
            return;
        };
        self.scope.open(context);
        Python::attach(|py| {
            let called = self.consumer.bind(py).upgrade().map(|consumer| {
                let partitions = partitions.iter().map(|tp| TopicPartition::at(tp, -1001));
                partition_list(py, partitions)
                    .and_then(|partitions| callback.call1(py, (consumer, partitions)))
            });
            if let Some(Err(raised)) = called {
                self.failure.keep(raised);
            }
        });
        for change in self.scope.close() {
            apply(context, change);
        }
    }
}

fn apply(context: &mut RebalanceContext<'_>, change: Change) {
    let applied = match change {
        Change::Seek(tp, offset) => context.start_at(&tp, StartOffset::from_librdkafka(offset)),
        Change::Pause(partitions) => {
            context.pause(&partitions);
            Ok(())
        }
        Change::Resume(partitions) => {
            context.resume(&partitions);
            Ok(())
        }
        // The core sends it before the group moves on; its outcome goes
        // to on_commit like any commit's.
        Change::Commit(None) => {
            drop(context.commit());
            Ok(())
        }
        Change::Commit(Some(offsets)) => {
            drop(context.commit_offsets(&offsets));
            Ok(())
        }
    };
    if let Err(error) = applied {
        tracing::warn!("a change made in a rebalance callback failed: {error}");
    }
}
