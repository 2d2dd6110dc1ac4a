//! The client gateway: frames in and out over WebSocket or TCP, login, and
//! routing of requests to services and of bus events to the socket. It
//! holds no rules of its own.

mod connection;
mod outbox;
mod route;
pub mod tcp;
pub mod ws;

pub use crate::metrics::Listener;
pub use connection::serve_connection;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tidings_proto::{MAX_FRAME_LEN, MAX_LOGIN_FRAME_LEN};

/// Why a transport stopped.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Frame(#[from] tidings_proto::FrameError),
    #[error("transport: {0}")]
    Io(String),
    #[error("{0}")]
    Protocol(String),
    /// The transport holds as much for the peer as it may: it does not read.
    #[error("the peer does not read what it is sent")]
    SlowReader,
    /// The peer speaks HTTP to the TCP gateway.
    #[error("an HTTP request on the TCP gateway")]
    HttpOnTcp,
}

/// The largest frame a connection may send now: a login's until it has
/// logged in, then a whole frame. Shared by a transport's reader and the
/// connection, which opens it up at login.
#[derive(Clone)]
pub struct FrameLimit(Arc<AtomicUsize>);

impl FrameLimit {
    pub fn before_login() -> FrameLimit {
        FrameLimit(Arc::new(AtomicUsize::new(MAX_LOGIN_FRAME_LEN)))
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    pub fn is_open(&self) -> bool {
        self.get() >= MAX_FRAME_LEN
    }

    pub fn open_up(&self) {
        self.0.store(MAX_FRAME_LEN, Ordering::Relaxed);
    }
}

/// The receiving half of a framed transport.
pub trait FrameSource: Send + 'static {
    /// The next frame body, refused past the [`FrameLimit`] (before its
    /// body is read, where the transport allows); `None` when the peer
    /// closed the connection.
    fn next_frame(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, TransportError>> + Send;

    /// A whole frame body within the limit the transport has already
    /// read, without waiting; `None` when it has none (a frame it cannot
    /// take this way, such as one over the limit, is left for
    /// [`FrameSource::next_frame`]).
    fn buffered_frame(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// The limit this source reads frames under, which the connection
    /// opens up at login.
    fn frame_limit(&self) -> &FrameLimit;
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
    /// Writes bytes as they are, outside the framing (an HTTP answer to a
    /// peer that spoke HTTP to the TCP gateway); a transport without such
    /// peers ignores them.
    fn write_raw(&mut self, _bytes: &[u8]) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Gives back the buffers kept between bursts (the writer has been
    /// quiet for a while), so an idle connection holds none.
    fn release_buffers(&mut self) {}
}
