//! A record given by reference ([`RecordRef`]) for callers that hold its
//! bytes elsewhere (a binding's host-language objects): queued without a
//! copy into owned buffers first, since the batch encodes the bytes right
//! away. Only a record that must wait (its topic's metadata is not known
//! yet) or is refused becomes a [`ProducerRecord`].

use bytes::Bytes;

use super::ProducerRecord;

/// A record to send, borrowed: librdkafka's `produce` with
/// `RD_KAFKA_MSG_F_COPY`. Fields mean what [`ProducerRecord`]'s do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
    pub timestamp: Option<i64>,
}

impl RecordRef<'_> {
    /// The record with its bytes copied into owned buffers.
    pub fn to_owned_record(&self) -> ProducerRecord {
        ProducerRecord {
            topic: self.topic.to_string(),
            partition: self.partition,
            key: self.key.map(Bytes::copy_from_slice),
            value: self.value.map(Bytes::copy_from_slice),
            headers: self
                .headers
                .iter()
                .map(|(key, value)| (key.to_string(), value.map(Bytes::copy_from_slice)))
                .collect(),
            timestamp: self.timestamp,
        }
    }
}

/// What the producer reads of a record, owned or borrowed.
pub(crate) trait SendRecord {
    fn topic(&self) -> &str;
    fn partition(&self) -> Option<i32>;
    fn key(&self) -> Option<&[u8]>;
    fn value(&self) -> Option<&[u8]>;
    fn timestamp(&self) -> Option<i64>;
    fn header_count(&self) -> usize;
    fn headers(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)>;
    /// The record as the producer keeps it (waiting for metadata) or
    /// hands it back (refused): a move for an owned one, a copy for a
    /// borrowed one.
    fn into_owned(self) -> ProducerRecord;
}

impl SendRecord for ProducerRecord {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn partition(&self) -> Option<i32> {
        self.partition
    }
    fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }
    fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }
    fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
    fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn headers(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.headers
            .iter()
            .map(|(key, value)| (key.as_bytes(), value.as_deref()))
    }
    fn into_owned(self) -> ProducerRecord {
        self
    }
}

impl SendRecord for RecordRef<'_> {
    fn topic(&self) -> &str {
        self.topic
    }
    fn partition(&self) -> Option<i32> {
        self.partition
    }
    fn key(&self) -> Option<&[u8]> {
        self.key
    }
    fn value(&self) -> Option<&[u8]> {
        self.value
    }
    fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
    fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn headers(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.headers
            .iter()
            .map(|(key, value)| (key.as_bytes(), *value))
    }
    fn into_owned(self) -> ProducerRecord {
        self.to_owned_record()
    }
}
