//! TCP transport: each frame is a u32 big-endian length and the body.

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use tidings_proto::TcpOutbox;

use super::{FrameLimit, FrameSink, FrameSource, TransportError};

/// Reads frames through a buffer that exists only while bytes are
/// waiting: it is taken when the socket has something to read and given
/// back once everything read was handed over and the socket has nothing
/// more, so an idle connection holds no read buffer.
pub struct TcpSource {
    read: OwnedReadHalf,
    buffer: Vec<u8>,
    /// Where the bytes not yet handed over start in `buffer`.
    start: usize,
    limit: FrameLimit,
}

/// Bytes a read takes at most (more for a frame that needs it).
const READ_CHUNK: usize = 8 * 1024;

/// Frames are encoded straight into the outbox, which goes to the socket
/// at a flush or once it is full, and is given back when the connection
/// has been quiet for a moment.
pub struct TcpSink {
    write: OwnedWriteHalf,
    outbox: TcpOutbox,
}

pub fn split(stream: TcpStream) -> (TcpSource, TcpSink) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    (
        TcpSource {
            read,
            buffer: Vec::new(),
            start: 0,
            limit: FrameLimit::before_login(),
        },
        TcpSink {
            write,
            outbox: TcpOutbox::new(),
        },
    )
}

impl TcpSink {
    async fn write_out(&mut self) -> Result<(), TransportError> {
        let written = self.write.write_all(self.outbox.bytes()).await.map_err(io);
        self.outbox.clear();
        written
    }
}

/// Whether a would-be length prefix is the start of an HTTP request (as a
/// length it is always far over the limit, so this costs a frame nothing).
fn looks_like_http(prefix: &[u8]) -> bool {
    const METHODS: [&[u8; 4]; 9] = [
        b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC",
    ];
    METHODS.iter().any(|m| prefix == &m[..])
}

fn io(e: std::io::Error) -> TransportError {
    TransportError::Io(e.to_string())
}

impl TcpSource {
    fn buffered(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    /// The next whole frame in the buffer, if there is one; an error for a
    /// length over the limit (before its body arrives).
    fn take_frame(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        let Some(prefix) = self.buffered().get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len > self.limit.get() && !self.limit.is_open() && looks_like_http(prefix) {
            return Err(TransportError::HttpOnTcp);
        }
        tidings_proto::check_frame_len_within(len, self.limit.get())?;
        let Some(body) = self.buffered().get(4..4 + len) else {
            return Ok(None);
        };
        let body = body.to_vec();
        self.start += 4 + len;
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        Ok(Some(body))
    }

    /// Reads more bytes; `false` at the end of the stream.
    async fn fill(&mut self) -> Result<bool, TransportError> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        loop {
            if self.buffer.is_empty() {
                // Nothing waiting: hold no buffer while the socket is quiet.
                self.buffer = Vec::new();
            }
            self.read.readable().await.map_err(io)?;
            // Room for a read, or for the rest of a frame whose length is known.
            let needed = match self.buffer.get(..4) {
                Some(p) => 4 + u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize,
                None => 0,
            };
            let want = needed.saturating_sub(self.buffer.len()).max(READ_CHUNK);
            self.buffer.reserve(want);
            match self.read.try_read_buf(&mut self.buffer) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                // Readiness was stale; it is cleared now, so the next wait waits.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }
}

impl FrameSource for TcpSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        loop {
            if let Some(frame) = self.take_frame()? {
                return Ok(Some(frame));
            }
            if !self.fill().await? {
                return if self.buffered().is_empty() {
                    Ok(None)
                } else {
                    Err(TransportError::Io("connection closed mid-frame".into()))
                };
            }
        }
    }

    fn buffered_frame(&mut self) -> Option<Vec<u8>> {
        self.take_frame().ok().flatten()
    }

    fn frame_limit(&self) -> &FrameLimit {
        &self.limit
    }
}

impl FrameSink for TcpSink {
    async fn feed<F: tidings_proto::WireFrame + Sync>(
        &mut self,
        frame: &F,
    ) -> Result<(), TransportError> {
        if self.outbox.push(frame) {
            self.write_out().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        self.write_out().await
    }

    async fn close(&mut self) {
        let _ = self.write_out().await;
        let _ = self.write.shutdown().await;
    }

    fn release_buffers(&mut self) {
        self.outbox.release();
    }

    async fn write_raw(&mut self, bytes: &[u8]) {
        let _ = self.write_out().await;
        let _ = self.write.write_all(bytes).await;
    }
}
