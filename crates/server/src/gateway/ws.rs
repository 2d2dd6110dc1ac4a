//! WebSocket transport: one binary message per frame.
//!
//! The handshake is answered here (over hyper's upgrade) rather than by a
//! framework, so the socket under the WebSocket codec can be wrapped:
//! before login it reads at most [`BYTES_BEFORE_LOGIN`], so a peer that
//! never logs in cannot make the server buffer a whole frame, however it
//! splits it. The codec's buffers are small and its write buffer bounded,
//! so a peer that pings without reading is closed, not queued pongs for.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, Response, StatusCode};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tidings_proto::{MAX_FRAME_LEN, MAX_LOGIN_FRAME_LEN};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::{FrameLimit, FrameSink, FrameSource, TransportError};

/// Raw bytes a connection may send before it has logged in: a login
/// request in a frame or two, and some pings.
pub const BYTES_BEFORE_LOGIN: usize = 2 * MAX_LOGIN_FRAME_LEN;
/// Each read from the socket takes at most this much; the codec's read
/// buffer grows past it only for a frame that needs it.
const READ_BUFFER: usize = 2 * 1024;
/// Frames are written once this much is buffered (or at a flush).
const WRITE_BUFFER: usize = 16 * 1024;
/// Most bytes the codec may hold for a peer that does not read: a whole
/// frame past the write buffer. Pongs to a ping flood count here too.
const MAX_WRITE_BUFFER: usize = WRITE_BUFFER + MAX_FRAME_LEN + 4 * 1024;

type Socket = WebSocketStream<Budgeted<TokioIo<Upgraded>>>;

pub struct WsSource {
    stream: SplitStream<Socket>,
    limit: FrameLimit,
}

pub struct WsSink(SplitSink<Socket, Message>);

/// Checks a WebSocket handshake. On success returns the `101 Switching
/// Protocols` answer and the upgrade to wait for once it is sent; on
/// failure, the answer that says why.
pub fn accept(
    request: &mut Request<Body>,
) -> Result<(Response<Body>, hyper::upgrade::OnUpgrade), Box<Response<Body>>> {
    let headers = request.headers();
    let refuse = |status: StatusCode, why: &str| {
        let mut answer = Response::new(Body::from(format!("{why}\n")));
        *answer.status_mut() = status;
        Box::new(answer)
    };
    if request.method() != Method::GET {
        return Err(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket handshake is a GET",
        ));
    }
    if !has_token(headers, header::CONNECTION, "upgrade")
        || !has_token(headers, header::UPGRADE, "websocket")
    {
        return Err(refuse(
            StatusCode::UPGRADE_REQUIRED,
            "this is the WebSocket gateway: connect with a WebSocket client (Connection: Upgrade, Upgrade: websocket)",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Version must be 13",
        ));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key is missing",
        ));
    };
    let accept_key = derive_accept_key(key.as_bytes());
    let Some(upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "this connection cannot be upgraded",
        ));
    };
    let answer = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept_key)
        .body(Body::empty())
        .map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "handshake failed"))?;
    Ok((answer, upgrade))
}

/// Whether a comma-separated header holds `token` (ASCII case ignored).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .unwrap_or("")
            .split(',')
            .any(|part| part.trim().eq_ignore_ascii_case(token))
    })
}

/// The WebSocket over an upgraded connection, split for the gateway.
pub async fn split(upgraded: Upgraded) -> (WsSource, WsSink) {
    let limit = FrameLimit::before_login();
    let socket = Budgeted {
        inner: TokioIo::new(upgraded),
        limit: limit.clone(),
        read_before_login: 0,
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(Some(MAX_FRAME_LEN))
        .max_frame_size(Some(MAX_FRAME_LEN));
    let socket = WebSocketStream::from_raw_socket(socket, Role::Server, Some(config)).await;
    let (sink, stream) = socket.split();
    (WsSource { stream, limit }, WsSink(sink))
}

/// A socket that reads at most [`BYTES_BEFORE_LOGIN`] until its
/// connection's frame limit is opened up at login.
struct Budgeted<T> {
    inner: T,
    limit: FrameLimit,
    read_before_login: usize,
}

/// The error a spent budget reads as, told apart from the socket's own.
fn budget_spent() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, BudgetSpent)
}

#[derive(Debug)]
struct BudgetSpent;

impl std::fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {BYTES_BEFORE_LOGIN} bytes before login")
    }
}

impl std::error::Error for BudgetSpent {}

impl<T: AsyncRead + Unpin> AsyncRead for Budgeted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.limit.is_open() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let left = BYTES_BEFORE_LOGIN.saturating_sub(self.read_before_login);
        if left == 0 {
            return Poll::Ready(Err(budget_spent()));
        }
        let mut small = [0u8; 1024];
        let mut limited = ReadBuf::new(&mut small[..left.min(1024).min(buf.remaining())]);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut limited))?;
        let read = limited.filled();
        buf.put_slice(read);
        self.read_before_login += read.len();
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Budgeted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn ws_error(e: WsError) -> TransportError {
    match e {
        WsError::Io(e) if e.get_ref().is_some_and(|inner| inner.is::<BudgetSpent>()) => {
            TransportError::Protocol(BudgetSpent.to_string())
        }
        WsError::Capacity(e) => TransportError::Protocol(format!("frame refused: {e}")),
        WsError::WriteBufferFull(_) => TransportError::SlowReader,
        other => TransportError::Io(other.to_string()),
    }
}

impl FrameSource for WsSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        loop {
            match self.stream.next().await {
                None | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Ok(Message::Binary(bytes))) => {
                    tidings_proto::check_frame_len_within(bytes.len(), self.limit.get())?;
                    return Ok(Some(bytes.to_vec()));
                }
                Some(Ok(Message::Text(_))) => {
                    return Err(TransportError::Protocol(
                        "text messages are not accepted; send binary frames".into(),
                    ))
                }
                // Answered by the codec; they are not frames and do not
                // count as life for the idle timer.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Err(e)) => return Err(ws_error(e)),
            }
        }
    }

    fn frame_limit(&self) -> &FrameLimit {
        &self.limit
    }
}

impl FrameSink for WsSink {
    async fn feed<F: tidings_proto::WireFrame + Sync>(
        &mut self,
        frame: &F,
    ) -> Result<(), TransportError> {
        self.0
            .feed(Message::Binary(tidings_proto::encode_frame(frame).into()))
            .await
            .map_err(ws_error)
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        self.0.flush().await.map_err(ws_error)
    }

    async fn close(&mut self) {
        let _ = self.0.close().await;
    }
}
