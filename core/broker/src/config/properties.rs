//! Reads the `server.properties` format: the common subset of Java's
//! `Properties.load`, so an existing Kafka broker file loads unchanged.
//!
//! Supported: `key=value`, `key: value` and `key value`; whitespace around
//! keys and values trimmed; `#` and `!` comment lines; blank lines; a
//! trailing backslash continues the line; escapes `\t \n \r \f \uXXXX` and
//! backslash before any other character (so `\=` and `\\` work). A later
//! duplicate key wins, as in Java.

/// One `key=value` pair with the 1-based line it started on, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses properties text. It never fails: like Java, a line with a key and
/// no separator is that key with an empty value (which typed settings then
/// reject, naming the key).
pub fn parse_properties(text: &str) -> Vec<Property> {
    let mut properties = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let start = first.trim_start();
        if start.is_empty() || start.starts_with('#') || start.starts_with('!') {
            continue;
        }
        let mut logical = String::from(start);
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        properties.push(Property {
            key: unescape(key),
            value: unescape(trim_unescaped_end(value)),
            line: index + 1,
        });
    }
    properties
}

/// A line continues when it ends in an odd number of backslashes.
fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace; whitespace around
/// the separator is skipped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (at, ch) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..at], line[at + 1..].trim_start()),
            c if c.is_whitespace() => {
                let rest = line[at..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&line[..at], rest.trim_start());
            }
            _ => {}
        }
    }
    (line, "")
}

/// Drops trailing whitespace unless a backslash escapes it (Java keeps it
/// all; trimming forgives the stray spaces editors leave behind).
fn trim_unescaped_end(raw: &str) -> &str {
    let mut end = raw.len();
    while let Some(last) = raw[..end].chars().next_back() {
        if !last.is_whitespace() {
            break;
        }
        let before = &raw[..end - last.len_utf8()];
        if ends_with_continuation(before) {
            break;
        }
        end -= last.len_utf8();
    }
    &raw[..end]
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    // Java throws here; keeping the text visible is kinder.
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Escapes a value so [`parse_properties`] reads it back unchanged.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (index, ch) in value.chars().enumerate() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            ' ' if index == 0 || index == last => out.push_str("\\ "),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_properties(text)
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    #[test]
    fn reads_the_common_subset_of_java_properties() {
        let text = "# a comment\n! another\n\n  num.partitions = 3  \n\
                    log.dirs:/var/lib/strom\nlisteners PLAINTEXT://:9092\n\
                    empty.key\nkey.with\\=equals=v\n";
        assert_eq!(
            pairs(text),
            vec![
                ("num.partitions".into(), "3".into()),
                ("log.dirs".into(), "/var/lib/strom".into()),
                ("listeners".into(), "PLAINTEXT://:9092".into()),
                ("empty.key".into(), "".into()),
                ("key.with=equals".into(), "v".into()),
            ]
        );
    }

    #[test]
    fn values_keep_separators_after_the_first() {
        assert_eq!(
            pairs("advertised.listeners=PLAINTEXT://host:9092"),
            vec![(
                "advertised.listeners".into(),
                "PLAINTEXT://host:9092".into()
            )]
        );
    }

    #[test]
    fn continuation_lines_and_escapes() {
        let text = "log.cleanup.policy=delete,\\\n    compact\npath=C:\\\\data\nu=\\u0041\n";
        assert_eq!(
            pairs(text),
            vec![
                ("log.cleanup.policy".into(), "delete,compact".into()),
                ("path".into(), "C:\\data".into()),
                ("u".into(), "A".into()),
            ]
        );
    }

    #[test]
    fn line_numbers_point_at_the_source() {
        let props = parse_properties("\n# c\nnode.id=1\n");
        assert_eq!(props[0].line, 3);
    }

    #[test]
    fn escape_round_trips() {
        for value in [
            "plain",
            " leading",
            "trailing ",
            "multi\nline\\x",
            "tab\there",
            "",
        ] {
            let text = format!("k={}\n", escape_value(value));
            assert_eq!(
                pairs(&text),
                vec![("k".into(), value.to_string())],
                "{value:?}"
            );
        }
    }
}
