//! SASL authentication as Kafka does it: SCRAM-SHA-256/512 (RFC 5802,
//! RFC 7677) and PLAIN (RFC 4616), both sides, without I/O.
//!
//! - [`ScramServer`]: the broker's side of a SCRAM exchange, checked against
//!   a stored [`ScramCredential`] (or a [`ScramCredential::decoy`] for a user
//!   that does not exist, so that both fail alike).
//! - [`ScramClient`]: the client's side, to log in to a broker.
//! - [`parse_plain`] and [`plain_message`]: PLAIN, whose passwords the broker
//!   checks with [`ScramCredential::verify_password`].
//! - [`bearer_message`] and [`parse_bearer_message`]: OAUTHBEARER's message
//!   (the broker validates the token itself).
//!
//! Nonces come from the caller, which owns the random number generator.
//! Every message from the peer is untrusted: parsing returns [`SaslError`],
//! never panics.

mod client;
mod oauthbearer;
mod plain;
mod scram;
mod server;
mod syntax;
#[cfg(test)]
mod tests;

pub use crate::error::SaslError;
pub use client::ScramClient;
pub use oauthbearer::{bearer_message, parse_bearer_message, BearerMessage};
pub use plain::{parse_plain, plain_message, PlainCredentials};
pub use scram::{ScramCredential, ScramMechanism};
pub use server::{ClientFirst, ScramServer};
