//! The profiles this device holds: mine and those it fetched or was told
//! of. Reads never wait for the network.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::types::UserInfo;

const COLUMNS: &str = "accid, nick, avatar, sign, gender, email, birth, mobile, ext, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<UserInfo> {
    Ok(UserInfo {
        account: row.get(0)?,
        nick: row.get(1)?,
        avatar: row.get(2)?,
        sign: row.get(3)?,
        gender: row.get(4)?,
        email: row.get(5)?,
        birth: row.get(6)?,
        mobile: row.get(7)?,
        ext: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

/// Keeps each profile unless the one held is newer.
pub fn save(conn: &Connection, profiles: &[UserInfo]) -> rusqlite::Result<()> {
    let mut upsert = conn.prepare_cached(&format!(
        "INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (accid) DO UPDATE SET nick = excluded.nick, avatar = excluded.avatar, \
           sign = excluded.sign, gender = excluded.gender, email = excluded.email, \
           birth = excluded.birth, mobile = excluded.mobile, ext = excluded.ext, \
           updated_at = excluded.updated_at \
         WHERE excluded.updated_at >= users.updated_at"
    ))?;
    for p in profiles {
        upsert.execute(params![
            p.account,
            p.nick,
            p.avatar,
            p.sign,
            p.gender,
            p.email,
            p.birth,
            p.mobile,
            p.ext,
            p.updated_at
        ])?;
    }
    Ok(())
}

pub fn get(conn: &Connection, account: &str) -> rusqlite::Result<Option<UserInfo>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE accid = ?1"))?
        .query_row([account], from_row)
        .optional()
}

/// Every account whose profile is held.
pub fn accounts(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut select = conn.prepare_cached("SELECT accid FROM users ORDER BY accid")?;
    let rows = select.query_map([], |row| row.get(0))?;
    rows.collect()
}
