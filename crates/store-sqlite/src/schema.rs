//! Connection settings and migrations.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_client_id_first.sql"),
    include_str!("../migrations/0003_message_log.sql"),
    include_str!("../migrations/0004_sent_ids_by_conversation.sql"),
    include_str!("../migrations/0005_conversations_by_session.sql"),
    include_str!("../migrations/0006_last_devices.sql"),
    include_str!("../migrations/0007_events_and_profiles.sql"),
    include_str!("../migrations/0008_relations_and_notifications.sql"),
    include_str!("../migrations/0009_read_receipts.sql"),
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
    tidings_sqlite_wal::stable_plans(conn)
}

pub fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "query_only", "ON")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    tidings_sqlite_wal::stable_plans(conn)
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
    use tidings_store::MessageStore;

    use super::{configure_writer, MIGRATIONS};
    use crate::test_support::message;
    use crate::SqliteStore;

    /// A file of the first schema: three conversations of the app "app",
    /// ten messages each, written interleaved (as a busy server would).
    fn first_version_file(path: &std::path::Path) {
        let conn = Connection::open(path).expect("create");
        configure_writer(&conn).expect("configure");
        conn.execute_batch(&format!(
            "BEGIN; {}; PRAGMA user_version = 1; COMMIT;",
            MIGRATIONS[0]
        ))
        .expect("first schema");
        for i in 0..30 {
            let m = message(i, 10);
            let seq = i / 7 + 1;
            conn.execute(
                "INSERT INTO messages (app_key, conversation, seq, server_id, client_id, from_accid, \
                 from_nick, from_client_type, to_id, session_type, message_type, body, attachment, \
                 remote_ext, flags, apns_content, apns_payload, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', 0, ?7, 0, 0, ?8, '', '', 0, '', '', ?9)",
                rusqlite::params![
                    m.app_key,
                    m.conversation,
                    seq as i64,
                    1000 + i as i64,
                    m.client_id,
                    m.from,
                    m.to,
                    m.text,
                    i as i64
                ],
            )
            .expect("message");
            conn.execute(
                "INSERT INTO conversations (app_key, conversation, last_seq) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (app_key, conversation) DO UPDATE SET last_seq = excluded.last_seq",
                rusqlite::params![m.app_key, m.conversation, seq as i64],
            )
            .expect("counter");
        }
    }

    #[tokio::test]
    async fn a_first_version_file_is_upgraded_with_every_message_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tidings.db");
        first_version_file(&path);
        let store = SqliteStore::open(&path).expect("upgrade");
        assert_eq!(store.message_count("app").await.expect("count"), 30);
        for sender in 0..7 {
            let conversation = message(sender, 0).conversation;
            let all = store
                .messages_after("app", &conversation, 0, 100)
                .await
                .expect("read");
            let expected: Vec<(u64, String)> = (sender..30)
                .step_by(7)
                .map(|i| ((i / 7 + 1) as u64, format!("{i:012}")))
                .collect();
            let got: Vec<(u64, String)> = all
                .iter()
                .map(|m| (m.seq, m.message.client_id.clone()))
                .collect();
            assert_eq!(got, expected, "conversation {conversation}");
            let tail = store
                .messages_after("app", &conversation, 2, 100)
                .await
                .expect("read");
            assert_eq!(tail.first().map(|m| m.seq), expected.get(2).map(|e| e.0));
        }
        // A resend of an old message is recognised; a new one continues its
        // conversation's sequence.
        let again = store
            .append_messages(vec![message(14, 10), message(35, 10)])
            .await
            .expect("append");
        assert!(again[0].duplicate, "the resend is recognised");
        assert_eq!(again[0].stored.server_id, 1014);
        assert_eq!(again[0].stored.seq, 3);
        assert!(!again[1].duplicate);
        assert_eq!(again[1].stored.seq, 6, "a0's conversation had 5");
        assert!(again[1].stored.server_id > 1029, "server ids keep growing");
        drop(store);
        let conn = Connection::open(&path).expect("inspect");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
        let through_view: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE app_key = 'app'",
                [],
                |row| row.get(0),
            )
            .expect("view");
        assert_eq!(through_view, 31, "the messages view shows the log");
    }
}
