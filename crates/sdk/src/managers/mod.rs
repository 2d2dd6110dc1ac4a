//! The managers of the NIM guide, as thin views over a [`Client`](crate::Client).

mod chat;
mod conversation;
mod login;
mod notification;
mod relation;
mod user;

pub use chat::ChatManager;
pub use conversation::ConversationManager;
pub use login::LoginManager;
pub use notification::NotificationManager;
pub use relation::RelationManager;
pub use user::{UserManager, MAX_FETCH as MAX_USER_FETCH};

/// This device's clock, ms since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
