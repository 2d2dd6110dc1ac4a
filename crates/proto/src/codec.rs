//! Frame codec. Checking a frame's length is split from parsing it, so a
//! transport can refuse an oversized frame before reading its body.

use prost::Message as _;

use crate::v1::Frame;

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

/// Refuses a frame length before its body is read.
pub fn check_frame_len(len: usize) -> Result<(), FrameError> {
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
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
pub fn encode_frame(frame: &Frame) -> Vec<u8> {
    frame.encode_to_vec()
}

/// Appends one frame to `out` as the TCP transport carries it: its length
/// as a u32, big-endian, then the body. Encoded in place, so a connection
/// writing many frames makes no buffer per frame.
pub fn encode_length_prefixed(frame: &Frame, out: &mut Vec<u8>) {
    let len = frame.encoded_len();
    out.reserve(4 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    frame.encode_raw(out);
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

    pub fn new() -> TcpOutbox {
        TcpOutbox {
            bytes: Vec::with_capacity(8 * 1024),
        }
    }

    /// Queues one frame; `true` once the queued bytes should be written.
    pub fn push(&mut self, frame: &Frame) -> bool {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{frame::Body, request::Kind, Ping, Request};

    fn ping(seq: u64) -> Frame {
        Frame {
            body: Some(Body::Request(Request {
                seq,
                kind: Some(Kind::Ping(Ping {})),
            })),
        }
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
