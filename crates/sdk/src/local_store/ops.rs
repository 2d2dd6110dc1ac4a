//! Synchronous operations, run on the database thread through
//! [`LocalStore::run`](super::LocalStore::run).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use tidings_proto::SessionRange;

use super::rows::{
    columns, message_by_id, message_from_row, session_of, TimelinePlace, DELETED, LOCAL_ID_COLUMN,
};
use super::{Ack, Applied, Db, SessionChange};

use crate::types::*;
use crate::SdkError;

/// Stores a message the app is sending and puts it on top of its session.
pub fn insert_outgoing(db: &mut Db, m: &LocalMessage) -> Result<Vec<SessionChange>, SdkError> {
    let Some(local_id) = db.insert_message(m)? else {
        return Err(SdkError::InvalidParameter(format!(
            "messageId '{}' is already used",
            m.message_id
        )));
    };
    db.remember_sending(local_id, m.clone());
    let added = db.bump_session(m, local_id, 0)?;
    Ok(db
        .recent_session(&m.session)?
        .map(|recent| change(recent, added))
        .into_iter()
        .collect())
}

fn change(recent: RecentSession, added: bool) -> SessionChange {
    if added {
        SessionChange::Added(recent)
    } else {
        SessionChange::Updated(recent)
    }
}

/// My messages not yet acked, oldest first (the outbox after a restart).
pub fn pending_outgoing(db: &mut Db) -> Result<Vec<LocalMessage>, SdkError> {
    let pending: Vec<(i64, LocalMessage)> = {
        let mut stmt = db.sql()?.prepare(PENDING_OUTGOING)?;
        let rows = stmt.query_map([&db.me], |row| {
            Ok((row.get(LOCAL_ID_COLUMN)?, message_from_row(row)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    Ok(pending
        .into_iter()
        .map(|(local_id, message)| {
            db.remember_sending(local_id, message.clone());
            message
        })
        .collect())
}

/// A failed message goes back to "sending" for a resend with the same id.
pub fn mark_resending(db: &mut Db, message_id: &str) -> Result<LocalMessage, SdkError> {
    let n = db.sql()?.execute(
        "UPDATE messages SET delivery = 0 WHERE from_accid = ?1 AND message_id = ?2 AND outgoing = 1 AND delivery = 1",
        params![db.me, message_id],
    )?;
    if n == 0 {
        return Err(SdkError::InvalidParameter(format!(
            "no failed message with id '{message_id}'"
        )));
    }
    let (local_id, message) = message_by_id(db.sql()?, &db.me, message_id)?
        .ok_or_else(|| SdkError::InvalidParameter(format!("no message with id '{message_id}'")))?;
    db.forget_session(&message.session);
    db.remember_sending(local_id, message.clone());
    Ok(message)
}

/// Where the newest message of a touched session lives in [`Applied`].
#[derive(Clone, Copy)]
enum Newest {
    Completed(usize),
    Received(usize),
}

/// What one batch does to one session.
#[derive(Default)]
struct Touch {
    newest: Option<(Newest, i64, i64)>,
    unread: u32,
    /// Sequences this batch put in the session.
    seqs: Vec<i64>,
    /// Only withheld places: the recent session shows nothing new.
    unseen: bool,
}

impl Touch {
    fn note(&mut self, at: Newest, local_id: i64, timestamp: i64, unread: u32) {
        self.unseen = false;
        if self.newest.is_none_or(|(_, _, newest)| timestamp >= newest) {
            self.newest = Some((at, local_id, timestamp));
        }
        self.unread += unread;
    }
}

/// Applies one batch from the network in one transaction. `withheld`:
/// places in the sequence the server held back from this device (stubs of
/// my messages sent with syncEnabled off); the cursor moves over them and
/// nothing is stored or reported.
/// One burst from the network: answers to my sends, messages, stubs of my
/// withheld messages, and account events, applied in one transaction.
#[derive(Default)]
pub struct NetworkBatch {
    pub acks: Vec<Ack>,
    pub received: Vec<LocalMessage>,
    pub withheld: Vec<(SessionId, u64)>,
    /// Roaming floors: each session's messages up to the sequence stay on
    /// the server (older than the roaming window); the cursor starts there.
    pub floors: Vec<(SessionId, u64)>,
    pub events: super::events::EventBatch,
}

impl NetworkBatch {
    pub fn is_empty(&self) -> bool {
        self.acks.is_empty()
            && self.received.is_empty()
            && self.withheld.is_empty()
            && self.floors.is_empty()
            && self.events.is_empty()
    }
}

pub fn apply_network(db: &mut Db, batch: NetworkBatch) -> Result<Applied, SdkError> {
    for (session, floor) in &batch.floors {
        db.raise_cursor(session, *floor)?;
    }
    let mut applied = apply(db, batch.acks, batch.received, batch.withheld)?;
    if !batch.events.is_empty() {
        applied.events = super::events::apply(db.sql()?, batch.events)?;
        let mine: Vec<(SessionId, i64)> = applied
            .events
            .read
            .iter()
            .filter(|r| r.by_me)
            .map(|r| (r.session.clone(), r.timestamp))
            .collect();
        for (session, timestamp) in mine {
            if let Some(recent) = read_up_to(db, &session, timestamp)? {
                applied.sessions.push(SessionChange::Updated(recent));
            }
        }
        for revoke in &mut applied.events.revoked {
            if let Some(recent) = replace_revoked(db, revoke)? {
                applied.sessions.push(SessionChange::Updated(recent));
            }
        }
    }
    Ok(applied)
}

/// Replaces the local copy of a revoked message by its revoke notification
/// (keeping its id, place and time) and notes the copy as it was. Answers
/// the recent session when the message was its last.
fn replace_revoked(
    db: &mut Db,
    revoke: &mut MessageRevoke,
) -> Result<Option<RecentSession>, SdkError> {
    let Some((local_id, original)) = message_by_id(db.sql()?, &revoke.from, &revoke.message_id)?
    else {
        return Ok(None);
    };
    db.sql()?
        .prepare_cached(
            "UPDATE messages SET message_type = ?2, body = '', attachment = ?3, remote_ext = '' \
             WHERE local_id = ?1",
        )?
        .execute(params![
            local_id,
            message_type::NOTIFICATION,
            revoke.attachment
        ])?;
    revoke.original = Some(original);
    let was_last = db
        .recent_session(&revoke.session)?
        .and_then(|s| s.last_message)
        .is_some_and(|last| last.message_id == revoke.message_id);
    db.forget_session(&revoke.session);
    if !was_last {
        return Ok(None);
    }
    Ok(db.recent_session(&revoke.session)?)
}

/// I read `session` up to `timestamp` (on some device of mine): its unread
/// count becomes what came after, if that is fewer.
fn read_up_to(
    db: &mut Db,
    session: &SessionId,
    timestamp: i64,
) -> Result<Option<RecentSession>, SdkError> {
    let unread = super::events::unread_after(db.sql()?, session, timestamp)?;
    let n = db.sql()?.execute(
        "UPDATE sessions SET unread = ?3 \
         WHERE session_type = ?1 AND session_id = ?2 AND listed = 1 AND unread > ?3",
        params![session.kind.as_u32(), session.id, unread],
    )?;
    db.forget_session(session);
    if n == 0 {
        return Ok(None);
    }
    Ok(db.recent_session(session)?)
}

pub fn apply(
    db: &mut Db,
    acks: Vec<Ack>,
    received: Vec<LocalMessage>,
    withheld: Vec<(SessionId, u64)>,
) -> Result<Applied, SdkError> {
    let mut applied = Applied::default();
    let mut touched: BTreeMap<SessionId, Touch> = BTreeMap::new();
    for (session, seq) in withheld {
        let touch = touched.entry(session).or_insert_with(|| Touch {
            unseen: true,
            ..Touch::default()
        });
        touch.seqs.push(seq as i64);
    }
    for ack in acks {
        let held = match db.take_sending(&ack.message_id) {
            Some(held) => Some(held),
            None => message_by_id(db.sql()?, &db.me, &ack.message_id)?,
        };
        let Some((local_id, mut message)) = held else {
            continue;
        };
        match &ack.result {
            Ok((server_id, timestamp, seq)) => {
                db.save_ack(local_id, *server_id, *timestamp, *seq)?;
                message.server_id = *server_id;
                message.timestamp = *timestamp;
                message.seq = *seq;
                message.delivery = DeliveryState::Delivered;
                let touch = touched.entry(message.session.clone()).or_default();
                touch.seqs.push(*seq as i64);
                touch.note(
                    Newest::Completed(applied.completed.len()),
                    local_id,
                    message.timestamp,
                    0,
                );
            }
            Err(_) if message.delivery == DeliveryState::Sending => {
                db.sql()?
                    .prepare_cached("UPDATE messages SET delivery = 1 WHERE local_id = ?1")?
                    .execute([local_id])?;
                message.delivery = DeliveryState::Failed;
                db.refresh_last_message(&message, local_id);
            }
            Err(_) => {}
        }
        applied.completed.push((message, ack.result.err()));
    }
    for m in received {
        if let Some(local_id) = db.insert_message(&m)? {
            let unread = u32::from(m.from != db.me && m.settings.should_be_counted);
            let touch = touched.entry(m.session.clone()).or_default();
            touch.seqs.push(m.seq as i64);
            touch.note(
                Newest::Received(applied.received.len()),
                local_id,
                m.timestamp,
                unread,
            );
            applied.received.push(m);
        } else if m.from == db.me {
            // My own message synced back before its ack reached this
            // device (a resend after a restart, say): take the server's view.
            let n = db
                .sql()?
                .prepare_cached(
                    "UPDATE messages SET server_id = ?3, timestamp = ?4, seq = ?5, delivery = 2 \
                     WHERE from_accid = ?1 AND message_id = ?2 AND seq = 0",
                )?
                .execute(params![
                    db.me,
                    m.message_id,
                    m.server_id as i64,
                    m.timestamp,
                    m.seq as i64
                ])?;
            if n == 1 {
                db.take_sending(&m.message_id);
                db.forget_session(&m.session);
                let touch = touched.entry(m.session.clone()).or_default();
                touch.unseen = false;
                touch.seqs.push(m.seq as i64);
            }
        }
    }
    for (session, mut touch) in touched {
        let mut added = false;
        if let Some((at, local_id, _)) = touch.newest {
            let newest = match at {
                Newest::Completed(i) => &applied.completed[i].0,
                Newest::Received(i) => &applied.received[i],
            };
            added = db.bump_session(newest, local_id, touch.unread)?;
        }
        let (cursor, gap) = db.advance_cursor(&session, &mut touch.seqs)?;
        if gap {
            applied.gaps.push((session.clone(), cursor));
        }
        if touch.unseen {
            continue;
        }
        if let Some(recent) = db.recent_session(&session)? {
            applied.sessions.push(change(recent, added));
        }
    }
    Ok(applied)
}

pub fn cursors(conn: &Connection) -> Result<Vec<(SessionId, u64)>, SdkError> {
    cursors_in(conn, &SessionRange::all())
}

/// The cursors of the sessions in `range` (a part of a sync), read through
/// the sessions' key: the next page of a part costs that part, not all.
pub fn cursors_in(
    conn: &Connection,
    range: &SessionRange,
) -> Result<Vec<(SessionId, u64)>, SdkError> {
    let ((from_type, from_id), (until_type, until_id)) = range.sql_bounds();
    let mut stmt = conn.prepare_cached(
        "SELECT session_type, session_id, cursor FROM sessions \
         WHERE (session_type, session_id) >= (?1, ?2) AND (session_type, session_id) < (?3, ?4) \
           AND cursor > 0",
    )?;
    let rows = stmt.query_map(params![from_type, from_id, until_type, until_id], |r| {
        Ok((session_of(r.get(0)?, r.get(1)?), r.get::<_, i64>(2)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Recent sessions, newest first; of two last messages in the same
/// millisecond, the one stored later.
pub fn recent_sessions(db: &mut Db) -> Result<Vec<RecentSession>, SdkError> {
    let keys: Vec<SessionId> = {
        let mut stmt = db.sql()?.prepare(
            "SELECT session_type, session_id FROM sessions WHERE listed = 1 ORDER BY last_timestamp DESC, last_local_id DESC",
        )?;
        let rows = stmt.query_map([], |r| Ok(session_of(r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(recent) = db.recent_session(&key)? {
            out.push(recent);
        }
    }
    Ok(out)
}

pub fn recent_session_of(
    db: &mut Db,
    session: &SessionId,
) -> Result<Option<RecentSession>, SdkError> {
    Ok(db.recent_session(session)?)
}

/// Removes a session from the recent list; its messages stay.
pub fn delete_recent_session(
    db: &mut Db,
    session: &SessionId,
) -> Result<Option<RecentSession>, SdkError> {
    let Some(recent) = db.recent_session(session)? else {
        return Ok(None);
    };
    db.sql()?.execute(
        "UPDATE sessions SET listed = 0, unread = 0, last_local_id = 0, last_timestamp = 0 \
         WHERE session_type = ?1 AND session_id = ?2",
        params![session.kind.as_u32(), session.id],
    )?;
    db.forget_session(session);
    Ok(Some(recent))
}

/// Deletes one message on this device. The session's last message falls
/// back to the newest one left; answers the session when that changed it.
pub fn delete_message(db: &mut Db, message_id: &str) -> Result<Option<RecentSession>, SdkError> {
    let found: Option<(i64, SessionId, u32)> = db
        .sql()?
        .prepare_cached(
            "SELECT local_id, session_type, session_id, flags FROM messages WHERE message_id = ?1 LIMIT 1",
        )?
        .query_row([message_id], |r| {
            Ok((r.get(0)?, session_of(r.get(1)?, r.get(2)?), r.get(3)?))
        })
        .optional()?;
    let Some((local_id, session, flags)) = found else {
        return Err(SdkError::InvalidParameter(format!(
            "no message '{message_id}' on this device"
        )));
    };
    if flags & DELETED != 0 {
        return Ok(None);
    }
    db.sql()?
        .prepare_cached("UPDATE messages SET flags = flags | ?2 WHERE local_id = ?1")?
        .execute(params![local_id, DELETED])?;
    let was_last = db
        .recent_session(&session)?
        .and_then(|s| s.last_message)
        .is_some_and(|last| last.message_id == message_id);
    if !was_last {
        return Ok(None);
    }
    refresh_last_message(db, &session)?;
    Ok(db.recent_session(&session)?)
}

/// Deletes every message of a session on this device; its recent session
/// stays (unread 0, no last message) or goes.
pub fn clear_session(
    db: &mut Db,
    session: &SessionId,
    keep_recent: bool,
) -> Result<Option<SessionChange>, SdkError> {
    let before = db.recent_session(session)?;
    db.sql()?
        .prepare_cached(
            "UPDATE messages SET flags = flags | ?3 \
             WHERE session_type = ?1 AND session_id = ?2 AND flags & ?3 = 0",
        )?
        .execute(params![session.kind.as_u32(), session.id, DELETED])?;
    let Some(before) = before else {
        return Ok(None);
    };
    if !keep_recent {
        return Ok(delete_recent_session(db, session)?.map(|_| SessionChange::Removed(before)));
    }
    db.sql()?.execute(
        "UPDATE sessions SET unread = 0, last_local_id = 0 WHERE session_type = ?1 AND session_id = ?2",
        params![session.kind.as_u32(), session.id],
    )?;
    db.forget_session(session);
    Ok(db.recent_session(session)?.map(SessionChange::Updated))
}

/// Deletes every message of every session on this device; the recent
/// sessions stay, with unread 0 and no last message.
pub fn clear_all(db: &mut Db) -> Result<Vec<RecentSession>, SdkError> {
    db.sql()?
        .prepare_cached("UPDATE messages SET flags = flags | ?1 WHERE flags & ?1 = 0")?
        .execute([DELETED])?;
    db.sql()?.execute(
        "UPDATE sessions SET unread = 0, last_local_id = 0 WHERE listed = 1",
        [],
    )?;
    db.forget_sessions();
    recent_sessions(db)
}

/// The newest message of `session` left on this device becomes its last.
fn refresh_last_message(db: &mut Db, session: &SessionId) -> Result<(), SdkError> {
    let newest: Option<(i64, i64)> = db
        .sql()?
        .prepare_cached(
            "SELECT local_id, timestamp FROM messages \
             WHERE session_type = ?1 AND session_id = ?2 AND flags & ?3 = 0 \
             ORDER BY timestamp DESC, seq = 0 DESC, seq DESC, local_id DESC LIMIT 1",
        )?
        .query_row(params![session.kind.as_u32(), session.id, DELETED], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (local_id, timestamp) = newest.unwrap_or((0, 0));
    db.sql()?.execute(
        "UPDATE sessions SET last_local_id = ?3, last_timestamp = max(?4, 0) \
         WHERE session_type = ?1 AND session_id = ?2",
        params![session.kind.as_u32(), session.id, local_id, timestamp],
    )?;
    db.forget_session(session);
    Ok(())
}

pub fn mark_all_read(db: &mut Db, session: &SessionId) -> Result<Option<RecentSession>, SdkError> {
    let n = db.sql()?.execute(
        "UPDATE sessions SET unread = 0 WHERE session_type = ?1 AND session_id = ?2 AND listed = 1 AND unread > 0",
        params![session.kind.as_u32(), session.id],
    )?;
    db.forget_session(session);
    if n == 0 {
        return Ok(None);
    }
    Ok(db.recent_session(session)?)
}

pub fn total_unread(conn: &Connection) -> Result<u32, SdkError> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(unread), 0) FROM sessions WHERE listed = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Up to `limit` messages of a session older than `before` (a message id),
/// or the newest ones; oldest first.
/// `types`: only these message types (all when `None`).
pub fn history(
    conn: &Connection,
    session: &SessionId,
    before: Option<&str>,
    limit: u32,
    types: Option<&[u32]>,
) -> Result<Vec<LocalMessage>, SdkError> {
    let anchor = match before {
        None => TimelinePlace::END,
        Some(id) => conn
            .query_row(
                HISTORY_ANCHOR,
                params![id, session.kind.as_u32(), session.id],
                |r| {
                    let seq: i64 = r.get(1)?;
                    Ok(TimelinePlace::of(r.get(0)?, seq as u64, r.get(2)?))
                },
            )
            .optional()?
            .ok_or_else(|| {
                SdkError::InvalidParameter(format!("no message '{id}' in this session"))
            })?,
    };
    let (timestamp, unacked, within) = anchor.parts();
    let mut stmt = conn.prepare_cached(HISTORY_PAGE)?;
    let types = types.map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
    let rows = stmt.query_map(
        params![
            session.kind.as_u32(),
            session.id,
            timestamp,
            unacked,
            limit,
            types,
            within
        ],
        message_from_row,
    )?;
    let mut out: Vec<LocalMessage> = rows.collect::<Result<_, _>>()?;
    out.reverse();
    Ok(out)
}

/// Up to ?5 messages of a session before an anchor, newest first, in the
/// order of [`TimelinePlace`]: the anchor is (?3 time, ?4 whether it is
/// unacked, ?7 its sequence or local id). Each side is read newest first
/// from its own time index: the messages with a sequence (`seq > 0`) and my
/// unacked sends (`seq = 0`), which at equal time come after them.
pub(super) const HISTORY_PAGE: &str = concat!(
    "SELECT * FROM (SELECT ",
    columns!(),
    ", local_id, 0 AS unacked FROM messages WHERE seq > 0 \
     AND session_type = ?1 AND session_id = ?2 \
     AND timestamp <= ?3 AND (timestamp < ?3 OR ?4 OR seq < ?7) AND flags & 262144 = 0 \
     AND (?6 IS NULL OR message_type IN (SELECT value FROM json_each(?6))) \
     ORDER BY timestamp DESC, seq DESC LIMIT ?5) \
     UNION ALL SELECT * FROM (SELECT ",
    columns!(),
    ", local_id, 1 AS unacked FROM messages WHERE seq = 0 \
     AND session_type = ?1 AND session_id = ?2 \
     AND timestamp <= ?3 AND (timestamp < ?3 OR (?4 AND local_id < ?7)) AND flags & 262144 = 0 \
     AND (?6 IS NULL OR message_type IN (SELECT value FROM json_each(?6))) \
     ORDER BY timestamp DESC, local_id DESC LIMIT ?5) \
     ORDER BY timestamp DESC, unacked DESC, seq DESC, local_id DESC LIMIT ?5"
);

/// Read from the index of unacked sends (a send in the outbox has no
/// sequence yet), all of it: it holds only them, where the table holds
/// every message. SQLite would scan the table, since the index's order
/// serves neither the filter nor the sort.
pub(super) const PENDING_OUTGOING: &str = concat!(
    "SELECT ",
    columns!(),
    ", local_id FROM messages INDEXED BY messages_unacked \
     WHERE seq = 0 AND delivery = 0 AND outgoing = 1 AND from_accid = ?1 ORDER BY local_id"
);
/// A history page's anchor. `+`: found by its id, not by scanning its session.
pub(super) const HISTORY_ANCHOR: &str = "SELECT timestamp, seq, local_id FROM messages \
     WHERE message_id = ?1 AND +session_type = ?2 AND +session_id = ?3";
pub(super) const MESSAGE_BY_ID: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM messages WHERE message_id = ?1 LIMIT 1"
);
pub(super) const SET_LOCAL_EXT: &str = "UPDATE messages SET local_ext = ?2 WHERE message_id = ?1";

/// Keeps messages fetched from cloud history, without events, unread
/// counts or recent-session changes. Only those the session's sync has
/// already passed (at or below its cursor): a newer one is left to the
/// sync, which would otherwise take it for a duplicate and never count it.
/// Answers how many were new here.
pub fn save_history(db: &mut Db, messages: &[LocalMessage]) -> Result<usize, SdkError> {
    let mut saved = 0;
    for m in messages {
        if m.seq as i64 <= db.held_up_to(&m.session)? && db.insert_message(m)?.is_some() {
            saved += 1;
        }
    }
    Ok(saved)
}

pub fn message(conn: &Connection, message_id: &str) -> Result<Option<LocalMessage>, SdkError> {
    Ok(conn
        .query_row(MESSAGE_BY_ID, [message_id], message_from_row)
        .optional()?)
}

/// Marks a message played (or not) on this device.
pub fn set_played(db: &mut Db, message_id: &str, played: bool) -> Result<(), SdkError> {
    let n = db.sql()?.execute(
        "UPDATE messages SET flags = CASE WHEN ?2 THEN flags | ?3 ELSE flags & ~?3 END \
         WHERE message_id = ?1",
        params![message_id, played, super::rows::PLAYED],
    )?;
    if n == 0 {
        return Err(SdkError::InvalidParameter(format!(
            "no message with id '{message_id}'"
        )));
    }
    // It may be some session's last message.
    db.forget_sessions();
    Ok(())
}

pub fn update_local_ext(db: &mut Db, message_id: &str, local_ext: &str) -> Result<(), SdkError> {
    let n = db
        .sql()?
        .execute(SET_LOCAL_EXT, params![message_id, local_ext])?;
    if n == 0 {
        return Err(SdkError::InvalidParameter(format!(
            "no message with id '{message_id}'"
        )));
    }
    // It may be some session's last message, or one awaiting its ack.
    db.forget_sessions();
    if let Some(sending) = db.sending_mut(message_id) {
        sending.local_ext = local_ext.to_owned();
    }
    Ok(())
}
