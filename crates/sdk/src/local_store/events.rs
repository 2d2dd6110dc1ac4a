//! The account event log as this device has applied it: the cursor (the
//! last position held without a hole) and what each event changes. Events
//! are applied in the same transaction as the messages of their batch.

use rusqlite::{params, Connection, OptionalExtension};

use super::users;
use crate::types::UserInfo;

const CURSOR: &str = "event_cursor";

/// What an event of the log changes on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// A profile (mine or a friend's).
    Profile(UserInfo),
    /// A kind this SDK does not know: only the cursor moves.
    Unknown,
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
    /// A reload's profiles, saved before `reloaded_to` moves the cursor.
    pub profiles: Vec<UserInfo>,
    /// The log's head when a reload started: the cursor moves there.
    pub reloaded_to: Option<u64>,
}

impl EventBatch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.profiles.is_empty() && self.reloaded_to.is_none()
    }
}

/// What applying an [`EventBatch`] changed.
#[derive(Debug, Default)]
pub struct AppliedEvents {
    pub profiles: Vec<UserInfo>,
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
    conn.prepare_cached(
        "INSERT INTO account_values (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![CURSOR, pos as i64])?;
    Ok(())
}

/// Applies the batch: a reload's profiles and cursor first, then each event
/// right after the cursor, in position order; one already held is passed
/// over, and those after a hole are left for the sync that fills it.
pub fn apply(conn: &Connection, batch: EventBatch) -> rusqlite::Result<AppliedEvents> {
    let mut applied = AppliedEvents::default();
    let mut at = cursor(conn)?;
    let start = at;
    if !batch.profiles.is_empty() {
        users::save(conn, &batch.profiles)?;
        applied.profiles.extend(batch.profiles);
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
                users::save(conn, std::slice::from_ref(&profile))?;
                applied.profiles.push(profile);
            }
            AccountChange::Unknown => {}
        }
        at = event.pos;
    }
    if at != start {
        set_cursor(conn, at)?;
    }
    Ok(applied)
}
