//! My friends and my blacklist and mute list, as the event log keeps them.

use rusqlite::{params, Connection, Row};

use crate::types::FriendInfo;

fn friend_from_row(row: &Row<'_>) -> rusqlite::Result<FriendInfo> {
    Ok(FriendInfo {
        account: row.get(0)?,
        alias: row.get(1)?,
        ext: row.get(2)?,
        created_at: row.get(3)?,
    })
}

pub fn save_friend(conn: &Connection, friend: &FriendInfo) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO friends (accid, alias, ext, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (accid) DO UPDATE SET alias = excluded.alias, ext = excluded.ext, \
           created_at = excluded.created_at",
    )?
    .execute(params![
        friend.account,
        friend.alias,
        friend.ext,
        friend.created_at
    ])?;
    Ok(())
}

pub fn remove_friend(conn: &Connection, account: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM friends WHERE accid = ?1")?
        .execute([account])?;
    Ok(())
}

pub fn friends(conn: &Connection) -> rusqlite::Result<Vec<FriendInfo>> {
    conn.prepare_cached("SELECT accid, alias, ext, created_at FROM friends ORDER BY accid")?
        .query_map([], friend_from_row)?
        .collect()
}

pub fn friend(conn: &Connection, account: &str) -> rusqlite::Result<Option<FriendInfo>> {
    let mut select =
        conn.prepare_cached("SELECT accid, alias, ext, created_at FROM friends WHERE accid = ?1")?;
    let mut rows = select.query_map([account], friend_from_row)?;
    rows.next().transpose()
}

pub fn set_listed(
    conn: &Connection,
    relation: u32,
    account: &str,
    on: bool,
) -> rusqlite::Result<()> {
    if on {
        conn.prepare_cached(
            "INSERT INTO special_relations (relation, accid) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![relation, account])?;
    } else {
        conn.prepare_cached("DELETE FROM special_relations WHERE relation = ?1 AND accid = ?2")?
            .execute(params![relation, account])?;
    }
    Ok(())
}

pub fn listed(conn: &Connection, relation: u32) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT accid FROM special_relations WHERE relation = ?1 ORDER BY accid")?
        .query_map([relation], |row| row.get(0))?
        .collect()
}

pub fn is_listed(conn: &Connection, relation: u32, account: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM special_relations WHERE relation = ?1 AND accid = ?2")?
        .exists(params![relation, account])
}

/// Everything at once (a reload).
pub fn replace_all(
    conn: &Connection,
    friends: &[FriendInfo],
    lists: &[(u32, Vec<String>)],
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM friends", [])?;
    conn.execute("DELETE FROM special_relations", [])?;
    for friend in friends {
        save_friend(conn, friend)?;
    }
    for (relation, accounts) in lists {
        for account in accounts {
            set_listed(conn, *relation, account, true)?;
        }
    }
    Ok(())
}
