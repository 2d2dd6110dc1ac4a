//! The local schema and the mapping between rows and [`LocalMessage`].

use rusqlite::{params, Connection, Row};

use crate::types::*;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    local_id     INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL,
    server_id    INTEGER NOT NULL DEFAULT 0,
    session_type INTEGER NOT NULL,
    session_id   TEXT NOT NULL,
    from_accid   TEXT NOT NULL,
    from_nick    TEXT NOT NULL,
    message_type INTEGER NOT NULL,
    body         TEXT NOT NULL,
    attachment   TEXT NOT NULL,
    remote_ext   TEXT NOT NULL,
    local_ext    TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    seq          INTEGER NOT NULL DEFAULT 0,
    delivery     INTEGER NOT NULL,
    outgoing     INTEGER NOT NULL,
    settings     TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id ON messages (from_accid, message_id);
CREATE INDEX IF NOT EXISTS messages_by_seq ON messages (session_type, session_id, seq);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (session_type, session_id, timestamp, local_id);
CREATE TABLE IF NOT EXISTS recent_sessions (
    session_type   INTEGER NOT NULL,
    session_id     TEXT NOT NULL,
    unread         INTEGER NOT NULL,
    last_local_id  INTEGER NOT NULL,
    last_timestamp INTEGER NOT NULL,
    PRIMARY KEY (session_type, session_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors (
    session_type INTEGER NOT NULL,
    session_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (session_type, session_id)
) WITHOUT ROWID;
";

macro_rules! columns {
    () => {
        "message_id, server_id, session_type, session_id, from_accid, from_nick, \
         message_type, body, attachment, remote_ext, local_ext, timestamp, seq, delivery, outgoing, settings"
    };
}
pub(crate) use columns;

pub fn session_of(kind: u32, id: String) -> SessionId {
    SessionId {
        kind: SessionType::from_u32(kind).unwrap_or(SessionType::P2P),
        id,
    }
}

pub fn message_from_row(row: &Row<'_>) -> rusqlite::Result<LocalMessage> {
    let settings: String = row.get(15)?;
    Ok(LocalMessage {
        message_id: row.get(0)?,
        server_id: row.get::<_, i64>(1)? as u64,
        session: session_of(row.get(2)?, row.get(3)?),
        from: row.get(4)?,
        from_nick: row.get(5)?,
        message_type: row.get(6)?,
        text: row.get(7)?,
        attachment: row.get(8)?,
        remote_ext: row.get(9)?,
        local_ext: row.get(10)?,
        timestamp: row.get(11)?,
        seq: row.get::<_, i64>(12)? as u64,
        delivery: DeliveryState::from_u32(row.get(13)?),
        is_outgoing: row.get(14)?,
        settings: serde_json::from_str(&settings).unwrap_or_default(),
    })
}

/// Inserts `m` unless a message with its sender and id is held; returns the
/// new row's `local_id`, or `None` for a duplicate.
pub fn insert_message(conn: &Connection, m: &LocalMessage) -> rusqlite::Result<Option<i64>> {
    let settings = serde_json::to_string(&m.settings).unwrap_or_default();
    let n = conn
        .prepare_cached(concat!(
            "INSERT OR IGNORE INTO messages (",
            columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ))?
        .execute(params![
            m.message_id,
            m.server_id as i64,
            m.session.kind.as_u32(),
            m.session.id,
            m.from,
            m.from_nick,
            m.message_type,
            m.text,
            m.attachment,
            m.remote_ext,
            m.local_ext,
            m.timestamp,
            m.seq as i64,
            m.delivery as u32,
            m.is_outgoing,
            settings,
        ])?;
    Ok((n == 1).then(|| conn.last_insert_rowid()))
}

/// The message with this sender and id, with its `local_id`.
pub fn message_by_id(
    conn: &Connection,
    from: &str,
    message_id: &str,
) -> rusqlite::Result<Option<(i64, LocalMessage)>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(concat!(
        "SELECT ",
        columns!(),
        ", local_id FROM messages WHERE from_accid = ?1 AND message_id = ?2"
    ))?
    .query_row(params![from, message_id], |row| {
        Ok((row.get(16)?, message_from_row(row)?))
    })
    .optional()
}
