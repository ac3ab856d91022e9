//! libstrom: Strom's Kafka client for C and C++ (`c-include/strom.h`),
//! in librdkafka's shape, over strom-client's blocking clients. It holds
//! no Kafka logic: each function converts its arguments, calls the core
//! and converts the outcome.
//!
//! - [`ffi`]: every `unsafe` block (pointers and C strings).
//! - [`error`]: codes, per-thread error strings; [`codes`] is generated.
//! - [`conf`], [`callbacks`]: `strom_conf_t` and the callback types.
//! - [`client`]: the `strom_t` handle, strom_destroy(), strom_poll().
//! - [`producer`], [`consumer`], [`admin`], [`admin_results`], [`acls`]:
//!   the calls.
//! - [`message`], [`partitions`]: messages, headers, partition lists.
//!
//! Every exported function runs its body in [`ffi::guard`], so no panic
//! unwinds into C.

pub mod acls;
pub mod admin;
pub mod admin_results;
pub mod callbacks;
pub mod client;
pub mod codes;
pub mod conf;
pub mod consumer;
pub mod error;
mod ffi;
pub mod message;
pub mod partitions;
pub mod producer;

#[cfg(test)]
mod generated;
