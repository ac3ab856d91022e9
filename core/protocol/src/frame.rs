//! Framing: the 4-byte length prefix, request and response headers.
//!
//! A connection reads the prefix, checks it with [`frame_length`] before
//! reading (or allocating) anything else, then reads exactly that many
//! bytes and hands them to [`decode_request_header`].

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::codec::Message;
use crate::error::{DecodeError, EncodeError};
use crate::messages::{ApiKey, Request, RequestHeader, Response, ResponseHeader};
use crate::splice::{encode_spliced, spliced_len, Splice};

/// Kafka's `socket.request.max.bytes` default: 100 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// Validates a frame's length prefix against `limit`. Zero, negative and
/// oversized lengths are refused before the body is read.
pub fn frame_length(prefix: [u8; 4], limit: usize) -> Result<usize, DecodeError> {
    let size = i32::from_be_bytes(prefix);
    if size < 0 {
        return Err(DecodeError::NegativeLength(i64::from(size)));
    }
    let size = size as usize;
    if size > limit {
        return Err(DecodeError::FrameTooLarge {
            size: size as i64,
            limit,
        });
    }
    // api key + api version + correlation id is the smallest header there is.
    if size < 8 {
        return Err(DecodeError::UnexpectedEof {
            needed: 8,
            remaining: size,
        });
    }
    Ok(size)
}

/// A request's header, with the body left undecoded so the caller can
/// check the API and version first.
#[derive(Debug, Clone)]
pub struct RequestFrame {
    pub header: RequestHeader,
    /// `None` when the key is not one Strom's codec knows.
    pub api_key: Option<ApiKey>,
    pub body: Bytes,
}

impl RequestFrame {
    pub fn api_version(&self) -> i16 {
        self.header.request_api_version
    }
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }

    /// Decodes the body. Returns the request and the number of bytes left
    /// over after it: Kafka ignores such bytes (librdkafka sends some with
    /// Metadata v12), so the caller decides whether they matter.
    pub fn decode_body(&self) -> Result<(Request, usize), DecodeError> {
        let api_key = self
            .api_key
            .ok_or(DecodeError::UnknownApiKey(self.header.request_api_key))?;
        let mut body = self.body.clone();
        let request = Request::decode(api_key, self.api_version(), &mut body)?;
        Ok((request, body.remaining()))
    }
}

/// Reads the request header from a whole frame (without its length prefix).
/// The header version follows from the API key and version (KIP-482); for an
/// unknown API key the v1 header (no tagged fields) is assumed so the
/// correlation id can still be read.
pub fn decode_request_header(mut frame: Bytes) -> Result<RequestFrame, DecodeError> {
    if frame.len() < 4 {
        return Err(DecodeError::UnexpectedEof {
            needed: 4,
            remaining: frame.len(),
        });
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api_key = ApiKey::from_i16(key);
    let header_version = match api_key {
        Some(k) => k.request_header_version(version),
        None => 1,
    };
    let header = RequestHeader::decode(&mut frame, header_version)?;
    Ok(RequestFrame {
        header,
        api_key,
        body: frame,
    })
}

/// Encodes a whole request frame: length prefix, header, body. The header's
/// API key must be the body's. On error `out` is left as it was.
pub fn encode_request(
    header: &RequestHeader,
    body: &Request,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let api_key = body.api_key();
    // A header naming another API would make the peer decode the body as
    // the wrong message.
    if header.request_api_key != api_key as i16 {
        return Err(EncodeError::ApiKeyMismatch {
            header: header.request_api_key,
            body: api_key as i16,
        });
    }
    let version = header.request_api_version;
    let start = out.len();
    let written = (|| {
        out.put_i32(0);
        header.encode(out, api_key.request_header_version(version))?;
        body.encode(out, version)?;
        patch_length(out, start)
    })();
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// Encodes a whole response frame: length prefix, header, body. On error
/// `out` is left as it was.
pub fn encode_response(
    correlation_id: i32,
    version: i16,
    body: &Response,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = out.len();
    let header = ResponseHeader {
        correlation_id,
        ..Default::default()
    };
    let written = (|| {
        out.put_i32(0);
        header.encode(out, body.api_key().response_header_version(version))?;
        body.encode(out, version)?;
        patch_length(out, start)
    })();
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// [`encode_response`] without copying the response's large byte fields
/// (record data) into `out`: the frame is `out` with the returned splices
/// inserted (see [`crate::splice`]), and its length prefix counts them.
pub fn encode_response_spliced(
    correlation_id: i32,
    version: i16,
    body: &Response,
    out: &mut BytesMut,
) -> Result<Vec<Splice>, EncodeError> {
    let start = out.len();
    let header = ResponseHeader {
        correlation_id,
        ..Default::default()
    };
    let written = encode_spliced(out, |out| {
        out.put_i32(0);
        header.encode(out, body.api_key().response_header_version(version))?;
        body.encode(out, version)
    })
    .and_then(|splices| {
        let len = out.len() - start - 4 + spliced_len(&splices);
        let len32 = i32::try_from(len).map_err(|_| EncodeError::TooLong { what: "frame", len })?;
        out[start..start + 4].copy_from_slice(&len32.to_be_bytes());
        Ok(splices)
    });
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// Decodes a response frame (without its length prefix) for a request of
/// `api_key` at `version`.
pub fn decode_response(
    mut frame: Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, Response), DecodeError> {
    let header = ResponseHeader::decode(&mut frame, api_key.response_header_version(version))?;
    let body = Response::decode(api_key, version, &mut frame)?;
    if frame.has_remaining() {
        return Err(DecodeError::TrailingBytes(frame.remaining()));
    }
    Ok((header, body))
}

fn patch_length(out: &mut BytesMut, start: usize) -> Result<(), EncodeError> {
    let len = out.len() - start - 4;
    let len32 = i32::try_from(len).map_err(|_| EncodeError::TooLong { what: "frame", len })?;
    out[start..start + 4].copy_from_slice(&len32.to_be_bytes());
    Ok(())
}
