//! The statements of the hot path (a send, an ack, a delivery), prepared
//! once per connection and binding the messages' text without a copy: looked
//! up in rusqlite's statement cache, each run hashed its SQL and returned
//! the statement to the cache, and binding copied every string.

use tidings_sqlite_wal::borrowed::{PreparedConnection, Value};

use super::rows::columns;

/// A hot statement, by its place in [`SQL`].
#[derive(Clone, Copy)]
pub enum Hot {
    /// A message unless its (sender, id) is held; 18 values in `columns!()` order.
    InsertMessage,
    /// (local id, server id, timestamp, seq): my send, acked.
    Acked,
    /// (type, id, unread, last local id, last timestamp): a session in the
    /// recent list with its last message.
    SaveSession,
    /// (type, id, cursor): the sequence a session is held up to.
    SaveCursor,
    /// (type, id, unread, last local id, last timestamp, cursor): both, in
    /// a row that exists.
    UpdateListingAndCursor,
    /// (type, id, unread, last local id, last timestamp), in a row that exists.
    UpdateListing,
    /// (type, id, cursor), in a row that exists.
    UpdateCursor,
    /// A transaction's bounds (`BEGIN IMMEDIATE`, `COMMIT`, `ROLLBACK`):
    /// from rusqlite's statement cache, each of them hashed its SQL twice
    /// (4 % of the local database's instructions at one message a
    /// transaction).
    Begin,
    Commit,
    Rollback,
}

const SQL: [&str; 10] = [
    concat!(
        "INSERT OR IGNORE INTO messages (",
        columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    ),
    "UPDATE messages SET server_id = ?2, timestamp = ?3, seq = ?4, delivery = 2 WHERE local_id = ?1",
    "INSERT INTO sessions (session_type, session_id, listed, unread, last_local_id, last_timestamp) \
     VALUES (?1, ?2, 1, ?3, ?4, ?5) \
     ON CONFLICT (session_type, session_id) DO UPDATE SET listed = 1, unread = excluded.unread, \
       last_local_id = excluded.last_local_id, last_timestamp = excluded.last_timestamp",
    "INSERT INTO sessions (session_type, session_id, cursor) VALUES (?1, ?2, ?3) \
     ON CONFLICT (session_type, session_id) DO UPDATE SET cursor = excluded.cursor",
    "UPDATE sessions SET listed = 1, unread = ?3, last_local_id = ?4, last_timestamp = ?5, cursor = ?6 \
     WHERE session_type = ?1 AND session_id = ?2",
    "UPDATE sessions SET listed = 1, unread = ?3, last_local_id = ?4, last_timestamp = ?5 \
     WHERE session_type = ?1 AND session_id = ?2",
    "UPDATE sessions SET cursor = ?3 WHERE session_type = ?1 AND session_id = ?2",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
];

/// `conn` with the hot statements prepared on it.
pub fn prepare(conn: rusqlite::Connection) -> rusqlite::Result<PreparedConnection> {
    PreparedConnection::new(conn, &SQL)
}

/// Runs `statement` with `values`; answers the rows it changed.
pub fn run(
    conn: &PreparedConnection,
    statement: Hot,
    values: &[Value<'_>],
) -> rusqlite::Result<u64> {
    conn.run(statement as usize, values)
}
