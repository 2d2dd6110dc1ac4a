//! `tidings admin migrate --from sqlite:<path> --to postgres://...`: copies
//! every app, account, conversation and message of an embedded store into
//! PostgreSQL (schema created if needed), with each account's devices,
//! event log, profile, friends, lists, notifications and read marks, then
//! verifies the counts.

use std::path::Path;

use anyhow::{bail, Context};
use rusqlite::types::Value as SqlValue;
use tokio_postgres::types::ToSql;

/// Tables in copy order, with their columns (same names in both stores).
const TABLES: &[(&str, &[&str])] = &[
    ("apps", &["app_key", "app_secret", "name", "created_at"]),
    (
        "accounts",
        &["app_key", "accid", "name", "token", "blocked", "created_at"],
    ),
    ("conversations", &["app_key", "conversation", "last_seq"]),
    (
        "user_conversations",
        &[
            "app_key",
            "accid",
            "conversation",
            "session_type",
            "session_id",
        ],
    ),
    (
        "messages",
        &[
            "app_key",
            "conversation",
            "seq",
            "server_id",
            "client_id",
            "from_accid",
            "from_nick",
            "from_client_type",
            "to_id",
            "session_type",
            "message_type",
            "body",
            "attachment",
            "remote_ext",
            "flags",
            "apns_content",
            "apns_payload",
            "created_at",
        ],
    ),
    (
        "last_devices",
        &["app_key", "accid", "kick_group", "device_id"],
    ),
    ("account_event_heads", &["app_key", "accid", "last_pos"]),
    (
        "account_events",
        &["app_key", "accid", "pos", "created_at", "body"],
    ),
    (
        "user_profiles",
        &[
            "app_key",
            "accid",
            "nick",
            "avatar",
            "sign",
            "gender",
            "email",
            "birth",
            "mobile",
            "ext",
            "updated_at",
        ],
    ),
    (
        "friends",
        &["app_key", "owner", "friend", "alias", "ext", "created_at"],
    ),
    (
        "friend_requests",
        &[
            "app_key",
            "from_accid",
            "to_accid",
            "notification_id",
            "created_at",
        ],
    ),
    (
        "special_relations",
        &["app_key", "owner", "relation", "target", "created_at"],
    ),
    (
        "system_notifications",
        &[
            "app_key",
            "owner",
            "id",
            "kind",
            "from_accid",
            "target",
            "postscript",
            "attach",
            "status",
            "read",
            "created_at",
        ],
    ),
    (
        "custom_notifications",
        &[
            "app_key",
            "to_accid",
            "seq",
            "from_accid",
            "content",
            "push_content",
            "created_at",
        ],
    ),
    (
        "read_marks",
        &[
            "app_key",
            "conversation",
            "reader",
            "seq",
            "timestamp",
            "client_id",
        ],
    ),
];

/// Columns stored as SQLite integers that PostgreSQL keeps as INTEGER or BOOLEAN.
fn pg_value(column: &str, value: SqlValue) -> anyhow::Result<Box<dyn ToSql + Sync + Send>> {
    Ok(match (column, value) {
        ("blocked" | "read", SqlValue::Integer(n)) => Box::new(n != 0),
        (
            "from_client_type" | "session_type" | "message_type" | "flags" | "kick_group"
            | "gender" | "relation" | "kind" | "status",
            SqlValue::Integer(n),
        ) => Box::new(n as i32),
        (_, SqlValue::Integer(n)) => Box::new(n),
        (_, SqlValue::Text(t)) => Box::new(t),
        (_, SqlValue::Blob(b)) => Box::new(b),
        (column, other) => bail!("unexpected value {other:?} in column {column}"),
    })
}

pub async fn run(from: &str, to: &str) -> anyhow::Result<()> {
    let path = from
        .strip_prefix("sqlite:")
        .context("--from must be sqlite:<path to tidings.db>")?;
    if !to.starts_with("postgres://") && !to.starts_with("postgresql://") {
        bail!("--to must be a postgres:// URL");
    }
    if !Path::new(path).exists() {
        bail!("{path} does not exist");
    }
    let source =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    // Creates the schema (migrations) if the database is new.
    drop(tidings_store_postgres::PostgresStore::connect(to).await?);
    let (mut target, connection) = tokio_postgres::connect(to, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let existing: i64 = target
        .query_one("SELECT count(*) FROM messages", &[])
        .await?
        .get(0);
    let apps: i64 = target
        .query_one("SELECT count(*) FROM apps", &[])
        .await?
        .get(0);
    if existing > 0 || apps > 0 {
        bail!("the target already holds data ({apps} apps, {existing} messages); migrate into an empty database");
    }
    for (table, columns) in TABLES {
        let list = columns.join(", ");
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({list}) VALUES ({})",
            placeholders.join(", ")
        );
        let mut stmt = source.prepare(&format!("SELECT {list} FROM {table}"))?;
        let mut rows = stmt.query([])?;
        let tx = target.transaction().await?;
        let insert = tx.prepare(&insert).await?;
        let mut copied = 0u64;
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, column) in columns.iter().enumerate() {
                values.push(pg_value(column, row.get::<_, SqlValue>(i)?)?);
            }
            let params: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            tx.execute(&insert, &params).await?;
            copied += 1;
        }
        tx.commit().await?;
        let source_count: i64 =
            source.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        let target_count: i64 = target
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await?
            .get(0);
        if source_count != target_count {
            bail!("{table}: {source_count} rows in SQLite but {target_count} in PostgreSQL");
        }
        println!("{table:<20} {copied:>10} rows copied, counts match");
    }
    // Each conversation's latest time, which no later message is stamped
    // before (the SQLite store keeps it in its writer, PostgreSQL on the
    // counter row).
    target
        .execute(
            "UPDATE conversations c SET last_at = m.created_at FROM messages m \
             WHERE m.app_key = c.app_key AND m.conversation = c.conversation AND m.seq = c.last_seq",
            &[],
        )
        .await?;
    Ok(())
}
