//! The callbacks a configuration carries, by librdkafka's shapes.

use std::ffi::{c_char, c_void};

use crate::client::Client;
use crate::codes::RespErr;
use crate::ffi::SendPtr;
use crate::message::Message;
use crate::partitions::TopicPartitionList;

/// A delivery report (NULL: none): `msg` is the record (`err` 0 when delivered, with
/// its partition and offset; else why it failed) and `msg->opaque` the
/// value given to strom_produce(). `msg` is valid during the call only.
pub type DrMsgCb = Option<extern "C" fn(rk: *mut Client, msg: *const Message, opaque: *mut c_void)>;

/// A rebalance: `err` is STROM_RESP_ERR__ASSIGN_PARTITIONS or
/// STROM_RESP_ERR__REVOKE_PARTITIONS; `partitions` (valid during the call
/// only, owned by the library) the partitions concerned.
pub type RebalanceCb = Option<
    extern "C" fn(
        rk: *mut Client,
        err: RespErr,
        partitions: *mut TopicPartitionList,
        opaque: *mut c_void,
    ),
>;

/// A commit's outcome: `err` for the whole commit, `offsets` (valid
/// during the call only, owned by the library) the offsets it carried.
pub type OffsetCommitCb = Option<
    extern "C" fn(
        rk: *mut Client,
        err: RespErr,
        offsets: *mut TopicPartitionList,
        opaque: *mut c_void,
    ),
>;

/// A client-wide error: its code and, for a person, `reason` (valid during
/// the call only).
pub type ErrorCb = Option<
    extern "C" fn(rk: *mut Client, err: RespErr, reason: *const c_char, opaque: *mut c_void),
>;

/// The callbacks of one client, and the opaque value they all receive.
#[derive(Clone, Copy, Default)]
pub struct Callbacks {
    pub dr_msg: DrMsgCb,
    pub rebalance: RebalanceCb,
    pub offset_commit: OffsetCommitCb,
    pub error: ErrorCb,
    pub opaque: SendPtr,
}
