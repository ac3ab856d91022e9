//! The consumer: subscribe or assign, strom_consumer_poll(), commits,
//! positions, seeks, pause/resume, and the rebalance callback.
//!
//! A rebalance callback runs inside strom_consumer_poll(), which holds the
//! consumer: the calls it makes about its own handle go to the core's
//! rebalance context instead (ffi::in_rebalance).
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::Ordering;

use strom_client::error::local;
use strom_client::{
    blocking, CallbackQueue, ClientConfig, RebalanceContext, RebalanceEvent, StartOffset,
    TopicPartition as CoreTopicPartition,
};

use crate::callbacks::RebalanceCb;
use crate::client::{timeout, Client, Role};
use crate::codes::{RespErr, STROM_RESP_ERR_NO_ERROR};
use crate::conf::Conf;
use crate::error::{value_or, CError};
use crate::ffi::{self, SendPtr};
use crate::message::{Message, OwnedMessage};
use crate::partitions::{
    list, list_mut, OwnedList, TopicPartitionList, STROM_OFFSET_BEGINNING, STROM_OFFSET_END,
    STROM_OFFSET_INVALID,
};

/// A consumer made from `conf` (set `group.id` to subscribe), connected to
/// the cluster before it returns (bounded by default.api.timeout.ms, which
/// also bounds its other calls). On success it owns `conf`; on failure it
/// returns NULL, writes why to `errstr` and `conf` is still the caller's.
/// Free it with strom_consumer_close() then strom_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_consumer_new(
    conf: *mut Conf,
    errstr: *mut c_char,
    errstr_size: usize,
) -> *mut Client {
    ffi::guard(std::ptr::null_mut(), || {
        let build = |config: &ClientConfig| {
            let consumer =
                blocking::Consumer::with_callback_queue(config.clone(), CallbackQueue::new())?;
            Ok(Role::Consumer(consumer))
        };
        // The rebalance callback needs the handle's final address.
        let attach = |client: &Client| match (&client.role, client.callbacks.rebalance) {
            (Role::Consumer(consumer), Some(_)) => {
                let callback = rebalance_callback(client, client.callbacks.rebalance);
                Ok(consumer.on_rebalance(callback)?)
            }
            _ => Ok(()),
        };
        Client::make(conf, errstr, errstr_size, build, attach)
    })
}

/// The core's rebalance callback calling the application's.
fn rebalance_callback(
    client: &Client,
    callback: RebalanceCb,
) -> impl Fn(RebalanceEvent, &mut RebalanceContext<'_>, &[CoreTopicPartition]) + Send + Sync + 'static
{
    let rk = SendPtr(client.as_ptr().cast());
    let address = client.address();
    let opaque = client.callbacks.opaque;
    move |event, context, partitions| {
        let rk = rk;
        let err = match event {
            RebalanceEvent::Assigned => local::ASSIGN_PARTITIONS,
            RebalanceEvent::Revoked | RebalanceEvent::Lost => local::REVOKE_PARTITIONS,
        };
        if let Ok(client) = ffi::object(rk.get().cast::<Client>(), "rk") {
            client
                .lost
                .store(event == RebalanceEvent::Lost, Ordering::Relaxed);
        }
        let Some(callback) = callback else {
            return;
        };
        let mut list = OwnedList::from_partitions(partitions);
        ffi::with_rebalance(address, context, || {
            ffi::guard((), || {
                callback(rk.get().cast(), err, list.public_mut(), opaque.get())
            });
        });
    }
}

/// The consumer of `rk`, or the error for a NULL or non-consumer handle.
fn consumer<'a>(
    rk: *mut Client,
    call: &str,
) -> Result<(&'a Client, &'a blocking::Consumer), CError> {
    let client = ffi::object(rk, "rk")?;
    Ok((client, client.consumer(call)?))
}

/// Refuses a call the consumer cannot serve while it runs `client`'s
/// rebalance callback on this thread (it would wait for itself).
fn not_in_rebalance(client: &Client, call: &str) -> Result<(), CError> {
    match in_rebalance(client, |_| ()) {
        Some(()) => Err(CError::state(format!(
            "{call} cannot be called from the consumer's own rebalance callback: only assign, \
             incremental (un)assign, assignment, position, seek, pause, resume, commit, \
             strom_rebalance_protocol and strom_memberid can"
        ))),
        None => Ok(()),
    }
}

/// `f` on the running rebalance callback's context if `rk`'s callback is
/// running on this thread.
fn in_rebalance<R>(client: &Client, f: impl FnOnce(&mut RebalanceContext<'_>) -> R) -> Option<R> {
    ffi::in_rebalance(client.address(), f)
}

/// Where a list element's offset says to start.
fn start_offset(offset: i64) -> StartOffset {
    match offset {
        STROM_OFFSET_BEGINNING => StartOffset::Beginning,
        STROM_OFFSET_END => StartOffset::End,
        offset if offset >= 0 => StartOffset::Offset(offset),
        _ => StartOffset::Committed,
    }
}

/// Joins the group (`group.id`) subscribed to the list's topics; a topic
/// starting with `^` is a regular expression matched against whole topic
/// names (librdkafka's convention). Partitions of `topics` are ignored.
/// Replaces the previous subscription.
#[unsafe(no_mangle)]
pub extern "C" fn strom_subscribe(rk: *mut Client, topics: *const TopicPartitionList) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_subscribe")?;
        not_in_rebalance(client, "strom_subscribe")?;
        let mut names = list(topics, "topics")?.topic_names();
        names.dedup();
        if names.is_empty() {
            return Err(CError::invalid_arg(
                "subscribe to at least one topic (strom_unsubscribe leaves)",
            ));
        }
        consumer.subscribe_names_or_patterns(&names)?;
        *client.subscribed.lock().unwrap_or_else(|e| e.into_inner()) =
            names.iter().map(|name| name.to_string()).collect();
        Ok(())
    })
}

/// Leaves the group and drops the subscription.
#[unsafe(no_mangle)]
pub extern "C" fn strom_unsubscribe(rk: *mut Client) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_unsubscribe")?;
        not_in_rebalance(client, "strom_unsubscribe")?;
        consumer.unsubscribe()?;
        client
            .subscribed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    })
}

/// Sets `*topics` to a new list of the topics and `^` patterns of the
/// last strom_subscribe(), as given, partition STROM_PARTITION_UA (free it
/// with strom_topic_partition_list_destroy()); empty when not subscribed.
#[unsafe(no_mangle)]
pub extern "C" fn strom_subscription(
    rk: *mut Client,
    topics: *mut *mut TopicPartitionList,
) -> RespErr {
    ffi::status(|| {
        let (client, _) = consumer(rk, "strom_subscription")?;
        let names = client
            .subscribed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let items = names
            .into_iter()
            .map(|name| (CoreTopicPartition::new(name, -1), STROM_OFFSET_INVALID));
        ffi::write_out(topics, OwnedList::from_offsets(items).into_raw(), "topics")
    })
}

/// The next record, waiting at most `timeout_ms` (negative: until one
/// comes), or NULL if none came (or the call failed: strom_last_error()
/// says so). Also returns events as messages with `err` set: partition
/// ends (`enable.partition.eof`) and, without an error callback,
/// client-wide errors. Rebalance, commit and statistics callbacks run
/// inside this call. Free the message with strom_message_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_consumer_poll(rk: *mut Client, timeout_ms: c_int) -> *mut Message {
    ffi::value(std::ptr::null_mut(), || {
        let (client, consumer) = consumer(rk, "strom_consumer_poll")?;
        not_in_rebalance(client, "strom_consumer_poll")?;
        let mut messages = poll_messages(client, consumer, timeout_ms, 1)?;
        Ok(messages
            .pop()
            .map_or(std::ptr::null_mut(), OwnedMessage::into_raw))
    })
}

/// Up to `size` messages (records and events, as strom_consumer_poll()
/// returns them) into `messages[0..]`, waiting at most `timeout_ms` for
/// the first; returns how many, or -1 on failure. Free each with
/// strom_message_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_consume_batch(
    rk: *mut Client,
    timeout_ms: c_int,
    messages: *mut *mut Message,
    size: usize,
) -> isize {
    ffi::value(-1, || {
        let (client, consumer) = consumer(rk, "strom_consume_batch")?;
        not_in_rebalance(client, "strom_consume_batch")?;
        if messages.is_null() || size == 0 {
            return Err(CError::invalid_arg("messages is NULL or size is 0"));
        }
        let polled = poll_messages(client, consumer, timeout_ms, size)?;
        let count = polled.len();
        for (index, message) in polled.into_iter().enumerate() {
            ffi::write_out(messages.wrapping_add(index), message.into_raw(), "messages")?;
        }
        Ok(isize::try_from(count).unwrap_or(isize::MAX))
    })
}

/// Polls up to `max` messages: pending events first, then records, then
/// the partition ends those records reached.
fn poll_messages(
    client: &Client,
    consumer: &blocking::Consumer,
    timeout_ms: c_int,
    max: usize,
) -> Result<Vec<OwnedMessage>, CError> {
    client.serve_errors();
    let mut messages: Vec<OwnedMessage> = Vec::new();
    {
        let mut pending = client.pending();
        while messages.len() < max {
            match pending.pop_front() {
                Some(event) => messages.push(event),
                None => break,
            }
        }
    }
    if !messages.is_empty() {
        return Ok(messages);
    }
    let records = match consumer.poll_max(timeout(timeout_ms), max) {
        Ok(records) => records,
        // A call that cannot be made (closed, or from inside a callback)
        // fails; what went wrong while fetching comes as a message.
        Err(
            error @ (strom_client::ClientError::Closed { .. }
            | strom_client::ClientError::InvalidArgument(_)),
        ) => return Err(error.into()),
        Err(error) => return Ok(vec![OwnedMessage::event(&CError::from(error), None)]),
    };
    for record in records {
        let topic = client.topic_name(&record.topic);
        messages.push(OwnedMessage::consumed(record, topic));
    }
    if client.config.enable_partition_eof {
        let ends = consumer.take_partition_eofs()?;
        let mut pending = client.pending();
        for (tp, end) in ends {
            let error = CError::new(
                local::PARTITION_EOF,
                format!(
                    "reached the end of {} [{}] at offset {end}",
                    tp.topic, tp.partition
                ),
            );
            let place = (client.topic_name(&tp.topic), tp.partition, end);
            pending.push_back(OwnedMessage::event(&error, Some(place)));
        }
        while messages.len() < max {
            match pending.pop_front() {
                Some(event) => messages.push(event),
                None => break,
            }
        }
    }
    Ok(messages)
}

/// Commits offsets: `offsets` (each element's offset is the next one to
/// read, as in librdkafka) or, with NULL, the positions of every assigned
/// partition. `async` 0 waits for the broker's answer; non-zero returns at
/// once, and the outcome goes to the commit callback from
/// strom_consumer_poll(). Inside a rebalance callback the commit is
/// queued and lands before the partitions go.
#[unsafe(no_mangle)]
pub extern "C" fn strom_commit(
    rk: *mut Client,
    offsets: *const TopicPartitionList,
    async_: c_int,
) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_commit")?;
        let offsets: Option<Vec<(CoreTopicPartition, i64)>> = match offsets.is_null() {
            true => None,
            false => Some(list(offsets, "offsets")?.entries().collect()),
        };
        commit(client, consumer, offsets, async_ != 0)
    })
}

/// Commits the offset just past `msg` (a record from
/// strom_consumer_poll()), as strom_commit() does.
#[unsafe(no_mangle)]
pub extern "C" fn strom_commit_message(
    rk: *mut Client,
    msg: *const Message,
    async_: c_int,
) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_commit_message")?;
        let msg = ffi::object(msg, "msg")?;
        if msg.err != STROM_RESP_ERR_NO_ERROR || msg.offset < 0 {
            return Err(CError::invalid_arg("msg is not a consumed record"));
        }
        let topic = ffi::str_arg(msg.topic, "msg->topic")?;
        let tp = CoreTopicPartition::new(topic, msg.partition);
        commit(
            client,
            consumer,
            Some(vec![(tp, msg.offset + 1)]),
            async_ != 0,
        )
    })
}

fn commit(
    client: &Client,
    consumer: &blocking::Consumer,
    offsets: Option<Vec<(CoreTopicPartition, i64)>>,
    async_: bool,
) -> Result<(), CError> {
    let queued = in_rebalance(client, |context| {
        // Queued with the consumer's other commits; it lands before the
        // member rejoins or leaves. Dropping the future does not cancel it.
        drop(match &offsets {
            Some(offsets) => context.commit_offsets(offsets),
            None => context.commit(),
        });
    });
    if queued.is_some() {
        return Ok(());
    }
    match (async_, client.callbacks.offset_commit) {
        (false, _) => match &offsets {
            Some(offsets) => Ok(consumer.commit_offsets(offsets)?),
            None => Ok(consumer.commit_sync()?),
        },
        (true, Some(callback)) => {
            let rk = SendPtr(client.as_ptr().cast());
            let opaque = client.callbacks.opaque;
            let alive = client.alive.clone();
            consumer.commit_offsets_async_with(offsets.as_deref(), move |outcome, committed| {
                if !alive.load(Ordering::Acquire) {
                    return;
                }
                let err = match &outcome {
                    Ok(()) => STROM_RESP_ERR_NO_ERROR,
                    Err(error) => error.code(),
                };
                let mut list = OwnedList::from_offsets(committed);
                ffi::guard((), || {
                    callback(rk.get().cast(), err, list.public_mut(), opaque.get())
                });
            })?;
            Ok(())
        }
        (true, None) => {
            match &offsets {
                Some(offsets) => drop(consumer.commit_offsets_async(offsets)?),
                None => drop(consumer.commit_async()?),
            }
            Ok(())
        }
    }
}

/// Fills each element's offset with the group's committed offset for it
/// (STROM_OFFSET_INVALID if none), waiting at most `timeout_ms`; a
/// partition that could not be read gets its `err`.
#[unsafe(no_mangle)]
pub extern "C" fn strom_committed(
    rk: *mut Client,
    partitions: *mut TopicPartitionList,
    timeout_ms: c_int,
) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_committed")?;
        not_in_rebalance(client, "strom_committed")?;
        let mut consumer = consumer.clone();
        consumer.set_api_timeout(timeout(timeout_ms));
        let list = list_mut(partitions, "partitions")?;
        let mut first_error = None;
        for (index, (tp, _)) in list.entries().collect::<Vec<_>>().into_iter().enumerate() {
            match consumer.committed(tp) {
                Ok(offset) => list.set(
                    index,
                    offset.unwrap_or(STROM_OFFSET_INVALID),
                    STROM_RESP_ERR_NO_ERROR,
                ),
                Err(error) => {
                    list.set(index, STROM_OFFSET_INVALID, error.code());
                    first_error.get_or_insert(CError::from(error));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    })
}

/// Fills each element's offset with the consumer's position in it: the
/// offset of the next record it returns (STROM_OFFSET_INVALID if not
/// known yet or not assigned).
#[unsafe(no_mangle)]
pub extern "C" fn strom_position(rk: *mut Client, partitions: *mut TopicPartitionList) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_position")?;
        let list = list_mut(partitions, "partitions")?;
        let tps = list.partitions();
        let positions: Vec<Option<i64>> = match in_rebalance(client, |context| {
            tps.iter().map(|tp| context.position(tp)).collect()
        }) {
            Some(positions) => positions,
            None => tps
                .iter()
                .map(|tp| consumer.position(tp.clone()))
                .collect::<Result<_, _>>()?,
        };
        for (index, position) in positions.into_iter().enumerate() {
            list.set(
                index,
                position.unwrap_or(STROM_OFFSET_INVALID),
                STROM_RESP_ERR_NO_ERROR,
            );
        }
        Ok(())
    })
}

/// Moves the consumer in `topic`/`partition` to `offset` (or
/// STROM_OFFSET_BEGINNING / STROM_OFFSET_END): the next record it returns
/// there is the one at `offset`. The partition must be assigned.
/// `timeout_ms` is accepted for librdkafka's signature; the seek itself
/// does not wait.
#[unsafe(no_mangle)]
pub extern "C" fn strom_seek(
    rk: *mut Client,
    topic: *const c_char,
    partition: i32,
    offset: i64,
    timeout_ms: c_int,
) -> RespErr {
    let _ = timeout_ms;
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_seek")?;
        let tp = CoreTopicPartition::new(ffi::str_arg(topic, "topic")?, partition);
        seek(client, consumer, tp, offset)
    })
}

/// strom_seek() for each element of `partitions` (to its offset); a
/// partition that could not be moved gets its `err`.
#[unsafe(no_mangle)]
pub extern "C" fn strom_seek_partitions(
    rk: *mut Client,
    partitions: *mut TopicPartitionList,
    timeout_ms: c_int,
) -> RespErr {
    let _ = timeout_ms;
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_seek_partitions")?;
        let list = list_mut(partitions, "partitions")?;
        let mut first_error = None;
        for (index, (tp, offset)) in list.entries().collect::<Vec<_>>().into_iter().enumerate() {
            let err = match seek(client, consumer, tp, offset) {
                Ok(()) => STROM_RESP_ERR_NO_ERROR,
                Err(error) => first_error.get_or_insert(error).code,
            };
            list.set(index, offset, err);
        }
        first_error.map_or(Ok(()), Err)
    })
}

fn seek(
    client: &Client,
    consumer: &blocking::Consumer,
    tp: CoreTopicPartition,
    offset: i64,
) -> Result<(), CError> {
    let tps = std::slice::from_ref(&tp);
    if let Some(sought) = in_rebalance(client, |context| match offset {
        STROM_OFFSET_BEGINNING => context.seek_to_beginning(tps),
        STROM_OFFSET_END => context.seek_to_end(tps),
        offset => context.seek(&tp, offset),
    }) {
        return Ok(sought?);
    }
    match offset {
        STROM_OFFSET_BEGINNING => Ok(consumer.seek_to_beginning(tps)?),
        STROM_OFFSET_END => Ok(consumer.seek_to_end(tps)?),
        offset if offset >= 0 => Ok(consumer.seek(tp, offset)?),
        offset => Err(CError::invalid_arg(format!(
            "cannot seek to {offset}: give an offset, STROM_OFFSET_BEGINNING or STROM_OFFSET_END"
        ))),
    }
}

/// Replaces the assignment with `partitions` (NULL: none), each starting
/// at its offset (STROM_OFFSET_INVALID or STROM_OFFSET_STORED: the
/// committed offset, else auto.offset.reset). For a consumer without a
/// subscription. Inside a rebalance callback the group has already
/// assigned the partitions: the call only sets where they start.
#[unsafe(no_mangle)]
pub extern "C" fn strom_assign(rk: *mut Client, partitions: *const TopicPartitionList) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_assign")?;
        let starts = starts(partitions, true)?;
        if let Some(started) = start_in_rebalance(client, &starts) {
            return started;
        }
        Ok(consumer.assign_at(&starts)?)
    })
}

/// Adds `partitions` to the assignment, each starting at its offset as in
/// strom_assign() (librdkafka's cooperative assign). Inside a rebalance
/// callback it only sets where they start.
#[unsafe(no_mangle)]
pub extern "C" fn strom_incremental_assign(
    rk: *mut Client,
    partitions: *const TopicPartitionList,
) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_incremental_assign")?;
        let starts = starts(partitions, false)?;
        if let Some(started) = start_in_rebalance(client, &starts) {
            return started;
        }
        Ok(consumer.incremental_assign(&starts)?)
    })
}

/// Removes `partitions` from the assignment. Inside a rebalance callback
/// the group has already taken them: it does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn strom_incremental_unassign(
    rk: *mut Client,
    partitions: *const TopicPartitionList,
) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_incremental_unassign")?;
        let tps = list(partitions, "partitions")?.partitions();
        if in_rebalance(client, |_| ()).is_some() {
            return Ok(());
        }
        Ok(consumer.incremental_unassign(&tps)?)
    })
}

/// Each element and where it starts; NULL is the empty list where
/// allowed.
fn starts(
    partitions: *const TopicPartitionList,
    null_ok: bool,
) -> Result<Vec<(CoreTopicPartition, StartOffset)>, CError> {
    if partitions.is_null() && null_ok {
        return Ok(Vec::new());
    }
    Ok(list(partitions, "partitions")?
        .entries()
        .map(|(tp, offset)| (tp, start_offset(offset)))
        .collect())
}

/// Inside a rebalance callback: sets where the partitions with an offset
/// start.
fn start_in_rebalance(
    client: &Client,
    starts: &[(CoreTopicPartition, StartOffset)],
) -> Option<Result<(), CError>> {
    in_rebalance(client, |context| {
        for (tp, start) in starts {
            if *start != StartOffset::Committed {
                context.start_at(tp, *start)?;
            }
        }
        Ok(())
    })
}

/// Sets `*partitions` to a new list of the assigned partitions (free it
/// with strom_topic_partition_list_destroy()).
#[unsafe(no_mangle)]
pub extern "C" fn strom_assignment(
    rk: *mut Client,
    partitions: *mut *mut TopicPartitionList,
) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_assignment")?;
        let assigned = match in_rebalance(client, |context| context.assignment()) {
            Some(assigned) => assigned,
            None => consumer.assignment()?,
        };
        ffi::write_out(
            partitions,
            OwnedList::from_partitions(&assigned).into_raw(),
            "partitions",
        )
    })
}

/// 1 if the partitions of the revoke being handled (or last handled) were
/// lost to the group (the member was fenced or timed out) rather than
/// given up, so committing their offsets would fail; else 0.
#[unsafe(no_mangle)]
pub extern "C" fn strom_assignment_lost(rk: *mut Client) -> c_int {
    ffi::guard(0, || {
        ffi::object(rk, "rk").map_or(0, |client| c_int::from(client.lost.load(Ordering::Relaxed)))
    })
}

/// "COOPERATIVE" when the group's assignor is cooperative (a rebalance
/// revokes only the partitions that move: the rebalance callback pairs
/// with strom_incremental_assign()), "EAGER" when every rebalance revokes
/// all partitions, "NONE" before the consumer joined a group. Static: never
/// free it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_rebalance_protocol(rk: *mut Client) -> *const c_char {
    ffi::guard(c"NONE".as_ptr(), || {
        let protocol = (|| {
            let (client, consumer) = consumer(rk, "strom_rebalance_protocol")?;
            Ok(
                match in_rebalance(client, |context| context.rebalance_protocol()) {
                    Some(protocol) => protocol,
                    None => consumer.rebalance_protocol()?,
                },
            )
        })();
        match value_or(protocol, None) {
            Some("COOPERATIVE") => c"COOPERATIVE".as_ptr(),
            Some(_) => c"EAGER".as_ptr(),
            None => c"NONE".as_ptr(),
        }
    })
}

/// The consumer's member id in its group, or NULL before it joined one.
/// The caller owns the string: free it with strom_mem_free().
#[unsafe(no_mangle)]
pub extern "C" fn strom_memberid(rk: *mut Client) -> *mut c_char {
    ffi::value(std::ptr::null_mut(), || {
        let (client, consumer) = consumer(rk, "strom_memberid")?;
        let id = match in_rebalance(client, |context| context.member_id()) {
            Some(id) => id,
            None => consumer.member_id()?,
        };
        Ok(id
            .and_then(|id| CString::new(id).ok())
            .map_or(std::ptr::null_mut(), CString::into_raw))
    })
}

/// Frees a string the library handed over for the caller to free
/// (strom_memberid()). NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn strom_mem_free(ptr: *mut c_char) {
    ffi::guard((), || ffi::free_c_string(ptr));
}

/// Stops fetching `partitions` (strom_consumer_poll() returns none of
/// their records) until strom_resume().
#[unsafe(no_mangle)]
pub extern "C" fn strom_pause(rk: *mut Client, partitions: *const TopicPartitionList) -> RespErr {
    pause_or_resume(rk, partitions, true)
}

/// Fetches `partitions` again after strom_pause().
#[unsafe(no_mangle)]
pub extern "C" fn strom_resume(rk: *mut Client, partitions: *const TopicPartitionList) -> RespErr {
    pause_or_resume(rk, partitions, false)
}

fn pause_or_resume(rk: *mut Client, partitions: *const TopicPartitionList, pause: bool) -> RespErr {
    ffi::status(|| {
        let call = if pause { "strom_pause" } else { "strom_resume" };
        let (client, consumer) = consumer(rk, call)?;
        let tps = list(partitions, "partitions")?.partitions();
        let done = in_rebalance(client, |context| match pause {
            true => context.pause(&tps),
            false => context.resume(&tps),
        });
        if done.is_some() {
            return Ok(());
        }
        match pause {
            true => Ok(consumer.pause(&tps)?),
            false => Ok(consumer.resume(&tps)?),
        }
    })
}

/// Commits (with enable.auto.commit), runs the revoke callback and leaves
/// the group, waiting at most default.api.timeout.ms. The handle still
/// needs strom_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_consumer_close(rk: *mut Client) -> RespErr {
    ffi::status(|| {
        let (client, consumer) = consumer(rk, "strom_consumer_close")?;
        not_in_rebalance(client, "strom_consumer_close")?;
        Ok(consumer.close(consumer.api_timeout())?)
    })
}
