//! `strom_topic_partition_list_t`: librdkafka's topic-partition list, the
//! argument and result of subscribe, assign, commit, positions and the
//! offset calls.
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_int, CString};
use std::sync::Arc;

use strom_client::TopicPartition as CoreTopicPartition;

use crate::codes::{RespErr, STROM_RESP_ERR_NO_ERROR};
use crate::error::CError;
use crate::ffi;

/// Partition "unassigned": let the producer's partitioner choose.
pub const STROM_PARTITION_UA: i32 = -1;
/// Start at the partition's first record.
pub const STROM_OFFSET_BEGINNING: i64 = -2;
/// Start at the partition's end (records written from now on).
pub const STROM_OFFSET_END: i64 = -1;
/// Start at the committed offset (auto.offset.reset without one).
pub const STROM_OFFSET_STORED: i64 = -1000;
/// No offset: not set, not known, or nothing committed.
pub const STROM_OFFSET_INVALID: i64 = -1001;

/// One partition of a list, with an offset and an error slot. The
/// application may change `offset` (and `err`); `topic` belongs to the
/// list.
#[repr(C)]
pub struct TopicPartition {
    /// The topic (NUL-terminated); never change or free it.
    pub topic: *mut c_char,
    pub partition: i32,
    /// An offset (STROM_OFFSET_INVALID when not set); its meaning depends
    /// on the call (a start, a commit, a position, a timestamp for
    /// strom_offsets_for_times()).
    pub offset: i64,
    /// A per-partition error some calls set.
    pub err: RespErr,
}

/// A list of partitions: `elems[0]` to `elems[cnt - 1]`. Made by
/// strom_topic_partition_list_new() (or a call that says so), freed with
/// strom_topic_partition_list_destroy(); grows with
/// strom_topic_partition_list_add(), which may move `elems`. Not
/// thread-safe.
#[repr(C)]
pub struct TopicPartitionList {
    /// How many elements `elems` holds.
    pub cnt: c_int,
    /// Room before `elems` moves.
    pub size: c_int,
    pub elems: *mut TopicPartition,
}

/// A list and its storage; the public struct comes first.
#[repr(C)]
pub(crate) struct OwnedList {
    public: TopicPartitionList,
    elems: Vec<TopicPartition>,
    /// Each element's topic, kept here so reading never trusts a pointer
    /// C could have changed.
    topics: Vec<(Arc<str>, CString)>,
}

impl OwnedList {
    pub fn with_capacity(size: usize) -> OwnedList {
        let mut list = OwnedList {
            public: TopicPartitionList {
                cnt: 0,
                size: 0,
                elems: std::ptr::null_mut(),
            },
            elems: Vec::with_capacity(size.min(1 << 16)),
            topics: Vec::with_capacity(size.min(1 << 16)),
        };
        list.sync();
        list
    }

    /// A list of these partitions, offsets as given.
    pub fn from_offsets(items: impl IntoIterator<Item = (CoreTopicPartition, i64)>) -> OwnedList {
        let mut list = OwnedList::with_capacity(0);
        for (tp, offset) in items {
            list.push(tp.topic, tp.partition, offset);
        }
        list
    }

    /// A list of these partitions, offsets not set.
    pub fn from_partitions(partitions: &[CoreTopicPartition]) -> OwnedList {
        OwnedList::from_offsets(
            partitions
                .iter()
                .map(|tp| (tp.clone(), STROM_OFFSET_INVALID)),
        )
    }

    fn push(&mut self, topic: Arc<str>, partition: i32, offset: i64) -> *mut TopicPartition {
        let name = CString::new(topic.replace('\0', " ")).unwrap_or_default();
        self.elems.push(TopicPartition {
            // The CString's bytes are on the heap: they stay put when the
            // vector of names moves.
            topic: name.as_ptr().cast_mut(),
            partition,
            offset,
            err: STROM_RESP_ERR_NO_ERROR,
        });
        self.topics.push((topic, name));
        self.sync();
        self.elems
            .last_mut()
            .map_or(std::ptr::null_mut(), |e| e as *mut _)
    }

    fn sync(&mut self) {
        self.public.cnt = c_int::try_from(self.elems.len()).unwrap_or(c_int::MAX);
        self.public.size = c_int::try_from(self.elems.capacity()).unwrap_or(c_int::MAX);
        self.public.elems = self.elems.as_mut_ptr();
    }

    /// Each element: its partition, offset and error, by index.
    pub fn entries(&self) -> impl Iterator<Item = (CoreTopicPartition, i64)> + '_ {
        self.elems
            .iter()
            .zip(&self.topics)
            .map(|(elem, (topic, _))| {
                (
                    CoreTopicPartition::new(topic.clone(), elem.partition),
                    elem.offset,
                )
            })
    }

    pub fn partitions(&self) -> Vec<CoreTopicPartition> {
        self.entries().map(|(tp, _)| tp).collect()
    }

    /// Where `topic`/`partition` is in the list.
    fn index_of(&self, topic: &str, partition: i32) -> Option<usize> {
        self.elems
            .iter()
            .zip(&self.topics)
            .position(|(elem, (name, _))| &**name == topic && elem.partition == partition)
    }

    /// The topics' names, in order, repeats included.
    pub fn topic_names(&self) -> Vec<&str> {
        self.topics.iter().map(|(topic, _)| &**topic).collect()
    }

    /// Sets the offset and error of element `index`.
    pub fn set(&mut self, index: usize, offset: i64, err: RespErr) {
        if let Some(elem) = self.elems.get_mut(index) {
            elem.offset = offset;
            elem.err = err;
        }
    }

    pub fn into_raw(self) -> *mut TopicPartitionList {
        ffi::into_raw(self).cast()
    }

    /// The public list, for a callback's argument.
    pub fn public_mut(&mut self) -> *mut TopicPartitionList {
        &mut self.public
    }
}

/// A list made by this library, borrowed.
pub(crate) fn list<'a>(
    ptr: *const TopicPartitionList,
    what: &str,
) -> Result<&'a OwnedList, CError> {
    ffi::owner::<OwnedList, TopicPartitionList>(ptr, what)
}

/// [`list`], mutably.
pub(crate) fn list_mut<'a>(
    ptr: *mut TopicPartitionList,
    what: &str,
) -> Result<&'a mut OwnedList, CError> {
    ffi::owner_mut::<OwnedList, TopicPartitionList>(ptr, what)
}

/// A new, empty list with room for `size` elements. Free it with
/// strom_topic_partition_list_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_topic_partition_list_new(size: c_int) -> *mut TopicPartitionList {
    ffi::guard(std::ptr::null_mut(), || {
        OwnedList::with_capacity(usize::try_from(size).unwrap_or(0)).into_raw()
    })
}

/// Frees a list. NULL does nothing. Never call it on a list passed to a
/// callback.
#[unsafe(no_mangle)]
pub extern "C" fn strom_topic_partition_list_destroy(list: *mut TopicPartitionList) {
    ffi::guard((), || ffi::free::<OwnedList, TopicPartitionList>(list));
}

/// Appends `topic`/`partition` (offset STROM_OFFSET_INVALID) and returns
/// the new element, valid until the list changes again; NULL (with the
/// last error set) for a NULL list or topic.
#[unsafe(no_mangle)]
pub extern "C" fn strom_topic_partition_list_add(
    list: *mut TopicPartitionList,
    topic: *const c_char,
    partition: i32,
) -> *mut TopicPartition {
    ffi::value(std::ptr::null_mut(), || {
        let list = list_mut(list, "list")?;
        let topic = ffi::str_arg(topic, "topic")?;
        Ok(list.push(Arc::from(topic), partition, STROM_OFFSET_INVALID))
    })
}

/// A copy of `src`, offsets and errors included, to free with
/// strom_topic_partition_list_destroy(); NULL if `src` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn strom_topic_partition_list_copy(
    src: *const TopicPartitionList,
) -> *mut TopicPartitionList {
    ffi::value(std::ptr::null_mut(), || {
        let src = list(src, "src")?;
        let mut copy = OwnedList::from_offsets(src.entries());
        for (index, elem) in src.elems.iter().enumerate() {
            copy.set(index, elem.offset, elem.err);
        }
        Ok(copy.into_raw())
    })
}

/// The element for `topic`/`partition`, or NULL if the list has none.
#[unsafe(no_mangle)]
pub extern "C" fn strom_topic_partition_list_find(
    list: *const TopicPartitionList,
    topic: *const c_char,
    partition: i32,
) -> *mut TopicPartition {
    ffi::value(std::ptr::null_mut(), || {
        let owned = self::list(list, "list")?;
        let topic = ffi::str_arg(topic, "topic")?;
        let index = owned.index_of(topic, partition);
        Ok(index.map_or(std::ptr::null_mut(), |index| {
            // Through the public pointer: C may write the element.
            owned.public.elems.wrapping_add(index)
        }))
    })
}

/// Sets the offset of `topic`/`partition`, adding it if absent.
#[unsafe(no_mangle)]
pub extern "C" fn strom_topic_partition_list_set_offset(
    list: *mut TopicPartitionList,
    topic: *const c_char,
    partition: i32,
    offset: i64,
) -> RespErr {
    ffi::status(|| {
        let owned = list_mut(list, "list")?;
        let topic = ffi::str_arg(topic, "topic")?;
        match owned.index_of(topic, partition) {
            Some(index) => owned.elems[index].offset = offset,
            None => {
                owned.push(Arc::from(topic), partition, offset);
            }
        }
        Ok(())
    })
}
