//! The managers of the NIM guide, as thin views over a [`Client`](crate::Client).

mod chat;
mod conversation;
mod login;
mod user;

pub use chat::ChatManager;
pub use conversation::ConversationManager;
pub use login::LoginManager;
pub use user::UserManager;
