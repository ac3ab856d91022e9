//! InitProducerId for idempotent (non-transactional) producers: a fresh
//! producer id, never handed out before, with epoch 0.

use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};

use crate::state::Broker;

pub async fn handle(
    broker: &Arc<Broker>,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    if request.transactional_id.is_some() {
        // Transactions need a transaction coordinator, which is not built yet.
        return InitProducerIdResponse {
            error_code: error_codes::COORDINATOR_NOT_AVAILABLE,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
    }
    // Without a transactional id there is no coordinator state to check a
    // claimed (id, epoch) against, so, like Kafka, always hand out a fresh
    // id with epoch 0 (also when the client sends its current id to recover
    // from a sequence error). Bumping the epoch of whatever id a client
    // names would let it fence another producer, or take an id the
    // allocator has not reached yet and will later give to someone else.
    match broker.allocate_producer_id().await {
        Ok(producer_id) => InitProducerIdResponse {
            producer_id,
            producer_epoch: 0,
            ..Default::default()
        },
        Err(e) => {
            tracing::error!("cannot allocate a producer id: {}", e.message);
            InitProducerIdResponse {
                error_code: e.code,
                producer_id: -1,
                producer_epoch: -1,
                ..Default::default()
            }
        }
    }
}
