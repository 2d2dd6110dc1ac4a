//! Profiles hosted by the server (NIM's user cards).

use async_trait::async_trait;

use crate::{NewEvent, StoreResult, StoredEvent};

/// An account's profile. An account that never set one has empty fields
/// and its name as `nick`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub accid: String,
    pub nick: String,
    pub avatar: String,
    pub sign: String,
    pub gender: u32,
    pub email: String,
    pub birth: String,
    pub mobile: String,
    pub ext: String,
    pub updated_at: i64,
}

/// The fields to change (validated by the user service); `None` keeps one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub nick: Option<String>,
    pub avatar: Option<String>,
    pub sign: Option<String>,
    pub gender: Option<u32>,
    pub email: Option<String>,
    pub birth: Option<String>,
    pub mobile: Option<String>,
    pub ext: Option<String>,
}

/// Makes the events that record a change from its outcome, inside the
/// change's transaction.
pub type EventsOf<T> = Box<dyn FnOnce(&T) -> Vec<NewEvent> + Send>;

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// The profiles of those of `accids` that are accounts of the app, in
    /// any order.
    async fn profiles(&self, app_key: &str, accids: &[String]) -> StoreResult<Vec<Profile>>;

    /// Applies `changes` to `accid`'s profile at `at` and appends the
    /// events `events` makes of the new profile, in one transaction.
    /// `updated_at` becomes `at`, or one past the last one if that is not
    /// earlier: it grows with each change, whatever the callers' clocks.
    /// `NotFound` when the account does not exist.
    async fn update_profile(
        &self,
        app_key: &str,
        accid: &str,
        changes: ProfileChanges,
        at: i64,
        events: EventsOf<Profile>,
    ) -> StoreResult<(Profile, Vec<StoredEvent>)>;
}
