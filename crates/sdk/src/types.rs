use serde::{Deserialize, Serialize};

/// 0 P2P, 1 team, 2 chatroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SessionType {
    P2P = 0,
    Team = 1,
    Chatroom = 2,
}

impl SessionType {
    pub fn from_u32(value: u32) -> Option<SessionType> {
        match value {
            0 => Some(SessionType::P2P),
            1 => Some(SessionType::Team),
            2 => Some(SessionType::Chatroom),
            _ => None,
        }
    }

    pub fn as_u32(self) -> u32 {
        self as u32
    }
}

/// A conversation as this account sees it: for P2P, the peer's account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId {
    pub kind: SessionType,
    pub id: String,
}

impl SessionId {
    pub fn p2p(peer: impl Into<String>) -> SessionId {
        SessionId {
            kind: SessionType::P2P,
            id: peer.into(),
        }
    }
}

pub use tidings_proto::message_type;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    Sending = 0,
    Failed = 1,
    Delivered = 2,
}

impl DeliveryState {
    pub fn from_u32(value: u32) -> DeliveryState {
        match value {
            0 => DeliveryState::Sending,
            1 => DeliveryState::Failed,
            _ => DeliveryState::Delivered,
        }
    }
}

/// Per-message switches; all on by default, as in NIM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSettings {
    pub history_enabled: bool,
    pub roaming_enabled: bool,
    pub sync_enabled: bool,
    pub should_be_counted: bool,
    pub apns_enabled: bool,
    pub apns_with_prefix: bool,
    pub apns_content: String,
    pub apns_payload: String,
}

impl Default for MessageSettings {
    fn default() -> Self {
        MessageSettings {
            history_enabled: true,
            roaming_enabled: true,
            sync_enabled: true,
            should_be_counted: true,
            apns_enabled: true,
            apns_with_prefix: true,
            apns_content: String::new(),
            apns_payload: String::new(),
        }
    }
}

/// A message as the device holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalMessage {
    /// The client-made id (NIM `messageId`); the idempotency key.
    pub message_id: String,
    /// 0 until the server acked it.
    pub server_id: u64,
    pub session: SessionId,
    pub from: String,
    pub from_nick: String,
    pub message_type: u32,
    pub text: String,
    /// JSON attachment (custom messages).
    pub attachment: String,
    /// JSON sent to the peer.
    pub remote_ext: String,
    /// JSON that never leaves this device.
    pub local_ext: String,
    /// Server time once acked; local time before.
    pub timestamp: i64,
    /// Position in the conversation; 0 until acked.
    pub seq: u64,
    pub delivery: DeliveryState,
    pub is_outgoing: bool,
    pub settings: MessageSettings,
    /// I had the sender on my mute list when the message reached me: it
    /// counts as unread but must not notify (no sound, no banner).
    pub muted: bool,
    /// Mine, and the peer's read receipt covers it (NIM's isRemoteRead).
    pub is_remote_read: bool,
    /// Deleted on this device (NIM's isDeleted): only a read by id finds it.
    pub is_deleted: bool,
    /// Marked played on this device (NIM's isPlayed; `set_played`).
    pub is_played: bool,
}

/// A message was revoked (by its sender, or by the app's backend when
/// `revoked_by` is empty): every device replaced its copy by a revoke
/// notification (message type 5, the same id, `attachment` saying who).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRevoke {
    pub session: SessionId,
    pub from: String,
    pub message_id: String,
    pub seq: u64,
    pub timestamp: i64,
    pub revoked_by: String,
    pub postscript: String,
    /// The revoke notification's attachment (JSON).
    pub attachment: String,
    /// The message as this device held it before (`None`: it held none).
    pub original: Option<LocalMessage>,
}

/// A page of cloud history to fetch (NIM's `fetchMessageHistory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudHistoryQuery {
    pub session: SessionId,
    /// Only messages stamped at or after it (ms; 0: no bound).
    pub start_time: i64,
    /// Only messages stamped at or before it (ms; 0: no bound).
    pub end_time: i64,
    /// 1 to 100.
    pub limit: u32,
    /// Oldest first from `start_time`; otherwise newest first from `end_time`.
    pub ascending: bool,
    /// Only these message types (empty: all).
    pub message_types: Vec<u32>,
    /// The next page: the `seq` of the previous page's last message (0: the
    /// first page).
    pub anchor_seq: u64,
    /// Keep the messages in the local database (without events), as NIM's
    /// `sync` does.
    pub save: bool,
}

impl CloudHistoryQuery {
    /// The newest `limit` messages of a session.
    pub fn newest(session: SessionId, limit: u32) -> CloudHistoryQuery {
        CloudHistoryQuery {
            session,
            start_time: 0,
            end_time: 0,
            limit,
            ascending: false,
            message_types: Vec::new(),
            anchor_seq: 0,
            save: false,
        }
    }
}

/// One page of cloud history, in the query's direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudHistoryPage {
    pub messages: Vec<LocalMessage>,
    /// More messages match: ask again with `anchor_seq` = the last one's `seq`.
    pub has_more: bool,
}

/// What the app asks to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub session: SessionId,
    pub message_type: u32,
    pub text: String,
    pub attachment: String,
    pub remote_ext: String,
    pub local_ext: String,
    pub settings: MessageSettings,
}

impl OutgoingMessage {
    pub fn text(session: SessionId, text: impl Into<String>) -> OutgoingMessage {
        OutgoingMessage {
            session,
            message_type: message_type::TEXT,
            text: text.into(),
            attachment: String::new(),
            remote_ext: String::new(),
            local_ext: String::new(),
            settings: MessageSettings::default(),
        }
    }

    pub fn tip(session: SessionId, text: impl Into<String>) -> OutgoingMessage {
        OutgoingMessage {
            message_type: message_type::TIP,
            ..OutgoingMessage::text(session, text)
        }
    }

    /// A custom message carrying an app-defined JSON attachment.
    pub fn custom(session: SessionId, attachment_json: impl Into<String>) -> OutgoingMessage {
        OutgoingMessage {
            message_type: message_type::CUSTOM,
            attachment: attachment_json.into(),
            ..OutgoingMessage::text(session, "")
        }
    }

    pub fn with_remote_ext(mut self, json: impl Into<String>) -> Self {
        self.remote_ext = json.into();
        self
    }

    pub fn with_local_ext(mut self, json: impl Into<String>) -> Self {
        self.local_ext = json.into();
        self
    }

    pub fn with_settings(mut self, settings: MessageSettings) -> Self {
        self.settings = settings;
        self
    }
}

/// A conversation in the recent list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentSession {
    pub session: SessionId,
    pub unread_count: u32,
    pub last_message: Option<LocalMessage>,
}

/// Another of my account's logged-in devices (NIM's `NIMLoginClient`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginClient {
    /// Names the device to [`LoginManager::kick_other_clients`](crate::LoginManager::kick_other_clients).
    pub connection_id: u64,
    pub client_type: u32,
    pub device_id: String,
    /// When it logged in, ms since the epoch.
    pub login_time: i64,
}

/// What happened to the devices of an `Event::LoginClientsChanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientsChange {
    /// They logged in, or were online when this device logged in.
    Online,
    /// They logged out, were kicked or lost their connection.
    Offline,
}

/// A user's profile (NIM's user card), as the server hosts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub account: String,
    pub nick: String,
    pub avatar: String,
    pub sign: String,
    /// 0 unknown, 1 male, 2 female.
    pub gender: u32,
    pub email: String,
    /// yyyy-MM-dd
    pub birth: String,
    pub mobile: String,
    /// JSON, app-defined.
    pub ext: String,
    /// When it last changed, ms since the epoch.
    pub updated_at: i64,
}

/// The fields of my profile to change; `None` keeps one, empty text
/// clears it. The server checks each (414 names the first bad one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfoUpdate {
    pub nick: Option<String>,
    pub avatar: Option<String>,
    pub sign: Option<String>,
    pub gender: Option<u32>,
    pub email: Option<String>,
    pub birth: Option<String>,
    pub mobile: Option<String>,
    pub ext: Option<String>,
}

/// One of my friends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FriendInfo {
    pub account: String,
    /// My name for the friend, seen only by me.
    pub alias: String,
    /// JSON, app-defined.
    pub ext: String,
    /// Since when, ms since the epoch.
    pub created_at: i64,
}

/// `SystemNotification.kind` and friend operations: see
/// `tidings_proto::notification_type` and `tidings_proto::friend_operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemNotification {
    /// Unique per account, increasing.
    pub id: u64,
    /// 0-3 team, 5 friend.
    pub kind: u32,
    pub from: String,
    pub target: String,
    pub postscript: String,
    /// JSON; for friends `{"vt": operation}`.
    pub attach: String,
    /// 0 untreated, 1 passed, 2 rejected, 3 ignored, 4 expired, 5-9 app-defined.
    pub status: u32,
    pub read: bool,
    pub time: i64,
}

/// Opaque JSON from another account or the app's backend; not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomNotification {
    pub from: String,
    pub content: String,
    pub push_content: String,
    pub time: i64,
}

/// My lists, as `SpecialRelationChanged` names them.
pub mod special_relation {
    pub use tidings_proto::special_relation::*;
}
