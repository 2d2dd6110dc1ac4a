//! The message log: every message once, in the order the writer wrote it
//! (`message_log`), indexed by runs of a conversation's sequences at
//! consecutive positions (`message_runs`), with the idempotency keys of
//! the sends (`sent_ids`).
//!
//! A group commit appends: its messages go to the log grouped by
//! conversation, with one run row per conversation.
//! Rows clustered by conversation would instead split pages in the middle
//! of the table at every conversation a group touches.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, Row};
use tidings_sqlite_wal::borrowed::{BorrowingStatement, Value};
use tidings_store::{Appended, NewMessage, StoredMessage};

/// Past this many conversations the writer's cache starts over (between groups).
const MAX_CACHED_CONVERSATIONS: usize = 100_000;

/// The columns [`message_from_row`] reads, from `message_log l` joined
/// with `conversations c`.
macro_rules! stored_columns {
    () => {
        "l.server_id, l.seq, l.created_at, c.app_key, c.conversation, l.client_id, \
         l.from_accid, l.from_nick, l.from_client_type, l.to_id, l.session_type, l.message_type, \
         l.body, l.attachment, l.remote_ext, l.flags, l.apns_content, l.apns_payload"
    };
}

/// Without `position`: SQLite gives each row the next rowid, the log's
/// largest position + 1, which saves a look-up per row for a key given
/// explicitly; [`MessageLog::write_group`] checks the positions it got.
const LOG_COLUMNS: &str = "conversation_id, seq, server_id, client_id, from_accid, \
     from_nick, from_client_type, to_id, session_type, message_type, body, attachment, \
     remote_ext, flags, apns_content, apns_payload, created_at";
const LOG_COLUMN_COUNT: usize = 17;

/// The same row for a message whose attachment, remote extension and push
/// texts are empty, as a plain text message's are: those four columns
/// (indices in [`LOG_COLUMNS`]) are written as literals, and binding a
/// value costs more than the b-tree insert of a short row spends on it.
const EMPTY_IN_PLAIN_ROWS: [usize; 4] = [11, 12, 14, 15];
const PLAIN_COLUMN_COUNT: usize = LOG_COLUMN_COUNT - EMPTY_IN_PLAIN_ROWS.len();
/// The columns a plain row binds, in order.
const PLAIN_COLUMNS: [usize; PLAIN_COLUMN_COUNT] = plain_columns();

const fn plain_columns() -> [usize; PLAIN_COLUMN_COUNT] {
    let mut kept = [0; PLAIN_COLUMN_COUNT];
    let (mut column, mut at) = (0, 0);
    while column < LOG_COLUMN_COUNT {
        let mut empty = false;
        let mut i = 0;
        while i < EMPTY_IN_PLAIN_ROWS.len() {
            empty |= EMPTY_IN_PLAIN_ROWS[i] == column;
            i += 1;
        }
        if !empty {
            kept[at] = column;
            at += 1;
        }
        column += 1;
    }
    kept
}

/// Rows per multi-row `INSERT`: one statement run for many rows, since
/// running a statement costs more than the b-tree insert of a short row.
const ROWS_PER_INSERT: usize = 32;

/// One statement for each number of rows from 1 to [`ROWS_PER_INSERT`],
/// prepared when first needed: a group's tail of rows takes one run, not
/// one per row.
struct RowsStatements<'c> {
    conn: &'c Connection,
    sql: fn(usize) -> String,
    by_rows: Vec<Option<BorrowingStatement<'c>>>,
}

impl<'c> RowsStatements<'c> {
    fn new(conn: &'c Connection, sql: fn(usize) -> String) -> RowsStatements<'c> {
        RowsStatements {
            conn,
            sql,
            by_rows: (0..=ROWS_PER_INSERT).map(|_| None).collect(),
        }
    }

    /// The statement for `rows` rows (1 to [`ROWS_PER_INSERT`]).
    fn rows(&mut self, rows: usize) -> rusqlite::Result<&mut BorrowingStatement<'c>> {
        let slot = self
            .by_rows
            .get_mut(rows)
            .ok_or_else(|| rusqlite::Error::InvalidParameterCount(rows, ROWS_PER_INSERT))?;
        match slot {
            Some(statement) => Ok(statement),
            None => Ok(slot.insert(BorrowingStatement::prepare(self.conn, &(self.sql)(rows))?)),
        }
    }
}

/// The writer's statements on its hot path, prepared once; they bind
/// the messages' text without copying it.
struct HotStatements<'c> {
    claims: RowsStatements<'c>,
    log_rows: RowsStatements<'c>,
    plain_log_rows: RowsStatements<'c>,
}

impl<'c> HotStatements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<HotStatements<'c>> {
        let mut statements = HotStatements {
            claims: RowsStatements::new(conn, claim_sql),
            log_rows: RowsStatements::new(conn, insert_rows_sql),
            plain_log_rows: RowsStatements::new(conn, insert_plain_rows_sql),
        };
        // The full sizes now: a bad statement fails the store's open, not a group.
        statements.claims.rows(ROWS_PER_INSERT)?;
        statements.log_rows.rows(ROWS_PER_INSERT)?;
        statements.plain_log_rows.rows(ROWS_PER_INSERT)?;
        Ok(statements)
    }
}

/// `(?, ?, ...), ...`: `rows` rows of `columns` parameters.
fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// `INSERT INTO message_log (...) VALUES (?, ...), ...` for `rows` rows.
fn insert_rows_sql(rows: usize) -> String {
    format!(
        "INSERT INTO message_log ({LOG_COLUMNS}) VALUES {}",
        placeholders(rows, LOG_COLUMN_COUNT)
    )
}

/// [`insert_rows_sql`] for plain rows: `''` for the columns of
/// [`EMPTY_IN_PLAIN_ROWS`].
fn insert_plain_rows_sql(rows: usize) -> String {
    let row: Vec<&str> = (0..LOG_COLUMN_COUNT)
        .map(|column| {
            if EMPTY_IN_PLAIN_ROWS.contains(&column) {
                "''"
            } else {
                "?"
            }
        })
        .collect();
    let row = format!("({})", row.join(", "));
    format!(
        "INSERT INTO message_log ({LOG_COLUMNS}) VALUES {}",
        vec![row; rows].join(", ")
    )
}

/// Claims the idempotency keys (client id, sender, conversation) of
/// `rows` sends for the sequences they take; a key claimed before changes
/// no row.
fn claim_sql(rows: usize) -> String {
    format!(
        "INSERT OR IGNORE INTO sent_ids (client_id, from_accid, conversation_id, seq) VALUES {}",
        placeholders(rows, 4)
    )
}

/// Writes the group's messages at `first_position` on (the next rowids),
/// up to [`ROWS_PER_INSERT`] rows a statement, and checks that they took
/// those positions: a run's rows are found by position.
fn insert_rows(
    conn: &Connection,
    statements: &mut HotStatements<'_>,
    first_position: i64,
    taken: &[&Taken],
) -> rusqlite::Result<()> {
    let mut values = Vec::with_capacity(ROWS_PER_INSERT * LOG_COLUMN_COUNT);
    for chunk in taken.chunks(ROWS_PER_INSERT) {
        values.clear();
        if chunk.iter().all(|t| is_plain(&t.stored.message)) {
            for t in chunk {
                values.extend_from_slice(&plain_row_values(t));
            }
            statements.plain_log_rows.rows(chunk.len())?.run(&values)?;
        } else {
            for t in chunk {
                values.extend_from_slice(&row_values(t));
            }
            statements.log_rows.rows(chunk.len())?.run(&values)?;
        }
    }
    let last = first_position + taken.len() as i64 - 1;
    if conn.last_insert_rowid() != last {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
            Some(format!(
                "the log's rows went to positions up to {}, not {last}",
                conn.last_insert_rowid()
            )),
        ));
    }
    Ok(())
}

/// One claim's parameters, in [`claim_sql`]'s order.
fn claim_values<'m>(m: &'m NewMessage, claim: &Claim) -> [Value<'m>; 4] {
    [
        Value::Text(&m.client_id),
        Value::Text(&m.from),
        Value::Int(claim.conversation_id),
        Value::Int(claim.seq),
    ]
}

/// One row of the log, in [`LOG_COLUMNS`] order.
fn row_values(t: &Taken) -> [Value<'_>; LOG_COLUMN_COUNT] {
    let (s, m) = (&t.stored, &t.stored.message);
    [
        Value::Int(t.conversation_id),
        Value::Int(s.seq as i64),
        Value::Int(s.server_id as i64),
        Value::Text(&m.client_id),
        Value::Text(&m.from),
        Value::Text(&m.from_nick),
        Value::Int(m.from_client_type.into()),
        Value::Text(&m.to),
        Value::Int(m.session_type.into()),
        Value::Int(m.message_type.into()),
        Value::Text(&m.text),
        Value::Text(&m.attachment),
        Value::Text(&m.remote_ext),
        Value::Int(m.flags.into()),
        Value::Text(&m.apns_content),
        Value::Text(&m.apns_payload),
        Value::Int(s.timestamp),
    ]
}

/// Whether `m` leaves empty the columns of [`EMPTY_IN_PLAIN_ROWS`].
fn is_plain(m: &NewMessage) -> bool {
    m.attachment.is_empty()
        && m.remote_ext.is_empty()
        && m.apns_content.is_empty()
        && m.apns_payload.is_empty()
}

/// [`row_values`] without the columns of [`EMPTY_IN_PLAIN_ROWS`].
fn plain_row_values(t: &Taken) -> [Value<'_>; PLAIN_COLUMN_COUNT] {
    let row = row_values(t);
    PLAIN_COLUMNS.map(|column| row[column])
}

/// A conversation's messages above a sequence, in order: the runs that end
/// above it, and in each the positions from that sequence on.
pub(crate) const MESSAGES_AFTER: &str = concat!(
    "SELECT ",
    stored_columns!(),
    " FROM conversations c \
     JOIN message_runs r ON r.conversation_id = c.id AND r.last_seq > ?3 \
     JOIN message_log l ON l.position \
       BETWEEN r.first_position + max(?3 + 1 - r.first_seq, 0) \
       AND r.first_position + (r.last_seq - r.first_seq) \
     WHERE c.app_key = ?1 AND c.conversation = ?2 \
     ORDER BY r.last_seq, l.position LIMIT ?4"
);

/// Messages with `seq < ?3`, newest first: from the run holding seq ?3 - 1
/// (the first run ending at or after it) downwards.
pub(crate) const MESSAGES_BEFORE: &str = concat!(
    "SELECT ",
    stored_columns!(),
    " FROM conversations c \
     JOIN message_runs r ON r.conversation_id = c.id AND r.first_seq < ?3 \
       AND r.last_seq <= coalesce((SELECT min(last_seq) FROM message_runs \
         WHERE conversation_id = c.id AND last_seq >= ?3 - 1), 9223372036854775807) \
     JOIN message_log l ON l.position \
       BETWEEN r.first_position \
       AND r.first_position + (min(r.last_seq, ?3 - 1) - r.first_seq) \
     WHERE c.app_key = ?1 AND c.conversation = ?2 \
     ORDER BY r.last_seq DESC, l.position DESC LIMIT ?4"
);

/// Message ?3 of conversation (?1, ?2) becomes a revoke notification (type
/// ?6, attachment ?4, flag ?5), unless it carries the flag already.
pub(crate) const REVOKE: &str = "UPDATE message_log \
     SET message_type = ?6, body = '', attachment = ?4, remote_ext = '', flags = flags | ?5 \
     WHERE flags & ?5 = 0 AND position = ( \
       SELECT r.first_position + (?3 - r.first_seq) FROM conversations c \
       JOIN message_runs r ON r.conversation_id = c.id \
       WHERE c.app_key = ?1 AND c.conversation = ?2 AND r.first_seq <= ?3 AND r.last_seq = \
         (SELECT min(last_seq) FROM message_runs WHERE conversation_id = c.id AND last_seq >= ?3))";

/// The time of the message at sequence ?2 of conversation ?1 (by id).
const TIME_AT_SEQ: &str = "SELECT l.created_at FROM message_runs r \
     JOIN message_log l ON l.position = r.first_position + (?2 - r.first_seq) \
     WHERE r.conversation_id = ?1 AND r.last_seq = \
       (SELECT min(last_seq) FROM message_runs WHERE conversation_id = ?1 AND last_seq >= ?2) \
       AND r.first_seq <= ?2";

/// Releases a key a send claimed for `seq` (a claim undone); a key
/// claimed for another sequence stays.
const UNCLAIM: &str = "DELETE FROM sent_ids \
     WHERE client_id = ?1 AND from_accid = ?2 AND conversation_id = ?3 AND seq = ?4";

/// The sequence a key was claimed for.
const CLAIMED_SEQ: &str =
    "SELECT seq FROM sent_ids WHERE client_id = ?1 AND from_accid = ?2 AND conversation_id = ?3";

/// The message a key claimed: its run, then its position in the run.
const ORIGINAL: &str = concat!(
    "SELECT ",
    stored_columns!(),
    " FROM sent_ids s \
     JOIN conversations c ON c.id = s.conversation_id \
     JOIN message_runs r ON r.conversation_id = s.conversation_id AND r.last_seq = \
       (SELECT min(last_seq) FROM message_runs \
        WHERE conversation_id = s.conversation_id AND last_seq >= s.seq) \
     JOIN message_log l ON l.position = r.first_position + (s.seq - r.first_seq) \
     WHERE s.client_id = ?1 AND s.from_accid = ?2 AND s.conversation_id = ?3"
);

pub(crate) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        server_id: row.get::<_, i64>(0)? as u64,
        seq: row.get::<_, i64>(1)? as u64,
        timestamp: row.get(2)?,
        message: NewMessage {
            app_key: row.get(3)?,
            conversation: row.get(4)?,
            client_id: row.get(5)?,
            from: row.get(6)?,
            from_nick: row.get(7)?,
            from_client_type: row.get(8)?,
            to: row.get(9)?,
            session_type: row.get(10)?,
            message_type: row.get(11)?,
            text: row.get(12)?,
            attachment: row.get(13)?,
            remote_ext: row.get(14)?,
            flags: row.get(15)?,
            apns_content: row.get(16)?,
            apns_payload: row.get(17)?,
            members: tidings_store::Members::Recorded,
        },
    })
}

pub(crate) fn messages_after(
    conn: &Connection,
    app_key: &str,
    conversation: &str,
    after_seq: u64,
    limit: u32,
) -> rusqlite::Result<Vec<StoredMessage>> {
    let mut stmt = conn.prepare_cached(MESSAGES_AFTER)?;
    let rows = stmt.query_map(
        params![app_key, conversation, after_seq as i64, limit],
        message_from_row,
    )?;
    rows.collect()
}

pub(crate) fn messages_before(
    conn: &Connection,
    app_key: &str,
    conversation: &str,
    before_seq: u64,
    limit: u32,
) -> rusqlite::Result<Vec<StoredMessage>> {
    let before = before_seq.min(i64::MAX as u64) as i64;
    let mut stmt = conn.prepare_cached(MESSAGES_BEFORE)?;
    let rows = stmt.query_map(
        params![app_key, conversation, before, limit],
        message_from_row,
    )?;
    rows.collect()
}

/// See `MessageStore::seq_at_time`: the same search, in one read.
pub(crate) fn seq_at_time(
    conn: &Connection,
    app_key: &str,
    conversation: &str,
    time: i64,
) -> rusqlite::Result<u64> {
    let known = conn
        .prepare_cached(
            "SELECT id, last_seq FROM conversations WHERE app_key = ?1 AND conversation = ?2",
        )?
        .query_row(params![app_key, conversation], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })
        .optional()?;
    let Some((id, last_seq)) = known else {
        return Ok(1);
    };
    let mut time_at = conn.prepare_cached(TIME_AT_SEQ)?;
    let mut stamped = |seq: i64| -> rusqlite::Result<Option<i64>> {
        time_at
            .query_row(params![id, seq], |row| row.get(0))
            .optional()
    };
    // A sequence without a stored message counts as stamped at or after
    // `time`: it cannot move the bound past a message that is.
    let (mut lo, mut hi) = (1_i64, last_seq + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match stamped(mid)? {
            Some(at) if at < time => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo as u64)
}

pub(crate) fn message_count(conn: &Connection, app_key: &str) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT coalesce(sum(r.last_seq - r.first_seq + 1), 0) \
         FROM conversations c JOIN message_runs r ON r.conversation_id = c.id \
         WHERE c.app_key = ?1",
        [app_key],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

#[derive(Clone, Copy)]
struct Conversation {
    id: i64,
    /// Including what the open group took and has not written yet.
    last_seq: i64,
}

/// A message the open group took and writes before it commits.
struct Taken {
    conversation_id: i64,
    stored: Arc<StoredMessage>,
}

/// A send whose key a chunk is claiming: its conversation (an index in
/// `conversations`) and the sequence it takes if the claim holds.
#[derive(Clone, Copy)]
struct Claim {
    at: usize,
    conversation_id: i64,
    seq: i64,
}

/// The writer's side of the log: what it remembers between groups (valid
/// only for committed data; a failed group calls [`MessageLog::forget`])
/// and what the open group took.
pub struct MessageLog<'c> {
    last_server_id: u64,
    /// The latest time any message was stamped with. A message is never
    /// stamped earlier: when the clock steps back (NTP, a VM resumed),
    /// a conversation's times still follow its sequence, which devices
    /// order history and pick a session's last message by.
    stamped_until: i64,
    /// Index in `conversations` by "app\0conversation". Hashed with
    /// foldhash (seeded per map), not SipHash: a lookup per message is on
    /// the writer's hot path, and the keys are names of accounts the
    /// app's backend created.
    conversation_index: HashMap<String, usize, foldhash::fast::RandomState>,
    conversations: Vec<Conversation>,
    /// The lookup key of the message at hand, built here so that a known
    /// conversation costs no allocation.
    key: String,
    /// The last key looked up and its index: a connection's sends mostly
    /// follow one another in one conversation, and comparing the key costs
    /// less than hashing it.
    last_key: String,
    last_at: Option<usize>,
    taken: Vec<Taken>,
    /// (conversation id, sequence) → index in `taken`, built when the
    /// open group first meets a resend (finding its original among the
    /// sends not yet written), then kept up for the rest of the group.
    taken_index: Option<HashMap<(i64, i64), usize>>,
    claims: Vec<Claim>,
    statements: HotStatements<'c>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl<'c> MessageLog<'c> {
    /// Reads the last server id and the latest time stamped: every
    /// conversation's newest message holds its largest of both, so the
    /// largest of those are the log's (one lookup per conversation; CROSS
    /// JOIN keeps SQLite from scanning every run).
    pub fn open(conn: &'c Connection) -> rusqlite::Result<MessageLog<'c>> {
        let (last_server_id, stamped_until): (i64, i64) = conn.query_row(
            "SELECT coalesce(max(l.server_id), 0), coalesce(max(l.created_at), 0) FROM conversations c \
             CROSS JOIN message_runs r ON r.conversation_id = c.id AND r.last_seq = c.last_seq \
             JOIN message_log l ON l.position = r.first_position + (r.last_seq - r.first_seq)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(MessageLog {
            last_server_id: last_server_id as u64,
            stamped_until,
            conversation_index: HashMap::default(),
            conversations: Vec::new(),
            key: String::new(),
            last_key: String::new(),
            last_at: None,
            taken: Vec::new(),
            taken_index: None,
            claims: Vec::with_capacity(ROWS_PER_INSERT),
            statements: HotStatements::prepare(conn)?,
        })
    }

    /// Drops what the failed group took and every cached sequence (they
    /// may name rolled-back rows). Server ids stay monotonic.
    pub fn forget(&mut self) {
        self.forget_conversations();
        self.taken.clear();
        self.taken_index = None;
    }

    fn forget_conversations(&mut self) {
        self.conversation_index.clear();
        self.conversations.clear();
        self.last_at = None;
    }

    /// The conversation's counter, from the cache or the database.
    fn conversation(&mut self, conn: &Connection, m: &NewMessage) -> rusqlite::Result<usize> {
        self.key.clear();
        self.key.push_str(&m.app_key);
        self.key.push('\0');
        self.key.push_str(&m.conversation);
        if let Some(at) = self.last_at.filter(|_| self.last_key == self.key) {
            return Ok(at);
        }
        let at = match self.conversation_index.get(self.key.as_str()) {
            Some(&at) => at,
            None => {
                let loaded = load_or_create(conn, m)?;
                let at = self.conversations.len();
                self.conversations.push(loaded);
                self.conversation_index.insert(self.key.clone(), at);
                at
            }
        };
        std::mem::swap(&mut self.last_key, &mut self.key);
        self.last_at = Some(at);
        Ok(at)
    }

    /// Time-ordered u64 ids: milliseconds in the high bits, a counter below.
    fn next_server_id(&mut self, now_ms: i64) -> u64 {
        let from_clock = (now_ms.max(0) as u64) << 20;
        let id = from_clock.max(self.last_server_id + 1);
        self.last_server_id = id;
        id
    }

    /// Takes the next sequence of its conversation for each message, in
    /// order, or answers the original of one whose (client id, from,
    /// conversation) was sent before.
    ///
    /// The keys are claimed up to [`ROWS_PER_INSERT`] in one statement,
    /// each for the sequence it takes if it is new. A chunk in which a key
    /// was claimed before (a resend) is undone and claimed again one send
    /// at a time, so that a resend takes no sequence.
    pub fn append_all(
        &mut self,
        conn: &Connection,
        messages: Vec<NewMessage>,
    ) -> rusqlite::Result<Vec<Appended>> {
        let mut appended = Vec::with_capacity(messages.len());
        let mut pending = messages.into_iter();
        let mut chunk = Vec::with_capacity(ROWS_PER_INSERT);
        loop {
            chunk.extend(pending.by_ref().take(ROWS_PER_INSERT));
            if chunk.is_empty() {
                return Ok(appended);
            }
            // One reading of the clock for a chunk: its sends arrived together.
            let now = now_ms().max(self.stamped_until);
            self.stamped_until = now;
            if self.claim_chunk(conn, &chunk)? {
                for (i, m) in chunk.drain(..).enumerate() {
                    let claim = self.claims[i];
                    appended.push(self.take(m, claim, now));
                }
            } else {
                for m in chunk.drain(..) {
                    appended.push(self.append(conn, m, now)?);
                }
            }
        }
    }

    /// Claims every key of `chunk` for the next sequences, or changes
    /// nothing and answers false if any key was claimed before.
    fn claim_chunk(&mut self, conn: &Connection, chunk: &[NewMessage]) -> rusqlite::Result<bool> {
        self.claims.clear();
        for m in chunk {
            let at = self.conversation(conn, m)?;
            let conversation = &mut self.conversations[at];
            conversation.last_seq += 1;
            self.claims.push(Claim {
                at,
                conversation_id: conversation.id,
                seq: conversation.last_seq,
            });
        }
        let mut values = Vec::with_capacity(4 * chunk.len());
        for (m, claim) in chunk.iter().zip(&self.claims) {
            values.extend_from_slice(&claim_values(m, claim));
        }
        let claimed = self.statements.claims.rows(chunk.len())?.run(&values)?;
        if claimed == chunk.len() as u64 {
            return Ok(true);
        }
        if claimed > 0 {
            let mut unclaim = conn.prepare_cached(UNCLAIM)?;
            for (m, claim) in chunk.iter().zip(&self.claims) {
                unclaim.execute(params![
                    m.client_id,
                    m.from,
                    claim.conversation_id,
                    claim.seq
                ])?;
            }
        }
        // Each conversation back to its sequence before the chunk.
        for claim in self.claims.iter().rev() {
            self.conversations[claim.at].last_seq = claim.seq - 1;
        }
        self.claims.clear();
        Ok(false)
    }

    /// One send, its key claimed on its own: the next sequence of its
    /// conversation, or the original if its key was claimed before.
    fn append(&mut self, conn: &Connection, m: NewMessage, now: i64) -> rusqlite::Result<Appended> {
        let at = self.conversation(conn, &m)?;
        let Conversation { id, last_seq } = self.conversations[at];
        let claim = Claim {
            at,
            conversation_id: id,
            seq: last_seq + 1,
        };
        let claimed = self
            .statements
            .claims
            .rows(1)?
            .run(&claim_values(&m, &claim))?;
        if claimed == 0 {
            return Ok(Appended {
                stored: self.original(conn, &m, id)?,
                duplicate: true,
            });
        }
        self.conversations[at].last_seq = claim.seq;
        Ok(self.take(m, claim, now))
    }

    /// The open group takes `m` at the sequence its key was claimed for.
    fn take(&mut self, mut m: NewMessage, claim: Claim, timestamp: i64) -> Appended {
        m.members = tidings_store::Members::Recorded; // recorded with the conversation, not kept with the message
        let stored = Arc::new(StoredMessage {
            server_id: self.next_server_id(timestamp),
            seq: claim.seq as u64,
            timestamp,
            message: m,
        });
        if let Some(index) = &mut self.taken_index {
            index.insert((claim.conversation_id, claim.seq), self.taken.len());
        }
        self.taken.push(Taken {
            conversation_id: claim.conversation_id,
            stored: stored.clone(),
        });
        Appended {
            stored,
            duplicate: false,
        }
    }

    /// The message that claimed `m`'s key before: one of the open group's
    /// (claimed, its row not yet written), or a committed one.
    fn original(
        &mut self,
        conn: &Connection,
        m: &NewMessage,
        conversation_id: i64,
    ) -> rusqlite::Result<Arc<StoredMessage>> {
        let seq: i64 = conn
            .prepare_cached(CLAIMED_SEQ)?
            .query_row(params![m.client_id, m.from, conversation_id], |row| {
                row.get(0)
            })?;
        let taken = &self.taken;
        let index = self.taken_index.get_or_insert_with(|| {
            taken
                .iter()
                .enumerate()
                .map(|(i, t)| ((t.conversation_id, t.stored.seq as i64), i))
                .collect()
        });
        if let Some(&i) = index.get(&(conversation_id, seq)) {
            return Ok(self.taken[i].stored.clone());
        }
        conn.prepare_cached(ORIGINAL)?
            .query_row(
                params![m.client_id, m.from, conversation_id],
                message_from_row,
            )
            .map(Arc::new)
    }

    /// Writes what the open group took: its messages grouped by
    /// conversation at the next positions, one run and one counter update
    /// per conversation.
    pub fn write_group(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.taken_index = None;
        if self.taken.is_empty() {
            return Ok(());
        }
        // Sorted as plain (conversation, order taken) pairs, cheaper to
        // compare and move than the messages; within a conversation the
        // order taken is the sequence order.
        let mut order: Vec<(i64, usize)> = self
            .taken
            .iter()
            .enumerate()
            .map(|(i, t)| (t.conversation_id, i))
            .collect();
        order.sort_unstable();
        let taken: Vec<&Taken> = order.iter().map(|&(_, i)| &self.taken[i]).collect();
        let first_position: i64 = conn
            .prepare_cached("SELECT coalesce(max(position), 0) + 1 FROM message_log")?
            .query_row([], |row| row.get(0))?;
        insert_rows(conn, &mut self.statements, first_position, &taken)?;
        let mut add_run = conn.prepare_cached(
            "INSERT INTO message_runs (conversation_id, last_seq, first_seq, first_position) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut save_seq =
            conn.prepare_cached("UPDATE conversations SET last_seq = ?2 WHERE id = ?1")?;
        let mut run_start = 0;
        for (i, t) in taken.iter().enumerate() {
            let run_ends = taken
                .get(i + 1)
                .is_none_or(|next| next.conversation_id != t.conversation_id);
            if run_ends {
                let (first, last) = (&taken[run_start].stored, &t.stored);
                add_run.execute(params![
                    t.conversation_id,
                    last.seq as i64,
                    first.seq as i64,
                    first_position + run_start as i64
                ])?;
                save_seq.execute(params![t.conversation_id, last.seq as i64])?;
                run_start = i + 1;
            }
        }
        self.taken.clear();
        if self.conversations.len() >= MAX_CACHED_CONVERSATIONS {
            self.forget_conversations();
        }
        Ok(())
    }
}

/// The conversation's counter, or a new conversation (its members, as the
/// message service named them, learn it for offline sync).
fn load_or_create(conn: &Connection, m: &NewMessage) -> rusqlite::Result<Conversation> {
    let known = conn
        .prepare_cached(
            "SELECT id, last_seq FROM conversations WHERE app_key = ?1 AND conversation = ?2",
        )?
        .query_row(params![m.app_key, m.conversation], |row| {
            Ok(Conversation {
                id: row.get(0)?,
                last_seq: row.get(1)?,
            })
        })
        .optional()?;
    if let Some(conversation) = known {
        return Ok(conversation);
    }
    conn.prepare_cached(
        "INSERT INTO conversations (app_key, conversation, last_seq) VALUES (?1, ?2, 0)",
    )?
    .execute(params![m.app_key, m.conversation])?;
    let id = conn.last_insert_rowid();
    let mut join = conn.prepare_cached(
        "INSERT OR IGNORE INTO user_conversations (app_key, accid, conversation, session_type, session_id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (accid, session_id) in m.member_rows() {
        join.execute(params![
            m.app_key,
            accid,
            m.conversation,
            m.session_type,
            session_id
        ])?;
    }
    Ok(Conversation { id, last_seq: 0 })
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use tidings_store::MessageStore;

    use super::MESSAGES_AFTER;
    use crate::test_support::message;
    use crate::SqliteStore;

    /// The columns plain rows write as literals are the fields `is_plain`
    /// checks, and every other column is bound.
    #[test]
    fn plain_rows_leave_out_exactly_the_empty_fields() {
        let columns: Vec<&str> = super::LOG_COLUMNS.split(", ").collect();
        let literal: Vec<&str> = super::EMPTY_IN_PLAIN_ROWS
            .iter()
            .map(|&i| columns[i])
            .collect();
        assert_eq!(
            literal,
            ["attachment", "remote_ext", "apns_content", "apns_payload"]
        );
        let sql = super::insert_plain_rows_sql(2);
        assert_eq!(sql.matches('?').count(), 2 * super::PLAIN_COLUMN_COUNT);
        assert_eq!(sql.matches("''").count(), 2 * literal.len());
    }

    #[tokio::test]
    async fn every_page_of_a_conversation_reads_back_across_runs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tidings.db");
        let store = SqliteStore::open(&path).expect("open");
        // Groups of several sizes (multi-row inserts and single rows), each
        // interleaving seven conversations.
        let mut start = 0;
        for size in [21, 70, 7, 64, 1, 33] {
            let batch = (start..start + size).map(|i| message(i, 4)).collect();
            store.append_messages(batch).await.expect("append");
            start += size;
        }
        for sender in 0..7 {
            let conversation = message(sender, 0).conversation;
            let expected: Vec<String> = (sender..start)
                .step_by(7)
                .map(|i| format!("{i:012}"))
                .collect();
            for after in 0..=expected.len() {
                for limit in [1, 2, 4, 100] {
                    let page = store
                        .messages_after("app", &conversation, after as u64, limit)
                        .await
                        .expect("read");
                    let got: Vec<(u64, &str)> = page
                        .iter()
                        .map(|m| (m.seq, m.message.client_id.as_str()))
                        .collect();
                    let want: Vec<(u64, &str)> = expected
                        .iter()
                        .enumerate()
                        .skip(after)
                        .take(limit as usize)
                        .map(|(i, id)| (i as u64 + 1, id.as_str()))
                        .collect();
                    assert_eq!(got, want, "{conversation} after {after} limit {limit}");
                }
            }
        }
        drop(store);
        let conn = Connection::open(&path).expect("inspect");
        let runs: i64 = conn
            .query_row("SELECT count(*) FROM message_runs", [], |row| row.get(0))
            .expect("runs");
        assert_eq!(runs, 6 * 7 - 6, "one run per conversation per group");
    }

    #[test]
    fn reading_a_conversation_seeks_its_runs_and_positions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tidings.db");
        drop(SqliteStore::open(&path).expect("create"));
        let conn = Connection::open(&path).expect("open");
        let mut plan = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {MESSAGES_AFTER}"))
            .expect("plan");
        let steps: Vec<String> = plan
            .query_map(rusqlite::params!["app", "p2p:a|b", 5, 10], |row| row.get(3))
            .expect("steps")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = steps.join("\n");
        assert!(
            plan.contains("SEARCH c USING COVERING INDEX conversations_by_key")
                || plan.contains("SEARCH c USING INDEX conversations_by_key"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH r USING PRIMARY KEY (conversation_id=? AND last_seq>?)"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH l USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    }

    /// A clock that stepped back (here: the stored message says the
    /// clock was an hour ahead when it was written) never stamps a later
    /// message of the conversation, or of any other, earlier.
    #[tokio::test]
    async fn times_never_go_back_when_the_clock_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tidings.db");
        let store = SqliteStore::open(&path).expect("open");
        let first = store
            .append_messages(vec![message(0, 4)])
            .await
            .expect("append")
            .remove(0)
            .stored;
        drop(store);
        let ahead = first.timestamp + 3_600_000;
        let conn = Connection::open(&path).expect("inspect");
        conn.execute("UPDATE message_log SET created_at = ?1", [ahead])
            .expect("step the clock");
        drop(conn);

        let store = SqliteStore::open(&path).expect("open again");
        // Message 7 follows message 0 in its conversation; message 1 starts another.
        let later = store
            .append_messages(vec![message(7, 4), message(1, 4)])
            .await
            .expect("append");
        for appended in &later {
            assert!(
                appended.stored.timestamp >= ahead,
                "stamped {} after a message of {ahead}",
                appended.stored.timestamp
            );
            assert!(appended.stored.server_id > first.server_id);
        }
        assert_eq!(later[0].stored.seq, 2);
        let history = store
            .messages_after("app", &first.message.conversation, 0, 10)
            .await
            .expect("read");
        let times: Vec<i64> = history.iter().map(|m| m.timestamp).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "{times:?} in sequence order"
        );
    }

    /// SQLite re-prepares a join whenever a rebound parameter might change
    /// its plan, unless the connection asks for stable plans: without that,
    /// the idempotency lookup of every send was parsed again.
    #[test]
    fn joins_on_the_hot_path_are_not_prepared_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tidings.db");
        drop(SqliteStore::open(&path).expect("create"));
        let writer = tidings_sqlite_wal::open_writer(&path).expect("writer");
        crate::schema::configure_writer(&writer).expect("configure writer");
        let reader = Connection::open(&path).expect("reader");
        crate::schema::configure_reader(&reader).expect("configure reader");
        for (conn, sql) in [(&writer, super::ORIGINAL), (&reader, MESSAGES_AFTER)] {
            let mut stmt = conn.prepare(sql).expect("prepare");
            for i in 0..5 {
                let values: Vec<String> = (0..stmt.parameter_count())
                    .map(|k| format!("{i}{k}"))
                    .collect();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(values))
                    .expect("query");
                while rows.next().expect("step").is_some() {}
            }
            assert_eq!(
                stmt.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{sql}"
            );
        }
    }
}
