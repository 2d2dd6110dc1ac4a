//! The client gateway: frames in and out over WebSocket or TCP, login, and
//! routing of requests to services and of bus events to the socket. It
//! holds no rules of its own.

mod connection;
pub mod tcp;
pub mod ws;

pub use connection::serve_connection;

use std::future::Future;

/// Why a transport stopped.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Frame(#[from] tidings_proto::FrameError),
    #[error("transport: {0}")]
    Io(String),
    #[error("{0}")]
    Protocol(String),
}

/// The receiving half of a framed transport.
pub trait FrameSource: Send + 'static {
    /// The next frame body; `None` when the peer closed the connection.
    fn next_frame(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, TransportError>> + Send;

    /// A whole frame body the transport has already read, without waiting;
    /// `None` when it has none (a frame it cannot take this way, such as
    /// one over the size limit, is left for [`FrameSource::next_frame`]).
    fn buffered_frame(&mut self) -> Option<Vec<u8>> {
        None
    }
}

/// The sending half of a framed transport: it encodes each frame as its
/// transport carries it. `feed` may buffer; `flush` sends.
pub trait FrameSink: Send + 'static {
    fn feed<F: tidings_proto::WireFrame + Sync>(
        &mut self,
        frame: &F,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
    fn flush(&mut self) -> impl Future<Output = Result<(), TransportError>> + Send;
    fn close(&mut self) -> impl Future<Output = ()> + Send;
}
