//! A produce request's batches as buffers of their own, which the log
//! rewrites in place (offsets, leader epoch) and its tail cache may keep:
//! cut out of the request's frame without a copy when nothing else holds
//! it.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use strom_protocol::messages::ProduceRequest;
use strom_storage::AppendBytes;

/// A partition's batches, as a buffer of their own that the log may
/// rewrite in place.
pub(super) struct StagedBytes {
    pub(super) bytes: BytesMut,
    /// Whether the tail cache may keep `bytes` as they are. A piece cut
    /// out of a request's frame keeps the frame's whole buffer alive, so
    /// only a piece of at least half of it is kept so (the cache, which
    /// counts what it keeps by length, then holds at most twice that);
    /// the cache copies smaller ones.
    keep_as_is: bool,
}

impl AsRef<[u8]> for StagedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsMut<[u8]> for StagedBytes {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl AppendBytes for &mut StagedBytes {
    fn keep(self) -> Bytes {
        if self.keep_as_is {
            (&mut self.bytes).keep()
        } else {
            (&self.bytes[..]).keep()
        }
    }
}

/// Takes every partition's records out of `request`, in request order
/// (topic by topic, partition by partition), as buffers the log may
/// rewrite in place. The records are slices of `frame`: once they are
/// taken out nothing else holds it, and they are cut out of it without a
/// copy (a copy of every produced byte and a fresh buffer per partition
/// were about 5% of the broker's CPU under a producer with four consumer
/// groups). Records from anywhere else, or a frame still shared, are
/// copied.
pub(super) fn cut_records(request: &mut ProduceRequest, frame: Bytes) -> Vec<Option<StagedBytes>> {
    enum Found {
        InFrame(Range<usize>),
        Elsewhere(Bytes),
    }
    let frame_start = frame.as_ptr() as usize;
    let frame_len = frame.len();
    let found: Vec<Option<Found>> = request
        .topic_data
        .iter_mut()
        .flat_map(|topic| topic.partition_data.iter_mut())
        .map(|data| {
            data.records.take().map(|records| {
                let start = (records.as_ptr() as usize).wrapping_sub(frame_start);
                if start <= frame_len && records.len() <= frame_len - start {
                    Found::InFrame(start..start + records.len())
                } else {
                    Found::Elsewhere(records)
                }
            })
        })
        .collect();
    // Fields of one frame, decoded in order: the pieces follow each other.
    let mut end = 0;
    let in_order = found.iter().flatten().all(|found| match found {
        Found::InFrame(range) => std::mem::replace(&mut end, range.end) <= range.start,
        Found::Elsewhere(_) => true,
    });
    let mut source = if in_order {
        // `held`: the memory a kept piece holds alive (the read buffer
        // may be larger than the frame).
        frame.try_into_mut().map(|rest| {
            let held = rest.capacity();
            (rest, held)
        })
    } else {
        Err(frame)
    };
    let mut cut_to = 0;
    found
        .into_iter()
        .map(|found| {
            Some(match found? {
                Found::Elsewhere(records) => copied(&records),
                Found::InFrame(range) => match &mut source {
                    Ok((rest, held)) => {
                        rest.advance(range.start - cut_to);
                        cut_to = range.end;
                        StagedBytes {
                            keep_as_is: range.len() * 2 >= *held,
                            bytes: rest.split_to(range.len()),
                        }
                    }
                    Err(frame) => copied(&frame[range]),
                },
            })
        })
        .collect()
}

/// Batches in a buffer of their own, sized to them.
fn copied(records: &[u8]) -> StagedBytes {
    StagedBytes {
        bytes: BytesMut::from(records),
        keep_as_is: true,
    }
}

#[cfg(test)]
mod tests {
    use strom_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};

    use super::*;

    /// A request whose partitions' records are the given slices.
    fn request_of(topics: Vec<Vec<Option<Bytes>>>) -> ProduceRequest {
        ProduceRequest {
            topic_data: topics
                .into_iter()
                .map(|partitions| TopicProduceData {
                    partition_data: partitions
                        .into_iter()
                        .enumerate()
                        .map(|(index, records)| PartitionProduceData {
                            index: index as i32,
                            records,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn numbered(len: usize) -> Bytes {
        (0..len).map(|i| i as u8).collect::<Vec<u8>>().into()
    }

    #[test]
    fn records_are_cut_out_of_the_frame_without_a_copy() {
        let frame = numbered(200);
        let frame_bytes = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
        let mut request = request_of(vec![
            vec![Some(frame.slice(10..130)), None],
            vec![Some(frame.slice(140..150))],
        ]);
        let cut = cut_records(&mut request, frame.clone());
        // The test's own handle kept the frame shared: copies, all kept.
        let copied: Vec<_> = cut
            .iter()
            .map(|c| c.as_ref().map(|c| c.keep_as_is))
            .collect();
        assert_eq!(copied, [Some(true), None, Some(true)]);
        assert!(cut
            .iter()
            .flatten()
            .all(|c| !frame_bytes.contains(&(c.bytes.as_ptr() as usize))));

        let mut request = request_of(vec![
            vec![Some(frame.slice(10..130)), None],
            vec![Some(frame.slice(140..150))],
        ]);
        drop(frame);
        let cut = cut_records(&mut request, numbered(0));
        let copies: Vec<_> = cut
            .iter()
            .flatten()
            .map(|c| (c.keep_as_is, &c.bytes[..]))
            .collect();
        let whole = numbered(200);
        assert_eq!(
            copies,
            [(true, &whole[10..130]), (true, &whole[140..150])],
            "records from elsewhere are copied"
        );

        let frame = numbered(200);
        let frame_bytes = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
        let mut request = request_of(vec![
            vec![Some(frame.slice(10..130)), None],
            vec![Some(frame.slice(140..150))],
        ]);
        let cut = cut_records(&mut request, frame);
        let pieces: Vec<_> = cut.into_iter().collect();
        let [Some(big), None, Some(small)] = &pieces[..] else {
            panic!("one piece per partition with records, in order");
        };
        assert_eq!(&big.bytes[..], &numbered(200)[10..130]);
        assert_eq!(&small.bytes[..], &numbered(200)[140..150]);
        assert!(
            frame_bytes.contains(&(big.bytes.as_ptr() as usize)),
            "not copied"
        );
        assert!(
            frame_bytes.contains(&(small.bytes.as_ptr() as usize)),
            "not copied"
        );
        assert!(big.keep_as_is, "most of the frame: the cache may keep it");
        assert!(!small.keep_as_is, "would pin a frame 20 times its size");
        assert!(request
            .topic_data
            .iter()
            .flat_map(|t| &t.partition_data)
            .all(|p| p.records.is_none()));
    }

    #[test]
    fn a_piece_is_kept_as_it_is_only_when_it_is_half_of_the_buffer_it_holds() {
        let mut buffer = BytesMut::with_capacity(400);
        buffer.extend_from_slice(&numbered(200));
        let frame = buffer.freeze();
        let mut request = request_of(vec![vec![Some(frame.slice(10..130))]]);
        let cut = cut_records(&mut request, frame);
        let piece = cut[0].as_ref().expect("the records");
        assert_eq!(&piece.bytes[..], &numbered(200)[10..130]);
        assert!(!piece.keep_as_is, "120 bytes would hold a 400-byte buffer");
    }

    #[test]
    fn a_piece_the_cache_keeps_is_the_stamped_bytes_and_a_small_one_is_copied() {
        let frame = numbered(100);
        let mut request = request_of(vec![vec![
            Some(frame.slice(0..80)),
            Some(frame.slice(80..100)),
        ]]);
        let mut cut = cut_records(&mut request, frame).into_iter().flatten();
        let (mut big, mut small) = (cut.next().unwrap(), cut.next().unwrap());
        big.as_mut()[0] = 0xff;
        small.as_mut()[0] = 0xee;
        let (big_at, small_at) = (big.bytes.as_ptr(), small.bytes.as_ptr());
        let kept_big = (&mut big).keep();
        let kept_small = (&mut small).keep();
        assert_eq!(kept_big.as_ptr(), big_at, "kept as it is");
        assert_ne!(kept_small.as_ptr(), small_at, "copied");
        assert_eq!((kept_big[0], kept_big.len()), (0xff, 80));
        assert_eq!((kept_small[0], kept_small.len()), (0xee, 20));
    }
}
