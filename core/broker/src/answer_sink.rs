//! Writing an encoded answer to its connection: the frame's own bytes
//! with vectored writes, and record data that still lies in segment files
//! (see `strom_protocol::splice`) from the file to the socket.
//!
//! On a plain TCP socket that is `sendfile`: the kernel hands the page
//! cache's pages to the socket, and the broker never copies record data
//! through memory of its own (a catch-up read used to spend nearly half
//! its CPU on the two copies of a read into a buffer and a write out of
//! it). TLS has to encrypt what it sends, so there the data is read and
//! written a chunk at a time.

use std::io::{self, IoSlice};

use strom_protocol::splice::{FileRange, Piece};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, Interest, WriteHalf};
use tokio::net::tcp::OwnedWriteHalf;

/// What a TLS connection reads of a file run at a time.
const FILE_CHUNK: usize = 64 * 1024;

/// The write side of a client connection.
pub(crate) trait AnswerSink: AsyncWrite + Unpin {
    /// Sends `range` of its file.
    async fn send_file(&mut self, range: &FileRange) -> io::Result<()>;
}

impl AnswerSink for OwnedWriteHalf {
    async fn send_file(&mut self, range: &FileRange) -> io::Result<()> {
        let socket: &tokio::net::TcpStream = self.as_ref();
        let mut position = range.position;
        let end = range.position + u64::from(range.len);
        while position < end {
            let count = usize::try_from(end - position).unwrap_or(usize::MAX);
            let sent = loop {
                socket.writable().await?;
                let attempt = socket.try_io(Interest::WRITABLE, || {
                    let mut at = position;
                    rustix::fs::sendfile(socket, &*range.file, Some(&mut at), count)
                        .map_err(io::Error::from)
                });
                match attempt {
                    Ok(sent) => break sent,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return Err(e),
                }
            };
            if sent == 0 {
                return Err(file_ended(range, position));
            }
            position += sent as u64;
        }
        Ok(())
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AnswerSink for WriteHalf<T> {
    async fn send_file(&mut self, range: &FileRange) -> io::Result<()> {
        let mut position = range.position;
        let end = range.position + u64::from(range.len);
        // Per run, not per connection: an idle TLS connection keeps none.
        let mut chunk = vec![0u8; (range.len as usize).min(FILE_CHUNK)];
        while position < end {
            let len = usize::try_from(end - position)
                .unwrap_or(usize::MAX)
                .min(FILE_CHUNK);
            let read = match rustix::io::pread(&*range.file, &mut chunk[..len], position) {
                Ok(read) => read,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            if read == 0 {
                return Err(file_ended(range, position));
            }
            self.write_all(&chunk[..read]).await?;
            position += read as u64;
        }
        Ok(())
    }
}

/// The file was cut shorter after the answer promised its bytes (a
/// follower truncating its log): the frame cannot be finished, so the
/// connection must close.
fn file_ended(range: &FileRange, at: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "segment file ended at byte {at}, inside the run {}..{} an answer was sending",
            range.position,
            range.position + u64::from(range.len)
        ),
    )
}

/// Writes `pieces` in order: runs of memory pieces with as few system
/// calls as the socket allows, file pieces with [`AnswerSink::send_file`].
pub(crate) async fn write_pieces(
    sink: &mut impl AnswerSink,
    pieces: &[Piece<'_>],
) -> io::Result<()> {
    let mut at = 0;
    while at < pieces.len() {
        if let Piece::File(range) = pieces[at] {
            sink.send_file(range).await?;
            at += 1;
            continue;
        }
        let memory: Vec<&[u8]> = pieces[at..]
            .iter()
            .map_while(|piece| match piece {
                Piece::Memory(bytes) => Some(*bytes),
                Piece::File(_) => None,
            })
            .collect();
        at += memory.len();
        write_memory(sink, &memory).await?;
    }
    Ok(())
}

async fn write_memory(sink: &mut impl AnswerSink, pieces: &[&[u8]]) -> io::Result<()> {
    // Linux takes at most 1024 pieces per writev.
    const MAX_PIECES: usize = 512;
    let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|p| IoSlice::new(p)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let batch = rest.len().min(MAX_PIECES);
        let written = sink.write_vectored(&rest[..batch]).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, written);
    }
    Ok(())
}
