//! The per-account event log: what must reach every device of an account
//! and is not a conversation message. Events are appended by the other
//! areas' writes (a profile update appends its event in the update's
//! transaction); this trait reads and trims the log.

use async_trait::async_trait;

use crate::StoreResult;

/// An event to append to `accid`'s log, in the same transaction as the
/// change it records. `body` is opaque to the store (the server's encoded
/// event, without its position and time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub accid: String,
    pub body: Vec<u8>,
}

/// An appended event: its account's next position (gapless from 1) and
/// the time it was appended, ms since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub accid: String,
    pub pos: u64,
    pub time: i64,
    pub body: Vec<u8>,
}

/// Part of an account's log after a position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventPage {
    /// In position order.
    pub events: Vec<StoredEvent>,
    /// The log's last position (0: nothing was ever appended).
    pub head: u64,
    /// Positions up to this one are trimmed: a reader whose position is
    /// below it has missed events it can no longer get.
    pub trimmed_through: u64,
}

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Up to `limit` events of `accid`'s log with a position after `after`.
    async fn events_after(
        &self,
        app_key: &str,
        accid: &str,
        after: u64,
        limit: u32,
    ) -> StoreResult<EventPage>;

    /// Deletes events appended before `before_ms` and, of each account, all
    /// but the newest `keep` (positions are never reused). Returns how many
    /// went.
    async fn trim_events(&self, before_ms: i64, keep: u64) -> StoreResult<u64>;
}
