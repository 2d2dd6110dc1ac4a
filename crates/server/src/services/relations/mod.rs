//! Relations: friends (by request and answer, or added directly), my
//! aliases for them, and my blacklist and mute list, each independent of
//! the others. Each change goes to the log of every account it concerns
//! (both friends; only me for my lists and aliases) in its transaction; a
//! request and its answer also leave a system notification (type 5).

pub mod rules;
mod special_lists;

use std::sync::Arc;

use tidings_proto::{
    account_event, friend_operation, notification_status, notification_type, relation_request,
    response, special_relation, Code, Friend, FriendChanged, FriendRequest, ListRelations,
    NotificationsChanged, RelationRequest, Relations, SetSpecialRelation, SpecialRelationChanged,
    UpdateFriend,
};
use tidings_store::{
    ChangeFacts, FriendRow, NewEvent, RecordChange, Recorded, RelationChange, Store,
};

pub use special_lists::{SpecialLists, SPECIAL_LIST_TTL};

use super::accounts::AccountService;
use super::events::{new_event, EventService};
use super::notifications::{changed_event, new_notification};
use super::Session;
use crate::error::echo;
use crate::ServiceError;

/// Most accounts of one list page.
pub const MAX_LIST_PAGE: u32 = 1000;

pub struct RelationService {
    store: Arc<dyn Store>,
    events: Arc<EventService>,
    accounts: Arc<AccountService>,
    pub special_lists: SpecialLists,
}

fn friend_wire(row: &FriendRow) -> Friend {
    Friend {
        accid: row.accid.clone(),
        alias: row.alias.clone(),
        ext: row.ext.clone(),
        created_at: row.created_at,
    }
}

/// `owner`'s event: `friend` is (or stopped being) a friend.
fn friend_event(owner: &str, friend: Friend, is_friend: bool) -> NewEvent {
    let changed = FriendChanged {
        friend: Some(friend),
        is_friend,
    };
    new_event(owner, account_event::Kind::Friend(changed))
}

fn friend_attach(operation: u32) -> String {
    format!("{{\"vt\":{operation}}}")
}

impl RelationService {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<EventService>,
        accounts: Arc<AccountService>,
    ) -> RelationService {
        RelationService {
            special_lists: SpecialLists::new(store.clone()),
            store,
            events,
            accounts,
        }
    }

    pub async fn handle(
        &self,
        session: &Session,
        request: RelationRequest,
    ) -> Result<Option<response::Area>, ServiceError> {
        let (app, me) = (session.app_key.as_str(), session.accid.as_str());
        match request.kind {
            Some(relation_request::Kind::Friend(FriendRequest {
                accid,
                operation,
                message,
            })) => self
                .friend(app, me, &accid, operation, &message)
                .await
                .map(|()| None),
            Some(relation_request::Kind::DeleteFriend(delete)) => {
                self.unfriend(app, me, &delete.accid).await.map(|()| None)
            }
            Some(relation_request::Kind::UpdateFriend(UpdateFriend { accid, alias, ext })) => self
                .update_friend(app, me, &accid, alias, ext)
                .await
                .map(|()| None),
            Some(relation_request::Kind::SetSpecial(SetSpecialRelation {
                accid,
                relation,
                on,
            })) => self
                .set_special(app, me, &accid, relation, on)
                .await
                .map(|()| None),
            Some(relation_request::Kind::List(list)) => {
                Ok(Some(self.page(app, me, list).await?.into()))
            }
            None => Err(ServiceError::bad_parameter("relation request has no kind")),
        }
    }

    async fn apply(
        &self,
        app_key: &str,
        change: RelationChange,
        record: RecordChange,
    ) -> Result<(), ServiceError> {
        let stored = self
            .store
            .change_relation(app_key, change, crate::now_ms(), record)
            .await?;
        if let Err(e) = self.events.publish(app_key, &stored).await {
            tracing::warn!(error = %e, "could not push a relation change");
        }
        Ok(())
    }

    /// NIM's friend operations: 1 add directly, 2 request, 3 accept, 4
    /// reject; `target` is the one asked (1, 2) or the one who asked (3, 4).
    pub async fn friend(
        &self,
        app_key: &str,
        me: &str,
        target: &str,
        operation: u32,
        postscript: &str,
    ) -> Result<(), ServiceError> {
        rules::check_friend_request(me, target, operation, postscript)?;
        self.accounts.must_exist(app_key, target).await?;
        let (me, target) = (me.to_owned(), target.to_owned());
        let postscript = postscript.to_owned();
        let notice = {
            let (me, target, postscript) = (me.clone(), target.clone(), postscript.clone());
            move || {
                new_notification(
                    &target,
                    notification_type::FRIEND,
                    &me,
                    &target,
                    &postscript,
                    &friend_attach(operation),
                )
            }
        };
        let both_friends = |facts: &ChangeFacts, mine: &str, theirs: &str| {
            let mut events = Vec::new();
            if let Some(row) = &facts.friend {
                events.push(friend_event(mine, friend_wire(row), true));
            }
            if let Some(row) = &facts.reverse {
                events.push(friend_event(theirs, friend_wire(row), true));
            }
            events
        };
        match operation {
            friend_operation::ADD => {
                let (a, b) = (me.clone(), target.clone());
                let record: RecordChange = Box::new(move |facts| Recorded {
                    events: both_friends(facts, &a, &b),
                    notifications: vec![notice()],
                });
                let change = RelationChange::Befriend {
                    a: me,
                    b: target,
                    answering: false,
                };
                self.apply(app_key, change, record).await
            }
            friend_operation::REQUEST => {
                if self.store.friend(app_key, &me, &target).await?.is_some() {
                    return Err(ServiceError::bad_parameter(format!(
                        "{} is already your friend",
                        echo(&target)
                    )));
                }
                let record: RecordChange = Box::new(move |_| Recorded {
                    events: Vec::new(),
                    notifications: vec![notice()],
                });
                let change = RelationChange::Request {
                    from: me,
                    to: target,
                };
                self.apply(app_key, change, record).await
            }
            friend_operation::ACCEPT | friend_operation::REJECT => {
                let accept = operation == friend_operation::ACCEPT;
                let (acceptor, asker) = (me.clone(), target.clone());
                let record: RecordChange = Box::new(move |facts| {
                    let mut events = if accept {
                        both_friends(facts, &asker, &acceptor)
                    } else {
                        Vec::new()
                    };
                    if let Some(id) = facts.answered_notification {
                        let status = if accept {
                            notification_status::PASSED
                        } else {
                            notification_status::REJECTED
                        };
                        let changed = NotificationsChanged {
                            ids: vec![id],
                            read: None,
                            status: Some(status),
                            deleted: false,
                        };
                        events.push(changed_event(&acceptor, changed));
                    }
                    Recorded {
                        events,
                        notifications: vec![notice()],
                    }
                });
                let change = if accept {
                    RelationChange::Befriend {
                        a: target,
                        b: me,
                        answering: true,
                    }
                } else {
                    RelationChange::Reject { a: target, b: me }
                };
                self.apply(app_key, change, record).await.map_err(|e| {
                    if e.code == Code::NotFound {
                        ServiceError::new(
                            Code::NotFound,
                            "no pending friend request from that account",
                        )
                    } else {
                        e
                    }
                })
            }
            _ => Err(ServiceError::bad_parameter("unknown friend operation")),
        }
    }

    /// Both lose the friendship.
    pub async fn unfriend(&self, app_key: &str, me: &str, other: &str) -> Result<(), ServiceError> {
        rules::check_unfriend(me, other)?;
        let (a, b) = (me.to_owned(), other.to_owned());
        let record: RecordChange = Box::new(move |_| {
            let gone = |accid: &str| Friend {
                accid: accid.to_owned(),
                ..Friend::default()
            };
            Recorded {
                events: vec![
                    friend_event(&a, gone(&b), false),
                    friend_event(&b, gone(&a), false),
                ],
                notifications: Vec::new(),
            }
        });
        let change = RelationChange::Unfriend {
            a: me.to_owned(),
            b: other.to_owned(),
        };
        self.apply(app_key, change, record).await.map_err(|e| {
            if e.code == Code::NotFound {
                ServiceError::new(
                    Code::NotFound,
                    format!("{} is not your friend", echo(other)),
                )
            } else {
                e
            }
        })
    }

    /// My alias (and ext) for a friend; only I see it.
    pub async fn update_friend(
        &self,
        app_key: &str,
        me: &str,
        friend: &str,
        alias: String,
        ext: String,
    ) -> Result<(), ServiceError> {
        rules::check_friend_update(me, friend, &alias, &ext)?;
        let owner = me.to_owned();
        let record: RecordChange = Box::new(move |facts| Recorded {
            events: facts
                .friend
                .iter()
                .map(|row| friend_event(&owner, friend_wire(row), true))
                .collect(),
            notifications: Vec::new(),
        });
        let change = RelationChange::UpdateFriend {
            owner: me.to_owned(),
            friend: friend.to_owned(),
            alias,
            ext,
        };
        self.apply(app_key, change, record).await.map_err(|e| {
            if e.code == Code::NotFound {
                ServiceError::new(
                    Code::NotFound,
                    format!("{} is not your friend", echo(friend)),
                )
            } else {
                e
            }
        })
    }

    /// Puts `target` on (or takes it off) my blacklist or mute list.
    pub async fn set_special(
        &self,
        app_key: &str,
        me: &str,
        target: &str,
        relation: u32,
        on: bool,
    ) -> Result<(), ServiceError> {
        rules::check_special(me, target, relation)?;
        self.accounts.must_exist(app_key, target).await?;
        let (owner, listed) = (me.to_owned(), target.to_owned());
        let record: RecordChange = Box::new(move |_| {
            let changed = SpecialRelationChanged {
                accid: listed,
                relation,
                on,
            };
            Recorded {
                events: vec![new_event(&owner, account_event::Kind::Special(changed))],
                notifications: Vec::new(),
            }
        });
        let change = RelationChange::Special {
            owner: me.to_owned(),
            target: target.to_owned(),
            relation,
            on,
        };
        let applied = self.apply(app_key, change, record).await;
        self.special_lists.forget(app_key, me, relation);
        applied
    }

    /// One page of one of my lists: accounts after `list.after`, at most
    /// [`MAX_LIST_PAGE`].
    pub async fn page(
        &self,
        app_key: &str,
        me: &str,
        list: ListRelations,
    ) -> Result<Relations, ServiceError> {
        let limit = list.limit.clamp(1, MAX_LIST_PAGE) as usize;
        let all = self.relations(app_key, me).await?;
        let mut page = Relations::default();
        let after = |accid: &str| list.after.is_empty() || accid > list.after.as_str();
        match list.relation {
            0 => {
                let mut rest = all.friends.into_iter().filter(|f| after(&f.accid));
                page.friends = rest.by_ref().take(limit).collect();
                page.has_more = rest.next().is_some();
            }
            special_relation::BLACKLIST | special_relation::MUTE => {
                let source = if list.relation == special_relation::BLACKLIST {
                    all.blacklist
                } else {
                    all.muted
                };
                let mut rest = source.into_iter().filter(|a| after(a));
                let taken: Vec<String> = rest.by_ref().take(limit).collect();
                page.has_more = rest.next().is_some();
                if list.relation == special_relation::BLACKLIST {
                    page.blacklist = taken;
                } else {
                    page.muted = taken;
                }
            }
            other => {
                return Err(ServiceError::bad_parameter(format!(
                    "relation must be 0 (friends), 1 (blacklist) or 2 (mute), not {other}"
                )))
            }
        }
        Ok(page)
    }

    pub async fn relations(&self, app_key: &str, me: &str) -> Result<Relations, ServiceError> {
        let set = self.store.relations(app_key, me).await?;
        Ok(Relations {
            friends: set.friends.iter().map(friend_wire).collect(),
            blacklist: set.blacklist,
            muted: set.muted,
            has_more: false,
        })
    }

    /// The accounts that are `me`'s friends.
    pub async fn friends_of(&self, app_key: &str, me: &str) -> Result<Vec<String>, ServiceError> {
        let set = self.store.relations(app_key, me).await?;
        Ok(set.friends.into_iter().map(|f| f.accid).collect())
    }

    /// Whether `recipient` has `sender` on its blacklist.
    pub async fn blocks(
        &self,
        app_key: &str,
        recipient: &str,
        sender: &str,
    ) -> Result<bool, ServiceError> {
        self.special_lists
            .contains(app_key, recipient, special_relation::BLACKLIST, sender)
            .await
    }

    /// Whether `recipient` has `sender` on its mute list: its messages
    /// arrive but do not notify.
    pub async fn mutes(
        &self,
        app_key: &str,
        recipient: &str,
        sender: &str,
    ) -> Result<bool, ServiceError> {
        self.special_lists
            .contains(app_key, recipient, special_relation::MUTE, sender)
            .await
    }
}
