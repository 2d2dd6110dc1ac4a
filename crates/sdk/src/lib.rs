//! The Tidings client SDK.
//!
//! One [`Client`] per account. Managers named after the NIM guide
//! ([`Client::login`], [`Client::chat`], [`Client::conversation`]) do the
//! work; everything that happens arrives as a typed [`Event`] on
//! [`Client::events`]. Each account has a local SQLite database (WAL) under
//! the app's data directory: reads never wait for the network and work
//! offline after a restart.
//!
//! One task owns the socket (`connection`): it logs in, syncs, sends the
//! outbox, repairs gaps and reconnects with exponential back-off and jitter.
//!
//! May depend on: `tidings-proto`, `tidings-sqlite-wal`. Never on the server.

mod client;
mod config;
mod connection;
mod error;
mod event;
mod local_store;
mod managers;
mod types;

pub use client::Client;
pub use config::{client_type, ClientConfig, ServerAddress};
pub use connection::CURSORS_PER_SYNC;
pub use error::SdkError;
pub use event::{Event, LoginStep};
pub use managers::MAX_USER_FETCH;
pub use managers::{
    ChatManager, ConversationManager, LoginManager, NotificationManager, RelationManager,
    UserManager,
};
pub use types::*;

pub use tidings_proto::Code;
