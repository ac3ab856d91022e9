//! DescribeClientQuotas and AlterClientQuotas (KIP-546): the quotas of
//! users and client ids, as `kafka-configs.sh --entity-type users|clients`
//! and the admin clients manage them. Who may call them (DESCRIBE_CONFIGS
//! or ALTER_CONFIGS on the cluster) is checked in [`crate::access`].

use std::collections::HashSet;

use strom_protocol::error_codes;
use strom_protocol::messages::alter_client_quotas_request::EntryData as AlterEntry;
use strom_protocol::messages::alter_client_quotas_response::{
    EntityData as AlteredEntity, EntryData as AlterResult,
};
use strom_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use strom_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
};

use crate::cluster::requests::ControllerRequest;
use crate::file_work::off_the_worker;
use crate::quotas::{
    EntityName, QuotaChange, QuotaEntity, CLIENT_ID, CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE,
    QUOTA_KEYS, USER,
};
use crate::state::Broker;

/// DescribeClientQuotas's match types.
const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_SPECIFIED: i8 = 2;

/// (code, message) of a failure.
type Failure = (i16, String);

/// An AlterClientQuotas entry's changes, or why it is refused.
type EntryOutcome = Result<Vec<QuotaChange>, Failure>;

fn invalid(message: impl Into<String>) -> Failure {
    (error_codes::INVALID_REQUEST, message.into())
}

/// One component filter: the entity type and what its name must be.
struct Component {
    user: bool,
    match_type: i8,
    name: Option<String>,
}

impl Component {
    fn matches(&self, entity: &QuotaEntity) -> bool {
        let part = if self.user {
            &entity.user
        } else {
            &entity.client_id
        };
        match (self.match_type, part) {
            (_, None) => false,
            (MATCH_DEFAULT, Some(name)) => *name == EntityName::Default,
            // Any entity with this type, its default included (as Kafka's
            // KRaft brokers match it).
            (MATCH_SPECIFIED, Some(_)) => true,
            (_, Some(name)) => Some(name) == self.name.clone().map(EntityName::Named).as_ref(),
        }
    }
}

pub fn describe(
    broker: &Broker,
    request: DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    let failed = |(error_code, message): Failure| DescribeClientQuotasResponse {
        error_code,
        error_message: Some(message),
        entries: None,
        ..Default::default()
    };
    let mut seen = HashSet::new();
    let mut components = Vec::new();
    for c in request.components {
        let user = match c.entity_type.as_str() {
            USER => true,
            CLIENT_ID => false,
            other => return failed(invalid(format!("unsupported quota entity type `{other}`"))),
        };
        if !seen.insert(user) {
            return failed(invalid(format!(
                "entity type `{}` given twice",
                c.entity_type
            )));
        }
        if !(MATCH_EXACT..=MATCH_SPECIFIED).contains(&c.match_type) {
            return failed(invalid(format!("unknown match type {}", c.match_type)));
        }
        if c.match_type == MATCH_EXACT && c.r#match.is_none() {
            return failed(invalid("an exact match needs a name"));
        }
        components.push(Component {
            user,
            match_type: c.match_type,
            name: c.r#match,
        });
    }
    let entries = broker
        .quotas
        .snapshot()
        .into_iter()
        .filter(|(entity, _)| components.iter().all(|c| c.matches(entity)))
        .filter(|(entity, _)| {
            // Strict: no components beyond those filtered on.
            !request.strict
                || ((entity.user.is_none() || seen.contains(&true))
                    && (entity.client_id.is_none() || seen.contains(&false)))
        })
        .map(|(entity, values)| EntryData {
            entity: entity_data(&entity),
            values: values
                .into_iter()
                .map(|(key, value)| ValueData {
                    key,
                    value,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    DescribeClientQuotasResponse {
        entries: Some(entries),
        ..Default::default()
    }
}

fn entity_data(entity: &QuotaEntity) -> Vec<EntityData> {
    let mut parts = Vec::new();
    if let Some(user) = &entity.user {
        parts.push(EntityData {
            entity_type: USER.into(),
            entity_name: user.to_wire(),
            ..Default::default()
        });
    }
    if let Some(client_id) = &entity.client_id {
        parts.push(EntityData {
            entity_type: CLIENT_ID.into(),
            entity_name: client_id.to_wire(),
            ..Default::default()
        });
    }
    parts
}

pub async fn alter(
    broker: &Broker,
    request: AlterClientQuotasRequest,
) -> AlterClientQuotasResponse {
    let checked: Vec<(Vec<AlteredEntity>, EntryOutcome)> = request
        .entries
        .into_iter()
        .map(|entry| {
            let echoed = entry
                .entity
                .iter()
                .map(|e| AlteredEntity {
                    entity_type: e.entity_type.clone(),
                    entity_name: e.entity_name.clone(),
                    ..Default::default()
                })
                .collect();
            (echoed, changes_of(entry))
        })
        .collect();
    let changes: Vec<QuotaChange> = checked
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok())
        .flatten()
        .cloned()
        .collect();
    let stored = if request.validate_only || changes.is_empty() {
        Ok(())
    } else if let Some(node) = broker.cluster() {
        node.ask(ControllerRequest::AlterClientQuotas {
            changes: changes.clone(),
        })
        .await
        .map(|_| ())
        .map_err(|e| (e.code, e.message))
    } else {
        off_the_worker(|| broker.quotas.apply(changes.clone())).map_err(|e| {
            tracing::error!("cannot store client quotas: {e}");
            (error_codes::UNKNOWN_SERVER_ERROR, e.to_string())
        })
    };
    if stored.is_ok() && !request.validate_only {
        for change in &changes {
            tracing::info!(entity = ?change.entity, key = change.key, value = ?change.value, "client quota changed");
        }
    }
    let entries = checked
        .into_iter()
        .map(|(entity, outcome)| {
            let failure = outcome.err().or_else(|| stored.clone().err());
            let (error_code, error_message) =
                failure.map_or((error_codes::NONE, None), |(c, m)| (c, Some(m)));
            AlterResult {
                error_code,
                error_message,
                entity,
                ..Default::default()
            }
        })
        .collect();
    AlterClientQuotasResponse {
        entries,
        ..Default::default()
    }
}

/// One entry's changes, checked as Kafka checks them.
fn changes_of(entry: AlterEntry) -> Result<Vec<QuotaChange>, Failure> {
    let mut entity = QuotaEntity {
        user: None,
        client_id: None,
    };
    if entry.entity.is_empty() {
        return Err(invalid("a quota entity needs a user or a client id"));
    }
    for part in entry.entity {
        let slot = match part.entity_type.as_str() {
            USER => &mut entity.user,
            CLIENT_ID => &mut entity.client_id,
            "ip" => {
                return Err(invalid(
                    "IP quotas (connection_creation_rate) are not supported",
                ))
            }
            other => return Err(invalid(format!("unsupported quota entity type `{other}`"))),
        };
        if slot.is_some() {
            return Err(invalid(format!(
                "entity type `{}` given twice",
                part.entity_type
            )));
        }
        if part.entity_name.as_deref() == Some("") {
            return Err(invalid(
                "an entity name must not be empty (null is the default)",
            ));
        }
        *slot = Some(EntityName::from_wire(part.entity_name));
    }
    let mut keys = HashSet::new();
    let mut changes = Vec::new();
    for op in entry.ops {
        if !QUOTA_KEYS.contains(&op.key.as_str()) {
            return Err(invalid(format!(
                "unsupported quota key `{}`: {} are",
                op.key,
                QUOTA_KEYS.join(", ")
            )));
        }
        if !keys.insert(op.key.clone()) {
            return Err(invalid(format!("quota key `{}` given twice", op.key)));
        }
        let byte_rate = op.key == PRODUCER_BYTE_RATE || op.key == CONSUMER_BYTE_RATE;
        if !op.remove
            && (!op.value.is_finite() || op.value <= 0.0 || (byte_rate && op.value.fract() != 0.0))
        {
            return Err(invalid(format!(
                "quota `{}` must be a positive {}, not {}",
                op.key,
                if byte_rate { "whole number" } else { "number" },
                op.value
            )));
        }
        changes.push(QuotaChange {
            entity: entity.clone(),
            key: op.key,
            value: (!op.remove).then_some(op.value),
        });
    }
    Ok(changes)
}
