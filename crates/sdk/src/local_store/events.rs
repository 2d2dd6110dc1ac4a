//! The account event log as this device has applied it: the cursor (the
//! last position held without a hole) and what each event changes. Events
//! are applied in the same transaction as the messages of their batch.

use rusqlite::{params, Connection, OptionalExtension};

use super::{notifications, relations, users};
use crate::types::{FriendInfo, MessageRevoke, SessionId, SystemNotification, UserInfo};
use tidings_proto::message_flags;

/// Beside the settings' bits in a message's `flags`: the peer read it.
pub const REMOTE_READ: u32 = 1 << 17;

const CURSOR: &str = "event_cursor";

/// What an event of the log changes on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// A profile (mine or a friend's).
    Profile(Box<UserInfo>),
    /// A friendship began or changed (`is_friend`), or ended.
    Friend { friend: FriendInfo, is_friend: bool },
    /// I put an account on (or took it off) my blacklist or mute list.
    Listed {
        account: String,
        relation: u32,
        on: bool,
    },
    /// A system notification arrived (its id is the event's position).
    NotificationAdded(Box<SystemNotification>),
    /// Notifications changed (`ids` empty: all of them).
    NotificationsChanged(NotificationsChange),
    /// A P2P session was read up to a message: by the peer (my messages up
    /// to its time are read) or by me on some device of mine.
    Read(ReadChange),
    /// A message was revoked (the caller replaces the local copy).
    Revoked(Box<MessageRevoke>),
    /// A kind this SDK does not know: only the cursor moves.
    Unknown,
}

/// A read mark that moved: `session` read up to the message `message_id`
/// (everything up to `timestamp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadChange {
    pub session: SessionId,
    pub by_me: bool,
    pub message_id: String,
    pub timestamp: i64,
}

/// What changed of some of my notifications.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationsChange {
    pub ids: Vec<u64>,
    pub read: Option<bool>,
    pub status: Option<u32>,
    pub deleted: bool,
}

/// What a reload brings of each area the log keeps current.
#[derive(Debug, Default)]
pub struct Reloaded {
    pub profiles: Vec<UserInfo>,
    pub friends: Option<Vec<FriendInfo>>,
    pub lists: Option<Vec<(u32, Vec<String>)>>,
    pub notifications: Option<Vec<SystemNotification>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub pos: u64,
    pub change: AccountChange,
}

/// The events of one network batch, and what a reload brought.
#[derive(Debug, Default)]
pub struct EventBatch {
    /// Pushed or synced, in the order they came (not always gapless).
    pub events: Vec<LoggedEvent>,
    /// A reload's state, saved before `reloaded_to` moves the cursor.
    pub reloaded: Reloaded,
    /// The log's head when a reload started: the cursor moves there.
    pub reloaded_to: Option<u64>,
}

impl EventBatch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.reloaded.profiles.is_empty()
            && self.reloaded.friends.is_none()
            && self.reloaded.lists.is_none()
            && self.reloaded.notifications.is_none()
            && self.reloaded_to.is_none()
    }
}

/// What applying an [`EventBatch`] changed.
#[derive(Debug, Default)]
pub struct AppliedEvents {
    pub profiles: Vec<UserInfo>,
    /// Friends added or changed, and friends gone.
    pub friends: Vec<FriendInfo>,
    pub unfriended: Vec<String>,
    /// (account, relation, on) of my lists.
    pub listed: Vec<(String, u32, bool)>,
    pub notifications: Vec<SystemNotification>,
    pub notifications_changed: Vec<NotificationsChange>,
    /// Read marks that moved: the peer's (my messages marked read here) and
    /// mine (the caller recounts the session's unread messages).
    pub read: Vec<ReadChange>,
    /// Messages revoked, in log order (their local copies are replaced by
    /// the caller, which fills in `original`).
    pub revoked: Vec<MessageRevoke>,
    /// A reload replaced the friends, lists and notifications.
    pub reloaded: bool,
    /// An event came after a hole: the cursor to sync from.
    pub gap: Option<u64>,
}

pub fn cursor(conn: &Connection) -> rusqlite::Result<u64> {
    let value: Option<i64> = conn
        .prepare_cached("SELECT value FROM account_values WHERE key = ?1")?
        .query_row([CURSOR], |row| row.get(0))
        .optional()?;
    Ok(value.unwrap_or(0) as u64)
}

fn set_cursor(conn: &Connection, pos: u64) -> rusqlite::Result<()> {
    set_value(conn, CURSOR, pos as i64)
}

fn set_value(conn: &Connection, key: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO account_values (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Applies the batch: a reload's profiles and cursor first, then each event
/// right after the cursor, in position order; one already held is passed
/// over, and those after a hole are left for the sync that fills it.
pub fn apply(conn: &Connection, batch: EventBatch) -> rusqlite::Result<AppliedEvents> {
    let mut applied = AppliedEvents::default();
    let mut at = cursor(conn)?;
    let start = at;
    let reloaded = batch.reloaded;
    if !reloaded.profiles.is_empty() {
        users::save(conn, &reloaded.profiles)?;
        applied.profiles.extend(reloaded.profiles);
    }
    if let (Some(friends), Some(lists)) = (&reloaded.friends, &reloaded.lists) {
        relations::replace_all(conn, friends, lists)?;
        applied.reloaded = true;
    }
    if let Some(all) = &reloaded.notifications {
        notifications::replace_all(conn, all)?;
        applied.reloaded = true;
    }
    if let Some(head) = batch.reloaded_to {
        at = at.max(head);
    }
    let mut events = batch.events;
    // Two changes committed together may be published in either order.
    events.sort_by_key(|e| e.pos);
    for event in events {
        if event.pos <= at {
            continue;
        }
        if event.pos > at + 1 {
            applied.gap = Some(at);
            break;
        }
        match event.change {
            AccountChange::Profile(profile) => {
                users::save(conn, std::slice::from_ref(&*profile))?;
                applied.profiles.push(*profile);
            }
            AccountChange::Friend { friend, is_friend } => {
                if is_friend {
                    relations::save_friend(conn, &friend)?;
                    applied.friends.push(friend);
                } else {
                    relations::remove_friend(conn, &friend.account)?;
                    applied.unfriended.push(friend.account);
                }
            }
            AccountChange::Listed {
                account,
                relation,
                on,
            } => {
                relations::set_listed(conn, relation, &account, on)?;
                applied.listed.push((account, relation, on));
            }
            AccountChange::NotificationAdded(mut notification) => {
                notification.id = event.pos;
                notifications::add(conn, &notification)?;
                applied.notifications.push(*notification);
            }
            AccountChange::NotificationsChanged(change) => {
                notifications::change(
                    conn,
                    &change.ids,
                    change.read,
                    change.status,
                    change.deleted,
                )?;
                applied.notifications_changed.push(change);
            }
            AccountChange::Read(read) => {
                if !read.by_me {
                    mark_remote_read(conn, &read.session, read.timestamp)?;
                }
                applied.read.push(read);
            }
            AccountChange::Revoked(revoke) => applied.revoked.push(*revoke),
            AccountChange::Unknown => {}
        }
        at = event.pos;
    }
    if at != start {
        set_cursor(conn, at)?;
    }
    Ok(applied)
}

/// My messages of `session` up to `timestamp` were read by the peer. Only
/// those after the peer's previous mark are touched (kept per session in
/// `account_values`), so a receipt costs its new messages, not the session.
fn mark_remote_read(
    conn: &Connection,
    session: &SessionId,
    timestamp: i64,
) -> rusqlite::Result<()> {
    let before = remote_read_at(conn, session)?;
    if timestamp <= before {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE messages SET flags = flags | ?5 \
         WHERE session_type = ?1 AND session_id = ?2 AND seq > 0 \
           AND timestamp > ?3 AND timestamp <= ?4 AND outgoing = 1",
    )?
    .execute(params![
        session.kind.as_u32(),
        session.id,
        before,
        timestamp,
        REMOTE_READ
    ])?;
    set_value(conn, &remote_read_key(session), timestamp)
}

fn remote_read_key(session: &SessionId) -> String {
    format!("remote_read/{}/{}", session.kind.as_u32(), session.id)
}

/// How far the peer read `session` (0: not at all): my messages stamped
/// up to it are read.
fn remote_read_at(conn: &Connection, session: &SessionId) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM account_values WHERE key = ?1")?
        .query_row([remote_read_key(session)], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// How many of `session`'s messages after `timestamp` count as unread.
pub fn unread_after(
    conn: &Connection,
    session: &SessionId,
    timestamp: i64,
) -> rusqlite::Result<u32> {
    conn.prepare_cached(
        "SELECT count(*) FROM messages \
         WHERE session_type = ?1 AND session_id = ?2 AND seq > 0 AND timestamp > ?3 \
           AND outgoing = 0 AND flags & ?4 != 0 AND flags & 262144 = 0",
    )?
    .query_row(
        params![
            session.kind.as_u32(),
            session.id,
            timestamp,
            message_flags::COUNTED
        ],
        |row| row.get(0),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn profile(pos: u64) -> LoggedEvent {
        LoggedEvent {
            pos,
            change: AccountChange::Profile(Box::new(UserInfo {
                account: "me".into(),
                nick: format!("n{pos}"),
                updated_at: pos as i64,
                ..UserInfo::default()
            })),
        }
    }

    fn batch(events: Vec<LoggedEvent>) -> EventBatch {
        EventBatch {
            events,
            ..EventBatch::default()
        }
    }

    #[test]
    fn events_apply_in_order_once_and_stop_at_a_hole() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::rows::migrate(&conn).unwrap();
        // Out of order within a batch: sorted.
        let applied = apply(&conn, batch(vec![profile(2), profile(1)])).unwrap();
        assert_eq!((applied.profiles.len(), applied.gap), (2, None));
        assert_eq!(cursor(&conn).unwrap(), 2);
        // Held already: passed over; an unknown kind moves the cursor.
        let unknown = LoggedEvent {
            pos: 3,
            change: AccountChange::Unknown,
        };
        let applied = apply(&conn, batch(vec![profile(2), unknown])).unwrap();
        assert!(applied.profiles.is_empty());
        assert_eq!(cursor(&conn).unwrap(), 3);
        // A hole: what follows it waits for the sync from the cursor.
        let applied = apply(&conn, batch(vec![profile(5), profile(6)])).unwrap();
        assert_eq!((applied.profiles.len(), applied.gap), (0, Some(3)));
        assert_eq!(cursor(&conn).unwrap(), 3);
        let applied = apply(&conn, batch(vec![profile(4), profile(5), profile(6)])).unwrap();
        assert_eq!((applied.profiles.len(), applied.gap), (3, None));
        assert_eq!(users::get(&conn, "me").unwrap().unwrap().nick, "n6");
        // A reload moves the cursor to the log's head, then goes on.
        let reload = EventBatch {
            events: vec![profile(11)],
            reloaded: Reloaded::default(),
            reloaded_to: Some(10),
        };
        let applied = apply(&conn, reload).unwrap();
        assert_eq!((applied.profiles.len(), applied.gap), (1, None));
        assert_eq!(cursor(&conn).unwrap(), 11);
    }
}
