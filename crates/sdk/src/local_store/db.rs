//! The connection and what the database thread keeps in memory, so that the
//! hot path (a send, an ack, a delivery) reads nothing back: each recent
//! session's row and last message, each conversation's cursor, and my
//! messages awaiting an ack. Only this thread writes the database, so the
//! copies stay true; a rolled-back transaction drops them all.
//!
//! Inside a transaction, a session's row and cursor are written once, when
//! it commits or before any other statement runs ([`Db::sql`]), not at every
//! send, ack or delivery: a client sending steadily moved its session's row
//! once per message.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use tidings_sqlite_wal::borrowed::{PreparedConnection, Value};

use super::hot::{self, Hot};
use super::rows::{self, columns, message_from_row, TimelinePlace};
use crate::types::*;

/// Past this many entries a cache starts over (it only saves reads).
const MAX_CACHED: usize = 10_000;

pub struct Db {
    /// With the hot path's statements ([`Hot`]); reached through [`Db::sql`].
    conn: PreparedConnection,
    /// The account this database belongs to.
    pub me: String,
    /// `None`: known not to be in the recent list.
    sessions: HashMap<SessionId, Option<SessionRow>>,
    cursors: HashMap<SessionId, Cursor>,
    /// My messages sent and not yet acked, by message id, with their `local_id`.
    sending: HashMap<String, (i64, LocalMessage)>,
    /// What the open transaction changed and has not written yet.
    unsaved: RefCell<Unsaved>,
}

/// What the open transaction changed in each session's row and has not
/// written yet.
#[derive(Default)]
struct Unsaved {
    sessions: HashMap<SessionId, UnsavedRow>,
}

/// A session row's unsaved parts: its place in the recent list (unread,
/// last local id, last timestamp) and its cursor.
#[derive(Default, Clone, Copy)]
struct UnsavedRow {
    listing: Option<(u32, i64, i64)>,
    cursor: Option<i64>,
}

impl Unsaved {
    fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Changes `session`'s unsaved row; the key is cloned only the first
    /// time in a transaction.
    fn change(&mut self, session: &SessionId, f: impl FnOnce(&mut UnsavedRow)) {
        match self.sessions.get_mut(session) {
            Some(row) => f(row),
            None => {
                let mut row = UnsavedRow::default();
                f(&mut row);
                self.sessions.insert(session.clone(), row);
            }
        }
    }
}

#[derive(Clone)]
struct SessionRow {
    unread: u32,
    last_local_id: i64,
    last_timestamp: i64,
    last_message: Option<LocalMessage>,
}

#[derive(Clone, Copy)]
struct Cursor {
    seq: i64,
    /// Whether messages above the cursor may be held (after a gap, or not
    /// yet known): then the next advance reads the table.
    held_above: bool,
}

impl Db {
    pub fn new(conn: Connection, me: String) -> rusqlite::Result<Db> {
        Ok(Db {
            conn: hot::prepare(conn)?,
            me,
            sessions: HashMap::new(),
            cursors: HashMap::new(),
            sending: HashMap::new(),
            unsaved: RefCell::default(),
        })
    }

    /// The connection, for any statement: the session rows and cursors
    /// changed so far are written first, so that what it reads is current.
    pub fn sql(&self) -> rusqlite::Result<&PreparedConnection> {
        self.flush()?;
        Ok(&self.conn)
    }

    /// The connection between two transactions, when nothing is unsaved.
    pub fn between_transactions(&self) -> &PreparedConnection {
        debug_assert!(
            self.unsaved.borrow().is_empty(),
            "unsaved rows outside a transaction"
        );
        &self.conn
    }

    /// Rows changed on the connection so far, without writing the unsaved ones.
    pub fn total_changes(&self) -> u64 {
        self.conn.total_changes()
    }

    /// Writes the session rows and cursors the open transaction changed
    /// (before its `COMMIT`).
    pub fn flush(&self) -> rusqlite::Result<()> {
        let mut unsaved = self.unsaved.borrow_mut();
        for (session, row) in unsaved.sessions.drain() {
            save_row(&self.conn, &session, row)?;
        }
        Ok(())
    }

    /// Outside a transaction (a caller other than the database thread's
    /// batches) nothing would write them later: now.
    fn flush_unless_in_transaction(&self) -> rusqlite::Result<()> {
        if self.conn.is_autocommit() {
            self.flush()?;
        }
        Ok(())
    }

    /// Inserts `m` unless its (sender, id) is held (see [`rows::insert_message`]).
    pub fn insert_message(&self, m: &LocalMessage) -> rusqlite::Result<Option<i64>> {
        rows::insert_message(&self.conn, m)
    }

    /// My send `local_id`, acked with the server's id, time and sequence.
    pub fn save_ack(
        &self,
        local_id: i64,
        server_id: u64,
        timestamp: i64,
        seq: u64,
    ) -> rusqlite::Result<()> {
        hot::run(
            &self.conn,
            Hot::Acked,
            &[
                Value::Int(local_id),
                Value::Int(server_id as i64),
                Value::Int(timestamp),
                Value::Int(seq as i64),
            ],
        )
        .map(|_| ())
    }

    /// Drops every cached copy (after a rollback).
    pub fn forget(&mut self) {
        self.sessions.clear();
        self.cursors.clear();
        self.sending.clear();
        *self.unsaved.get_mut() = Unsaved::default();
    }

    /// Drops the cached recent-session rows (a change they cannot follow).
    pub fn forget_sessions(&mut self) {
        self.sessions.clear();
    }

    pub fn forget_session(&mut self, session: &SessionId) {
        self.sessions.remove(session);
    }

    pub fn remember_sending(&mut self, local_id: i64, message: LocalMessage) {
        if self.sending.len() >= MAX_CACHED * 10 {
            self.sending.clear();
        }
        self.sending
            .insert(message.message_id.clone(), (local_id, message));
    }

    pub fn take_sending(&mut self, message_id: &str) -> Option<(i64, LocalMessage)> {
        self.sending.remove(message_id)
    }

    pub fn sending_mut(&mut self, message_id: &str) -> Option<&mut LocalMessage> {
        self.sending.get_mut(message_id).map(|(_, m)| m)
    }

    fn load_session(&mut self, session: &SessionId) -> rusqlite::Result<()> {
        if self.sessions.contains_key(session) {
            return Ok(());
        }
        if self.sessions.len() >= MAX_CACHED {
            self.sessions.clear();
        }
        let row: Option<(u32, i64, i64)> = self
            .sql()?
            .prepare_cached(
                "SELECT unread, last_local_id, last_timestamp FROM sessions \
                 WHERE session_type = ?1 AND session_id = ?2 AND listed = 1",
            )?
            .query_row(params![session.kind.as_u32(), session.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let loaded = match row {
            None => None,
            Some((unread, last_local_id, last_timestamp)) => {
                let last_message = self
                    .sql()?
                    .prepare_cached(concat!(
                        "SELECT ",
                        columns!(),
                        " FROM messages WHERE local_id = ?1"
                    ))?
                    .query_row([last_local_id], message_from_row)
                    .optional()?;
                Some(SessionRow {
                    unread,
                    last_local_id,
                    last_timestamp,
                    last_message,
                })
            }
        };
        self.sessions.insert(session.clone(), loaded);
        Ok(())
    }

    /// The session as the recent list shows it, if it is there.
    pub fn recent_session(
        &mut self,
        session: &SessionId,
    ) -> rusqlite::Result<Option<RecentSession>> {
        self.load_session(session)?;
        Ok(self
            .sessions
            .get(session)
            .and_then(Option::as_ref)
            .map(|row| RecentSession {
                session: session.clone(),
                unread_count: row.unread,
                last_message: row.last_message.clone(),
            }))
    }

    /// Shows a message's new state (a refused send) in its session's row,
    /// when it is the session's last message.
    pub fn refresh_last_message(&mut self, message: &LocalMessage, local_id: i64) {
        if let Some(Some(row)) = self.sessions.get_mut(&message.session) {
            if row.last_local_id == local_id {
                row.last_message = Some(message.clone());
            }
        }
    }

    /// Makes `message` (row `local_id`) its session's last message if it is
    /// the newest, adds `unread`; returns whether the session is new to the list.
    pub fn bump_session(
        &mut self,
        message: &LocalMessage,
        local_id: i64,
        unread: u32,
    ) -> rusqlite::Result<bool> {
        self.load_session(&message.session)?;
        let slot = self.sessions.entry(message.session.clone()).or_default();
        let added = slot.is_none();
        let row = slot.get_or_insert_with(|| SessionRow {
            unread: 0,
            last_local_id: local_id,
            last_timestamp: message.timestamp,
            last_message: None,
        });
        row.unread = row.unread.saturating_add(unread);
        let newest = match &row.last_message {
            Some(last) => {
                TimelinePlace::of(message.timestamp, message.seq, local_id)
                    >= TimelinePlace::of(last.timestamp, last.seq, row.last_local_id)
            }
            None => message.timestamp >= row.last_timestamp,
        };
        if newest || row.last_local_id == local_id {
            // The same row again (an ack) keeps its place but shows its new state.
            row.last_local_id = local_id;
            row.last_timestamp = row.last_timestamp.max(message.timestamp);
            row.last_message = Some(message.clone());
        }
        let values = (row.unread, row.last_local_id, row.last_timestamp);
        self.unsaved
            .get_mut()
            .change(&message.session, |row| row.listing = Some(values));
        self.flush_unless_in_transaction()?;
        Ok(added)
    }

    /// Moves the cursor over every contiguous held sequence, given the
    /// sequences this batch added; returns the cursor and whether something
    /// above it is held (a gap).
    pub fn advance_cursor(
        &mut self,
        session: &SessionId,
        added: &mut Vec<i64>,
    ) -> rusqlite::Result<(u64, bool)> {
        let start = self.cursor(session)?;
        added.sort_unstable();
        added.dedup();
        let mut next = start.seq + 1;
        let mut contiguous = !start.held_above;
        for &seq in added.iter().filter(|&&seq| seq > start.seq) {
            if seq != next {
                contiguous = false;
                break;
            }
            next += 1;
        }
        let end = if contiguous {
            Cursor {
                seq: next - 1,
                held_above: false,
            }
        } else {
            self.scan_cursor(session, start.seq, added)?
        };
        if end.seq != start.seq {
            self.unsaved
                .get_mut()
                .change(session, |row| row.cursor = Some(end.seq));
            self.flush_unless_in_transaction()?;
        }
        self.cursors.insert(session.clone(), end);
        Ok((end.seq as u64, end.held_above))
    }

    /// A session's cursor: cached, or read from its row (then not known to
    /// have nothing held above it).
    fn cursor(&mut self, session: &SessionId) -> rusqlite::Result<Cursor> {
        if let Some(cursor) = self.cursors.get(session) {
            return Ok(*cursor);
        }
        if self.cursors.len() >= MAX_CACHED {
            self.cursors.clear();
        }
        let seq = self
            .sql()?
            .prepare_cached(
                "SELECT cursor FROM sessions WHERE session_type = ?1 AND session_id = ?2",
            )?
            .query_row(params![session.kind.as_u32(), session.id], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        Ok(Cursor {
            seq,
            held_above: true,
        })
    }

    /// The last sequence of a session held without a hole.
    pub fn held_up_to(&mut self, session: &SessionId) -> rusqlite::Result<i64> {
        Ok(self.cursor(session)?.seq)
    }

    /// Moves a session's cursor up to `floor` (sequences the device will
    /// not hold: a roaming floor); a cursor already past it stays.
    pub fn raise_cursor(&mut self, session: &SessionId, floor: u64) -> rusqlite::Result<()> {
        let floor = floor as i64;
        if floor <= self.cursor(session)?.seq {
            return Ok(());
        }
        self.unsaved
            .get_mut()
            .change(session, |row| row.cursor = Some(floor));
        self.flush_unless_in_transaction()?;
        // Held above it or not, the next advance reads the table from here.
        self.cursors.insert(
            session.clone(),
            Cursor {
                seq: floor,
                held_above: true,
            },
        );
        Ok(())
    }

    /// The cursor read from the held sequences above `from`: those in the
    /// table and those this batch adds (`added`, sorted; withheld places are
    /// in no table). Reads the table only up to the first hole.
    fn scan_cursor(
        &self,
        session: &SessionId,
        from: i64,
        added: &[i64],
    ) -> rusqlite::Result<Cursor> {
        let mut stmt = self.conn.prepare_cached(HELD_ABOVE)?;
        let mut table = stmt
            .query_map(params![session.kind.as_u32(), session.id, from], |row| {
                row.get::<_, i64>(0)
            })?;
        let mut in_table = table.next().transpose()?;
        let mut batch = added.iter().copied().filter(|&seq| seq > from).peekable();
        let mut seq = from;
        loop {
            while batch.next_if(|&held| held <= seq).is_some() {}
            while in_table.is_some_and(|held| held <= seq) {
                in_table = table.next().transpose()?;
            }
            if batch.next_if_eq(&(seq + 1)).is_some() || in_table == Some(seq + 1) {
                seq += 1;
                continue;
            }
            return Ok(Cursor {
                seq,
                held_above: in_table.is_some() || batch.peek().is_some(),
            });
        }
    }
}

/// Writes a session's unsaved row with one `UPDATE`. A delivery or an ack
/// moves both its place in the recent list and its cursor; as two upserts
/// they took 17 % of the local database's instructions at one message a
/// transaction, as one `UPDATE` 10 %. A session the file has no row for
/// yet gets one from the upserts.
fn save_row(
    conn: &PreparedConnection,
    session: &SessionId,
    row: UnsavedRow,
) -> rusqlite::Result<()> {
    let kind = Value::Int(session.kind.as_u32().into());
    let id = Value::Text(&session.id);
    let listing = row.listing.map(|(unread, last_local_id, last_timestamp)| {
        [
            Value::Int(unread.into()),
            Value::Int(last_local_id),
            Value::Int(last_timestamp),
        ]
    });
    let updated = match (listing, row.cursor) {
        (Some([unread, last_local_id, last_timestamp]), Some(cursor)) => hot::run(
            conn,
            Hot::UpdateListingAndCursor,
            &[
                kind,
                id,
                unread,
                last_local_id,
                last_timestamp,
                Value::Int(cursor),
            ],
        )?,
        (Some([unread, last_local_id, last_timestamp]), None) => hot::run(
            conn,
            Hot::UpdateListing,
            &[kind, id, unread, last_local_id, last_timestamp],
        )?,
        (None, Some(cursor)) => hot::run(conn, Hot::UpdateCursor, &[kind, id, Value::Int(cursor)])?,
        (None, None) => return Ok(()),
    };
    if updated == 0 {
        if let Some([unread, last_local_id, last_timestamp]) = listing {
            hot::run(
                conn,
                Hot::SaveSession,
                &[kind, id, unread, last_local_id, last_timestamp],
            )?;
        }
        if let Some(cursor) = row.cursor {
            hot::run(conn, Hot::SaveCursor, &[kind, id, Value::Int(cursor)])?;
        }
    }
    Ok(())
}

/// The held sequences of a session above a cursor, in order. The bound on
/// the cursor comes first: given two lower bounds on `seq`, SQLite seeks on
/// the first and filters on the other, and `seq > 0` (which lets the partial
/// index serve the query) would have every scan start at the session's
/// first message.
pub(super) const HELD_ABOVE: &str = "SELECT seq FROM messages \
     WHERE session_type = ?1 AND session_id = ?2 AND seq > ?3 AND seq > 0 ORDER BY seq";
