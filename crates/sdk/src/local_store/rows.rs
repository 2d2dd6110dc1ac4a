//! The local schema and the mapping between rows and [`LocalMessage`].

use rusqlite::{params, Connection, Row};
use tidings_proto::message_flags as flags;
use tidings_sqlite_wal::borrowed::{PreparedConnection, Value};

use super::hot::{self, Hot};

use crate::types::*;

/// Migrations, applied in order past the file's `user_version`. The first is
/// the original schema (idempotent, for files made before versions existed).
const MIGRATIONS: &[&str] = &[
    SCHEMA_V1,
    COMPACT_SETTINGS_V2,
    ID_FIRST_V3,
    OUTBOX_V4,
    ONE_ROW_A_SESSION_V5,
    UNACKED_APART_V6,
    TIMELINE_BY_SEQ_V7,
    USERS_AND_EVENTS_V8,
    RELATIONS_AND_NOTIFICATIONS_V9,
];

/// My friends, my blacklist and mute list, and my system notifications, as
/// the account event log keeps them current.
const RELATIONS_AND_NOTIFICATIONS_V9: &str = "
CREATE TABLE friends (
    accid TEXT PRIMARY KEY,
    alias TEXT NOT NULL,
    ext TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE special_relations (
    relation INTEGER NOT NULL,
    accid TEXT NOT NULL,
    PRIMARY KEY (relation, accid)
) WITHOUT ROWID;
CREATE TABLE system_notifications (
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    from_accid TEXT NOT NULL,
    target TEXT NOT NULL,
    postscript TEXT NOT NULL,
    attach TEXT NOT NULL,
    status INTEGER NOT NULL,
    read INTEGER NOT NULL,
    time INTEGER NOT NULL
);
";

/// Profiles of the accounts this device has seen, and small values of the
/// account such as the event log cursor.
const USERS_AND_EVENTS_V8: &str = "
CREATE TABLE users (
    accid TEXT PRIMARY KEY,
    nick TEXT NOT NULL,
    avatar TEXT NOT NULL,
    sign TEXT NOT NULL,
    gender INTEGER NOT NULL,
    email TEXT NOT NULL,
    birth TEXT NOT NULL,
    mobile TEXT NOT NULL,
    ext TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE account_values (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

pub(super) const SCHEMA_V1: &str = "
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

/// Settings as bits instead of a JSON text in every row (about half of a
/// short message's row); the sequence index leaves out my unacked sends
/// (seq 0), so a send touches it once, at its ack.
const COMPACT_SETTINGS_V2: &str = "
ALTER TABLE messages ADD COLUMN flags INTEGER NOT NULL DEFAULT 63; -- message_flags::ALL
ALTER TABLE messages ADD COLUMN apns_content TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN apns_payload TEXT NOT NULL DEFAULT '';
UPDATE messages SET
    flags = (coalesce(json_extract(settings, '$.history_enabled'), 1) != 0) * 1
          | (coalesce(json_extract(settings, '$.roaming_enabled'), 1) != 0) * 2
          | (coalesce(json_extract(settings, '$.sync_enabled'), 1) != 0) * 4
          | (coalesce(json_extract(settings, '$.should_be_counted'), 1) != 0) * 8
          | (coalesce(json_extract(settings, '$.apns_enabled'), 1) != 0) * 16
          | (coalesce(json_extract(settings, '$.apns_with_prefix'), 1) != 0) * 32,
    apns_content = coalesce(json_extract(settings, '$.apns_content'), ''),
    apns_payload = coalesce(json_extract(settings, '$.apns_payload'), '')
  WHERE json_valid(settings);
ALTER TABLE messages DROP COLUMN settings;
DROP INDEX messages_by_seq;
CREATE INDEX messages_by_seq ON messages (session_type, session_id, seq) WHERE seq > 0;
";

/// The id index leads with the message id: looking a message up by its id
/// alone (`message`, `update_local_ext`, a history page's anchor) no longer
/// scans the table, and since ids start with their time, new entries land
/// at the right edge of the index instead of at one edge per sender.
const ID_FIRST_V3: &str = "
DROP INDEX messages_by_id;
CREATE UNIQUE INDEX messages_by_id ON messages (message_id, from_accid);
";

/// The outbox (messages still sending) found without reading the whole
/// table at login: a partial index that holds only them, so a send adds one
/// entry and its ack takes it out again.
const OUTBOX_V4: &str = "
CREATE INDEX messages_sending ON messages (local_id) WHERE delivery = 0;
";

/// A session's cursor and its place in the recent list share one row: a
/// delivery or an ack moves both, and as two tables they were two b-tree
/// pages written to the WAL per commit (of about 20 per message sent and
/// received). `listed = 0`: the session is not in the recent list (never
/// was, or was deleted from it); its cursor stays.
const ONE_ROW_A_SESSION_V5: &str = "
CREATE TABLE sessions (
    session_type   INTEGER NOT NULL,
    session_id     TEXT NOT NULL,
    cursor         INTEGER NOT NULL DEFAULT 0,
    listed         INTEGER NOT NULL DEFAULT 0,
    unread         INTEGER NOT NULL DEFAULT 0,
    last_local_id  INTEGER NOT NULL DEFAULT 0,
    last_timestamp INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_type, session_id)
) WITHOUT ROWID;
INSERT INTO sessions (session_type, session_id, cursor) SELECT session_type, session_id, seq FROM cursors;
INSERT INTO sessions (session_type, session_id, listed, unread, last_local_id, last_timestamp)
    SELECT session_type, session_id, 1, unread, last_local_id, last_timestamp FROM recent_sessions WHERE true
    ON CONFLICT (session_type, session_id) DO UPDATE SET listed = 1, unread = excluded.unread,
        last_local_id = excluded.last_local_id, last_timestamp = excluded.last_timestamp;
DROP TABLE cursors;
DROP TABLE recent_sessions;
";

/// My unacked sends (sequence 0: sending or failed) get a time index of
/// their own, which is also the outbox's, and the time index holds only
/// messages with a sequence. A send then adds one index entry where it
/// added two (time and outbox), and its ack moves it from one index to the
/// other where it moved it within the time index (its time changes to the
/// server's) and took it out of the outbox: 8 % of the local database's
/// instructions in the fixed workload (`local_workload`).
const UNACKED_APART_V6: &str = "
DROP INDEX messages_sending;
DROP INDEX messages_by_time;
CREATE INDEX messages_by_time ON messages (session_type, session_id, timestamp, local_id) WHERE seq > 0;
CREATE INDEX messages_unacked ON messages (session_type, session_id, timestamp, local_id) WHERE seq = 0;
";

/// Messages with a sequence are ordered by time and then by sequence, not
/// by when this device stored them: one group commit gives many messages
/// the same millisecond, and a message that reached this device late (its
/// push was lost, sync brought it) must still take its place in the
/// conversation ([`TimelinePlace`]).
const TIMELINE_BY_SEQ_V7: &str = "
DROP INDEX messages_by_time;
CREATE INDEX messages_by_time ON messages (session_type, session_id, timestamp, seq) WHERE seq > 0;
";

/// Where a message stands in its session's timeline, the order of a
/// history page and of a session's last message: by time; within one
/// millisecond, messages with a sequence by sequence, then my unacked sends
/// (their time is this device's) in the order they were written. The same
/// rule in SQL is [`super::ops::HISTORY_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimelinePlace {
    timestamp: i64,
    unacked: bool,
    /// The sequence, or the local id of an unacked send.
    within: i64,
}

impl TimelinePlace {
    pub fn of(timestamp: i64, seq: u64, local_id: i64) -> TimelinePlace {
        match seq {
            0 => TimelinePlace {
                timestamp,
                unacked: true,
                within: local_id,
            },
            seq => TimelinePlace {
                timestamp,
                unacked: false,
                within: i64::try_from(seq).unwrap_or(i64::MAX),
            },
        }
    }

    /// After every message: a first page's anchor.
    pub const END: TimelinePlace = TimelinePlace {
        timestamp: i64::MAX,
        unacked: true,
        within: i64::MAX,
    };

    /// `(timestamp, unacked, sequence or local id)`, as the history page
    /// binds them.
    pub fn parts(self) -> (i64, bool, i64) {
        (self.timestamp, self.unacked, self.within)
    }
}

/// Brings the file's schema up to date, each step in its own transaction.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            index + 1
        ))?;
    }
    Ok(())
}

/// Beside the settings' bits in the `flags` column: the message arrived muted.
const MUTED: u32 = 1 << 16;
/// Deleted on this device: kept as a row, so that a sync or a saved
/// history page that brings it again finds it held and leaves it deleted,
/// and so that its place in the sequence still counts; never listed.
pub const DELETED: u32 = 1 << 18;
/// Played on this device (an audio or video message the app marked).
pub const PLAYED: u32 = 1 << 19;

fn flags_of(s: &MessageSettings) -> u32 {
    [
        (s.history_enabled, flags::HISTORY),
        (s.roaming_enabled, flags::ROAMING),
        (s.sync_enabled, flags::SYNC),
        (s.should_be_counted, flags::COUNTED),
        (s.apns_enabled, flags::APNS),
        (s.apns_with_prefix, flags::APNS_PREFIX),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |flags, (_, bit)| flags | bit)
}

fn settings_of(bits: u32, apns_content: String, apns_payload: String) -> MessageSettings {
    MessageSettings {
        history_enabled: bits & flags::HISTORY != 0,
        roaming_enabled: bits & flags::ROAMING != 0,
        sync_enabled: bits & flags::SYNC != 0,
        should_be_counted: bits & flags::COUNTED != 0,
        apns_enabled: bits & flags::APNS != 0,
        apns_with_prefix: bits & flags::APNS_PREFIX != 0,
        apns_content,
        apns_payload,
    }
}

macro_rules! columns {
    () => {
        "message_id, server_id, session_type, session_id, from_accid, from_nick, \
         message_type, body, attachment, remote_ext, local_ext, timestamp, seq, delivery, outgoing, flags, apns_content, apns_payload"
    };
}
pub(crate) use columns;

/// The column after [`columns!`] in a `SELECT columns!(), local_id`.
pub const LOCAL_ID_COLUMN: usize = 18;

pub fn session_of(kind: u32, id: String) -> SessionId {
    SessionId {
        kind: SessionType::from_u32(kind).unwrap_or(SessionType::P2P),
        id,
    }
}

pub fn message_from_row(row: &Row<'_>) -> rusqlite::Result<LocalMessage> {
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
        settings: settings_of(row.get(15)?, row.get(16)?, row.get(17)?),
        muted: row.get::<_, u32>(15)? & MUTED != 0,
        is_remote_read: row.get::<_, u32>(15)? & super::events::REMOTE_READ != 0,
        is_deleted: row.get::<_, u32>(15)? & DELETED != 0,
        is_played: row.get::<_, u32>(15)? & PLAYED != 0,
    })
}

/// Inserts `m` unless a message with its sender and id is held; returns the
/// new row's `local_id`, or `None` for a duplicate.
pub fn insert_message(
    conn: &PreparedConnection,
    m: &LocalMessage,
) -> rusqlite::Result<Option<i64>> {
    let s = &m.settings;
    let n = hot::run(
        conn,
        Hot::InsertMessage,
        &[
            Value::Text(&m.message_id),
            Value::Int(m.server_id as i64),
            Value::Int(m.session.kind.as_u32().into()),
            Value::Text(&m.session.id),
            Value::Text(&m.from),
            Value::Text(&m.from_nick),
            Value::Int(m.message_type.into()),
            Value::Text(&m.text),
            Value::Text(&m.attachment),
            Value::Text(&m.remote_ext),
            Value::Text(&m.local_ext),
            Value::Int(m.timestamp),
            Value::Int(m.seq as i64),
            Value::Int(m.delivery as i64),
            Value::Int(m.is_outgoing.into()),
            Value::Int((flags_of(s) | if m.muted { MUTED } else { 0 }).into()),
            Value::Text(&s.apns_content),
            Value::Text(&s.apns_payload),
        ],
    )?;
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
        Ok((row.get(LOCAL_ID_COLUMN)?, message_from_row(row)?))
    })
    .optional()
}
