//! The managers of the NIM guide, as thin views over a [`Client`](crate::Client).

mod chat;
mod conversation;
mod login;

pub use chat::ChatManager;
pub use conversation::ConversationManager;
pub use login::LoginManager;
