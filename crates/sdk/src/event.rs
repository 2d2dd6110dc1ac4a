use std::sync::Arc;

use crate::types::{ClientsChange, LocalMessage, LoginClient, RecentSession, UserInfo};
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
}
