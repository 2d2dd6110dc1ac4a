//! Migrations, applied by one node at a time (advisory lock).

use tidings_store::StoreResult;
use tokio_postgres::Client;

use crate::backend;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_client_id_first.sql"),
    include_str!("../migrations/0003_sent_ids_by_conversation.sql"),
    include_str!("../migrations/0004_conversations_by_session.sql"),
    include_str!("../migrations/0005_conversation_clock.sql"),
    include_str!("../migrations/0006_last_devices.sql"),
    include_str!("../migrations/0007_events_and_profiles.sql"),
    include_str!("../migrations/0008_relations_and_notifications.sql"),
    include_str!("../migrations/0009_read_receipts.sql"),
];
/// An arbitrary key for pg_advisory_lock: "tidings".
const LOCK_KEY: i64 = 0x0074_6964_696e_6773;

pub async fn migrate(client: &mut Client) -> StoreResult<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(backend)?;
    let result = apply(client).await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn apply(client: &mut Client) -> StoreResult<()> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        .await
        .map_err(backend)?;
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(backend)?;
    let applied: i32 = row.try_get(0).map_err(backend)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = client.transaction().await.map_err(backend)?;
        tx.batch_execute(sql).await.map_err(backend)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(index as i32 + 1)],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
    }
    Ok(())
}
