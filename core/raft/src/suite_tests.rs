//! Runs openraft's own conformance suite for storage implementations against
//! `LogStore` + `SmStore` (with tiny segments, so rolling is exercised too).

use std::sync::{Arc, Mutex};

use openraft::testing::{StoreBuilder, Suite};
use openraft::{StorageError, StorageIOError};

use crate::log_store::LogStore;
use crate::state_machine::SmStore;
use crate::{NodeId, StateMachine, TypeConfig};

#[derive(Default)]
struct Records(Mutex<Vec<(u64, Vec<u8>)>>);

impl StateMachine for Records {
    fn apply(&self, index: u64, record: &[u8]) {
        self.0.lock().expect("lock").push((index, record.to_vec()));
    }
    fn snapshot(&self) -> Vec<u8> {
        crate::codec::encode(&*self.0.lock().expect("lock")).expect("encode")
    }
    fn restore(&self, snapshot: &[u8]) {
        *self.0.lock().expect("lock") = crate::codec::decode(snapshot).expect("decode");
    }
}

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, SmStore, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, SmStore), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_path_buf();
        let log = LogStore::open(path.clone(), 256, false)
            .await
            .map_err(|e| StorageIOError::read_logs(&e))?;
        let sm = SmStore::open(path, Arc::new(Records::default()))
            .await
            .map_err(|e| StorageIOError::read_state_machine(&e))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).expect("openraft storage suite");
}
