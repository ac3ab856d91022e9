//! The member's config: the JSON object groups.py passes as the only
//! argument (the same one groups_member.py reads), turned into Strom client
//! settings that match what the other drivers set.

use serde::Deserialize;

use crate::error::MemberError;

#[derive(Debug, Deserialize)]
pub struct MemberConfig {
    pub bootstrap: String,
    pub topic: String,
    pub group: String,
    pub client_id: String,
    /// `None`: the client's default list (range, cooperative-sticky, as in
    /// Java); else a partition.assignment.strategy name such as "range".
    pub assignor: Option<String>,
    /// group.instance.id, for a static member (KIP-345).
    pub instance_id: Option<String>,
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    /// The JoinGroup rebalance timeout; the client takes it from
    /// max.poll.interval.ms, as Java does.
    pub rebalance_timeout_ms: u64,
}

impl MemberConfig {
    /// Parses the command line: the program name, then one JSON argument.
    pub fn from_args(mut args: impl Iterator<Item = String>) -> Result<MemberConfig, MemberError> {
        let json = args.nth(1).ok_or(MemberError::Usage)?;
        if args.next().is_some() {
            return Err(MemberError::Usage);
        }
        Ok(serde_json::from_str(&json)?)
    }

    /// Consumer settings, by their Kafka names. Like the other drivers:
    /// offsets committed by hand after each poll, reading from the start
    /// of a partition with no committed offset, fetches that return within
    /// 200 ms so the loop sees its commands.
    pub fn client_settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![
            ("bootstrap.servers", self.bootstrap.clone()),
            ("group.id", self.group.clone()),
            ("client.id", self.client_id.clone()),
            ("enable.auto.commit", "false".to_string()),
            ("auto.offset.reset", "earliest".to_string()),
            ("session.timeout.ms", self.session_timeout_ms.to_string()),
            (
                "heartbeat.interval.ms",
                self.heartbeat_interval_ms.to_string(),
            ),
            (
                "max.poll.interval.ms",
                self.rebalance_timeout_ms.to_string(),
            ),
            ("fetch.wait.max.ms", "200".to_string()),
        ];
        if let Some(assignor) = &self.assignor {
            settings.push(("partition.assignment.strategy", assignor.clone()));
        }
        if let Some(instance_id) = &self.instance_id {
            settings.push(("group.instance.id", instance_id.clone()));
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"client": "strom", "bootstrap": "127.0.0.1:9092", "topic": "t",
        "group": "g", "client_id": "m-1", "assignor": "cooperative-sticky", "instance_id": null,
        "session_timeout_ms": 5000, "heartbeat_interval_ms": 500, "rebalance_timeout_ms": 30000}"#;

    #[test]
    fn reads_the_config_groups_py_writes() {
        let args = ["strom-compat-member".to_string(), CONFIG.to_string()];
        let config = MemberConfig::from_args(args.into_iter()).unwrap();
        let settings = config.client_settings();
        assert!(settings.contains(&("partition.assignment.strategy", "cooperative-sticky".into())));
        assert!(settings.contains(&("max.poll.interval.ms", "30000".into())));
        assert!(!settings.iter().any(|(key, _)| *key == "group.instance.id"));
        strom_client::ClientConfig::from_pairs(settings).unwrap();
    }

    #[test]
    fn refuses_a_missing_argument() {
        let args = ["strom-compat-member".to_string()];
        assert!(matches!(
            MemberConfig::from_args(args.into_iter()),
            Err(MemberError::Usage)
        ));
    }
}
