//! Records packed into one Buffer, both ways, so that a send or a poll of
//! a thousand records crosses between JS and Rust as one Buffer instead of
//! a thousand objects with a Buffer each (every property and every Buffer
//! is a call through N-API, and a Buffer made from Rust needs a finalizer
//! per record). `node/lib/packed.js` is the other half; both must agree
//! on this layout, which `node/test/packed.test.js` checks end to end.
//!
//! All integers little-endian. `bytes?` is an i32 length (-1: null)
//! followed by that many bytes.
//!
//! Outgoing (JS → Rust, a send): u32 record count, then per record
//!   u32 topic index, i32 partition (-1: the partitioner's choice),
//!   f64 timestamp (NaN: now), key bytes?, value bytes?,
//!   u32 header count, per header: u32 key length, key (UTF-8), value bytes?
//!
//! Incoming (Rust → JS, a poll): per record
//!   u32 topic index, i32 partition, f64 offset, f64 timestamp,
//!   i32 leader epoch (-1: unknown), key bytes?, value bytes?,
//!   u32 header count, per header: u32 key length, key (UTF-8), value bytes?
//! Offsets and timestamps travel as f64, as JS numbers hold them: exact
//! below 2^53.

use strom_client::{ConsumerRecord, RecordRef, TopicPartition};

use crate::errors::invalid;

/// Reads the outgoing layout; every read is bounds-checked, so a short or
/// inconsistent Buffer is an error, never a panic.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    fn take(&mut self, len: usize) -> napi::Result<&'a [u8]> {
        if len > self.data.len() {
            return Err(invalid("a packed record runs past the end of its Buffer"));
        }
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> napi::Result<[u8; N]> {
        let bytes = self.take(N)?;
        Ok(bytes.try_into().unwrap_or([0; N]))
    }

    pub fn u32(&mut self) -> napi::Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn i32(&mut self) -> napi::Result<i32> {
        self.array().map(i32::from_le_bytes)
    }

    fn f64(&mut self) -> napi::Result<f64> {
        self.array().map(f64::from_le_bytes)
    }

    fn bytes(&mut self) -> napi::Result<Option<&'a [u8]>> {
        match self.i32()? {
            -1 => Ok(None),
            len => {
                let len = usize::try_from(len).map_err(|_| invalid("a negative length"))?;
                self.take(len).map(Some)
            }
        }
    }

    fn str(&mut self) -> napi::Result<&'a str> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| invalid("a header key is not UTF-8"))
    }

    /// The next record. Its headers go into `headers` (cleared first),
    /// which the record borrows: a scratch list reused across records.
    pub fn record<'h>(
        &mut self,
        topics: &'a [String],
        headers: &'h mut Vec<(&'a str, Option<&'a [u8]>)>,
    ) -> napi::Result<(usize, RecordRef<'h>)>
    where
        'a: 'h,
    {
        let topic_index = self.u32()? as usize;
        let topic = topics
            .get(topic_index)
            .ok_or_else(|| invalid("a packed record names a topic that is not in its list"))?;
        let partition = self.i32()?;
        let timestamp = self.f64()?;
        let key = self.bytes()?;
        let value = self.bytes()?;
        let count = self.u32()?;
        headers.clear();
        for _ in 0..count {
            let name = self.str()?;
            headers.push((name, self.bytes()?));
        }
        let record = RecordRef {
            topic,
            partition: (partition >= 0).then_some(partition),
            key,
            value,
            headers,
            timestamp: timestamp.is_finite().then_some(timestamp as i64),
        };
        Ok((topic_index, record))
    }
}

/// The partitions `records` come from, each once, in the order first seen.
pub fn partitions_of(records: &[ConsumerRecord]) -> Vec<TopicPartition> {
    let mut partitions: Vec<TopicPartition> = Vec::new();
    for record in records {
        let seen =
            |tp: &TopicPartition| tp.partition == record.partition && *tp.topic == *record.topic;
        if partitions.last().is_some_and(seen) || partitions.iter().any(seen) {
            continue;
        }
        partitions.push(TopicPartition::new(record.topic.clone(), record.partition));
    }
    partitions
}

/// Packs polled records into the incoming layout, and the topics they
/// name (indexes into that list) apart.
pub fn pack(records: &[ConsumerRecord]) -> (Vec<String>, Vec<u8>) {
    let size: usize = records
        .iter()
        .map(|r| {
            let headers: usize = r
                .headers
                .iter()
                .map(|(k, v)| 8 + k.len() + v.as_ref().map_or(0, |v| v.len()))
                .sum();
            36 + r.key.as_ref().map_or(0, |k| k.len())
                + r.value.as_ref().map_or(0, |v| v.len())
                + headers
        })
        .sum();
    let mut topics: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(size);
    for record in records {
        let topic = match topics.iter().position(|t| **t == *record.topic) {
            Some(index) => index,
            None => {
                topics.push(record.topic.to_string());
                topics.len() - 1
            }
        };
        out.extend_from_slice(&(topic as u32).to_le_bytes());
        out.extend_from_slice(&record.partition.to_le_bytes());
        out.extend_from_slice(&(record.offset as f64).to_le_bytes());
        out.extend_from_slice(&(record.timestamp as f64).to_le_bytes());
        out.extend_from_slice(&record.leader_epoch.unwrap_or(-1).to_le_bytes());
        put_bytes(&mut out, record.key.as_deref());
        put_bytes(&mut out, record.value.as_deref());
        out.extend_from_slice(&(record.headers.len() as u32).to_le_bytes());
        for (key, value) in &record.headers {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key.as_bytes());
            put_bytes(&mut out, value.as_deref());
        }
    }
    (topics, out)
}

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.extend_from_slice(&(-1i32).to_le_bytes()),
        Some(bytes) => {
            out.extend_from_slice(&(bytes.len() as i32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }
}
