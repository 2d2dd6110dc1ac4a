//! Storage contract of the Tidings server: the [`Store`] trait, the records it
//! persists, [`StoreError`], and [`store_conformance_tests!`], the one test
//! suite every backend runs.
//!
//! May depend on: `tidings-proto` (for result codes) and nothing of the
//! gateway, services or bus. Stores only persist: limits, permissions and
//! sequencing policy live in the server's services.

mod conformance;
mod stats;
mod types;

pub use stats::{CommitCounters, CommitStats, COMMIT_BUCKETS_US};
pub use types::*;

#[doc(hidden)]
pub use conformance::suite as __conformance;

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

/// Everything the server persists. One implementation per backend; every
/// implementation passes [`store_conformance_tests!`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_app(&self, app: App) -> StoreResult<App>;
    async fn app(&self, app_key: &str) -> StoreResult<Option<App>>;

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account>;
    async fn account(&self, app_key: &str, accid: &str) -> StoreResult<Option<Account>>;
    /// Sets a new token; `NotFound` when the account does not exist.
    async fn update_token(&self, app_key: &str, accid: &str, token: &str) -> StoreResult<()>;
    async fn set_blocked(&self, app_key: &str, accid: &str, blocked: bool) -> StoreResult<()>;
    /// The device that last logged in to the account with a client type of
    /// `kick_group` (the group's client types as a bit mask), if any.
    async fn last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
    ) -> StoreResult<Option<String>>;
    /// Records `device_id` as the account's last device of `kick_group`.
    async fn set_last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
        device_id: &str,
    ) -> StoreResult<()>;

    /// Records a server-API nonce. Returns false when the same nonce was seen
    /// for this app at or after `now_ms - window_ms` (a replay).
    async fn record_nonce(
        &self,
        app_key: &str,
        nonce: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool>;

    /// Appends a message to its conversation, durably, before returning.
    /// Assigns the server id, timestamp and next sequence. A message whose
    /// (app, conversation, from, client_id) is already stored is not stored
    /// again: the original is returned with `duplicate = true`. A client id
    /// reused by the same sender in another conversation is another message.
    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended> {
        let mut appended = self.append_messages(vec![message]).await?;
        appended
            .pop()
            .ok_or_else(|| StoreError::Backend("append returned nothing".into()))
    }

    /// Appends several messages in the given order, in one transaction: the
    /// way one connection's pipelined sends keep their order. The answer has
    /// one entry per input, in the same order.
    ///
    /// A call takes its place in the commit order at its future's first
    /// poll: of two calls, the one polled first commits first (in the same
    /// group or an earlier one), however the two are awaited after that.
    /// A connection keeps several batches in flight this way, in order.
    async fn append_messages(&self, messages: Vec<NewMessage>) -> StoreResult<Vec<Appended>>;

    /// Messages of one conversation with `seq > after_seq`, in order.
    async fn messages_after(
        &self,
        app_key: &str,
        conversation: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;

    /// The conversations an account takes part in within `range`, with
    /// their last sequence, in the range's order.
    async fn conversations_of(
        &self,
        app_key: &str,
        accid: &str,
        range: &SessionRange,
    ) -> StoreResult<Vec<UserConversation>>;

    /// Returns once everything queued before the call is committed.
    async fn flush(&self) -> StoreResult<()>;

    /// Counts for operators and migration checks.
    async fn message_count(&self, app_key: &str) -> StoreResult<u64>;

    /// Group-commit counters since start.
    fn commit_stats(&self) -> CommitStats {
        CommitStats::default()
    }
}
