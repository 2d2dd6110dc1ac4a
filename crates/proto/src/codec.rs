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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{frame::Body, request::Kind, Ping, Request};

    #[test]
    fn round_trip() {
        let frame = Frame {
            body: Some(Body::Request(Request {
                seq: 7,
                kind: Some(Kind::Ping(Ping {})),
            })),
        };
        let bytes = encode_frame(&frame);
        assert_eq!(decode_frame(&bytes), Ok(frame));
    }

    #[test]
    fn length_prefixed_frames_follow_each_other() {
        let frames: Vec<Frame> = (1..=3)
            .map(|seq| Frame {
                body: Some(Body::Request(Request {
                    seq,
                    kind: Some(Kind::Ping(Ping {})),
                })),
            })
            .collect();
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
