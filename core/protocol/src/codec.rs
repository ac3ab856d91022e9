//! Primitive encodings of the Kafka protocol and the [`Field`] trait the
//! generated messages are built from.
//!
//! Decoding reads from a [`Bytes`] that holds exactly one frame, so every
//! length and count is checked against what is left before anything is
//! allocated: a count of `i32::MAX` in a 20-byte frame is an error, not a
//! 16 GiB allocation.

use std::cell::Cell;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};

thread_local! {
    /// Bytes the arrays being decoded on this thread may still take; see
    /// [`decode_within`]. Unlimited outside it.
    static ARRAY_BUDGET: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Runs `decode` with at most `budget` bytes for the arrays it decodes:
/// each array is charged its count times its elements' size in memory
/// before they are decoded, and one that does not fit fails with
/// [`DecodeError::OverBudget`]; returns the value and the bytes its
/// arrays took. The check against the bytes left in the
/// frame bounds an array by its wire bytes, but an element of a few wire
/// bytes can take 20 times that once decoded: a server bounds what a
/// request may grow into with this. Decoding is synchronous, so the
/// budget is the thread's for exactly this call.
pub fn decode_within<T>(
    budget: usize,
    decode: impl FnOnce() -> Result<T, DecodeError>,
) -> Result<(T, usize), DecodeError> {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            ARRAY_BUDGET.set(self.0);
        }
    }
    let _restore = Restore(ARRAY_BUDGET.replace(budget));
    let decoded = decode()?;
    Ok((decoded, budget - ARRAY_BUDGET.get()))
}

/// Takes `count` elements of `T` from the budget of [`decode_within`].
fn charge_elements<T>(count: usize) -> Result<(), DecodeError> {
    let wanted = count.saturating_mul(std::mem::size_of::<T>());
    let left = ARRAY_BUDGET.get();
    if wanted > left {
        return Err(DecodeError::OverBudget { wanted, left });
    }
    ARRAY_BUDGET.set(left - wanted);
    Ok(())
}

/// What a field's encoding depends on besides its value.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub version: i16,
    /// Flexible versions (KIP-482) use compact lengths and tagged fields.
    pub flexible: bool,
    /// Whether null is allowed for this field in this version.
    pub nullable: bool,
    /// Field name, for error messages.
    pub name: &'static str,
}

/// A value that can be written to and read from the wire.
pub trait Field: Sized {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError>;
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError>;
}

/// A top-level message or a struct inside one, encoded per version.
pub trait Message: Sized {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError>;
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError>;
}

/// A tagged field this code does not know, kept so it survives a re-encode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawTaggedField {
    pub tag: u32,
    pub data: Bytes,
}

pub fn ensure(buf: &Bytes, needed: usize) -> Result<(), DecodeError> {
    if buf.remaining() < needed {
        return Err(DecodeError::UnexpectedEof {
            needed,
            remaining: buf.remaining(),
        });
    }
    Ok(())
}

macro_rules! fixed_width {
    ($t:ty, $put:ident, $get:ident) => {
        impl Field for $t {
            fn encode(&self, buf: &mut BytesMut, _ctx: Ctx) -> Result<(), EncodeError> {
                buf.$put(*self);
                Ok(())
            }
            fn decode(buf: &mut Bytes, _ctx: Ctx) -> Result<Self, DecodeError> {
                ensure(buf, std::mem::size_of::<$t>())?;
                Ok(buf.$get())
            }
        }
    };
}

fixed_width!(i8, put_i8, get_i8);
fixed_width!(i16, put_i16, get_i16);
fixed_width!(i32, put_i32, get_i32);
fixed_width!(i64, put_i64, get_i64);
fixed_width!(u16, put_u16, get_u16);
fixed_width!(u32, put_u32, get_u32);
fixed_width!(f64, put_f64, get_f64);

impl Field for bool {
    fn encode(&self, buf: &mut BytesMut, _ctx: Ctx) -> Result<(), EncodeError> {
        buf.put_u8(u8::from(*self));
        Ok(())
    }
    fn decode(buf: &mut Bytes, _ctx: Ctx) -> Result<Self, DecodeError> {
        ensure(buf, 1)?;
        match buf.get_u8() {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::InvalidBool(other)),
        }
    }
}

/// A 128-bit UUID as Kafka sends it (topic ids, directory ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    pub const ZERO: Uuid = Uuid([0; 16]);
}

impl Field for Uuid {
    fn encode(&self, buf: &mut BytesMut, _ctx: Ctx) -> Result<(), EncodeError> {
        buf.put_slice(&self.0);
        Ok(())
    }
    fn decode(buf: &mut Bytes, _ctx: Ctx) -> Result<Self, DecodeError> {
        ensure(buf, 16)?;
        let mut id = [0u8; 16];
        buf.copy_to_slice(&mut id);
        Ok(Uuid(id))
    }
}

pub fn put_uvarint(buf: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

pub fn get_uvarint(buf: &mut Bytes) -> Result<u32, DecodeError> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        ensure(buf, 1)?;
        let byte = buf.get_u8();
        if shift == 28 && byte > 0x0f {
            return Err(DecodeError::VarintOverflow);
        }
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::VarintOverflow)
}

/// Writes a length (or -1 for null) in the form the context calls for:
/// `int16`/`int32` in classic versions, unsigned varint of length+1 in
/// flexible versions.
fn put_length(
    buf: &mut BytesMut,
    len: Option<usize>,
    ctx: Ctx,
    wide: bool,
) -> Result<(), EncodeError> {
    if ctx.flexible {
        let n = match len {
            None => 0,
            Some(l) => u32::try_from(l).ok().and_then(|l| l.checked_add(1)).ok_or(
                EncodeError::TooLong {
                    what: ctx.name,
                    len: l,
                },
            )?,
        };
        put_uvarint(buf, n);
    } else if wide {
        let n = match len {
            None => -1,
            Some(l) => i32::try_from(l).map_err(|_| EncodeError::TooLong {
                what: ctx.name,
                len: l,
            })?,
        };
        buf.put_i32(n);
    } else {
        let n = match len {
            None => -1,
            Some(l) => i16::try_from(l).map_err(|_| EncodeError::TooLong {
                what: ctx.name,
                len: l,
            })?,
        };
        buf.put_i16(n);
    }
    Ok(())
}

/// Reads a length; `None` means null. Negative values other than the null
/// marker are errors.
fn get_length(buf: &mut Bytes, ctx: Ctx, wide: bool) -> Result<Option<usize>, DecodeError> {
    let raw: i64 = if ctx.flexible {
        i64::from(get_uvarint(buf)?) - 1
    } else if wide {
        ensure(buf, 4)?;
        i64::from(buf.get_i32())
    } else {
        ensure(buf, 2)?;
        i64::from(buf.get_i16())
    };
    match raw {
        -1 => Ok(None),
        n if n < 0 => Err(DecodeError::NegativeLength(n)),
        n => Ok(Some(n as usize)),
    }
}

fn get_nonnull_length(buf: &mut Bytes, ctx: Ctx, wide: bool) -> Result<usize, DecodeError> {
    get_length(buf, ctx, wide)?.ok_or(DecodeError::UnexpectedNull(ctx.name))
}

fn take_bytes(buf: &mut Bytes, len: usize) -> Result<Bytes, DecodeError> {
    ensure(buf, len)?;
    Ok(buf.split_to(len))
}

fn take_string(buf: &mut Bytes, len: usize) -> Result<String, DecodeError> {
    let raw = take_bytes(buf, len)?;
    String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::InvalidUtf8)
}

impl Field for String {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        put_length(buf, Some(self.len()), ctx, false)?;
        buf.put_slice(self.as_bytes());
        Ok(())
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        let len = get_nonnull_length(buf, ctx, false)?;
        take_string(buf, len)
    }
}

impl Field for Option<String> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(s) => s.encode(buf, ctx),
            None if ctx.nullable => put_length(buf, None, ctx, false),
            None => Err(EncodeError::NullNotAllowed(ctx.name)),
        }
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        match get_length(buf, ctx, false)? {
            Some(len) => Ok(Some(take_string(buf, len)?)),
            None if ctx.nullable => Ok(None),
            None => Err(DecodeError::UnexpectedNull(ctx.name)),
        }
    }
}

impl Field for Bytes {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        put_length(buf, Some(self.len()), ctx, true)?;
        if !crate::splice::take(buf, self) {
            buf.put_slice(self);
        }
        Ok(())
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        let len = get_nonnull_length(buf, ctx, true)?;
        take_bytes(buf, len)
    }
}

/// A byte field whose content is still in files or in pieces in memory
/// (see [`crate::splice`]).
pub fn encode_held_field(
    held: &crate::splice::HeldBytes,
    buf: &mut BytesMut,
    ctx: Ctx,
) -> Result<(), EncodeError> {
    put_length(buf, Some(held.len()), ctx, true)?;
    crate::splice::encode_held(held, buf)
}

impl Field for Option<Bytes> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(b) => b.encode(buf, ctx),
            None if ctx.nullable => put_length(buf, None, ctx, true),
            None => Err(EncodeError::NullNotAllowed(ctx.name)),
        }
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        match get_length(buf, ctx, true)? {
            Some(len) => Ok(Some(take_bytes(buf, len)?)),
            None if ctx.nullable => Ok(None),
            None => Err(DecodeError::UnexpectedNull(ctx.name)),
        }
    }
}

/// Arrays: every element takes at least one byte on the wire, so a count
/// larger than the bytes left is rejected before allocating.
fn decode_elements<T: Field>(
    buf: &mut Bytes,
    count: usize,
    ctx: Ctx,
) -> Result<Vec<T>, DecodeError> {
    if count > buf.remaining() {
        return Err(DecodeError::CountExceedsFrame {
            count,
            remaining: buf.remaining(),
        });
    }
    charge_elements::<T>(count)?;
    let element_ctx = Ctx {
        nullable: false,
        ..ctx
    };
    // `count` is bounded by the bytes left, but an element can be far larger
    // in memory than its one wire byte: cap the up-front reservation in
    // bytes too, and let the vector grow if the elements really are there.
    let max_reserved = buf.remaining() / std::mem::size_of::<T>().max(1);
    let mut items = Vec::with_capacity(count.min(max_reserved));
    for _ in 0..count {
        items.push(T::decode(buf, element_ctx)?);
    }
    Ok(items)
}

fn encode_elements<T: Field>(items: &[T], buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
    let element_ctx = Ctx {
        nullable: false,
        ..ctx
    };
    for item in items {
        item.encode(buf, element_ctx)?;
    }
    Ok(())
}

impl<T: Field> Field for Vec<T> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        put_length(buf, Some(self.len()), ctx, true)?;
        encode_elements(self, buf, ctx)
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        let count = get_nonnull_length(buf, ctx, true)?;
        decode_elements(buf, count, ctx)
    }
}

impl<T: Field> Field for Option<Vec<T>> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(items) => items.encode(buf, ctx),
            None if ctx.nullable => put_length(buf, None, ctx, true),
            None => Err(EncodeError::NullNotAllowed(ctx.name)),
        }
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        match get_length(buf, ctx, true)? {
            Some(count) => Ok(Some(decode_elements(buf, count, ctx)?)),
            None if ctx.nullable => Ok(None),
            None => Err(DecodeError::UnexpectedNull(ctx.name)),
        }
    }
}

/// Generated structs are fields too: nested in arrays, or inline.
impl<M: Message> Field for M {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        Message::encode(self, buf, ctx.version)
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        <M as Message>::decode(buf, ctx.version)
    }
}

/// A nullable inline struct: an int8 marker, -1 for null and 1 for present.
pub fn encode_nullable_struct<M: Message>(
    value: &Option<M>,
    buf: &mut BytesMut,
    ctx: Ctx,
) -> Result<(), EncodeError> {
    match value {
        Some(v) => {
            buf.put_i8(1);
            v.encode(buf, ctx.version)
        }
        None if ctx.nullable => {
            buf.put_i8(-1);
            Ok(())
        }
        None => Err(EncodeError::NullNotAllowed(ctx.name)),
    }
}

pub fn decode_nullable_struct<M: Message>(
    buf: &mut Bytes,
    ctx: Ctx,
) -> Result<Option<M>, DecodeError> {
    ensure(buf, 1)?;
    if buf.get_i8() < 0 {
        if ctx.nullable {
            return Ok(None);
        }
        return Err(DecodeError::UnexpectedNull(ctx.name));
    }
    Ok(Some(M::decode(buf, ctx.version)?))
}

/// Writes the tagged-field section: the known fields the generated code
/// already encoded (tag, bytes), then the unknown ones kept from decoding,
/// all in ascending tag order.
pub fn encode_tagged_fields(
    buf: &mut BytesMut,
    known: Vec<(u32, BytesMut)>,
    unknown: &[RawTaggedField],
) -> Result<(), EncodeError> {
    let mut all: Vec<(u32, &[u8])> = known.iter().map(|(t, b)| (*t, &b[..])).collect();
    all.extend(unknown.iter().map(|f| (f.tag, &f.data[..])));
    all.sort_by_key(|(tag, _)| *tag);
    // An unknown field kept under a tag this version now knows would be
    // written twice, and peers refuse repeated tags.
    if let Some(pair) = all.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(EncodeError::DuplicateTag(pair[0].0));
    }
    let count = u32::try_from(all.len()).map_err(|_| EncodeError::TooLong {
        what: "tagged fields",
        len: all.len(),
    })?;
    put_uvarint(buf, count);
    for (tag, data) in all {
        put_uvarint(buf, tag);
        let len = u32::try_from(data.len()).map_err(|_| EncodeError::TooLong {
            what: "tagged field",
            len: data.len(),
        })?;
        put_uvarint(buf, len);
        buf.put_slice(data);
    }
    Ok(())
}

/// Reads the tagged-field section, handing each known tag's bytes to
/// `known` (which returns false for tags it does not know) and keeping the
/// rest. Each field is decoded from its own slice so it cannot read past
/// its declared size.
pub fn decode_tagged_fields(
    buf: &mut Bytes,
    mut known: impl FnMut(u32, &mut Bytes) -> Result<bool, DecodeError>,
) -> Result<Vec<RawTaggedField>, DecodeError> {
    let count = get_uvarint(buf)? as usize;
    if count > buf.remaining() {
        return Err(DecodeError::CountExceedsFrame {
            count,
            remaining: buf.remaining(),
        });
    }
    let mut unknown = Vec::new();
    let mut last_tag: Option<u32> = None;
    for _ in 0..count {
        let tag = get_uvarint(buf)?;
        if last_tag.is_some_and(|last| tag <= last) {
            return Err(DecodeError::TaggedFieldOrder(tag));
        }
        last_tag = Some(tag);
        let size = get_uvarint(buf)? as usize;
        let mut data = take_bytes(buf, size)?;
        let original = data.clone();
        if known(tag, &mut data)? {
            if data.has_remaining() {
                return Err(DecodeError::TaggedFieldSize {
                    tag,
                    declared: size,
                    used: size - data.remaining(),
                });
            }
        } else {
            charge_elements::<RawTaggedField>(1)?;
            unknown.push(RawTaggedField {
                tag,
                data: original,
            });
        }
    }
    Ok(unknown)
}

#[cfg(any(test, feature = "sample"))]
pub use sample::{exercise, Exercise, Sample, SampleRng, SampleValue};

/// Test support: pseudo-random values for every generated message, so tests
/// can round-trip each message at each version. Compiled only for tests and
/// under the `sample` feature.
#[cfg(any(test, feature = "sample"))]
mod sample {
    use std::fmt::Debug;

    use bytes::{Bytes, BytesMut};

    use super::{Message, Uuid};
    use crate::error::DecodeError;

    /// A small deterministic generator (SplitMix64): the same seed gives the
    /// same sample, so a failure names a seed that reproduces it.
    #[derive(Debug, Clone)]
    pub struct SampleRng(u64);

    impl SampleRng {
        pub fn new(seed: u64) -> Self {
            SampleRng(seed)
        }

        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// A number in `0..n` (`n` > 0).
        pub fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }

        /// Overwrites `slot` (which holds the field's default) with a sample
        /// that differs from that default, so a field the codec forgot to
        /// write or read shows up as a mismatch. One time in eight any value
        /// is kept, so empty arrays and default values are covered too.
        pub fn fill<T: SampleValue + PartialEq>(
            &mut self,
            slot: &mut T,
            version: i16,
            nullable: bool,
        ) {
            for _ in 0..16 {
                let value = T::sample_value(version, nullable, self);
                if value != *slot || self.below(8) == 0 {
                    *slot = value;
                    return;
                }
            }
        }
    }

    /// A generated struct that can make a sample of itself for a version:
    /// every field present in that version is set, absent ones keep their
    /// defaults.
    pub trait Sample: Sized {
        fn sample(version: i16, rng: &mut SampleRng) -> Self;
    }

    /// A field value that can be sampled; `nullable` says whether null is
    /// allowed in this version.
    pub trait SampleValue: Sized {
        fn sample_value(version: i16, nullable: bool, rng: &mut SampleRng) -> Self;
    }

    macro_rules! sample_int {
        ($($t:ty),*) => {$(
            impl SampleValue for $t {
                fn sample_value(_version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
                    rng.next_u64() as $t
                }
            }
        )*};
    }
    sample_int!(i8, i16, i32, i64, u16, u32);

    impl SampleValue for bool {
        fn sample_value(_version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
            rng.below(2) == 1
        }
    }

    impl SampleValue for f64 {
        /// Integral values, so equality after a round trip is exact.
        fn sample_value(_version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
            f64::from(rng.next_u64() as i32)
        }
    }

    impl SampleValue for Uuid {
        fn sample_value(_version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            id[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            Uuid(id)
        }
    }

    impl SampleValue for String {
        fn sample_value(_version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
            let len = rng.below(9);
            (0..len)
                .map(|_| char::from(b' ' + rng.below(95) as u8))
                .collect()
        }
    }

    impl SampleValue for Bytes {
        fn sample_value(_version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
            let len = rng.below(9);
            (0..len).map(|_| rng.next_u64() as u8).collect()
        }
    }

    impl<T: SampleValue> SampleValue for Vec<T> {
        fn sample_value(version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
            let len = rng.below(4);
            (0..len)
                .map(|_| T::sample_value(version, false, rng))
                .collect()
        }
    }

    impl<T: SampleValue> SampleValue for Option<T> {
        fn sample_value(version: i16, nullable: bool, rng: &mut SampleRng) -> Self {
            if nullable && rng.below(4) == 0 {
                None
            } else {
                Some(T::sample_value(version, false, rng))
            }
        }
    }

    impl<M: Sample> SampleValue for M {
        fn sample_value(version: i16, _nullable: bool, rng: &mut SampleRng) -> Self {
            M::sample(version, rng)
        }
    }

    /// One generated message type, type-erased so tests can loop over all
    /// of them.
    #[derive(Debug, Clone, Copy)]
    pub struct Exercise {
        pub name: &'static str,
        /// Lowest and highest version in the spec.
        pub versions: (i16, i16),
        /// Samples the message at `version`, encodes, decodes, compares and
        /// re-encodes; returns the encoding or what went wrong.
        pub round_trip: fn(i16, &mut SampleRng) -> Result<Bytes, String>,
        /// Decodes a body at `version`, requiring every byte to be used.
        pub decode: fn(Bytes, i16) -> Result<(), DecodeError>,
    }

    pub fn exercise<M>(name: &'static str, versions: (i16, i16)) -> Exercise
    where
        M: Message + Sample + PartialEq + Debug,
    {
        Exercise {
            name,
            versions,
            round_trip: round_trip::<M>,
            decode: decode_whole::<M>,
        }
    }

    fn round_trip<M: Message + Sample + PartialEq + Debug>(
        version: i16,
        rng: &mut SampleRng,
    ) -> Result<Bytes, String> {
        let original = M::sample(version, rng);
        let mut encoded = BytesMut::new();
        original
            .encode(&mut encoded, version)
            .map_err(|e| format!("encode failed: {e}; sample {original:?}"))?;
        let encoded = encoded.freeze();
        let mut input = encoded.clone();
        let decoded = M::decode(&mut input, version)
            .map_err(|e| format!("decode failed: {e}; sample {original:?}; bytes {encoded:?}"))?;
        if !input.is_empty() {
            return Err(format!(
                "{} bytes left after decode; sample {original:?}",
                input.len()
            ));
        }
        if decoded != original {
            return Err(format!(
                "decoded {decoded:?}\n  differs from sample {original:?}"
            ));
        }
        let mut again = BytesMut::new();
        decoded
            .encode(&mut again, version)
            .map_err(|e| format!("re-encode failed: {e}"))?;
        if again != encoded {
            return Err(format!("re-encoding differs: {again:?} vs {encoded:?}"));
        }
        Ok(encoded)
    }

    fn decode_whole<M: Message>(mut body: Bytes, version: i16) -> Result<(), DecodeError> {
        M::decode(&mut body, version)?;
        if !body.is_empty() {
            return Err(DecodeError::TrailingBytes(body.len()));
        }
        Ok(())
    }
}
