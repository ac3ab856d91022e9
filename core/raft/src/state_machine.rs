//! openraft's `RaftStateMachine` around the application's [`StateMachine`],
//! plus the snapshot file.
//!
//! The application state itself is not persisted here: the snapshot is. At
//! start the application is restored from the snapshot file and openraft then
//! re-applies the committed entries after it. The snapshot file (`snapshot`)
//! holds the snapshot's metadata (last log id, membership) and the bytes from
//! `StateMachine::snapshot`, in one checksummed record replaced atomically.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use openraft::storage::RaftStateMachine;
use openraft::{
    BasicNode, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::StoreError;
use crate::log_disk::LogEntry;
use crate::{codec, NodeId, StateMachine, TypeConfig};

const SNAPSHOT_FILE: &str = "snapshot";

type Lid = LogId<NodeId>;
type Meta = SnapshotMeta<NodeId, BasicNode>;

#[derive(Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: Meta,
    data: Vec<u8>,
}

struct Applied {
    last: Option<Lid>,
    membership: StoredMembership<NodeId, BasicNode>,
    snapshot: Option<Arc<StoredSnapshot>>,
}

struct Shared {
    app: Arc<dyn StateMachine>,
    dir: PathBuf,
    applied: Mutex<Applied>,
    /// Serializes snapshot file writes (a build and an install can overlap).
    snapshot_io: tokio::sync::Mutex<()>,
    builds: AtomicU64,
    /// Index of the last applied entry + 1 (0: none), for `wait_applied`.
    applied_tx: watch::Sender<u64>,
}

#[derive(Clone)]
pub(crate) struct SmStore {
    shared: Arc<Shared>,
}

impl SmStore {
    /// Loads the snapshot file, if any, into the application.
    pub(crate) async fn open(
        dir: PathBuf,
        app: Arc<dyn StateMachine>,
    ) -> Result<SmStore, StoreError> {
        let path = dir.join(SNAPSHOT_FILE);
        let read_path = path.clone();
        let bytes = tokio::task::spawn_blocking(move || codec::read_file_checked(&read_path))
            .await
            .map_err(|e| StoreError::Background(e.to_string()))??;
        let snapshot = match bytes {
            None => None,
            Some(b) => Some(Arc::new(codec::decode::<StoredSnapshot>(&b).map_err(
                |e| codec::corrupt(&path, 0, format!("undecodable snapshot: {e}")),
            )?)),
        };
        let mut applied = Applied {
            last: None,
            membership: StoredMembership::default(),
            snapshot: None,
        };
        if let Some(s) = snapshot {
            app.restore(&s.data);
            applied.last = s.meta.last_log_id;
            applied.membership = s.meta.last_membership.clone();
            applied.snapshot = Some(s);
        }
        let (applied_tx, _) = watch::channel(applied.last.map_or(0, |l| l.index + 1));
        Ok(SmStore {
            shared: Arc::new(Shared {
                app,
                dir,
                applied: Mutex::new(applied),
                snapshot_io: tokio::sync::Mutex::new(()),
                builds: AtomicU64::new(0),
                applied_tx,
            }),
        })
    }

    /// Watch of "last applied index + 1".
    pub(crate) fn applied(&self) -> watch::Receiver<u64> {
        self.shared.applied_tx.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Applied> {
        // The guarded data is plain values that are always left consistent.
        self.shared
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `snap` unless a snapshot at least as new is already stored.
    async fn persist(&self, snap: Arc<StoredSnapshot>) -> Result<(), StoreError> {
        let _io = self.shared.snapshot_io.lock().await;
        let current = self.lock().snapshot.as_ref().map(|s| s.meta.last_log_id);
        if current.is_some_and(|c| c >= snap.meta.last_log_id) {
            return Ok(());
        }
        let bytes = codec::encode(&*snap).map_err(|source| StoreError::Encode {
            what: "snapshot",
            source,
        })?;
        let dir = self.shared.dir.clone();
        tokio::task::spawn_blocking(move || {
            codec::write_file_atomic(&dir, SNAPSHOT_FILE, &bytes, true)
        })
        .await
        .map_err(|e| StoreError::Background(e.to_string()))??;
        self.lock().snapshot = Some(snap);
        Ok(())
    }
}

/// A consistent copy of the state taken in `get_snapshot_builder` (which runs
/// in order with `apply`); `build_snapshot` only writes it out.
pub(crate) struct Builder {
    store: SmStore,
    meta: Meta,
    data: Vec<u8>,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let snap = Arc::new(StoredSnapshot {
            meta: self.meta.clone(),
            data: std::mem::take(&mut self.data),
        });
        self.store
            .persist(snap.clone())
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(snap.meta.signature()), &e))?;
        Ok(Snapshot {
            meta: snap.meta.clone(),
            snapshot: Box::new(Cursor::new(snap.data.clone())),
        })
    }
}

impl RaftStateMachine<TypeConfig> for SmStore {
    type SnapshotBuilder = Builder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<Lid>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>> {
        let applied = self.lock();
        Ok((applied.last, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = LogEntry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut replies = Vec::new();
        let mut last = None;
        for entry in entries {
            match entry.payload {
                // Leader no-ops and membership changes carry no record: the
                // application never sees their indexes.
                EntryPayload::Blank => {}
                EntryPayload::Normal(record) => self.shared.app.apply(entry.log_id.index, &record),
                EntryPayload::Membership(m) => {
                    self.lock().membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            last = Some(entry.log_id);
            replies.push(());
        }
        if let Some(last) = last {
            self.lock().last = Some(last);
            self.shared.applied_tx.send_replace(last.index + 1);
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let data = self.shared.app.snapshot();
        let applied = self.lock();
        let n = self.shared.builds.fetch_add(1, Ordering::Relaxed);
        let id = match applied.last {
            Some(l) => format!("{}-{}-{n}", l.leader_id, l.index),
            None => format!("none-{n}"),
        };
        let meta = Meta {
            last_log_id: applied.last,
            last_membership: applied.membership.clone(),
            snapshot_id: id,
        };
        drop(applied);
        Builder {
            store: self.clone(),
            meta,
            data,
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let snap = Arc::new(StoredSnapshot {
            meta: meta.clone(),
            data: snapshot.into_inner(),
        });
        // On disk first: if we crash right after, the restart restores it.
        self.persist(snap.clone())
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        self.shared.app.restore(&snap.data);
        // Worth a line: it means this node was away past the log the
        // leader keeps, and its state was replaced wholesale.
        tracing::info!(
            last_index = meta.last_log_id.map_or(0, |l| l.index),
            bytes = snap.data.len(),
            "installed a metadata snapshot from the leader"
        );
        let mut applied = self.lock();
        applied.last = meta.last_log_id;
        applied.membership = meta.last_membership.clone();
        drop(applied);
        self.shared
            .applied_tx
            .send_replace(meta.last_log_id.map_or(0, |l| l.index + 1));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let snap = self.lock().snapshot.clone();
        Ok(snap.map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(s.data.clone())),
        }))
    }
}
