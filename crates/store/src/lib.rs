//! Storage contract of the Tidings server: one trait per area
//! ([`AccountStore`], [`MessageStore`], [`EventStore`], [`UserStore`],
//! [`RelationStore`], [`NotificationStore`], [`ReceiptStore`]),
//! [`Store`] their sum, the records they persist, [`StoreError`], and one
//! conformance macro per trait that every backend runs
//! ([`store_conformance_tests!`] runs them all).
//!
//! May depend on: `tidings-proto` (for result codes) and nothing of the
//! gateway, services or bus. Stores only persist: limits, permissions and
//! sequencing policy live in the server's services.

mod accounts;
#[doc(hidden)]
pub mod conformance;
mod events;
mod messages;
mod notifications;
mod receipts;
mod relations;
mod stats;
mod types;
mod users;

pub use accounts::AccountStore;
pub use events::{EventPage, EventStore, NewEvent, StoredEvent};
pub use messages::MessageStore;
pub use notifications::{
    CustomRow, NewNotification, Notification, NotificationMark, NotificationStore,
};
pub use receipts::{ReadMark, ReceiptStore};
pub use relations::{
    ChangeFacts, FriendRow, RecordChange, Recorded, RelationChange, RelationSet, RelationStore,
    BLACKLIST, MUTE,
};
pub use stats::{CommitCounters, CommitStats, COMMIT_BUCKETS_US};
pub use types::*;
pub use users::{EventsOf, Profile, ProfileChanges, UserStore};

#[doc(hidden)]
pub use conformance as __conformance;

use async_trait::async_trait;
use tidings_proto::Code;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("storage backend failed: {0}")]
    Backend(String),
    #[error("store is shut down")]
    Closed,
}

impl StoreError {
    /// The NIM code a peer sees for this error.
    pub fn code(&self) -> Code {
        match self {
            StoreError::Conflict { .. } => Code::BadParameter,
            StoreError::NotFound { .. } => Code::NotFound,
            StoreError::Backend(_) | StoreError::Closed => Code::ServerError,
        }
    }

    /// For a statement on account `accid`: `NotFound` unless it changed a row.
    pub fn unless_account_changed(rows_changed: u64, accid: &str) -> StoreResult<()> {
        if rows_changed == 0 {
            Err(StoreError::NotFound {
                what: format!("account {accid}"),
            })
        } else {
            Ok(())
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the server persists: the sum of the area traits, plus what
/// concerns the whole store. One implementation per backend; every
/// implementation passes [`store_conformance_tests!`].
#[async_trait]
pub trait Store:
    AccountStore
    + MessageStore
    + EventStore
    + UserStore
    + RelationStore
    + NotificationStore
    + ReceiptStore
{
    /// Returns once everything queued before the call is committed.
    async fn flush(&self) -> StoreResult<()>;

    /// Group-commit counters since start.
    fn commit_stats(&self) -> CommitStats {
        CommitStats::default()
    }
}

/// The area traits, for code that calls a store's methods.
pub mod prelude {
    pub use crate::{
        AccountStore, EventStore, MessageStore, NotificationStore, ReceiptStore, RelationStore,
        Store, UserStore,
    };
}
