use std::sync::Arc;

use crate::types::{
    ClientsChange, CustomNotification, FriendInfo, LocalMessage, LoginClient, MessageRevoke,
    RecentSession, SessionId, SystemNotification, UserInfo,
};
use crate::SdkError;

/// Login progress, numbered as NIM's iOS `NIMLoginStep` (seed 002 `onIMLogin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum LoginStep {
    Connecting = 1,
    Connected = 2,
    ConnectFailed = 3,
    LoggingIn = 4,
    LoggedIn = 5,
    LoginFailed = 6,
    Syncing = 7,
    Synced = 8,
    Disconnected = 9,
    NetworkChanged = 10,
}

/// Everything the SDK reports. Messages and sessions are shared (`Arc`):
/// every listener's receiver clones each event it takes.
#[derive(Debug, Clone)]
pub enum Event {
    LoginStep(LoginStep),
    /// Login failed for good (wrong token, banned, ...): the SDK stopped retrying.
    LoginFailed(SdkError),
    /// A message was stored locally and is about to be sent.
    WillSend(Arc<LocalMessage>),
    /// A send finished: acked by the server, or refused with `error`.
    SendComplete {
        message: Arc<LocalMessage>,
        error: Option<SdkError>,
    },
    /// New messages from the network (push, offline sync or gap repair), in order.
    Received(Arc<Vec<LocalMessage>>),
    RecentSessionAdded(Arc<RecentSession>),
    RecentSessionUpdated(Arc<RecentSession>),
    RecentSessionRemoved(Arc<RecentSession>),
    /// The server closed this device's session: 1 another client's login,
    /// 2 the server (ban), 3 another of my clients.
    Kicked {
        reason: u32,
        message: String,
    },
    /// My other logged-in devices changed (NIM's
    /// `onMultiLoginClientsChanged`); `LoginManager::current_login_clients`
    /// has the whole list.
    LoginClientsChanged {
        change: ClientsChange,
        clients: Vec<LoginClient>,
    },
    /// Profiles changed (NIM's onUserInfoUpdate): mine, from any device or
    /// the server API, or ones fetched again. The local copy is updated
    /// before this is sent.
    UserInfoUpdated(Arc<Vec<UserInfo>>),
    /// Friends added or changed (alias), and friends gone, from any device
    /// of mine or the other side.
    FriendsChanged {
        changed: Vec<FriendInfo>,
        removed: Vec<String>,
    },
    /// I put `account` on (or took it off) my blacklist (relation 1) or
    /// mute list (2) (NIM's onBlackListChanged for the blacklist).
    ListChanged {
        account: String,
        relation: u32,
        on: bool,
    },
    /// A system notification arrived (NIM's onIMSystemMessageRecieved).
    SystemNotification(Arc<SystemNotification>),
    /// Notifications were read, answered or deleted (on any device of mine),
    /// or the whole list was reloaded: read it again.
    SystemNotificationsChanged,
    /// A custom notification (not stored).
    CustomNotification(Arc<CustomNotification>),
    /// The peer read my messages of `session` up to `message_id` (stamped
    /// `timestamp`): they are now `is_remote_read` (NIM's
    /// onIMRecvMessageReceipt).
    MessageReceipt {
        session: SessionId,
        message_id: String,
        timestamp: i64,
    },
    /// A message was revoked; its local copy is now a revoke notification
    /// (NIM's onIMRecvRevokeMessageNotification).
    MessageRevoked(Arc<MessageRevoke>),
}
