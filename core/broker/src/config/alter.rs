//! IncrementalAlterConfigs (KIP-339) on a topic's overrides.

use super::broker::BrokerConfig;
use super::topic::{resolve, validate_override, TopicConfigs};
use super::topic_defs::topic_setting;
use super::types::{split_list, ConfigType};
use super::ConfigError;

/// The operation codes of IncrementalAlterConfigs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterOpType {
    /// Set the override.
    Set,
    /// Remove the override, falling back to the broker or built-in default.
    Delete,
    /// Add elements to a list setting (those not already present).
    Append,
    /// Remove elements from a list setting.
    Subtract,
}

impl AlterOpType {
    /// `None` for a code no Kafka version defines (answer INVALID_REQUEST).
    pub fn from_code(code: i8) -> Option<AlterOpType> {
        match code {
            0 => Some(AlterOpType::Set),
            1 => Some(AlterOpType::Delete),
            2 => Some(AlterOpType::Append),
            3 => Some(AlterOpType::Subtract),
            _ => None,
        }
    }

    pub fn code(self) -> i8 {
        match self {
            AlterOpType::Set => 0,
            AlterOpType::Delete => 1,
            AlterOpType::Append => 2,
            AlterOpType::Subtract => 3,
        }
    }
}

/// One entry of an IncrementalAlterConfigs resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigOp {
    pub name: String,
    pub op: AlterOpType,
    /// Required by SET, APPEND and SUBTRACT; ignored by DELETE.
    pub value: Option<String>,
}

/// Applies `ops` to `current` and returns the new overrides; all or
/// nothing. APPEND and SUBTRACT start from the effective value (override,
/// else broker setting, else default), so appending `compact` to a topic
/// that inherits `delete` gives `delete,compact`.
pub fn apply_incremental_alter(
    current: &TopicConfigs,
    ops: &[AlterConfigOp],
    broker: &BrokerConfig,
) -> Result<TopicConfigs, ConfigError> {
    for (index, op) in ops.iter().enumerate() {
        if ops[..index].iter().any(|earlier| earlier.name == op.name) {
            return Err(ConfigError::DuplicateKey {
                key: op.name.clone(),
            });
        }
    }
    let mut next = current.clone();
    for op in ops {
        let setting = topic_setting(&op.name).ok_or_else(|| ConfigError::UnknownTopicConfig {
            key: op.name.clone(),
        })?;
        let needs_value = || {
            op.value.as_deref().ok_or_else(|| ConfigError::Invalid {
                key: op.name.clone(),
                reason: "the operation needs a value".into(),
            })
        };
        match op.op {
            AlterOpType::Set => {
                let value = validate_override(&op.name, needs_value()?)?;
                next.overrides_mut().insert(op.name.clone(), value);
            }
            AlterOpType::Delete => {
                next.overrides_mut().remove(&op.name);
            }
            AlterOpType::Append | AlterOpType::Subtract => {
                if setting.def.config_type != ConfigType::List {
                    return Err(ConfigError::Invalid {
                        key: op.name.clone(),
                        reason: "APPEND and SUBTRACT apply to list settings only".into(),
                    });
                }
                let (base, _) = resolve(setting, next.overrides(), broker);
                let mut items = split_list(&base);
                let changes = split_list(needs_value()?);
                if op.op == AlterOpType::Append {
                    for item in changes {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                } else {
                    items.retain(|item| !changes.contains(item));
                }
                let value = validate_override(&op.name, &items.join(","))?;
                next.overrides_mut().insert(op.name.clone(), value);
            }
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use strom_protocol::error_codes;

    use super::*;

    fn op(name: &str, op: AlterOpType, value: Option<&str>) -> AlterConfigOp {
        AlterConfigOp {
            name: name.into(),
            op,
            value: value.map(str::to_string),
        }
    }

    fn broker() -> BrokerConfig {
        BrokerConfig::from_pairs(&[]).unwrap()
    }

    #[test]
    fn op_codes_round_trip_and_unknown_codes_are_refused() {
        for code in 0..4 {
            assert_eq!(
                AlterOpType::from_code(code).map(AlterOpType::code),
                Some(code)
            );
        }
        assert_eq!(AlterOpType::from_code(4), None);
        assert_eq!(AlterOpType::from_code(-1), None);
    }

    #[test]
    fn set_and_delete() {
        let current =
            TopicConfigs::new([("retention.ms", "1000"), ("segment.bytes", "2048")]).unwrap();
        let ops = [
            op("retention.ms", AlterOpType::Set, Some("5000")),
            op("segment.bytes", AlterOpType::Delete, None),
            op("max.message.bytes", AlterOpType::Delete, None),
        ];
        let next = apply_incremental_alter(&current, &ops, &broker()).unwrap();
        assert_eq!(
            next.overrides().get("retention.ms").map(String::as_str),
            Some("5000")
        );
        assert!(!next.overrides().contains_key("segment.bytes"));
        assert_eq!(next.overrides().len(), 1);
    }

    #[test]
    fn append_starts_from_the_inherited_value_and_skips_duplicates() {
        let ops = [op(
            "cleanup.policy",
            AlterOpType::Append,
            Some("compact,delete"),
        )];
        let next = apply_incremental_alter(&TopicConfigs::default(), &ops, &broker()).unwrap();
        assert_eq!(
            next.overrides().get("cleanup.policy").map(String::as_str),
            Some("delete,compact")
        );

        let ops = [op("cleanup.policy", AlterOpType::Subtract, Some("delete"))];
        let after = apply_incremental_alter(&next, &ops, &broker()).unwrap();
        assert_eq!(
            after.overrides().get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
    }

    #[test]
    fn failures_change_nothing_and_say_why() {
        let current = TopicConfigs::new([("retention.ms", "1000")]).unwrap();
        let cases = [
            op("retention.ms", AlterOpType::Append, Some("1")),
            op("no.such.config", AlterOpType::Set, Some("1")),
            op("segment.bytes", AlterOpType::Set, Some("13")),
            op("cleanup.policy", AlterOpType::Append, Some("archive")),
            op("retention.ms", AlterOpType::Set, None),
        ];
        for case in cases {
            let ops = [op("segment.ms", AlterOpType::Set, Some("10")), case.clone()];
            let err = apply_incremental_alter(&current, &ops, &broker()).unwrap_err();
            assert_eq!(
                err.kafka_error_code(),
                error_codes::INVALID_CONFIG,
                "{case:?}"
            );
            assert!(err.to_string().contains(&case.name), "{err}");
        }
        let dup = [
            op("retention.ms", AlterOpType::Set, Some("1")),
            op("retention.ms", AlterOpType::Delete, None),
        ];
        let err = apply_incremental_alter(&current, &dup, &broker()).unwrap_err();
        assert_eq!(err.kafka_error_code(), error_codes::INVALID_REQUEST);
    }
}
