//! Encoding a response without copying its large byte fields.
//!
//! A Fetch response is mostly record data the broker already holds in
//! [`Bytes`] read from its segments. Copying it into the response buffer
//! (and growing that buffer as it fills) cost more CPU than anything else
//! on the consumer path. Inside [`encode_spliced`], a byte field of at
//! least [`SPLICE_MIN_BYTES`] written straight into the frame buffer gets
//! its length prefix as usual, but its bytes are left out of the buffer
//! and returned as a [`Splice`] that says where they belong; the writer
//! sends the buffer's pieces and the spliced bytes together (a vectored
//! write). Fields encoded into a scratch buffer first (tagged fields) are
//! copied as always: only the frame buffer itself is spliced.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};

/// Byte fields shorter than this are copied: a separate piece in a
/// vectored write costs more than copying a few kilobytes.
pub const SPLICE_MIN_BYTES: usize = 16 * 1024;

/// Bytes that belong at `at` in the encoded buffer (before the byte that
/// is there now).
#[derive(Debug, Clone)]
pub struct Splice {
    pub at: usize,
    pub bytes: Bytes,
}

struct Active {
    /// Address of the frame buffer: fields written anywhere else are copied.
    target: usize,
    splices: Vec<Splice>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

/// Runs `encode` on `out` with splicing on for `out`; returns what it
/// left out, in buffer order. Splicing is off again afterwards, also if
/// `encode` fails or panics.
pub fn encode_spliced<E>(
    out: &mut BytesMut,
    encode: impl FnOnce(&mut BytesMut) -> Result<(), E>,
) -> Result<Vec<Splice>, E> {
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            ACTIVE.with(|active| active.borrow_mut().take());
        }
    }
    ACTIVE.with(|active| {
        *active.borrow_mut() = Some(Active {
            target: address(out),
            splices: Vec::new(),
        })
    });
    let off = Off;
    let result = encode(out);
    let splices = ACTIVE.with(|active| active.borrow_mut().take().map(|a| a.splices));
    drop(off);
    result.map(|()| splices.unwrap_or_default())
}

/// Called by the codec for a byte field about to be copied into `buf`:
/// true if it was spliced instead (the caller writes nothing).
pub(crate) fn take(buf: &BytesMut, bytes: &Bytes) -> bool {
    if bytes.len() < SPLICE_MIN_BYTES {
        return false;
    }
    ACTIVE.with(|active| match active.borrow_mut().as_mut() {
        Some(active) if active.target == address(buf) => {
            active.splices.push(Splice {
                at: buf.len(),
                bytes: bytes.clone(),
            });
            true
        }
        _ => false,
    })
}

fn address(buf: &BytesMut) -> usize {
    std::ptr::from_ref(buf) as usize
}

/// Total length of the spliced bytes.
pub fn spliced_len(splices: &[Splice]) -> usize {
    splices.iter().map(|s| s.bytes.len()).sum()
}

/// The pieces of the whole encoding, in order: the buffer cut at each
/// splice point with the spliced bytes between.
pub fn pieces<'a>(buf: &'a [u8], splices: &'a [Splice]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::with_capacity(2 * splices.len() + 1);
    let mut from = 0;
    for splice in splices {
        pieces.push(&buf[from..splice.at]);
        pieces.push(&splice.bytes[..]);
        from = splice.at;
    }
    pieces.push(&buf[from..]);
    pieces.retain(|p| !p.is_empty());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Ctx, Field};

    fn ctx() -> Ctx {
        Ctx {
            version: 0,
            flexible: false,
            nullable: true,
            name: "Records",
        }
    }

    #[test]
    fn large_fields_are_spliced_and_the_pieces_equal_a_plain_encoding() {
        let big = Bytes::from(vec![7u8; SPLICE_MIN_BYTES + 3]);
        let small = Bytes::from_static(b"small");
        let fields = [Some(big.clone()), Some(small), None, Some(big)];
        let mut plain = BytesMut::new();
        for field in &fields {
            field.encode(&mut plain, ctx()).expect("encodes");
        }
        let mut out = BytesMut::new();
        let splices = encode_spliced(&mut out, |out| {
            fields.iter().try_for_each(|field| field.encode(out, ctx()))
        })
        .expect("encodes");
        assert_eq!(splices.len(), 2, "only the large fields are spliced");
        assert_eq!(out.len() + spliced_len(&splices), plain.len());
        assert_eq!(pieces(&out, &splices).concat(), plain.to_vec());
    }

    #[test]
    fn outside_encode_spliced_and_in_other_buffers_bytes_are_copied() {
        let big = Some(Bytes::from(vec![1u8; SPLICE_MIN_BYTES]));
        let mut out = BytesMut::new();
        big.encode(&mut out, ctx()).expect("encodes");
        assert_eq!(out.len(), 4 + SPLICE_MIN_BYTES);
        let mut frame = BytesMut::new();
        let splices = encode_spliced(&mut frame, |_frame| {
            let mut scratch = BytesMut::new();
            big.encode(&mut scratch, ctx())?;
            assert_eq!(
                scratch.len(),
                4 + SPLICE_MIN_BYTES,
                "a scratch buffer gets a copy"
            );
            Ok::<_, crate::error::EncodeError>(())
        })
        .expect("encodes");
        assert!(splices.is_empty());
    }
}
