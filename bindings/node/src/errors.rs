//! `ClientError` to a JS error. The reason carries the error's facts as
//! JSON (`{"strom":1,"code":...}`); `node/lib/errors.js` turns it into the
//! kafkajs error class a kafkajs user expects.

use strom_client::ClientError;

pub fn to_js_error(error: &ClientError) -> napi::Error {
    let facts = serde_json::json!({
        "strom": 1,
        "code": error.code(),
        "name": error.name(),
        "kafkaCode": error.kafka_code(),
        "retriable": error.is_retriable(),
        "fatal": error.is_fatal(),
        "message": error.to_string(),
    });
    napi::Error::from_reason(facts.to_string())
}

/// An argument JS passed that cannot be used.
pub fn invalid(message: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, message.to_string())
}
