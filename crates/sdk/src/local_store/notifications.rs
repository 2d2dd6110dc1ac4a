//! My system notifications, as the event log keeps them.

use rusqlite::{params, Connection, Row};

use crate::types::SystemNotification;

const COLUMNS: &str = "id, kind, from_accid, target, postscript, attach, status, read, time";

fn from_row(row: &Row<'_>) -> rusqlite::Result<SystemNotification> {
    Ok(SystemNotification {
        id: row.get::<_, i64>(0)? as u64,
        kind: row.get(1)?,
        from: row.get(2)?,
        target: row.get(3)?,
        postscript: row.get(4)?,
        attach: row.get(5)?,
        status: row.get(6)?,
        read: row.get(7)?,
        time: row.get(8)?,
    })
}

pub fn add(conn: &Connection, n: &SystemNotification) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO system_notifications ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(params![
        n.id as i64,
        n.kind,
        n.from,
        n.target,
        n.postscript,
        n.attach,
        n.status,
        n.read,
        n.time
    ])?;
    Ok(())
}

/// Applies a change to `ids` (all when empty).
pub fn change(
    conn: &Connection,
    ids: &[u64],
    read: Option<bool>,
    status: Option<u32>,
    deleted: bool,
) -> rusqlite::Result<()> {
    if ids.is_empty() {
        if deleted {
            conn.execute("DELETE FROM system_notifications", [])?;
        }
        if let Some(read) = read {
            conn.execute("UPDATE system_notifications SET read = ?1", [read])?;
        }
        if let Some(status) = status {
            conn.execute("UPDATE system_notifications SET status = ?1", [status])?;
        }
        return Ok(());
    }
    for id in ids {
        let id = *id as i64;
        if deleted {
            conn.prepare_cached("DELETE FROM system_notifications WHERE id = ?1")?
                .execute([id])?;
            continue;
        }
        if let Some(read) = read {
            conn.prepare_cached("UPDATE system_notifications SET read = ?2 WHERE id = ?1")?
                .execute(params![id, read])?;
        }
        if let Some(status) = status {
            conn.prepare_cached("UPDATE system_notifications SET status = ?2 WHERE id = ?1")?
                .execute(params![id, status])?;
        }
    }
    Ok(())
}

/// Newest first; only the `kinds` given, when given.
pub fn list(
    conn: &Connection,
    limit: u32,
    kinds: Option<&[u32]>,
) -> rusqlite::Result<Vec<SystemNotification>> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM system_notifications ORDER BY id DESC"
    ))?;
    let rows = select.query_map([], from_row)?;
    let mut found = Vec::new();
    for row in rows {
        let n = row?;
        if kinds.is_some_and(|kinds| !kinds.contains(&n.kind)) {
            continue;
        }
        found.push(n);
        if found.len() >= limit as usize {
            break;
        }
    }
    Ok(found)
}

pub fn unread_count(conn: &Connection) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM system_notifications WHERE read = 0")?
        .query_row([], |row| row.get(0))
}

/// Everything at once (a reload).
pub fn replace_all(conn: &Connection, all: &[SystemNotification]) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM system_notifications", [])?;
    for n in all {
        add(conn, n)?;
    }
    Ok(())
}
