//! Admin calls: topics, partitions, configs, groups and offsets. Each
//! blocks for at most its `timeout_ms` and works on any handle (an admin
//! handle from strom_admin_new(), or a producer or consumer).
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_int};

use strom_client::admin::{AlterConfigOp, ConfigResource, NewTopic, OffsetSpec};
use strom_client::{blocking, ClientConfig, TopicPartition as CoreTopicPartition};

use crate::client::{timeout, Client, Role};
use crate::codes::{RespErr, STROM_RESP_ERR_NO_ERROR};
use crate::conf::Conf;
use crate::error::CError;
use crate::ffi;
use crate::partitions::{list, list_mut, OwnedList, TopicPartitionList, STROM_OFFSET_INVALID};

/// An admin client made from `conf`, connected before it returns. On
/// success it owns `conf`; on failure it returns NULL, writes why to
/// `errstr` and `conf` is still the caller's. Free it with
/// strom_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_admin_new(
    conf: *mut Conf,
    errstr: *mut c_char,
    errstr_size: usize,
) -> *mut Client {
    ffi::guard(std::ptr::null_mut(), || {
        let build =
            |config: &ClientConfig| Ok(Role::Admin(blocking::AdminClient::new(config.clone())?));
        Client::make(conf, errstr, errstr_size, build, |_| Ok(()))
    })
}

/// Runs an admin call on `rk`'s admin client, bounded by `timeout_ms`.
pub(crate) fn with_admin(
    rk: *mut Client,
    timeout_ms: c_int,
    call: impl FnOnce(&blocking::AdminClient) -> Result<(), CError>,
) -> RespErr {
    ffi::status(|| {
        let client = ffi::object(rk, "rk")?;
        let admin = client.admin(timeout(timeout_ms))?;
        call(&admin)
    })
}

/// The outcome of a call that answers per item, as one result.
fn first_failure(outcomes: Vec<(String, strom_client::Result<()>)>) -> Result<(), CError> {
    match outcomes.into_iter().find_map(|(_, outcome)| outcome.err()) {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// Creates `topic` with `num_partitions` partitions (-1: the broker's
/// num.partitions) of `replication_factor` replicas (-1: the broker's
/// default) and topic configs given as `config_cnt` name/value pairs in
/// `configs` (`configs[0]` a name, `configs[1]` its value, ...; NULL when
/// `config_cnt` is 0). STROM_RESP_ERR_TOPIC_ALREADY_EXISTS if it exists.
#[unsafe(no_mangle)]
pub extern "C" fn strom_create_topic(
    rk: *mut Client,
    topic: *const c_char,
    num_partitions: i32,
    replication_factor: i16,
    configs: *const *const c_char,
    config_cnt: usize,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let topic = ffi::str_arg(topic, "topic")?;
        let texts = ffi::str_array(configs, config_cnt.saturating_mul(2), "configs")?;
        let mut new_topic = NewTopic::new(topic, num_partitions, replication_factor);
        new_topic.configs = texts
            .chunks(2)
            .map(|pair| (pair[0].to_string(), pair[1].to_string()))
            .collect();
        Ok(admin.create_topic(new_topic)?)
    })
}

/// Deletes `topic` and its records.
#[unsafe(no_mangle)]
pub extern "C" fn strom_delete_topic(
    rk: *mut Client,
    topic: *const c_char,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let topic = ffi::str_arg(topic, "topic")?;
        first_failure(admin.delete_topics(&[topic])?)
    })
}

/// Grows `topic` to `total_count` partitions.
#[unsafe(no_mangle)]
pub extern "C" fn strom_create_partitions(
    rk: *mut Client,
    topic: *const c_char,
    total_count: i32,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let topic = ffi::str_arg(topic, "topic")?;
        first_failure(admin.create_partitions(&[(topic, total_count)], false)?)
    })
}

/// Sets the topic config `name` to `value`, or with `value` NULL returns
/// it to the default (an incremental alter: other configs stay).
#[unsafe(no_mangle)]
pub extern "C" fn strom_alter_topic_config(
    rk: *mut Client,
    topic: *const c_char,
    name: *const c_char,
    value: *const c_char,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let topic = ffi::str_arg(topic, "topic")?;
        let name = ffi::str_arg(name, "name")?.to_string();
        let op = match ffi::opt_str_arg(value, "value")? {
            Some(value) => AlterConfigOp::Set(name, value.to_string()),
            None => AlterConfigOp::Delete(name),
        };
        Ok(admin.incremental_alter_configs(
            &ConfigResource::Topic(topic.to_string()),
            &[op],
            false,
        )?)
    })
}

/// Sets `*watermarks_low` and `*watermarks_high` (either may be NULL) to
/// the partition's first offset and its end (the offset the next record
/// gets), asking the broker.
#[unsafe(no_mangle)]
pub extern "C" fn strom_query_watermark_offsets(
    rk: *mut Client,
    topic: *const c_char,
    partition: i32,
    low: *mut i64,
    high: *mut i64,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let tp = CoreTopicPartition::new(ffi::str_arg(topic, "topic")?, partition);
        let listed = admin.list_offsets(&[(tp.clone(), OffsetSpec::Earliest)])?;
        let first = listed.first().map_or(-1, |found| found.offset);
        let listed = admin.list_offsets(&[(tp, OffsetSpec::Latest)])?;
        let end = listed.first().map_or(-1, |found| found.offset);
        ffi::write_opt(low, first);
        ffi::write_opt(high, end);
        Ok(())
    })
}

/// For each element, whose offset is a timestamp (milliseconds since the
/// epoch) on entry: sets it to the first offset whose record's timestamp
/// is at or after it, or STROM_OFFSET_END (-1) if there is none.
#[unsafe(no_mangle)]
pub extern "C" fn strom_offsets_for_times(
    rk: *mut Client,
    offsets: *mut TopicPartitionList,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let list = list_mut(offsets, "offsets")?;
        let entries: Vec<(CoreTopicPartition, i64)> = list.entries().collect();
        for (index, (tp, timestamp)) in entries.into_iter().enumerate() {
            let listed = admin.list_offsets(&[(tp, OffsetSpec::Timestamp(timestamp))])?;
            list.set(
                index,
                listed.first().map_or(-1, |found| found.offset),
                STROM_RESP_ERR_NO_ERROR,
            );
        }
        Ok(())
    })
}

/// Deletes the records before each element's offset (-1: all records up
/// to the partition's end); sets each offset to the partition's new first
/// offset.
#[unsafe(no_mangle)]
pub extern "C" fn strom_delete_records(
    rk: *mut Client,
    before_offsets: *mut TopicPartitionList,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let list = list_mut(before_offsets, "before_offsets")?;
        let requests: Vec<(CoreTopicPartition, i64)> = list.entries().collect();
        let firsts = admin.delete_records(&requests)?;
        for (index, (tp, _)) in requests.iter().enumerate() {
            let first = firsts
                .iter()
                .find(|(done, _)| done == tp)
                .map_or(STROM_OFFSET_INVALID, |f| f.1);
            list.set(index, first, STROM_RESP_ERR_NO_ERROR);
        }
        Ok(())
    })
}

/// Deletes the consumer group `group` (it must have no members).
#[unsafe(no_mangle)]
pub extern "C" fn strom_delete_group(
    rk: *mut Client,
    group: *const c_char,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let group = ffi::str_arg(group, "group")?;
        first_failure(admin.delete_groups(&[group])?)
    })
}

/// Sets `*offsets` to a new list of the group's committed offsets (free
/// it with strom_topic_partition_list_destroy()).
#[unsafe(no_mangle)]
pub extern "C" fn strom_list_group_offsets(
    rk: *mut Client,
    group: *const c_char,
    offsets: *mut *mut TopicPartitionList,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let group = ffi::str_arg(group, "group")?;
        let committed = admin.list_group_offsets(group)?;
        let items = committed
            .into_iter()
            .map(|found| (found.tp, found.committed_offset));
        ffi::write_out(
            offsets,
            OwnedList::from_offsets(items).into_raw(),
            "offsets",
        )
    })
}

/// Sets the group's committed offsets to those of `offsets` (the group
/// must have no members).
#[unsafe(no_mangle)]
pub extern "C" fn strom_alter_group_offsets(
    rk: *mut Client,
    group: *const c_char,
    offsets: *const TopicPartitionList,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let group = ffi::str_arg(group, "group")?;
        let offsets: Vec<(CoreTopicPartition, i64)> = list(offsets, "offsets")?.entries().collect();
        Ok(admin.alter_group_offsets(group, &offsets)?)
    })
}
