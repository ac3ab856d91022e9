//! Where assigned partitions start reading, as librdkafka's and kafkajs's
//! APIs say it: an offset, or one of the special offsets (beginning, end,
//! "where the group committed"). The bindings take these from their hosts
//! (`TopicPartition(topic, p, OFFSET_BEGINNING)` in Python, `seek` in
//! Node, `rd_kafka_assign` offsets in C), and `assign_at`,
//! `incremental_assign` and `start_at` apply them here, in one place.

use super::ConsumerState;
use crate::admin::OffsetSpec;
use crate::error::Result;
use crate::TopicPartition;

/// Where a partition starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// This offset.
    Offset(i64),
    /// The partition's first offset.
    Beginning,
    /// The partition's end: the offset the next record written gets.
    End,
    /// Where it is: the committed offset (auto.offset.reset without one)
    /// for a partition newly assigned, the current position otherwise.
    Committed,
}

impl StartOffset {
    /// librdkafka's numbering: an offset `>= 0`, `-2` (OFFSET_BEGINNING),
    /// `-1` (OFFSET_END); `-1000` (OFFSET_STORED), `-1001`
    /// (OFFSET_INVALID) and any other negative number mean
    /// [`StartOffset::Committed`].
    pub fn from_librdkafka(offset: i64) -> StartOffset {
        match offset {
            offset if offset >= 0 => StartOffset::Offset(offset),
            -2 => StartOffset::Beginning,
            -1 => StartOffset::End,
            _ => StartOffset::Committed,
        }
    }
}

impl ConsumerState {
    /// Moves an assigned partition to `start` (nothing for `Committed`).
    pub(crate) fn start_at(&mut self, tp: &TopicPartition, start: StartOffset) -> Result<()> {
        match start {
            StartOffset::Offset(offset) => self.seek(tp, offset),
            StartOffset::Beginning => self.seek_to(std::slice::from_ref(tp), OffsetSpec::Earliest),
            StartOffset::End => self.seek_to(std::slice::from_ref(tp), OffsetSpec::Latest),
            StartOffset::Committed => Ok(()),
        }
    }

    /// Replaces the assignment with these partitions, each starting at
    /// its `StartOffset`.
    pub(crate) fn assign_at(&mut self, partitions: &[(TopicPartition, StartOffset)]) -> Result<()> {
        let assigned: Vec<TopicPartition> = partitions.iter().map(|(tp, _)| tp.clone()).collect();
        self.assign(&assigned);
        self.start_all(partitions)
    }

    /// Adds partitions to the assignment, each starting at its
    /// `StartOffset`; the partitions already assigned keep their
    /// positions (a partition given again is moved only if its start is
    /// not `Committed`).
    pub(crate) fn incremental_assign(
        &mut self,
        partitions: &[(TopicPartition, StartOffset)],
    ) -> Result<()> {
        let mut assigned = self.assignment();
        for (tp, _) in partitions {
            if !assigned.contains(tp) {
                assigned.push(tp.clone());
            }
        }
        self.assign(&assigned);
        self.start_all(partitions)
    }

    /// Removes partitions from the assignment; the others keep their
    /// positions. Partitions not assigned are ignored.
    pub(crate) fn incremental_unassign(&mut self, partitions: &[TopicPartition]) {
        let kept: Vec<TopicPartition> = self
            .assignment()
            .into_iter()
            .filter(|tp| !partitions.contains(tp))
            .collect();
        self.assign(&kept);
    }

    fn start_all(&mut self, partitions: &[(TopicPartition, StartOffset)]) -> Result<()> {
        for (tp, start) in partitions {
            self.start_at(tp, *start)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librdkafka_offsets_map_to_starts() {
        assert_eq!(StartOffset::from_librdkafka(42), StartOffset::Offset(42));
        assert_eq!(StartOffset::from_librdkafka(0), StartOffset::Offset(0));
        assert_eq!(StartOffset::from_librdkafka(-2), StartOffset::Beginning);
        assert_eq!(StartOffset::from_librdkafka(-1), StartOffset::End);
        assert_eq!(StartOffset::from_librdkafka(-1000), StartOffset::Committed);
        assert_eq!(StartOffset::from_librdkafka(-1001), StartOffset::Committed);
    }
}
