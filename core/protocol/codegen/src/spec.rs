//! The Kafka message spec format: JSON with `//` comments, read into a
//! small typed model.

use serde_json::Value;

/// A version range as the specs write it: "3+", "0-7", "5", or "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub min: i16,
    /// `None` means open-ended ("3+").
    pub max: Option<i16>,
    pub empty: bool,
}

impl Versions {
    pub const NONE: Versions = Versions {
        min: 0,
        max: None,
        empty: true,
    };

    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "none" {
            return Ok(Self::NONE);
        }
        let num = |s: &str| {
            s.parse::<i16>()
                .map_err(|e| format!("bad version range {text:?}: {e}"))
        };
        if let Some(min) = text.strip_suffix('+') {
            return Ok(Versions {
                min: num(min)?,
                max: None,
                empty: false,
            });
        }
        if let Some((lo, hi)) = text.split_once('-') {
            return Ok(Versions {
                min: num(lo)?,
                max: Some(num(hi)?),
                empty: false,
            });
        }
        let v = num(text)?;
        Ok(Versions {
            min: v,
            max: Some(v),
            empty: false,
        })
    }

    /// A Rust boolean expression over `version` that is true inside the range.
    pub fn condition(&self) -> String {
        match (self.empty, self.max) {
            (true, _) => "false".to_string(),
            (false, None) if self.min == 0 => "true".to_string(),
            (false, None) => format!("version >= {}", self.min),
            (false, Some(max)) if max == self.min => format!("version == {max}"),
            (false, Some(max)) if self.min == 0 => format!("version <= {max}"),
            (false, Some(max)) => format!("version >= {} && version <= {max}", self.min),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub type_name: String,
    pub versions: Versions,
    pub nullable_versions: Versions,
    pub tagged_versions: Versions,
    pub tag: Option<u32>,
    pub flexible_override: Option<Versions>,
    pub default: Option<String>,
    /// Whether a non-default value may be dropped silently when encoding a
    /// version that lacks the field (Kafka's `ignorable`).
    pub ignorable: bool,
    pub about: String,
    /// Inline struct definition, when the field's type names a new struct.
    pub fields: Option<Vec<FieldSpec>>,
}

#[derive(Debug, Clone)]
pub struct StructSpec {
    pub name: String,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone)]
pub struct MessageSpec {
    pub name: String,
    pub kind: String,
    pub api_key: Option<i16>,
    pub valid_versions: Versions,
    pub flexible_versions: Versions,
    pub fields: Vec<FieldSpec>,
    pub common_structs: Vec<StructSpec>,
}

/// Removes `//` comments outside string literals.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for skipped in chars.by_ref() {
                if skipped == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn versions_of(obj: &Value, key: &str) -> Result<Option<Versions>, String> {
    obj.get(key)
        .and_then(text_of)
        .map(|t| Versions::parse(&t))
        .transpose()
}

fn parse_fields(value: Option<&Value>) -> Result<Vec<FieldSpec>, String> {
    let Some(list) = value.and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    list.iter().map(parse_field).collect()
}

fn parse_field(obj: &Value) -> Result<FieldSpec, String> {
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or("field without name")?
        .to_string();
    let type_name = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or(format!("field {name} without type"))?
        .to_string();
    let versions = versions_of(obj, "versions")?.ok_or(format!("field {name} without versions"))?;
    Ok(FieldSpec {
        versions,
        nullable_versions: versions_of(obj, "nullableVersions")?.unwrap_or(Versions::NONE),
        tagged_versions: versions_of(obj, "taggedVersions")?.unwrap_or(Versions::NONE),
        tag: obj.get("tag").and_then(Value::as_u64).map(|t| t as u32),
        flexible_override: versions_of(obj, "flexibleVersions")?,
        default: obj
            .get("default")
            .and_then(text_of)
            .map(|d| d.trim().to_string()),
        ignorable: obj
            .get("ignorable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        about: obj
            .get("about")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        fields: match obj.get("fields") {
            Some(f) => Some(parse_fields(Some(f))?),
            None => None,
        },
        type_name,
        name,
    })
}

pub fn parse_message(text: &str) -> Result<MessageSpec, String> {
    let root: Value = serde_json::from_str(&strip_comments(text)).map_err(|e| e.to_string())?;
    let name = root
        .get("name")
        .and_then(Value::as_str)
        .ok_or("spec without name")?
        .to_string();
    let common_structs = root
        .get("commonStructs")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|s| {
                    Ok(StructSpec {
                        name: s
                            .get("name")
                            .and_then(Value::as_str)
                            .ok_or("common struct without name")?
                            .to_string(),
                        fields: parse_fields(s.get("fields"))?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(MessageSpec {
        kind: root
            .get("type")
            .and_then(Value::as_str)
            .ok_or("spec without type")?
            .to_string(),
        api_key: root.get("apiKey").and_then(Value::as_i64).map(|k| k as i16),
        valid_versions: versions_of(&root, "validVersions")?
            .ok_or(format!("{name}: no validVersions"))?,
        flexible_versions: versions_of(&root, "flexibleVersions")?.unwrap_or(Versions::NONE),
        fields: parse_fields(root.get("fields"))?,
        common_structs,
        name,
    })
}
