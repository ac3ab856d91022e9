//! InitProducerId for idempotent (non-transactional) producers: a fresh
//! producer id, never handed out before, with epoch 0, or an epoch bump.

use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};

use crate::state::Broker;

pub fn handle(broker: &Arc<Broker>, request: InitProducerIdRequest) -> InitProducerIdResponse {
    if request.transactional_id.is_some() {
        // Transactions need a transaction coordinator, which is not built yet.
        return InitProducerIdResponse {
            error_code: error_codes::COORDINATOR_NOT_AVAILABLE,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
    }
    // KIP-360: an idempotent producer that hit a sequence error bumps its
    // epoch instead of taking a new id, so its state on the partitions
    // resets cleanly.
    if request.producer_id >= 0
        && request.producer_epoch >= 0
        && request.producer_epoch < i16::MAX - 1
    {
        return InitProducerIdResponse {
            producer_id: request.producer_id,
            producer_epoch: request.producer_epoch + 1,
            ..Default::default()
        };
    }
    match broker.allocate_producer_id() {
        Ok(producer_id) => InitProducerIdResponse {
            producer_id,
            producer_epoch: 0,
            ..Default::default()
        },
        Err(e) => {
            tracing::error!("cannot allocate a producer id: {e}");
            InitProducerIdResponse {
                error_code: error_codes::KAFKA_STORAGE_ERROR,
                producer_id: -1,
                producer_epoch: -1,
                ..Default::default()
            }
        }
    }
}
