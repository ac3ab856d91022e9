//! Zigzag varints as records use them (protobuf style, like Kafka's
//! `ByteUtils.readVarint`/`readVarlong`), and a bounds-checked cursor.
//!
//! Every read checks the bytes that remain, so a length or count from the
//! wire can never index past the input or size an allocation.

/// Longest encodings Kafka accepts: 5 bytes for an int, 10 for a long.
const MAX_VARINT_LEN: usize = 5;
const MAX_VARLONG_LEN: usize = 10;

/// Why a read failed. These are static strings because they end up as the
/// reason of [`super::RecordError::MalformedRecord`].
pub(crate) type ReadError = &'static str;

/// A read position over a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn read_i8(&mut self) -> Result<i8, ReadError> {
        let byte = *self
            .buf
            .get(self.pos)
            .ok_or("ends inside a fixed-size field")?;
        self.pos += 1;
        Ok(byte as i8)
    }

    /// The next `len` bytes, or an error if fewer remain.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], ReadError> {
        if len > self.remaining() {
            return Err("a length runs past the end of the data");
        }
        let slice = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    fn read_unsigned(&mut self, max_len: usize) -> Result<u64, ReadError> {
        let mut value = 0u64;
        for i in 0..max_len {
            let byte = *self.buf.get(self.pos).ok_or("ends inside a varint")?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint is longer than its type allows")
    }

    /// A zigzag varint (int32). Bits past 32 in a 5-byte encoding are
    /// dropped, as Java's int arithmetic drops them.
    pub(crate) fn read_varint(&mut self) -> Result<i32, ReadError> {
        let raw = self.read_unsigned(MAX_VARINT_LEN)? as u32;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// A zigzag varlong (int64).
    pub(crate) fn read_varlong(&mut self) -> Result<i64, ReadError> {
        let raw = self.read_unsigned(MAX_VARLONG_LEN)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// A varint length followed by that many bytes; -1 means null and any
    /// other negative length is an error.
    pub(crate) fn read_nullable_bytes(&mut self) -> Result<Option<&'a [u8]>, ReadError> {
        match self.read_varint()? {
            -1 => Ok(None),
            len if len < 0 => Err("negative length other than -1"),
            len => self.take(len as usize).map(Some),
        }
    }
}

pub(crate) fn write_varint(value: i32, out: &mut Vec<u8>) {
    write_unsigned(((value << 1) ^ (value >> 31)) as u32 as u64, out);
}

pub(crate) fn write_varlong(value: i64, out: &mut Vec<u8>) {
    write_unsigned(((value << 1) ^ (value >> 63)) as u64, out);
}

/// How many bytes [`write_varint`] writes for `value`.
pub(crate) fn varint_len(value: i32) -> usize {
    unsigned_len(((value << 1) ^ (value >> 31)) as u32 as u64)
}

/// How many bytes [`write_varlong`] writes for `value`.
pub(crate) fn varlong_len(value: i64) -> usize {
    unsigned_len(((value << 1) ^ (value >> 63)) as u64)
}

fn unsigned_len(value: u64) -> usize {
    // Seven bits per byte; zero still takes one byte.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn write_unsigned(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for value in [0, 1, -1, 63, -64, 64, -65, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            write_varint(value, &mut out);
            assert!(out.len() <= MAX_VARINT_LEN);
            assert_eq!(varint_len(value), out.len(), "{value}");
            let mut cursor = Cursor::new(&out);
            assert_eq!(cursor.read_varint(), Ok(value));
            assert!(cursor.is_empty());
        }
        for value in [0, 1, -1, i64::from(i32::MAX) + 1, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            write_varlong(value, &mut out);
            assert!(out.len() <= MAX_VARLONG_LEN);
            assert_eq!(varlong_len(value), out.len(), "{value}");
            assert_eq!(Cursor::new(&out).read_varlong(), Ok(value));
        }
    }

    #[test]
    fn zigzag_matches_the_protobuf_encoding() {
        // 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3; 300 zigzags to 600, which is d8 04.
        let cases: [(i32, &[u8]); 5] = [
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (300, &[0xd8, 0x04]),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            write_varint(value, &mut out);
            assert_eq!(out, bytes, "{value}");
        }
    }

    #[test]
    fn overlong_and_truncated_varints_are_errors() {
        assert!(Cursor::new(&[0x80; 6]).read_varint().is_err());
        assert!(Cursor::new(&[0x80; 11]).read_varlong().is_err());
        assert!(Cursor::new(&[0x80]).read_varint().is_err());
        assert!(Cursor::new(&[]).read_varint().is_err());
    }

    #[test]
    fn lengths_past_the_end_are_errors_not_panics() {
        let mut out = Vec::new();
        write_varint(i32::MAX, &mut out);
        assert!(Cursor::new(&out).read_nullable_bytes().is_err());
        let mut out = Vec::new();
        write_varint(-2, &mut out);
        assert!(Cursor::new(&out).read_nullable_bytes().is_err());
    }
}
