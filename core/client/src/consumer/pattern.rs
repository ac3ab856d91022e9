//! `subscribe_pattern`: the subscription is every non-internal topic whose
//! whole name matches a regular expression, as with Java's
//! `subscribe(Pattern)`. The topic list is looked up at once and then every
//! metadata.max.age.ms; when the matching set changes, the member rejoins
//! so the group assigns the new topics' partitions.
//!
//! The syntax is the `regex` crate's, which covers what topic patterns use
//! (classes, alternation, repetition) but not Java's look-around or
//! back-references.

use regex::Regex;
use tokio::time::Instant;

use super::subscription::configured_assignors;
use super::ConsumerState;
use crate::config::OffsetReset;
use crate::error::{ClientError, Result};

/// A topic name, or a whole-name regular expression: an entry of a
/// subscription list in librdkafka's form (`^` starts an expression).
pub(crate) enum TopicMatcher {
    Name(String),
    Pattern(Regex),
}

impl TopicMatcher {
    pub(crate) fn parse(entry: &str) -> Result<TopicMatcher> {
        let Some(pattern) = entry.strip_prefix('^') else {
            return Ok(TopicMatcher::Name(entry.to_string()));
        };
        whole_name(pattern.trim_end_matches('$')).map(TopicMatcher::Pattern)
    }

    pub(crate) fn matches(&self, topic: &str) -> bool {
        match self {
            TopicMatcher::Name(name) => name == topic,
            TopicMatcher::Pattern(regex) => regex.is_match(topic),
        }
    }
}

/// `pattern` matched against whole topic names, as Java matches them
/// (`Matcher::matches`), hence the anchors.
fn whole_name(pattern: &str) -> Result<Regex> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|error| {
        ClientError::InvalidArgument(format!("invalid topic pattern `{pattern}`: {error}"))
    })
}

/// The pattern and when to look for matching topics again.
pub(crate) struct PatternSubscription {
    regex: Regex,
    next_check: Instant,
}

impl ConsumerState {
    /// Joins the consumer's group (group.id) subscribed to every topic whose
    /// whole name matches `pattern` (internal topics excluded). Topics
    /// created later that match are picked up within metadata.max.age.ms.
    /// Replaces any earlier subscription; the join happens in `poll`.
    pub(crate) fn subscribe_pattern(&mut self, pattern: &str) -> Result<()> {
        if self.group.is_none() {
            return Err(ClientError::InvalidArgument(
                "subscribe_pattern needs a group: set group.id in the consumer config".to_string(),
            ));
        }
        let regex = whole_name(pattern)?;
        self.assignors =
            configured_assignors(&self.cluster.config().partition_assignment_strategy)?;
        self.pattern = Some(PatternSubscription {
            regex,
            next_check: Instant::now(),
        });
        Ok(())
    }

    /// A subscription list in librdkafka's form (and kafkajs's, whose
    /// RegExps a binding passes as `^` + source): names starting with `^`
    /// are regular expressions, the others literal names. Without a
    /// pattern it is `subscribe`; with one, `subscribe_pattern` of one
    /// expression matching any entry.
    pub(crate) fn subscribe_names_or_patterns(&mut self, topics: &[String]) -> Result<()> {
        if !topics.iter().any(|topic| topic.starts_with('^')) {
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            return self.subscribe(&names);
        }
        let alternatives: Vec<String> = topics
            .iter()
            .map(|topic| match topic.strip_prefix('^') {
                // The whole name is matched anyway: a trailing `$` is moot.
                Some(pattern) => format!("(?:{})", pattern.trim_end_matches('$')),
                None => regex::escape(topic),
            })
            .collect();
        self.subscribe_pattern(&alternatives.join("|"))
    }

    /// auto.offset.reset for the topics `entries` name or match (names, or
    /// `^` expressions as in `subscribe_names_or_patterns`), over the
    /// consumer-wide setting; later calls win where entries overlap.
    pub(crate) fn set_offset_reset(
        &mut self,
        entries: &[String],
        reset: OffsetReset,
    ) -> Result<()> {
        let matchers = entries
            .iter()
            .map(|entry| TopicMatcher::parse(entry))
            .collect::<Result<Vec<_>>>()?;
        self.topic_resets
            .extend(matchers.into_iter().map(|matcher| (matcher, reset)));
        Ok(())
    }

    /// The pattern of `subscribe_pattern`, if that is how it subscribed.
    pub(crate) fn subscription_pattern(&self) -> Option<String> {
        let pattern = self.pattern.as_ref()?.regex.as_str();
        // Strip the anchors added in `subscribe_pattern`.
        let inner = pattern.strip_prefix("^(?:")?.strip_suffix(")$")?;
        Some(inner.to_string())
    }

    /// When due, lists the cluster's topics and, if the matching set
    /// changed, makes it the subscription and asks for a rebalance.
    pub(crate) async fn refresh_pattern_subscription(&mut self) -> Result<()> {
        let now = Instant::now();
        let Some(pattern) = self.pattern.as_mut() else {
            return Ok(());
        };
        if now < pattern.next_check {
            return Ok(());
        }
        let config = self.cluster.config().clone();
        let response = match self.cluster.request_metadata(None, false).await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!("listing topics for the subscription pattern failed: {error}");
                pattern.next_check = now + config.retry_backoff;
                return Ok(());
            }
        };
        pattern.next_check = now + config.metadata_max_age;
        let mut topics: Vec<String> = response
            .topics
            .into_iter()
            .filter(|topic| topic.error_code == 0 && !topic.is_internal)
            .filter_map(|topic| topic.name)
            .filter(|name| pattern.regex.is_match(name))
            .collect();
        topics.sort();
        topics.dedup();
        if topics == self.subscription {
            return Ok(());
        }
        tracing::debug!("topics matching the subscription pattern are now {topics:?}");
        if topics.is_empty() {
            // Every matching topic is gone: give up the partitions and the
            // membership until a matching topic appears again.
            return self.unsubscribe_keeping_pattern().await;
        }
        self.subscription = topics;
        if let Some(group) = &self.group {
            group.shared.with_state(|s| s.rejoin_needed = true);
        }
        Ok(())
    }
}
