//! ApiVersions: the ranges in [`crate::versions::SUPPORTED`].

use strom_protocol::error_codes;
use strom_protocol::messages::api_versions_response::ApiVersion;
use strom_protocol::messages::{ApiVersionsResponse, Response};

use crate::versions::SUPPORTED;

fn api_keys() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|(key, min, max)| ApiVersion {
            api_key: *key as i16,
            min_version: *min,
            max_version: *max,
            ..Default::default()
        })
        .collect()
}

pub fn handle() -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: api_keys(),
        ..Default::default()
    }
}

/// KIP-511: an ApiVersions version the broker does not know is answered
/// with a v0 body carrying UNSUPPORTED_VERSION and the supported ranges, so
/// the client can retry with a version both sides speak.
pub fn unsupported_version_response() -> Response {
    ApiVersionsResponse {
        error_code: error_codes::UNSUPPORTED_VERSION,
        api_keys: api_keys(),
        ..Default::default()
    }
    .into()
}
