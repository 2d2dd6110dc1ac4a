//! Connection settings and migrations.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_client_id_first.sql"),
];

/// How long a connection waits for a lock before it answers busy.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// WAL with `synchronous=FULL`: a commit is on disk when it returns.
pub fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Checkpoints run in their own thread (tidings-sqlite-wal).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}

pub fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "query_only", "ON")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}

/// Applies the migrations newer than the file's `user_version`.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            index + 1
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use tidings_store::Store;

    use super::{configure_writer, MIGRATIONS};
    use crate::test_support::message;
    use crate::SqliteStore;

    #[tokio::test]
    async fn a_first_version_file_is_upgraded_and_keeps_its_idempotency() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tidings.db");
        let first = {
            let store = SqliteStore::open(&path).expect("open");
            let appended = store
                .append_messages(vec![message(0, 10)])
                .await
                .expect("append");
            appended[0].stored.clone()
        };
        // Back to the first schema, as a file written before migration 2.
        {
            let conn = Connection::open(&path).expect("reopen");
            configure_writer(&conn).expect("configure");
            conn.execute_batch(
                "DROP INDEX messages_by_client_id; \
                 CREATE UNIQUE INDEX messages_by_client_id ON messages (app_key, from_accid, client_id); \
                 PRAGMA user_version = 1;",
            )
            .expect("downgrade");
        }
        let store = SqliteStore::open(&path).expect("upgrade");
        let again = store
            .append_messages(vec![message(0, 10), message(7, 10)])
            .await
            .expect("append");
        assert!(again[0].duplicate, "the resend is recognised");
        assert_eq!(again[0].stored.server_id, first.server_id);
        assert!(!again[1].duplicate);
        assert_eq!(again[1].stored.seq, 2, "same conversation, next sequence");
        let conn = Connection::open(&path).expect("inspect");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
        let first_column: String = conn
            .query_row(
                "SELECT name FROM pragma_index_info('messages_by_client_id') WHERE seqno = 0",
                [],
                |row| row.get(0),
            )
            .expect("index");
        assert_eq!(first_column, "client_id");
    }
}
