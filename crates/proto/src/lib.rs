//! Tidings wire protocol: the protobuf schema (`proto/*.proto`, one file
//! per area, `frame.proto` at the top), its generated types, the frame codec and the NIM result codes.
//!
//! This crate is the bottom of the dependency graph: it does no I/O and knows
//! no runtime. Everything that crosses a socket is defined here.

pub mod areas;
pub mod code;
pub mod codec;
pub mod kinds;
pub mod limits;
pub mod range;

/// Generated protobuf types of `tidings.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/tidings.v1.rs"));
}

pub use code::Code;
pub use codec::{
    check_frame_len, check_frame_len_within, decode_frame, encode_frame, encode_length_prefixed,
    FrameError, PushedMessage, TcpOutbox, WireFrame, MAX_FRAME_LEN, MAX_LOGIN_FRAME_LEN,
};
pub use kinds::{
    client_type, clients_change, friend_operation, message_flags, message_type,
    notification_status, notification_type, session_type, special_relation,
};
pub use range::SessionRange;
pub use v1::*;
