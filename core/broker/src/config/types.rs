//! The vocabulary shared by broker and topic settings: value types, the
//! sources DescribeConfigs reports, and the validation rules a definition
//! carries. Values are kept as the strings the user wrote (trimmed); the
//! typed views are parsed from them, so DescribeConfigs can echo them back.

use super::ConfigError;

/// A setting's value type, with the codes KIP-569 puts in DescribeConfigs v3+.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// The KIP-569 wire code.
    pub fn code(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Short => 4,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
            ConfigType::Class => 8,
            ConfigType::Password => 9,
        }
    }
}

/// Where an effective value came from, with the KIP-226 wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// A per-topic override (CreateTopics / AlterConfigs).
    DynamicTopicConfig,
    /// Set in the broker's static configuration (file, env, --set, flags).
    StaticBrokerConfig,
    /// Nobody set it: the built-in default.
    DefaultConfig,
}

impl ConfigSource {
    /// The DescribeConfigs wire code.
    pub fn code(self) -> i8 {
        match self {
            ConfigSource::DynamicTopicConfig => 1,
            ConfigSource::StaticBrokerConfig => 4,
            ConfigSource::DefaultConfig => 5,
        }
    }
}

/// One alternative name a value was (or could be) taken from, most
/// specific first, as DescribeConfigs returns with `include_synonyms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One row of a DescribeConfigs answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for settings without a value (and for sensitive ones).
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub is_sensitive: bool,
    /// DescribeConfigs v0 has no `source`, only this flag.
    pub is_default: bool,
    pub synonyms: Vec<ConfigSynonym>,
    pub config_type: ConfigType,
    pub documentation: &'static str,
}

/// The range or set of values a setting accepts.
#[derive(Debug, Clone, Copy)]
pub enum Validator {
    Any,
    AtLeast(i64),
    /// An integer in `low..=high`.
    IntBetween(i64, i64),
    Between(f64, f64),
    /// A string that must be one of these (case-sensitive, as in Kafka).
    OneOf(&'static [&'static str]),
    /// A list whose every element must be one of these.
    ListOf(&'static [&'static str]),
}

/// The static description of one setting: its Kafka name, type, default
/// and accepted values.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    /// `None` when Kafka has no default (the value comes from a synonym).
    pub default: Option<&'static str>,
    pub validator: Validator,
    pub doc: &'static str,
}

impl SettingDef {
    /// Parses and validates a value for this setting.
    pub fn parse(&self, value: &str) -> Result<TypedValue, ConfigError> {
        parse_value(self.name, value, self.config_type, self.validator)
    }
}

/// A parsed value, for range checks and typed views.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    Bool(bool),
    Integer(i64),
    Double(f64),
    Text(String),
    List(Vec<String>),
}

/// Splits a Kafka list value: comma separated, elements trimmed, an empty
/// string is the empty list.
pub fn split_list(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split(',')
        .map(|item| item.trim().to_string())
        .collect()
}

/// Parses `value` as `config_type` and checks it against `validator`; the
/// error names `key` so the user knows which line to fix.
pub fn parse_value(
    key: &str,
    value: &str,
    config_type: ConfigType,
    validator: Validator,
) -> Result<TypedValue, ConfigError> {
    let value = value.trim();
    let invalid = |reason: String| ConfigError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    };
    let typed = match config_type {
        ConfigType::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" => TypedValue::Bool(true),
            "false" => TypedValue::Bool(false),
            _ => return Err(invalid("expected true or false".into())),
        },
        ConfigType::Int => TypedValue::Integer(
            value
                .parse::<i32>()
                .map_err(|_| invalid("expected a 32-bit integer".into()))?
                .into(),
        ),
        ConfigType::Short => TypedValue::Integer(
            value
                .parse::<i16>()
                .map_err(|_| invalid("expected a 16-bit integer".into()))?
                .into(),
        ),
        ConfigType::Long => TypedValue::Integer(
            value
                .parse::<i64>()
                .map_err(|_| invalid("expected a 64-bit integer".into()))?,
        ),
        ConfigType::Double => {
            let parsed = value
                .parse::<f64>()
                .map_err(|_| invalid("expected a number".into()))?;
            if !parsed.is_finite() {
                return Err(invalid("expected a finite number".into()));
            }
            TypedValue::Double(parsed)
        }
        ConfigType::List => TypedValue::List(split_list(value)),
        ConfigType::String | ConfigType::Class | ConfigType::Password => {
            TypedValue::Text(value.to_string())
        }
    };
    check_range(&typed, validator).map_err(invalid)?;
    Ok(typed)
}

fn check_range(typed: &TypedValue, validator: Validator) -> Result<(), String> {
    match (validator, typed) {
        (Validator::Any, _) => Ok(()),
        (Validator::AtLeast(min), TypedValue::Integer(n)) if *n < min => {
            Err(format!("must be at least {min}"))
        }
        (Validator::IntBetween(low, high), TypedValue::Integer(n)) if *n < low || *n > high => {
            Err(format!("must be between {low} and {high}"))
        }
        (Validator::Between(low, high), TypedValue::Double(x)) if *x < low || *x > high => {
            Err(format!("must be between {low} and {high}"))
        }
        (Validator::OneOf(allowed), TypedValue::Text(text))
            if !allowed.contains(&text.as_str()) =>
        {
            Err(format!("must be one of {}", allowed.join(", ")))
        }
        (Validator::ListOf(allowed), TypedValue::List(items)) => {
            match items.iter().find(|item| !allowed.contains(&item.as_str())) {
                Some(bad) => Err(format!(
                    "'{bad}' is not allowed; each element must be one of {}",
                    allowed.join(", ")
                )),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// How a broker setting's value converts into the unit of the topic setting
/// it supplies the default for (`log.retention.hours` → `retention.ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Same,
    MinutesToMillis,
    HoursToMillis,
}

impl Unit {
    /// Converts a raw broker value; `None` when it is not an integer or the
    /// product overflows (values were validated on load, so only overflow).
    pub fn convert(self, raw: &str) -> Option<String> {
        let factor: i64 = match self {
            Unit::Same => return Some(raw.trim().to_string()),
            Unit::MinutesToMillis => 60_000,
            Unit::HoursToMillis => 3_600_000,
        };
        let n: i64 = raw.trim().parse().ok()?;
        n.checked_mul(factor).map(|ms| ms.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_and_names_the_key_on_error() {
        let ok = parse_value(
            "num.partitions",
            " 3 ",
            ConfigType::Int,
            Validator::AtLeast(1),
        );
        assert_eq!(ok.unwrap(), TypedValue::Integer(3));
        let err = parse_value("num.partitions", "three", ConfigType::Int, Validator::Any)
            .unwrap_err()
            .to_string();
        assert!(err.contains("num.partitions"), "{err}");
        assert!(parse_value("x", "2147483648", ConfigType::Int, Validator::Any).is_err());
        assert!(parse_value("x", "TRUE", ConfigType::Boolean, Validator::Any).is_ok());
        assert!(parse_value("x", "yes", ConfigType::Boolean, Validator::Any).is_err());
        assert!(parse_value("x", "NaN", ConfigType::Double, Validator::Any).is_err());
    }

    #[test]
    fn range_and_membership_are_checked() {
        assert!(parse_value("n", "0", ConfigType::Int, Validator::AtLeast(1)).is_err());
        assert!(parse_value("r", "1.5", ConfigType::Double, Validator::Between(0.0, 1.0)).is_err());
        let policies = Validator::ListOf(&["compact", "delete"]);
        assert!(parse_value("p", "compact, delete", ConfigType::List, policies).is_ok());
        assert!(parse_value("p", "delete,archive", ConfigType::List, policies).is_err());
        let types = Validator::OneOf(&["CreateTime", "LogAppendTime"]);
        assert!(parse_value("t", "createtime", ConfigType::String, types).is_err());
    }

    #[test]
    fn unit_conversion() {
        assert_eq!(Unit::HoursToMillis.convert("2").as_deref(), Some("7200000"));
        assert_eq!(Unit::MinutesToMillis.convert("1").as_deref(), Some("60000"));
        assert_eq!(Unit::HoursToMillis.convert(&i64::MAX.to_string()), None);
    }
}
