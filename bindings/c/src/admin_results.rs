//! Admin calls whose answers are structs C reads directly, as librdkafka's
//! `rd_kafka_metadata_t` and `rd_kafka_group_list`: metadata, groups and
//! topic configs. Each struct is the first field of an owner that keeps
//! the arrays and strings it points into; its destroy function frees all.
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_int, CString};

use strom_client::admin::ConfigResource;

use crate::client::{timeout, Client};
use crate::codes::RespErr;
use crate::ffi;
use crate::partitions::{OwnedList, TopicPartitionList};

/// Strings the C structs point into; their bytes stay put when this moves.
#[derive(Default)]
struct Strings(Vec<CString>);

impl Strings {
    fn add(&mut self, text: &str) -> *const c_char {
        let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
        let ptr = text.as_ptr();
        self.0.push(text);
        ptr
    }

    fn add_opt(&mut self, text: Option<&str>) -> *const c_char {
        text.map_or(std::ptr::null(), |text| self.add(text))
    }
}

fn count(len: usize) -> c_int {
    c_int::try_from(len).unwrap_or(c_int::MAX)
}

/// A broker of the cluster.
#[repr(C)]
pub struct MetadataBroker {
    /// Its node id.
    pub id: i32,
    /// The host it advertises (NUL-terminated).
    pub host: *const c_char,
    pub port: c_int,
}

/// A partition: its leader, replicas and in-sync replicas.
#[repr(C)]
pub struct MetadataPartition {
    pub id: i32,
    pub err: RespErr,
    /// The leader's broker id (-1: none now).
    pub leader: i32,
    /// The broker ids of its replicas: `replicas[0..replica_cnt]`.
    pub replica_cnt: c_int,
    pub replicas: *const i32,
    /// The broker ids of its in-sync replicas: `isrs[0..isr_cnt]`.
    pub isr_cnt: c_int,
    pub isrs: *const i32,
}

/// A topic and its partitions (sorted by id).
#[repr(C)]
pub struct MetadataTopic {
    pub topic: *const c_char,
    pub partition_cnt: c_int,
    pub partitions: *const MetadataPartition,
    pub err: RespErr,
}

/// The cluster as one Metadata request saw it (strom_metadata()); read
/// only; free it with strom_metadata_destroy().
#[repr(C)]
pub struct Metadata {
    pub broker_cnt: c_int,
    pub brokers: *const MetadataBroker,
    pub topic_cnt: c_int,
    pub topics: *const MetadataTopic,
    /// The controller's broker id (-1 if unknown).
    pub controller_id: i32,
    /// The cluster id, or NULL.
    pub cluster_id: *const c_char,
}

#[repr(C)]
struct OwnedMetadata {
    public: Metadata,
    brokers: Vec<MetadataBroker>,
    topics: Vec<MetadataTopic>,
    partitions: Vec<Vec<MetadataPartition>>,
    ids: Vec<Vec<i32>>,
    strings: Strings,
}

fn owned_metadata(metadata: strom_client::metadata::Metadata) -> OwnedMetadata {
    let mut strings = Strings::default();
    let mut ids: Vec<Vec<i32>> = Vec::new();
    let mut brokers: Vec<_> = metadata.brokers.into_values().collect();
    brokers.sort_by_key(|broker| broker.node_id);
    let brokers: Vec<MetadataBroker> = brokers
        .iter()
        .map(|broker| MetadataBroker {
            id: broker.node_id,
            host: strings.add(&broker.host),
            port: broker.port,
        })
        .collect();
    let mut topics: Vec<_> = metadata.topics.into_values().collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let mut partitions: Vec<Vec<MetadataPartition>> = Vec::new();
    let mut public_topics = Vec::new();
    for topic in &mut topics {
        topic.partitions.sort_by_key(|p| p.partition);
        let rows: Vec<MetadataPartition> = topic
            .partitions
            .iter()
            .map(|p| {
                let replicas = p.replicas.clone();
                let isrs = p.in_sync_replicas.clone();
                let row = MetadataPartition {
                    id: p.partition,
                    err: i32::from(p.error_code),
                    leader: p.leader,
                    replica_cnt: count(replicas.len()),
                    replicas: replicas.as_ptr(),
                    isr_cnt: count(isrs.len()),
                    isrs: isrs.as_ptr(),
                };
                ids.push(replicas);
                ids.push(isrs);
                row
            })
            .collect();
        public_topics.push(MetadataTopic {
            topic: strings.add(&topic.name),
            partition_cnt: count(rows.len()),
            partitions: rows.as_ptr(),
            err: i32::from(topic.error_code),
        });
        partitions.push(rows);
    }
    OwnedMetadata {
        public: Metadata {
            broker_cnt: count(brokers.len()),
            brokers: brokers.as_ptr(),
            topic_cnt: count(public_topics.len()),
            topics: public_topics.as_ptr(),
            controller_id: metadata.controller_id,
            cluster_id: strings.add_opt(metadata.cluster_id.as_deref()),
        },
        brokers,
        topics: public_topics,
        partitions,
        ids,
        strings,
    }
}

/// Sets `*metadatap` to the cluster's brokers and topics: every topic, or
/// with `topic` set just that one (an unknown topic comes back with its
/// `err` set). Free it with strom_metadata_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_metadata(
    rk: *mut Client,
    topic: *const c_char,
    metadatap: *mut *const Metadata,
    timeout_ms: c_int,
) -> RespErr {
    ffi::status(|| {
        let client = ffi::object(rk, "rk")?;
        let topic = ffi::opt_str_arg(topic, "topic")?;
        let admin = client.admin(timeout(timeout_ms))?;
        let metadata = admin.metadata(topic.as_ref().map(std::slice::from_ref))?;
        let owned = ffi::into_raw(owned_metadata(metadata));
        ffi::write_out(
            metadatap,
            owned.cast::<Metadata>().cast_const(),
            "metadatap",
        )
        .inspect_err(|_| ffi::free::<OwnedMetadata, OwnedMetadata>(owned))
    })
}

/// Frees what strom_metadata() returned. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn strom_metadata_destroy(metadata: *const Metadata) {
    ffi::guard((), || {
        ffi::free::<OwnedMetadata, Metadata>(metadata.cast_mut())
    });
}

/// A member of a group and the partitions assigned to it.
#[repr(C)]
pub struct GroupMemberInfo {
    pub member_id: *const c_char,
    /// The static member id (group.instance.id), or NULL.
    pub group_instance_id: *const c_char,
    pub client_id: *const c_char,
    pub client_host: *const c_char,
    /// Owned by the group list: never destroy it.
    pub assignment: *const TopicPartitionList,
}

/// A consumer group as its coordinator describes it.
#[repr(C)]
pub struct GroupInfo {
    pub group: *const c_char,
    pub err: RespErr,
    /// "Stable", "PreparingRebalance", "CompletingRebalance", "Empty" or "Dead".
    pub state: *const c_char,
    /// "consumer" for consumer groups.
    pub protocol_type: *const c_char,
    /// The assignor in use ("range", "cooperative-sticky", ...).
    pub protocol: *const c_char,
    /// The coordinator's broker id.
    pub coordinator: i32,
    pub member_cnt: c_int,
    pub members: *const GroupMemberInfo,
}

/// Groups (strom_list_groups()); read only; free with
/// strom_group_list_destroy().
#[repr(C)]
pub struct GroupList {
    pub group_cnt: c_int,
    pub groups: *const GroupInfo,
}

#[repr(C)]
struct OwnedGroupList {
    public: GroupList,
    groups: Vec<GroupInfo>,
    members: Vec<Vec<GroupMemberInfo>>,
    /// Boxed: members point at each list, which must not move when the
    /// vector grows.
    #[allow(clippy::vec_box)]
    assignments: Vec<Box<OwnedList>>,
    strings: Strings,
}

fn owned_groups(described: Vec<strom_client::admin::GroupDescription>) -> OwnedGroupList {
    let mut strings = Strings::default();
    let mut assignments: Vec<Box<OwnedList>> = Vec::new();
    let mut members: Vec<Vec<GroupMemberInfo>> = Vec::new();
    let mut groups = Vec::new();
    for group in &described {
        let rows: Vec<GroupMemberInfo> = group
            .members
            .iter()
            .map(|member| {
                let mut assignment = Box::new(OwnedList::from_partitions(&member.assignment));
                let assignment_ptr = assignment.public_mut().cast_const();
                assignments.push(assignment);
                GroupMemberInfo {
                    member_id: strings.add(&member.member_id),
                    group_instance_id: strings.add_opt(member.group_instance_id.as_deref()),
                    client_id: strings.add(&member.client_id),
                    client_host: strings.add(&member.client_host),
                    assignment: assignment_ptr,
                }
            })
            .collect();
        groups.push(GroupInfo {
            group: strings.add(&group.group_id),
            err: 0,
            state: strings.add(&group.state),
            protocol_type: strings.add(&group.protocol_type),
            protocol: strings.add(&group.protocol),
            coordinator: group.coordinator,
            member_cnt: count(rows.len()),
            members: rows.as_ptr(),
        });
        members.push(rows);
    }
    OwnedGroupList {
        public: GroupList {
            group_cnt: count(groups.len()),
            groups: groups.as_ptr(),
        },
        groups,
        members,
        assignments,
        strings,
    }
}

/// Sets `*grplistp` to the cluster's consumer groups, each described
/// (state, members, assignments), or with `group` set just that one.
/// Free it with strom_group_list_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_list_groups(
    rk: *mut Client,
    group: *const c_char,
    grplistp: *mut *const GroupList,
    timeout_ms: c_int,
) -> RespErr {
    ffi::status(|| {
        let client = ffi::object(rk, "rk")?;
        let group = ffi::opt_str_arg(group, "group")?;
        let admin = client.admin(timeout(timeout_ms))?;
        let names: Vec<String> = match group {
            Some(group) => vec![group.to_string()],
            None => admin
                .list_groups()?
                .into_iter()
                .map(|g| g.group_id)
                .collect(),
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let described = match names.is_empty() {
            true => Vec::new(),
            false => admin.describe_groups(&names)?,
        };
        let owned = ffi::into_raw(owned_groups(described));
        ffi::write_out(grplistp, owned.cast::<GroupList>().cast_const(), "grplistp")
            .inspect_err(|_| ffi::free::<OwnedGroupList, OwnedGroupList>(owned))
    })
}

/// Frees what strom_list_groups() returned. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn strom_group_list_destroy(grplist: *const GroupList) {
    ffi::guard((), || {
        ffi::free::<OwnedGroupList, GroupList>(grplist.cast_mut())
    });
}

/// A topic config as the broker reports it.
#[repr(C)]
pub struct ConfigEntry {
    pub name: *const c_char,
    /// NULL for a sensitive or unset value.
    pub value: *const c_char,
    pub is_default: c_int,
    pub is_read_only: c_int,
    pub is_sensitive: c_int,
    /// Kafka's ConfigSource: 1 topic, 4 static broker, 5 default, ...
    pub source: c_int,
}

/// Configs (strom_describe_topic_config()); read only; free with
/// strom_config_entries_destroy().
#[repr(C)]
pub struct ConfigEntries {
    pub cnt: c_int,
    pub entries: *const ConfigEntry,
}

#[repr(C)]
struct OwnedConfigEntries {
    public: ConfigEntries,
    entries: Vec<ConfigEntry>,
    strings: Strings,
}

/// Sets `*entriesp` to every config of `topic` with its value and source.
/// Free it with strom_config_entries_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_describe_topic_config(
    rk: *mut Client,
    topic: *const c_char,
    entriesp: *mut *const ConfigEntries,
    timeout_ms: c_int,
) -> RespErr {
    ffi::status(|| {
        let client = ffi::object(rk, "rk")?;
        let topic = ffi::str_arg(topic, "topic")?;
        let admin = client.admin(timeout(timeout_ms))?;
        let found = admin.describe_configs(&ConfigResource::Topic(topic.to_string()), None)?;
        let mut strings = Strings::default();
        let entries: Vec<ConfigEntry> = found
            .iter()
            .map(|entry| ConfigEntry {
                name: strings.add(&entry.name),
                value: strings.add_opt(entry.value.as_deref()),
                is_default: c_int::from(entry.is_default),
                is_read_only: c_int::from(entry.read_only),
                is_sensitive: c_int::from(entry.is_sensitive),
                source: c_int::from(entry.source),
            })
            .collect();
        let owned = ffi::into_raw(OwnedConfigEntries {
            public: ConfigEntries {
                cnt: count(entries.len()),
                entries: entries.as_ptr(),
            },
            entries,
            strings,
        });
        ffi::write_out(
            entriesp,
            owned.cast::<ConfigEntries>().cast_const(),
            "entriesp",
        )
        .inspect_err(|_| ffi::free::<OwnedConfigEntries, OwnedConfigEntries>(owned))
    })
}

/// Frees what strom_describe_topic_config() returned. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn strom_config_entries_destroy(entries: *const ConfigEntries) {
    ffi::guard((), || {
        ffi::free::<OwnedConfigEntries, ConfigEntries>(entries.cast_mut())
    });
}
