//! A protocol-level bench client: one TCP connection, pipelined sends, no
//! local database. It measures what the server can do.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use prost::Message as _;
use tidings_proto::{frame, request, Frame, LoginRequest, Message, Request, SendMessageRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

pub struct RawPeer {
    stream: TcpStream,
}

pub struct Plan {
    pub to: String,
    pub text: String,
    pub messages: usize,
    pub window: usize,
    pub rate: Option<f64>,
}

pub struct Done {
    pub latencies: Vec<Duration>,
    pub failures: usize,
    pub delivered: usize,
    pub last_ack: Instant,
    pub last_delivery: Instant,
}

/// Appends a request to `out` as the TCP transport carries it.
fn request_frame(seq: u64, kind: request::Area, out: &mut Vec<u8>) {
    let frame = Frame {
        body: Some(frame::Body::Request(Request {
            seq,
            area: Some(kind),
        })),
    };
    tidings_proto::encode_length_prefixed(&frame, out);
}

async fn read_frame<R: AsyncReadExt + Unpin>(read: &mut R) -> anyhow::Result<Frame> {
    let mut body = Vec::new();
    read_body(read, &mut body).await?;
    Ok(tidings_proto::decode_frame(&body)?)
}

/// Reads one frame's bytes into `body` (reused from frame to frame).
async fn read_body<R: AsyncReadExt + Unpin>(
    read: &mut R,
    body: &mut Vec<u8>,
) -> anyhow::Result<()> {
    let len = read.read_u32().await? as usize;
    tidings_proto::check_frame_len(len)?;
    body.resize(len, 0);
    read.read_exact(body).await?;
    Ok(())
}

/// What the bench reads of a frame from the server (`Frame` in
/// `frame.proto`, the same tags); prost skips every other field. The load
/// generator shares the box with the server, so it decodes no message
/// content and copies no strings.
#[derive(Clone, PartialEq, prost::Message)]
struct FrameView {
    #[prost(message, optional, tag = "2")]
    response: Option<ResponseView>,
    #[prost(message, optional, tag = "3")]
    push: Option<PushView>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResponseView {
    #[prost(uint64, tag = "1")]
    seq: u64,
    #[prost(uint32, tag = "2")]
    code: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PushView {
    /// `Push.messages` (the message area, whose only push is a message):
    /// present or not; its fields are skipped.
    #[prost(message, optional, tag = "17")]
    message: Option<Skipped>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Skipped {}

impl RawPeer {
    pub async fn login(
        addr: &str,
        app_key: &str,
        account: &str,
        token: &str,
    ) -> anyhow::Result<RawPeer> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let login = LoginRequest {
            app_key: app_key.into(),
            account: account.into(),
            token: token.into(),
            client_type: 4,
            device_id: format!("bench-{account}"),
            auto_login: false,
        };
        let mut out = Vec::new();
        request_frame(0, request::Area::from(login), &mut out);
        stream.write_all(&out).await?;
        loop {
            if let Some(frame::Body::Response(r)) = read_frame(&mut stream).await?.body {
                if r.code != 200 {
                    bail!("login of {account} refused: {} {}", r.code, r.message);
                }
                return Ok(RawPeer { stream });
            }
        }
    }

    /// One request and its response, skipping pushes on the way.
    pub async fn call(
        &mut self,
        seq: u64,
        kind: request::Area,
    ) -> anyhow::Result<tidings_proto::Response> {
        let mut out = Vec::new();
        request_frame(seq, kind, &mut out);
        self.stream.write_all(&out).await?;
        loop {
            if let Some(frame::Body::Response(r)) = read_frame(&mut self.stream).await?.body {
                if r.seq == seq {
                    return Ok(r);
                }
            }
        }
    }

    /// Sends `plan.messages` to `plan.to` and reads until every ack and as
    /// many pushes from the partner have arrived.
    pub async fn run(self, plan: Plan) -> anyhow::Result<Done> {
        let (read, write) = self.stream.into_split();
        let sent_at = Arc::new(Mutex::new(vec![None::<Instant>; plan.messages + 1]));
        let window = Arc::new(Semaphore::new(plan.window.max(1)));
        let expected = plan.messages;
        let reader = {
            let (sent_at, window) = (sent_at.clone(), window.clone());
            tokio::spawn(async move {
                let mut read = BufReader::new(read);
                let mut body = Vec::new();
                let mut done = Done {
                    latencies: Vec::with_capacity(expected),
                    failures: 0,
                    delivered: 0,
                    last_ack: Instant::now(),
                    last_delivery: Instant::now(),
                };
                while done.latencies.len() + done.failures < expected || done.delivered < expected {
                    read_body(&mut read, &mut body).await?;
                    let frame = FrameView::decode(body.as_slice())?;
                    if let Some(r) = frame.response {
                        let at = sent_at
                            .lock()
                            .map_err(|_| anyhow!("poisoned"))?
                            .get(r.seq as usize)
                            .copied()
                            .flatten();
                        let Some(at) = at else { continue };
                        if r.code == 200 {
                            done.latencies.push(at.elapsed());
                        } else {
                            done.failures += 1;
                        }
                        done.last_ack = Instant::now();
                        window.add_permits(1);
                    } else if frame.push.is_some_and(|p| p.message.is_some()) {
                        done.delivered += 1;
                        done.last_delivery = Instant::now();
                    }
                }
                Ok::<Done, anyhow::Error>(done)
            })
        };
        let mut write = BufWriter::new(write);
        let mut out = Vec::with_capacity(256);
        let started = Instant::now();
        for i in 0..plan.messages {
            let seq = i as u64 + 1;
            match plan.rate {
                Some(rate) => {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    write.flush().await?;
                    tokio::time::sleep_until(due.into()).await;
                }
                None => match window.try_acquire() {
                    Ok(permit) => permit.forget(),
                    Err(_) => {
                        write.flush().await?;
                        window.acquire().await?.forget();
                    }
                },
            }
            let message = Message {
                // Like the SDK's ids: the time first, unique per sender.
                client_id: client_id(unix_millis(), seq),
                to: plan.to.clone(),
                text: plan.text.clone(),
                ..Default::default()
            };
            if let Ok(mut sent) = sent_at.lock() {
                sent[seq as usize] = Some(Instant::now());
            }
            out.clear();
            request_frame(
                seq,
                request::Area::from(SendMessageRequest {
                    message: Some(message),
                }),
                &mut out,
            );
            write.write_all(&out).await?;
        }
        write.flush().await?;
        let done = reader.await??;
        Ok(done)
    }
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `{millis:012x}{seq:020x}`, without `format!`: the clients share the
/// box with the server they measure.
fn client_id(millis: u64, seq: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    for (value, digits) in [(millis, 12u32), (seq, 20)] {
        for digit in (0..digits).rev() {
            let nibble = value.checked_shr(digit * 4).unwrap_or(0) & 0xf;
            id.push(char::from(HEX[nibble as usize]));
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use tidings_proto::{frame, Frame, Message, Response};

    use super::FrameView;

    /// The view repeats tags of `frame.proto`: real frames must read back.
    #[test]
    fn the_frame_view_reads_real_responses_and_pushes() {
        let response = Frame {
            body: Some(frame::Body::Response(Response {
                seq: 7,
                code: 414,
                message: "text is too long".into(),
                area: None,
            })),
        };
        let view = FrameView::decode(response.encode_to_vec().as_slice()).expect("decode");
        let r = view.response.expect("a response");
        assert_eq!((r.seq, r.code), (7, 414));
        assert!(view.push.is_none());

        let pushed = Frame::push(Message {
            text: "hi".into(),
            ..Default::default()
        });
        let view = FrameView::decode(pushed.encode_to_vec().as_slice()).expect("decode");
        assert!(view.response.is_none());
        assert!(view.push.and_then(|p| p.message).is_some());

        let heartbeat = Frame::push(tidings_proto::Ping {});
        let view = FrameView::decode(heartbeat.encode_to_vec().as_slice()).expect("decode");
        assert!(view.push.expect("a push").message.is_none());
    }

    #[test]
    fn client_ids_are_the_time_then_the_sequence_in_hex() {
        let (millis, seq) = (0x18c_2f4a_9b01, 0x2a);
        assert_eq!(
            super::client_id(millis, seq),
            format!("{millis:012x}{seq:020x}")
        );
        assert_eq!(
            super::client_id(millis, u64::MAX),
            format!("{millis:012x}0000{:016x}", u64::MAX)
        );
    }
}
