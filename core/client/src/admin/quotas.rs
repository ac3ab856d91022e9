//! Client quotas (KIP-546): DescribeClientQuotas and AlterClientQuotas,
//! as Kafka's `Admin.describeClientQuotas` and `alterClientQuotas` offer
//! them. An entity is a list of (entity type, name) pairs: `user` and/or
//! `client-id`, a `None` name meaning the type's default.

use std::future::Future;

use strom_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use strom_protocol::messages::describe_client_quotas_request::ComponentData;
use strom_protocol::messages::{
    AlterClientQuotasRequest, ApiKey, DescribeClientQuotasRequest, Response,
};

use super::AdminClient;
use crate::cluster::unexpected;
use crate::error::{check_code, Result};

/// Who a quota is for: (entity type, name or `None` for the default).
pub type QuotaEntity = Vec<(String, Option<String>)>;

/// What a filter component matches of its entity type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaMatch {
    /// This name.
    Exact(String),
    /// The type's default.
    Default,
    /// Any entity of the type, the default included.
    Any,
}

/// Changes to one entity's quotas: each key set (`Some`) or removed.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaAlteration {
    pub entity: QuotaEntity,
    pub ops: Vec<(String, Option<f64>)>,
}

/// An entity and its quotas, as described.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityQuotas {
    pub entity: QuotaEntity,
    pub quotas: Vec<(String, f64)>,
}

impl AdminClient {
    /// Applies `alterations`; one outcome per entity, in order.
    pub fn alter_client_quotas(
        &self,
        alterations: &[QuotaAlteration],
        validate_only: bool,
    ) -> impl Future<Output = Result<Vec<Result<()>>>> + Send + 'static {
        let admin = self.clone();
        let count = alterations.len();
        let request = AlterClientQuotasRequest {
            entries: alterations
                .iter()
                .map(|a| EntryData {
                    entity: a
                        .entity
                        .iter()
                        .map(|(entity_type, entity_name)| EntityData {
                            entity_type: entity_type.clone(),
                            entity_name: entity_name.clone(),
                            ..Default::default()
                        })
                        .collect(),
                    ops: a
                        .ops
                        .iter()
                        .map(|(key, value)| OpData {
                            key: key.clone(),
                            value: value.unwrap_or_default(),
                            remove: value.is_none(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            validate_only,
            ..Default::default()
        };
        async move {
            let response = admin
                .send_to_controller(ApiKey::AlterClientQuotas, |_| request.clone().into())
                .await?;
            let Response::AlterClientQuotas(response) = response else {
                return Err(unexpected(ApiKey::AlterClientQuotas, &response));
            };
            Ok((0..count)
                .map(|i| match response.entries.get(i) {
                    Some(entry) => check_code(
                        entry.error_code,
                        || "altering client quotas".into(),
                        entry.error_message.as_deref(),
                    ),
                    None => Err(crate::ClientError::InvalidArgument(
                        "the broker did not answer for every quota entity".into(),
                    )),
                })
                .collect())
        }
    }

    /// The quotas of the entities `components` select (`strict`: those
    /// with no other entity types).
    pub fn describe_client_quotas(
        &self,
        components: &[(String, QuotaMatch)],
        strict: bool,
    ) -> impl Future<Output = Result<Vec<EntityQuotas>>> + Send + 'static {
        let admin = self.clone();
        let request = DescribeClientQuotasRequest {
            components: components
                .iter()
                .map(|(entity_type, matching)| {
                    let (match_type, name) = match matching {
                        QuotaMatch::Exact(name) => (0, Some(name.clone())),
                        QuotaMatch::Default => (1, None),
                        QuotaMatch::Any => (2, None),
                    };
                    ComponentData {
                        entity_type: entity_type.clone(),
                        match_type,
                        r#match: name,
                        ..Default::default()
                    }
                })
                .collect(),
            strict,
            ..Default::default()
        };
        async move {
            let response = admin
                .send_to_controller(ApiKey::DescribeClientQuotas, |_| request.clone().into())
                .await?;
            let Response::DescribeClientQuotas(response) = response else {
                return Err(unexpected(ApiKey::DescribeClientQuotas, &response));
            };
            check_code(
                response.error_code,
                || "describing client quotas".into(),
                response.error_message.as_deref(),
            )?;
            Ok(response
                .entries
                .unwrap_or_default()
                .into_iter()
                .map(|entry| EntityQuotas {
                    entity: entry
                        .entity
                        .into_iter()
                        .map(|e| (e.entity_type, e.entity_name))
                        .collect(),
                    quotas: entry.values.into_iter().map(|v| (v.key, v.value)).collect(),
                })
                .collect())
        }
    }
}
