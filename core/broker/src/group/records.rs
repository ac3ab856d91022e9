//! The records of `__consumer_offsets`, in Kafka's formats, so a data
//! directory's offsets topic reads the same as Kafka's (and tools that
//! decode it, like `kafka-console-consumer --formatter
//! OffsetsMessageFormatter`, understand it).
//!
//! Every key and value starts with an int16 version, followed by the
//! fields of Kafka's JSON schemas (group-coordinator's
//! `OffsetCommitKey`, `OffsetCommitValue`, `GroupMetadataKey`,
//! `GroupMetadataValue`):
//!
//! ```text
//! OffsetCommitKey    v0-1: group string, topic string, partition int32
//! GroupMetadataKey   v2:   group string
//! OffsetCommitValue  v0: offset, metadata, commit_timestamp
//!                    v1: offset, metadata, commit_timestamp, expire_timestamp
//!                    v2: offset, metadata, commit_timestamp
//!                    v3: offset, leader_epoch, metadata, commit_timestamp
//!                    v4: v3, flexible (compact strings, tagged fields)
//! GroupMetadataValue v0-3: protocol_type, generation, protocol (nullable),
//!                    leader (nullable), current_state_timestamp (v2+),
//!                    members [member_id, group_instance_id (v3+), client_id,
//!                    client_host, rebalance_timeout (v1+), session_timeout,
//!                    subscription bytes, assignment bytes]; v4 flexible
//! ```
//!
//! A null value is a tombstone. Strom writes key v1/v2, OffsetCommitValue
//! v3 (v1 when the commit carries an explicit expire timestamp, as Kafka
//! does) and GroupMetadataValue v3. Decoding checks every length against
//! the bytes that remain and never allocates by a count read from disk.

use bytes::{BufMut, Bytes, BytesMut};

/// A record of `__consumer_offsets` that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed __consumer_offsets record: {0}")]
pub struct RecordFormatError(pub &'static str);

type Result<T> = std::result::Result<T, RecordFormatError>;

const OFFSET_KEY_VERSION: i16 = 1;
const GROUP_KEY_VERSION: i16 = 2;
const OFFSET_VALUE_VERSION: i16 = 3;
const OFFSET_VALUE_VERSION_WITH_EXPIRY: i16 = 1;
const GROUP_VALUE_VERSION: i16 = 3;

/// The key of a record: which offset or which group it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
    /// Key versions Strom does not write (KIP-848 consumer-group records,
    /// share groups): skipped on load.
    Other(i16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    pub offset: i64,
    /// -1 when the client did not send one.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// From OffsetCommit v2-4's retention time; `None` means the broker's
    /// `offsets.retention.minutes` applies.
    pub expire_timestamp: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the group's selected protocol.
    pub subscription: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<MemberRecord>,
}

pub fn encode_offset_key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_KEY_VERSION);
    put_string(&mut buf, group);
    put_string(&mut buf, topic);
    buf.put_i32(partition);
    buf.freeze()
}

pub fn encode_group_key(group: &str) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_KEY_VERSION);
    put_string(&mut buf, group);
    buf.freeze()
}

pub fn encode_offset_value(value: &OffsetCommitValue) -> Bytes {
    let mut buf = BytesMut::new();
    match value.expire_timestamp {
        Some(expire) => {
            buf.put_i16(OFFSET_VALUE_VERSION_WITH_EXPIRY);
            buf.put_i64(value.offset);
            put_string(&mut buf, &value.metadata);
            buf.put_i64(value.commit_timestamp);
            buf.put_i64(expire);
        }
        None => {
            buf.put_i16(OFFSET_VALUE_VERSION);
            buf.put_i64(value.offset);
            buf.put_i32(value.leader_epoch);
            put_string(&mut buf, &value.metadata);
            buf.put_i64(value.commit_timestamp);
        }
    }
    buf.freeze()
}

pub fn encode_group_value(value: &GroupMetadataValue) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_VALUE_VERSION);
    put_string(&mut buf, &value.protocol_type);
    buf.put_i32(value.generation);
    put_nullable_string(&mut buf, value.protocol.as_deref());
    put_nullable_string(&mut buf, value.leader.as_deref());
    buf.put_i64(value.current_state_timestamp);
    buf.put_i32(value.members.len() as i32);
    for member in &value.members {
        put_string(&mut buf, &member.member_id);
        put_nullable_string(&mut buf, member.group_instance_id.as_deref());
        put_string(&mut buf, &member.client_id);
        put_string(&mut buf, &member.client_host);
        buf.put_i32(member.rebalance_timeout_ms);
        buf.put_i32(member.session_timeout_ms);
        put_bytes(&mut buf, &member.subscription);
        put_bytes(&mut buf, &member.assignment);
    }
    buf.freeze()
}

pub fn decode_key(bytes: &[u8]) -> Result<RecordKey> {
    let mut reader = Reader::new(bytes, false);
    let version = reader.i16()?;
    let key = match version {
        0 | 1 => RecordKey::Offset {
            group: reader.string()?,
            topic: reader.string()?,
            partition: reader.i32()?,
        },
        2 => RecordKey::Group {
            group: reader.string()?,
        },
        other if other >= 0 => return Ok(RecordKey::Other(other)),
        _ => return Err(RecordFormatError("negative key version")),
    };
    reader.finish()?;
    Ok(key)
}

pub fn decode_offset_value(bytes: &[u8]) -> Result<OffsetCommitValue> {
    let version = Reader::new(bytes, false).i16()?;
    if !(0..=4).contains(&version) {
        return Err(RecordFormatError("unknown OffsetCommitValue version"));
    }
    let mut reader = Reader::new(&bytes[2..], version >= 4);
    let offset = reader.i64()?;
    let leader_epoch = if version >= 3 { reader.i32()? } else { -1 };
    let metadata = reader.string()?;
    let commit_timestamp = reader.i64()?;
    let expire_timestamp = if version == 1 {
        Some(reader.i64()?)
    } else {
        None
    };
    reader.tagged_fields()?;
    reader.finish()?;
    Ok(OffsetCommitValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

pub fn decode_group_value(bytes: &[u8]) -> Result<GroupMetadataValue> {
    let version = Reader::new(bytes, false).i16()?;
    if !(0..=4).contains(&version) {
        return Err(RecordFormatError("unknown GroupMetadataValue version"));
    }
    let mut reader = Reader::new(&bytes[2..], version >= 4);
    let protocol_type = reader.string()?;
    let generation = reader.i32()?;
    let protocol = reader.nullable_string()?;
    let leader = reader.nullable_string()?;
    let current_state_timestamp = if version >= 2 { reader.i64()? } else { -1 };
    let count = reader.array_len()?;
    // No allocation by `count`: each member consumes bytes or fails.
    let mut members = Vec::new();
    for _ in 0..count {
        let member_id = reader.string()?;
        let group_instance_id = if version >= 3 {
            reader.nullable_string()?
        } else {
            None
        };
        let client_id = reader.string()?;
        let client_host = reader.string()?;
        let rebalance_timeout_ms = if version >= 1 { reader.i32()? } else { -1 };
        let session_timeout_ms = reader.i32()?;
        let subscription = reader.bytes()?;
        let assignment = reader.bytes()?;
        reader.tagged_fields()?;
        members.push(MemberRecord {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms: if rebalance_timeout_ms < 0 {
                session_timeout_ms
            } else {
                rebalance_timeout_ms
            },
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    reader.tagged_fields()?;
    reader.finish()?;
    Ok(GroupMetadataValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

fn put_string(buf: &mut BytesMut, value: &str) {
    // Group ids, topics and member ids are far below 32 KiB; Kafka's
    // writer has the same limit.
    let len = value.len().min(i16::MAX as usize);
    buf.put_i16(len as i16);
    buf.put_slice(&value.as_bytes()[..len]);
}

fn put_nullable_string(buf: &mut BytesMut, value: Option<&str>) {
    match value {
        Some(value) => put_string(buf, value),
        None => buf.put_i16(-1),
    }
}

fn put_bytes(buf: &mut BytesMut, value: &[u8]) {
    buf.put_i32(value.len() as i32);
    buf.put_slice(value);
}

/// A bounds-checked reader over one key or value; `flexible` selects the
/// compact encodings of flexible versions.
struct Reader<'a> {
    data: &'a [u8],
    flexible: bool,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], flexible: bool) -> Self {
        Self { data, flexible }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.data.len() {
            return Err(RecordFormatError("field runs past the end of the record"));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn uvarint(&mut self) -> Result<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(RecordFormatError("varint longer than 5 bytes"))
    }

    /// A length: `None` for null.
    fn length(&mut self, wide: bool) -> Result<Option<usize>> {
        let raw: i64 = if self.flexible {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        match raw {
            -1 => Ok(None),
            n if n < 0 => Err(RecordFormatError("negative length")),
            n => Ok(Some(n as usize)),
        }
    }

    fn nullable_string(&mut self) -> Result<Option<String>> {
        match self.length(false)? {
            None => Ok(None),
            Some(len) => {
                let raw = self.take(len)?;
                std::str::from_utf8(raw)
                    .map(|s| Some(s.to_string()))
                    .map_err(|_| RecordFormatError("string is not UTF-8"))
            }
        }
    }

    fn string(&mut self) -> Result<String> {
        self.nullable_string()?
            .ok_or(RecordFormatError("null in a non-nullable string"))
    }

    fn bytes(&mut self) -> Result<Bytes> {
        let len = self
            .length(true)?
            .ok_or(RecordFormatError("null in a non-nullable bytes field"))?;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    fn array_len(&mut self) -> Result<usize> {
        self.length(true)?
            .ok_or(RecordFormatError("null array of members"))
    }

    /// Skips the tagged fields of a flexible struct; nothing otherwise.
    fn tagged_fields(&mut self) -> Result<()> {
        if !self.flexible {
            return Ok(());
        }
        let count = self.uvarint()?;
        for _ in 0..count {
            let _tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Ok(())
    }

    fn finish(&self) -> Result<()> {
        // Kafka's readers ignore trailing bytes of newer minor versions
        // only through tagged fields; anything else is damage.
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(RecordFormatError("trailing bytes after the last field"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_group() -> GroupMetadataValue {
        GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 7,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            current_state_timestamp: 1_700_000_000_000,
            members: vec![MemberRecord {
                member_id: "m-1".into(),
                group_instance_id: Some("instance-a".into()),
                client_id: "client".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"\x00\x01sub"),
                assignment: Bytes::from_static(b"assign"),
            }],
        }
    }

    #[test]
    fn keys_round_trip_in_kafkas_layout() {
        let key = encode_offset_key("g", "t", 3);
        assert_eq!(&key[..], b"\x00\x01\x00\x01g\x00\x01t\x00\x00\x00\x03");
        assert_eq!(
            decode_key(&key).unwrap(),
            RecordKey::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 3
            }
        );
        let key = encode_group_key("grp");
        assert_eq!(&key[..], b"\x00\x02\x00\x03grp");
        assert_eq!(
            decode_key(&key).unwrap(),
            RecordKey::Group {
                group: "grp".into()
            }
        );
        assert_eq!(decode_key(b"\x00\x05junk").unwrap(), RecordKey::Other(5));
    }

    #[test]
    fn offset_values_round_trip_with_and_without_expiry() {
        let value = OffsetCommitValue {
            offset: 42,
            leader_epoch: 5,
            metadata: "meta".into(),
            commit_timestamp: 1000,
            expire_timestamp: None,
        };
        let bytes = encode_offset_value(&value);
        assert_eq!(&bytes[..2], &[0, 3]);
        assert_eq!(decode_offset_value(&bytes).unwrap(), value);
        let legacy = OffsetCommitValue {
            leader_epoch: -1,
            expire_timestamp: Some(5000),
            ..value
        };
        let bytes = encode_offset_value(&legacy);
        assert_eq!(&bytes[..2], &[0, 1]);
        assert_eq!(decode_offset_value(&bytes).unwrap(), legacy);
    }

    #[test]
    fn flexible_offset_value_v4_decodes() {
        let mut buf = BytesMut::new();
        buf.put_i16(4);
        buf.put_i64(9);
        buf.put_i32(2);
        buf.put_u8(3); // compact string of length 2
        buf.put_slice(b"md");
        buf.put_i64(77);
        buf.put_u8(1); // one tagged field
        buf.put_u8(0);
        buf.put_u8(1);
        buf.put_u8(0xff);
        let value = decode_offset_value(&buf).unwrap();
        assert_eq!((value.offset, value.leader_epoch), (9, 2));
        assert_eq!(
            (value.metadata.as_str(), value.commit_timestamp),
            ("md", 77)
        );
    }

    #[test]
    fn group_values_round_trip() {
        let value = sample_group();
        let bytes = encode_group_value(&value);
        assert_eq!(decode_group_value(&bytes).unwrap(), value);
        let empty = GroupMetadataValue {
            protocol: None,
            leader: None,
            members: Vec::new(),
            ..value
        };
        assert_eq!(
            decode_group_value(&encode_group_value(&empty)).unwrap(),
            empty
        );
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let bytes = encode_group_value(&sample_group());
        for cut in 0..bytes.len() {
            assert!(decode_group_value(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let offsets = encode_offset_value(&OffsetCommitValue {
            offset: 1,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 0,
            expire_timestamp: None,
        });
        for cut in 0..offsets.len() {
            assert!(decode_offset_value(&offsets[..cut]).is_err());
        }
        // A member count of two billion in a tiny record fails fast.
        let mut huge = BytesMut::new();
        huge.put_i16(3);
        huge.put_i16(0);
        huge.put_i32(1);
        huge.put_i16(-1);
        huge.put_i16(-1);
        huge.put_i64(0);
        huge.put_i32(i32::MAX);
        assert!(decode_group_value(&huge).is_err());
        assert!(decode_key(b"\xff\xff").is_err());
        assert!(decode_offset_value(b"\x00\x09").is_err());
    }
}
