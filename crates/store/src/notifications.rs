//! System notifications, kept per account: each is added with an event of
//! its owner's log, and its id is that event's position.

use async_trait::async_trait;

use crate::{EventsOf, NewEvent, StoreResult, StoredEvent};

/// A notification to add to `owner`'s list, with the event that records it
/// (its position becomes the notification's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub owner: String,
    pub kind: u32,
    pub from: String,
    pub target: String,
    pub postscript: String,
    pub attach: String,
    pub status: u32,
    pub event: NewEvent,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    pub id: u64,
    pub kind: u32,
    pub from: String,
    pub target: String,
    pub postscript: String,
    pub attach: String,
    pub status: u32,
    pub read: bool,
    pub time: i64,
}

/// A change to some of an account's notifications.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationMark {
    /// Empty: all of the owner's.
    pub ids: Vec<u64>,
    pub read: Option<bool>,
    pub status: Option<u32>,
    pub delete: bool,
}

/// A custom notification kept for an account until a device of it gets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomRow {
    /// Assigned by the store (increasing per account).
    pub seq: u64,
    pub from: String,
    pub to: String,
    pub content: String,
    pub push_content: String,
    pub time: i64,
}

#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Up to `limit` of `owner`'s notifications with an id below `before`
    /// (0: from the newest), newest first.
    async fn notifications(
        &self,
        app_key: &str,
        owner: &str,
        before: u64,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;

    /// Applies `mark` to those of its ids that are `owner`'s (all of
    /// them when it names none) and appends what `events` makes of the ids
    /// changed. `NotFound` when it names ids and none is the owner's.
    async fn mark_notifications(
        &self,
        app_key: &str,
        owner: &str,
        mark: NotificationMark,
        at: i64,
        events: EventsOf<Vec<u64>>,
    ) -> StoreResult<(Vec<u64>, Vec<StoredEvent>)>;

    /// Keeps a custom notification for `row.to` and returns its `seq`;
    /// past `cap` kept for that account, the oldest go.
    async fn keep_custom(&self, app_key: &str, row: CustomRow, cap: u32) -> StoreResult<u64>;

    /// Forgets one kept notification (a device got it); no error if gone.
    async fn forget_custom(&self, app_key: &str, to: &str, seq: u64) -> StoreResult<()>;

    /// Takes (and forgets) the custom notifications kept for `to`, oldest
    /// first.
    async fn take_custom(&self, app_key: &str, to: &str) -> StoreResult<Vec<CustomRow>>;
}
