//! Client transports: TCP (u32 length prefix) or WebSocket (binary messages).
//! Reading runs in its own task (it is not cancel-safe) and hands decoded
//! frames over a channel.

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tidings_proto::{check_frame_len, decode_frame, encode_frame, Frame, TcpOutbox};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{SdkError, ServerAddress};

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub enum Sink {
    /// Frames are encoded into the outbox, which goes to the socket at a
    /// flush or once it is full.
    Tcp {
        write: OwnedWriteHalf,
        outbox: TcpOutbox,
    },
    Ws(SplitSink<WsStream, WsMessage>),
}

pub type Inbound = mpsc::Receiver<Result<Frame, String>>;

/// Why a WebSocket handshake failed, with what the server said.
fn ws_refused(url: &str, e: tokio_tungstenite::tungstenite::Error) -> SdkError {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Http(answer) => {
            let said = answer
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let said = said.lines().next().unwrap_or("").trim().to_owned();
            SdkError::Connection(format!(
                "{url} refused the WebSocket handshake ({}): {said}",
                answer.status()
            ))
        }
        other => SdkError::Connection(format!("{url}: {other}")),
    }
}

fn lost(e: impl std::fmt::Display) -> SdkError {
    SdkError::Connection(e.to_string())
}

/// Connects and starts the reader task.
pub async fn connect(address: &ServerAddress) -> Result<(Sink, Inbound, JoinHandle<()>), SdkError> {
    let (tx, rx) = mpsc::channel(1024);
    match address {
        ServerAddress::Http(base) => {
            let mut failures = Vec::new();
            for gateway in super::lbs::gateways(base).await? {
                match Box::pin(connect(&gateway)).await {
                    Ok(connected) => return Ok(connected),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            Err(SdkError::Connection(format!(
                "no gateway {base} lists answers: {}",
                failures.join("; ")
            )))
        }
        ServerAddress::Tcp(hostport) => {
            let stream = TcpStream::connect(hostport)
                .await
                .map_err(|e| SdkError::Connection(format!("{hostport}: {e}")))?;
            let answered_http = format!(
                "{hostport} answered in HTTP: it is an HTTP port, not the TCP gateway \
                 (give http://{hostport} and the SDK finds the gateways, or the TCP gateway's host:port)"
            );
            let _ = stream.set_nodelay(true);
            let (read, write) = stream.into_split();
            let reader = tokio::spawn(async move {
                let mut read = BufReader::new(read);
                loop {
                    let next = async {
                        let len = read.read_u32().await.map_err(|e| e.to_string())? as usize;
                        if (len as u32).to_be_bytes() == *b"HTTP" {
                            return Err(answered_http.clone());
                        }
                        check_frame_len(len).map_err(|e| e.to_string())?;
                        let mut body = vec![0u8; len];
                        read.read_exact(&mut body)
                            .await
                            .map_err(|e| e.to_string())?;
                        decode_frame(&body).map_err(|e| e.to_string())
                    }
                    .await;
                    let last = next.is_err();
                    if tx.send(next).await.is_err() || last {
                        return;
                    }
                }
            });
            Ok((
                Sink::Tcp {
                    write,
                    outbox: TcpOutbox::new(),
                },
                rx,
                reader,
            ))
        }
        ServerAddress::WebSocket(url) => {
            let config = WebSocketConfig::default()
                .max_message_size(Some(tidings_proto::MAX_FRAME_LEN))
                .max_frame_size(Some(tidings_proto::MAX_FRAME_LEN));
            let (stream, _) =
                tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
                    .await
                    .map_err(|e| ws_refused(url, e))?;
            let (sink, mut source) = stream.split();
            let reader = tokio::spawn(async move {
                loop {
                    let next = match source.next().await {
                        None => Err("connection closed".to_owned()),
                        Some(Err(e)) => Err(e.to_string()),
                        Some(Ok(WsMessage::Binary(bytes))) => {
                            decode_frame(&bytes).map_err(|e| e.to_string())
                        }
                        Some(Ok(WsMessage::Close(_))) => Err("connection closed".to_owned()),
                        Some(Ok(_)) => continue,
                    };
                    let last = next.is_err();
                    if tx.send(next).await.is_err() || last {
                        return;
                    }
                }
            });
            Ok((Sink::Ws(sink), rx, reader))
        }
    }
}

impl Sink {
    /// Queues one frame; [`Sink::flush`] sends.
    pub async fn feed(&mut self, frame: &Frame) -> Result<(), SdkError> {
        match self {
            Sink::Tcp { outbox, .. } => {
                if outbox.push(frame) {
                    self.flush().await?;
                }
                Ok(())
            }
            Sink::Ws(w) => w
                .feed(WsMessage::Binary(encode_frame(frame).into()))
                .await
                .map_err(lost),
        }
    }

    pub async fn flush(&mut self) -> Result<(), SdkError> {
        match self {
            Sink::Tcp { write, outbox } => send_outbox(write, outbox).await.map_err(lost),
            Sink::Ws(w) => w.flush().await.map_err(lost),
        }
    }

    pub async fn close(&mut self) {
        match self {
            Sink::Tcp { write, outbox } => {
                let _ = send_outbox(write, outbox).await;
                let _ = write.shutdown().await;
            }
            Sink::Ws(w) => {
                let _ = w.close().await;
            }
        }
    }
}

async fn send_outbox(write: &mut OwnedWriteHalf, outbox: &mut TcpOutbox) -> std::io::Result<()> {
    let written = write.write_all(outbox.bytes()).await;
    outbox.clear();
    written
}
