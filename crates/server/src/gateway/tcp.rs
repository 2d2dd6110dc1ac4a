//! TCP transport: each frame is a u32 big-endian length and the body.

use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use tidings_proto::TcpOutbox;

use super::{FrameLimit, FrameSink, FrameSource, TransportError};

pub struct TcpSource {
    read: BufReader<OwnedReadHalf>,
    limit: FrameLimit,
}

/// Frames are encoded straight into the outbox, which goes to the socket
/// at a flush or once it is full.
pub struct TcpSink {
    write: OwnedWriteHalf,
    outbox: TcpOutbox,
}

pub fn split(stream: TcpStream) -> (TcpSource, TcpSink) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    (
        TcpSource {
            read: BufReader::new(read),
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

fn io(e: std::io::Error) -> TransportError {
    TransportError::Io(e.to_string())
}

impl FrameSource for TcpSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        let len = match self.read.read_u32().await {
            Ok(len) => len as usize,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        tidings_proto::check_frame_len_within(len, self.limit.get())?;
        let mut body = vec![0u8; len];
        self.read.read_exact(&mut body).await.map_err(io)?;
        Ok(Some(body))
    }

    fn buffered_frame(&mut self) -> Option<Vec<u8>> {
        let buffered = self.read.buffer();
        let prefix: [u8; 4] = buffered.get(..4)?.try_into().ok()?;
        let len = u32::from_be_bytes(prefix) as usize;
        tidings_proto::check_frame_len_within(len, self.limit.get()).ok()?;
        let body = buffered.get(4..4 + len)?.to_vec();
        std::pin::Pin::new(&mut self.read).consume(4 + len);
        Some(body)
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
}
