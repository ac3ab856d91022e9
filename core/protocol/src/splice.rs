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
//!
//! Record data can also stay where the broker holds it: a [`HeldBytes`]
//! (runs of segment files, or pieces in memory) encoded in place of a
//! byte field becomes one splice per piece. A writer sends a
//! [`Spliced::File`] from the file to the socket (`sendfile`) without
//! reading it into memory, and memory pieces as they are, without joining
//! them. Encoded anywhere else (a scratch buffer, no splicing on) they
//! are read or copied into the buffer, so every encoding of it carries
//! the right bytes.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::EncodeError;

/// Byte fields shorter than this are copied: a separate piece in a
/// vectored write costs more than copying a few kilobytes.
pub const SPLICE_MIN_BYTES: usize = 16 * 1024;

/// Bytes that belong at `at` in the encoded buffer (before the byte that
/// is there now).
#[derive(Debug, Clone)]
pub struct Splice {
    pub at: usize,
    pub data: Spliced,
}

/// What a splice inserts: bytes in memory, or a run of a file.
#[derive(Debug, Clone)]
pub enum Spliced {
    Memory(Bytes),
    File(FileRange),
}

impl Spliced {
    pub fn len(&self) -> usize {
        match self {
            Spliced::Memory(bytes) => bytes.len(),
            Spliced::File(range) => range.len as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `len` bytes of `file` from `position`. The `Arc<File>` keeps them
/// readable even if the file is deleted meanwhile.
#[derive(Debug, Clone)]
pub struct FileRange {
    pub file: Arc<File>,
    pub position: u64,
    pub len: u32,
}

impl FileRange {
    /// Appends the range's bytes to `buf`; an error if the file ends first.
    pub fn read_into(&self, buf: &mut BytesMut) -> std::io::Result<()> {
        let start = buf.len();
        buf.resize(start + self.len as usize, 0);
        let read = self.file.read_exact_at(&mut buf[start..], self.position);
        if read.is_err() {
            buf.truncate(start);
        }
        read
    }
}

/// A byte field whose bytes are still where the broker holds them, in
/// order: runs of its segment files, or pieces in memory (record data a
/// broker serves from its segments or its tail cache).
#[derive(Debug, Clone, Default)]
pub struct HeldBytes {
    pub pieces: Vec<Spliced>,
}

impl HeldBytes {
    pub fn len(&self) -> usize {
        self.pieces.iter().map(Spliced::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The same runs of the same open files, and the same bytes in memory.
impl PartialEq for HeldBytes {
    fn eq(&self, other: &Self) -> bool {
        self.pieces.len() == other.pieces.len()
            && self
                .pieces
                .iter()
                .zip(&other.pieces)
                .all(|pair| match pair {
                    (Spliced::File(a), Spliced::File(b)) => {
                        Arc::ptr_eq(&a.file, &b.file) && a.position == b.position && a.len == b.len
                    }
                    (Spliced::Memory(a), Spliced::Memory(b)) => a == b,
                    _ => false,
                })
    }
}

/// Encodes `held` as a byte field's content (its length prefix already
/// written): spliced when splicing is on for `buf`, else read into it.
pub fn encode_held(held: &HeldBytes, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let spliced = ACTIVE.with(|active| match active.borrow_mut().as_mut() {
        Some(active) if active.target == address(buf) => {
            let at = buf.len();
            active
                .splices
                .extend(held.pieces.iter().map(|piece| Splice {
                    at,
                    data: piece.clone(),
                }));
            true
        }
        _ => false,
    });
    if !spliced {
        buf.reserve(held.len());
        for piece in &held.pieces {
            match piece {
                Spliced::Memory(bytes) => buf.extend_from_slice(bytes),
                Spliced::File(range) => range
                    .read_into(buf)
                    .map_err(|e| EncodeError::FileRead(e.to_string()))?,
            }
        }
    }
    Ok(())
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
                data: Spliced::Memory(bytes.clone()),
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
    splices.iter().map(|s| s.data.len()).sum()
}

/// One piece of an encoding: bytes in memory, or a run of a file.
#[derive(Debug, Clone, Copy)]
pub enum Piece<'a> {
    Memory(&'a [u8]),
    File(&'a FileRange),
}

/// The pieces of the whole encoding, in order: the buffer cut at each
/// splice point with the spliced data between.
pub fn pieces<'a>(buf: &'a [u8], splices: &'a [Splice]) -> Vec<Piece<'a>> {
    let mut pieces = Vec::with_capacity(2 * splices.len() + 1);
    let mut from = 0;
    for splice in splices {
        pieces.push(Piece::Memory(&buf[from..splice.at]));
        pieces.push(match &splice.data {
            Spliced::Memory(bytes) => Piece::Memory(&bytes[..]),
            Spliced::File(range) => Piece::File(range),
        });
        from = splice.at;
    }
    pieces.push(Piece::Memory(&buf[from..]));
    pieces.retain(|p| match p {
        Piece::Memory(bytes) => !bytes.is_empty(),
        Piece::File(range) => range.len > 0,
    });
    pieces
}

/// The whole encoding in one buffer, file runs read in (for tests and
/// for writers that cannot send from files).
pub fn assemble(buf: &[u8], splices: &[Splice]) -> std::io::Result<Vec<u8>> {
    let mut whole = BytesMut::with_capacity(buf.len() + spliced_len(splices));
    for piece in pieces(buf, splices) {
        match piece {
            Piece::Memory(bytes) => whole.put_slice(bytes),
            Piece::File(range) => range.read_into(&mut whole)?,
        }
    }
    Ok(whole.to_vec())
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
        assert_eq!(assemble(&out, &splices).expect("assembles"), plain.to_vec());
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
