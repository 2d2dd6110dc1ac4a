//! WebSocket transport: one binary message per frame.

use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};

use super::{FrameSink, FrameSource, TransportError};

pub struct WsSource(SplitStream<WebSocket>);
pub struct WsSink(SplitSink<WebSocket, Message>);

pub fn split(socket: WebSocket) -> (WsSource, WsSink) {
    let (sink, stream) = socket.split();
    (WsSource(stream), WsSink(sink))
}

fn ws_error(e: axum::Error) -> TransportError {
    TransportError::Io(e.to_string())
}

impl FrameSource for WsSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        loop {
            match self.0.next().await {
                None | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Ok(Message::Binary(bytes))) => {
                    tidings_proto::check_frame_len(bytes.len())?;
                    return Ok(Some(bytes.to_vec()));
                }
                Some(Ok(Message::Text(_))) => {
                    return Err(TransportError::Protocol(
                        "text messages are not accepted; send binary frames".into(),
                    ))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Err(e)) => return Err(ws_error(e)),
            }
        }
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
