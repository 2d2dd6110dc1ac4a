//! Frame codec. Checking a frame's length is split from parsing it, so a
//! transport can refuse an oversized frame before reading its body.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message as _;

use crate::v1::{Frame, Message};

/// What a writer can put on the wire as one [`Frame`]: a frame, or a
/// [`PushedMessage`] made from a message it only borrows.
pub trait WireFrame {
    /// The frame body's length in bytes.
    fn body_len(&self) -> usize;
    /// Appends the frame body (exactly `body_len` bytes).
    fn encode_body(&self, out: &mut Vec<u8>);
}

impl WireFrame for Frame {
    fn body_len(&self) -> usize {
        self.encoded_len()
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        self.encode_raw(out);
    }
}

/// `Frame { push: Push { message: MessagePush { message } } }` for a
/// message shared by every connection that pushes it: the same bytes,
/// without a copy of the message per connection.
pub struct PushedMessage<'a>(pub &'a Message);

/// Field numbers of `Frame.push`, `Push.message` (the message area) and
/// `MessagePush.message` (frame.proto, message.proto): the message area is field 17.
const FRAME_PUSH: u32 = 3;
const PUSH_MESSAGE_AREA: u32 = 17;
const MESSAGE_PUSH_MESSAGE: u32 = 1;

/// A length-delimited field's size: key, length and `len` bytes.
fn field_len(field: u32, len: usize) -> usize {
    key_len(field) + encoded_len_varint(len as u64) + len
}

fn encode_field_head(field: u32, len: usize, out: &mut Vec<u8>) {
    encode_key(field, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

impl WireFrame for PushedMessage<'_> {
    fn body_len(&self) -> usize {
        let area = field_len(MESSAGE_PUSH_MESSAGE, self.0.encoded_len());
        field_len(FRAME_PUSH, field_len(PUSH_MESSAGE_AREA, area))
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        let message_len = self.0.encoded_len();
        let area_len = field_len(MESSAGE_PUSH_MESSAGE, message_len);
        encode_field_head(FRAME_PUSH, field_len(PUSH_MESSAGE_AREA, area_len), out);
        encode_field_head(PUSH_MESSAGE_AREA, area_len, out);
        encode_field_head(MESSAGE_PUSH_MESSAGE, message_len, out);
        self.0.encode_raw(out);
    }
}

/// The largest frame either side accepts, in bytes. A 5,000-character text
/// in UTF-8 is at most 20 KB; attachments travel over HTTP, not frames.
pub const MAX_FRAME_LEN: usize = 256 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("empty frame")]
    Empty,
    #[error("undecodable frame: {0}")]
    Undecodable(String),
}

/// The largest frame a connection may send before it has logged in: a
/// login request with room to spare, so a peer that never logs in cannot
/// make the server hold a whole [`MAX_FRAME_LEN`] for it.
pub const MAX_LOGIN_FRAME_LEN: usize = 4 * 1024;

/// Refuses a frame length before its body is read.
pub fn check_frame_len(len: usize) -> Result<(), FrameError> {
    check_frame_len_within(len, MAX_FRAME_LEN)
}

/// Refuses a frame length over `max` (or empty) before its body is read.
pub fn check_frame_len_within(len: usize, max: usize) -> Result<(), FrameError> {
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(())
}

/// Parses one frame body (without any transport prefix).
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, FrameError> {
    check_frame_len(bytes.len())?;
    let frame = Frame::decode(bytes).map_err(|e| FrameError::Undecodable(e.to_string()))?;
    if frame.body.is_none() {
        return Err(FrameError::Undecodable("frame has no body".into()));
    }
    Ok(frame)
}

/// Encodes one frame body (without any transport prefix).
pub fn encode_frame(frame: &impl WireFrame) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.body_len());
    frame.encode_body(&mut out);
    out
}

/// Appends one frame to `out` as the TCP transport carries it: its length
/// as a u32, big-endian, then the body. Encoded in place, so a connection
/// writing many frames makes no buffer per frame.
pub fn encode_length_prefixed(frame: &impl WireFrame, out: &mut Vec<u8>) {
    let len = frame.body_len();
    out.reserve(4 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    frame.encode_body(out);
}

/// Frames waiting for a TCP socket, encoded as [`encode_length_prefixed`]
/// lays them out: both ends' TCP writers queue frames here and send the
/// bytes at a flush, or sooner once [`TcpOutbox::push`] says the buffer is
/// full.
#[derive(Debug, Default)]
pub struct TcpOutbox {
    bytes: Vec<u8>,
}

impl TcpOutbox {
    /// Past this many queued bytes a writer sends before queueing more.
    pub const WRITE_AT: usize = 64 * 1024;

    /// Bytes taken at once when an empty outbox gets its first frame.
    const FIRST_ROOM: usize = 4 * 1024;

    /// An outbox holding no buffer until its first frame.
    pub fn new() -> TcpOutbox {
        TcpOutbox { bytes: Vec::new() }
    }

    /// Queues one frame; `true` once the queued bytes should be written.
    pub fn push(&mut self, frame: &impl WireFrame) -> bool {
        if self.bytes.capacity() == 0 {
            self.bytes.reserve(Self::FIRST_ROOM);
        }
        encode_length_prefixed(frame, &mut self.bytes);
        self.bytes.len() >= Self::WRITE_AT
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Forgets what was queued (after it was written, or failed to be).
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Forgets what was queued and gives its buffer back: an idle
    /// connection holds none.
    pub fn release(&mut self) {
        self.bytes = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::Ping;

    fn ping(seq: u64) -> Frame {
        Frame::request(seq, Ping {})
    }

    #[test]
    fn round_trip() {
        let frame = ping(7);
        let bytes = encode_frame(&frame);
        assert_eq!(decode_frame(&bytes), Ok(frame));
    }

    #[test]
    fn length_prefixed_frames_follow_each_other() {
        let frames: Vec<Frame> = (1..=3).map(ping).collect();
        let mut out = vec![9];
        for frame in &frames {
            encode_length_prefixed(frame, &mut out);
        }
        let mut rest = &out[1..];
        for frame in &frames {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            assert_eq!(decode_frame(&rest[4..4 + len]).as_ref(), Ok(frame));
            rest = &rest[4 + len..];
        }
        assert!(rest.is_empty());
    }

    /// The borrowed push is byte for byte the frame it stands for, from
    /// an empty message to one whose lengths take several varint bytes.
    #[test]
    fn a_message_push_is_the_push_frame_it_stands_for() {
        use crate::v1::MessageSetting;
        let long = "長".repeat(3_000);
        let messages = [
            Message::default(),
            Message {
                client_id: "c1".into(),
                server_id: u64::MAX,
                from: "alice".into(),
                to: "bob".into(),
                text: long.clone(),
                seq: 300,
                setting: Some(MessageSetting {
                    sync_enabled: Some(false),
                    apns_payload: long,
                    ..MessageSetting::default()
                }),
                ..Message::default()
            },
        ];
        for message in messages {
            let frame = Frame::push(message.clone());
            let push = PushedMessage(&message);
            assert_eq!(push.body_len(), frame.encoded_len());
            assert_eq!(encode_frame(&push), frame.encode_to_vec());
            let (mut borrowed, mut owned) = (Vec::new(), Vec::new());
            encode_length_prefixed(&push, &mut borrowed);
            encode_length_prefixed(&frame, &mut owned);
            assert_eq!(borrowed, owned);
        }
    }

    #[test]
    fn the_outbox_asks_for_a_write_once_full() {
        let frame = ping(1);
        let mut outbox = TcpOutbox::new();
        let mut pushed = 1;
        while !outbox.push(&frame) {
            pushed += 1;
        }
        let one = encode_frame(&frame).len() + 4;
        assert_eq!(outbox.bytes().len(), pushed * one);
        assert!(outbox.bytes().len() >= TcpOutbox::WRITE_AT);
        assert!(outbox.bytes().len() - one < TcpOutbox::WRITE_AT);
        outbox.clear();
        assert!(outbox.bytes().is_empty());
    }

    #[test]
    fn refuses_garbage_oversize_and_empty() {
        assert!(matches!(
            decode_frame(&[0xff, 0xff, 0xff]),
            Err(FrameError::Undecodable(_))
        ));
        assert_eq!(decode_frame(&[]), Err(FrameError::Empty));
        assert!(matches!(
            check_frame_len(MAX_FRAME_LEN + 1),
            Err(FrameError::TooLarge { .. })
        ));
        // A valid protobuf with no body is refused too.
        assert!(matches!(
            decode_frame(
                &encode_frame(&Frame { body: None })[..]
                    .iter()
                    .copied()
                    .chain([0x08, 0x01])
                    .collect::<Vec<_>>()
            ),
            Err(FrameError::Undecodable(_))
        ));
    }
}
