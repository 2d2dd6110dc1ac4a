//! Read receipts: how far each account read each of its conversations.

use async_trait::async_trait;

use crate::{EventsOf, StoreResult, StoredEvent};

/// A conversation read up to a message: everything up to its time is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadMark {
    pub seq: u64,
    pub timestamp: i64,
    /// The message's client id (NIM's messageId).
    pub client_id: String,
}

#[async_trait]
pub trait ReceiptStore: Send + Sync + 'static {
    /// `reader` read `conversation` up to `mark`: recorded, with the
    /// events `events` makes of it, in one transaction, unless the reader
    /// had already read that far (`None`: nothing changed, no event).
    async fn mark_read(
        &self,
        app_key: &str,
        conversation: &str,
        reader: &str,
        mark: ReadMark,
        at: i64,
        events: EventsOf<ReadMark>,
    ) -> StoreResult<Option<Vec<StoredEvent>>>;

    /// How far `reader` read `conversation`.
    async fn read_mark(
        &self,
        app_key: &str,
        conversation: &str,
        reader: &str,
    ) -> StoreResult<Option<ReadMark>>;
}
