//! A bare TCP protocol connection, for sending what no SDK would send.

use std::time::Duration;

use anyhow::{anyhow, bail};
use tidings_proto::{decode_frame, encode_frame, frame, request, Frame, LoginRequest, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RawConnection {
    stream: TcpStream,
    next_seq: u64,
}

impl RawConnection {
    pub async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<RawConnection> {
        let stream = TcpStream::connect(addr).await?;
        // A request is two writes (length, body): without this, Nagle's
        // algorithm holds the second until the first is acked.
        stream.set_nodelay(true)?;
        Ok(RawConnection {
            stream,
            next_seq: 1,
        })
    }

    /// The socket, logged in as it is, for a test that reads and writes
    /// it from two tasks.
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Writes bytes exactly as given (no length prefix added).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    pub async fn send(&mut self, kind: impl Into<request::Area>) -> anyhow::Result<u64> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = Frame::request(seq, kind);
        let bytes = encode_frame(&frame);
        self.stream.write_u32(bytes.len() as u32).await?;
        self.stream.write_all(&bytes).await?;
        Ok(seq)
    }

    /// The next frame, or `None` when the server closed the connection.
    pub async fn recv(&mut self) -> anyhow::Result<Option<Frame>> {
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            let len = match self.stream.read_u32().await {
                Ok(len) => len as usize,
                Err(_) => return Ok(None),
            };
            let mut body = vec![0u8; len];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, anyhow::Error>(Some(decode_frame(&body)?))
        })
        .await;
        read.map_err(|_| anyhow!("no frame within 10 s"))?
    }

    /// Sends a request and returns its response, skipping pushes.
    pub async fn call(&mut self, kind: impl Into<request::Area>) -> anyhow::Result<Response> {
        let seq = self.send(kind).await?;
        loop {
            match self.recv().await? {
                Some(Frame {
                    body: Some(frame::Body::Response(r)),
                }) if r.seq == seq => return Ok(r),
                Some(_) => continue,
                None => bail!("connection closed before the response"),
            }
        }
    }

    /// Logs in as a PC client.
    pub async fn login(
        &mut self,
        app_key: &str,
        account: &str,
        token: &str,
    ) -> anyhow::Result<Response> {
        self.login_as(app_key, account, token, 4).await
    }

    pub async fn login_as(
        &mut self,
        app_key: &str,
        account: &str,
        token: &str,
        client_type: u32,
    ) -> anyhow::Result<Response> {
        self.call(LoginRequest {
            app_key: app_key.into(),
            account: account.into(),
            token: token.into(),
            client_type,
            device_id: "raw".into(),
            auto_login: false,
        })
        .await
    }

    /// Reads until the server closes; returns the last Closing push seen.
    pub async fn closing(&mut self) -> anyhow::Result<Option<tidings_proto::Closing>> {
        let mut last = None;
        while let Some(frame) = self.recv().await? {
            if let Some(frame::Body::Push(p)) = frame.body {
                if let Some(c) = p.into_closing() {
                    last = Some(c);
                }
            }
        }
        Ok(last)
    }
}

/// The message of a push frame, if it is one.
pub fn pushed_message(frame: &Frame) -> Option<&tidings_proto::Message> {
    match &frame.body {
        Some(frame::Body::Push(p)) => p.message(),
        _ => None,
    }
}

/// The acked ids of a send response.
pub fn ack(response: &Response) -> Option<&tidings_proto::SendMessageResponse> {
    response.sent()
}
