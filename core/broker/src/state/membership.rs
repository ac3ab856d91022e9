//! The broker as a member of a cluster: who the brokers and the
//! controller are, producer ids from the controller, and the topics of the
//! one-node data dir it may have been. On one node, itself is all there is.

use std::sync::Arc;

use strom_protocol::error_codes;

use super::Broker;
use crate::cluster::requests::{ControllerRequest, ControllerResponse};
use crate::cluster::ClusterNode;
use crate::error::ApiError;
use crate::file_work::off_the_worker;
use crate::topic_store::{self, TopicMeta};
use crate::topic_table::ListenerEndpoint;

/// Where clients reach a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

impl Broker {
    /// The one-node topics still to import, and the producer-id bound the
    /// one node reached.
    pub(crate) fn legacy_topics(&self) -> (Vec<(TopicMeta, Vec<i32>)>, i64) {
        let topics = self
            .legacy_topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let bound = self
            .producer_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bound();
        (topics, bound)
    }

    /// The controller took the one-node topics in: their files go, so a
    /// restart does not offer them again.
    pub(crate) fn legacy_topics_imported(&self) {
        let imported =
            std::mem::take(&mut *self.legacy_topics.lock().unwrap_or_else(|e| e.into_inner()));
        for (meta, _) in imported {
            if let Err(e) = topic_store::remove(&self.data_dir, &meta.name) {
                tracing::warn!(topic = %meta.name, "imported, but its topic file stays: {e}");
            }
        }
    }

    /// Joins this broker to its cluster (see [`crate::cluster::start`]).
    pub fn set_cluster(&self, node: Arc<ClusterNode>) {
        let _ = self.cluster.set(node);
    }

    pub fn cluster(&self) -> Option<&Arc<ClusterNode>> {
        self.cluster.get()
    }

    /// The cluster's id: this node's own on one node; in a cluster, the
    /// one the first controller recorded.
    pub fn cluster_id(&self) -> String {
        match self.table().cluster_id() {
            Some(id) => id.to_string(),
            None => self.cluster_id.clone(),
        }
    }

    /// Records where this broker's listeners are reached (server start).
    pub fn set_listeners(&self, listeners: Vec<ListenerEndpoint>) {
        let _ = self.listeners.set(listeners);
    }

    /// Every client listener's advertised address.
    pub fn listener_endpoints(&self) -> Vec<ListenerEndpoint> {
        self.listeners.get().cloned().unwrap_or_default()
    }

    /// Records where this broker's HTTP listener is reached (server start).
    pub fn set_http_address(&self, address: String) {
        let _ = self.http_address.set(address);
    }

    /// Where this broker's HTTP listener is reached, if it runs one.
    pub fn http_address(&self) -> Option<String> {
        self.http_address.get().cloned()
    }

    /// This broker, and in a cluster every live broker, by id, at the
    /// addresses of the listener the current client uses (see
    /// [`crate::security::CLIENT_LISTENER`]).
    pub fn live_brokers(&self) -> Vec<Endpoint> {
        if self.cluster().is_none() {
            return vec![self.endpoint()];
        }
        let via = crate::security::CLIENT_LISTENER
            .try_with(|listener| listener.name.clone())
            .ok();
        let table = self.table();
        let mut live: Vec<Endpoint> = table
            .brokers()
            .filter(|b| !b.fenced)
            .map(|b| {
                let named = via
                    .as_ref()
                    .and_then(|name| b.listeners.iter().find(|l| &l.name == name));
                match named {
                    Some(listener) => Endpoint {
                        id: b.id,
                        host: listener.host.clone(),
                        port: listener.port,
                    },
                    None => Endpoint {
                        id: b.id,
                        host: b.host.clone(),
                        port: b.port,
                    },
                }
            })
            .collect();
        // Registered or not yet, this broker serves: clients must see it.
        if !live.iter().any(|b| b.id == self.node_id) {
            live.push(self.endpoint());
            live.sort_by_key(|b| b.id);
        }
        live
    }

    /// Where clients reach broker `id`, if it is live.
    pub fn broker_endpoint(&self, id: i32) -> Option<Endpoint> {
        self.live_brokers().into_iter().find(|b| b.id == id)
    }

    /// Where the current client reaches this broker: the advertised
    /// address of the listener it came in through (see
    /// [`crate::security::CLIENT_LISTENER`]), else the first listener's.
    fn endpoint(&self) -> Endpoint {
        let via_listener = crate::security::CLIENT_LISTENER
            .try_with(|listener| listener.advertised.clone())
            .ok();
        let (host, port) = match via_listener {
            Some(advertised) => (advertised.host, i32::from(advertised.port)),
            None => (self.advertised_host.clone(), self.advertised_port),
        };
        Endpoint {
            id: self.node_id,
            host,
            port,
        }
    }

    /// The controller's node id: the metadata quorum's leader (-1 while
    /// there is none); this node on its own.
    pub fn controller_id(&self) -> i32 {
        match self.cluster() {
            Some(node) => node
                .quorum
                .status()
                .leader
                .and_then(|id| i32::try_from(id).ok())
                .unwrap_or(-1),
            None => self.node_id,
        }
    }

    /// A producer id never handed out before, in the whole cluster.
    pub async fn allocate_producer_id(&self) -> Result<i64, ApiError> {
        let Some(node) = self.cluster() else {
            let mut block = self.producer_ids.lock().unwrap_or_else(|e| e.into_inner());
            // Once a block: the next block's end is written and fsynced.
            return off_the_worker(|| block.next_id()).map_err(ApiError::storage);
        };
        loop {
            {
                let mut block = self
                    .producer_id_block
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Some(id) = block.next() {
                    return Ok(id);
                }
            }
            let count = crate::cluster::controller::PRODUCER_ID_BLOCK;
            match node
                .ask(ControllerRequest::AllocateProducerIds { count })
                .await?
            {
                ControllerResponse::ProducerIds { first, .. } => {
                    *self
                        .producer_id_block
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = first..first + count;
                }
                _ => {
                    return Err(ApiError::new(
                        error_codes::UNKNOWN_SERVER_ERROR,
                        "the controller did not hand out producer ids",
                    ))
                }
            }
        }
    }
}
