//! Friends (each way, with my alias for the friend), pending friend
//! requests, and the blacklist and mute list.

use async_trait::async_trait;

use crate::{NewEvent, NewNotification, StoreResult, StoredEvent};

/// `relation` of [`RelationChange::Special`] and of the lists.
pub const BLACKLIST: u32 = 1;
pub const MUTE: u32 = 2;

/// One of my friends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FriendRow {
    pub accid: String,
    pub alias: String,
    pub ext: String,
    pub created_at: i64,
}

/// All relations of an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelationSet {
    pub friends: Vec<FriendRow>,
    pub blacklist: Vec<String>,
    pub muted: Vec<String>,
}

/// A change the relation service decided on (the accounts exist; the
/// rules are checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationChange {
    /// `from` asks `to`; it replaces an earlier request between them.
    Request { from: String, to: String },
    /// `a` and `b` become friends (an existing friendship keeps its alias
    /// and time). `answering`: `b` accepts `a`'s pending request, which
    /// must exist (`NotFound` otherwise) and is closed.
    Befriend {
        a: String,
        b: String,
        answering: bool,
    },
    /// `b` rejects `a`'s pending request, which must exist.
    Reject { a: String, b: String },
    /// Both lose the friendship; `NotFound` unless they were friends.
    Unfriend { a: String, b: String },
    /// `owner`'s alias and ext for `friend`; `NotFound` unless friends.
    UpdateFriend {
        owner: String,
        friend: String,
        alias: String,
        ext: String,
    },
    /// `owner` puts `target` on (or takes it off) a list.
    Special {
        owner: String,
        target: String,
        relation: u32,
        on: bool,
    },
}

/// What the change found and made, for the events that record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFacts {
    /// The notification of the request that was answered.
    pub answered_notification: Option<u64>,
    /// The friendship after the change, as `a` (or `owner`) holds it.
    pub friend: Option<FriendRow>,
    /// The other side's row of a new friendship.
    pub reverse: Option<FriendRow>,
}

/// The events and notifications recording a change.
#[derive(Debug, Default)]
pub struct Recorded {
    pub events: Vec<NewEvent>,
    pub notifications: Vec<NewNotification>,
}

pub type RecordChange = Box<dyn FnOnce(&ChangeFacts) -> Recorded + Send>;

#[async_trait]
pub trait RelationStore: Send + Sync + 'static {
    /// Applies `change` at `at` and appends what `record` makes of it, in
    /// one transaction. Returns every appended event (the notifications'
    /// among them).
    async fn change_relation(
        &self,
        app_key: &str,
        change: RelationChange,
        at: i64,
        record: RecordChange,
    ) -> StoreResult<Vec<StoredEvent>>;

    async fn relations(&self, app_key: &str, owner: &str) -> StoreResult<RelationSet>;

    /// `owner`'s friendship with `other`, if any.
    async fn friend(
        &self,
        app_key: &str,
        owner: &str,
        other: &str,
    ) -> StoreResult<Option<FriendRow>>;

    /// The accounts on `owner`'s list `relation`.
    async fn listed(&self, app_key: &str, owner: &str, relation: u32) -> StoreResult<Vec<String>>;
}
