//! TCP transport: each frame is a u32 big-endian length and the body.

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::{FrameSink, FrameSource, TransportError};

pub struct TcpSource(BufReader<OwnedReadHalf>);
pub struct TcpSink(BufWriter<OwnedWriteHalf>);

pub fn split(stream: TcpStream) -> (TcpSource, TcpSink) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    (
        TcpSource(BufReader::new(read)),
        TcpSink(BufWriter::new(write)),
    )
}

fn io(e: std::io::Error) -> TransportError {
    TransportError::Io(e.to_string())
}

impl FrameSource for TcpSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        let len = match self.0.read_u32().await {
            Ok(len) => len as usize,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        tidings_proto::check_frame_len(len)?;
        let mut body = vec![0u8; len];
        self.0.read_exact(&mut body).await.map_err(io)?;
        Ok(Some(body))
    }
}

impl FrameSink for TcpSink {
    async fn feed(&mut self, frame: Vec<u8>) -> Result<(), TransportError> {
        self.0.write_u32(frame.len() as u32).await.map_err(io)?;
        self.0.write_all(&frame).await.map_err(io)
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        self.0.flush().await.map_err(io)
    }

    async fn close(&mut self) {
        let _ = self.0.flush().await;
        let _ = self.0.shutdown().await;
    }
}
