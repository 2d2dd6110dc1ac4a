//! The database thread's operations against a real SQLite file: cursors,
//! recent sessions and acks, including what its in-memory copies must follow.

use rusqlite::Connection;

use super::hot::Hot;
use super::ops;
use super::rows::migrate;
use super::{users, Ack, Applied, Db, LocalStore, SessionChange};
use crate::types::*;
use crate::SdkError;

const ME: &str = "alice";
const PEER: &str = "bob";

fn open(path: &std::path::Path) -> Db {
    let conn = Connection::open(path).expect("open");
    migrate(&conn).expect("schema");
    Db::new(conn, ME.to_owned()).expect("statements")
}

fn message(from: &str, id: &str, seq: u64, timestamp: i64) -> LocalMessage {
    let peer = if from == ME { PEER } else { from };
    LocalMessage {
        message_id: id.to_owned(),
        server_id: seq * 10,
        session: SessionId::p2p(peer),
        from: from.to_owned(),
        from_nick: String::new(),
        message_type: message_type::TEXT,
        text: format!("text {id}"),
        attachment: String::new(),
        remote_ext: String::new(),
        local_ext: String::new(),
        timestamp,
        seq,
        delivery: DeliveryState::Delivered,
        is_outgoing: from == ME,
        settings: MessageSettings::default(),
        muted: false,
        is_remote_read: false,
        is_deleted: false,
        is_played: false,
    }
}

fn outgoing(id: &str, timestamp: i64) -> LocalMessage {
    LocalMessage {
        server_id: 0,
        seq: 0,
        delivery: DeliveryState::Sending,
        ..message(ME, id, 0, timestamp)
    }
}

fn receive(db: &mut Db, seqs: &[u64]) -> Applied {
    let received = seqs
        .iter()
        .map(|&seq| message(PEER, &format!("m{seq}"), seq, 1_000 + seq as i64))
        .collect();
    ops::apply(db, Vec::new(), received, Vec::new()).expect("apply")
}

fn cursor(db: &Db) -> u64 {
    ops::cursors(db.sql().expect("sql"))
        .expect("cursors")
        .into_iter()
        .find(|(s, _)| s.id == PEER)
        .map(|(_, seq)| seq)
        .unwrap_or(0)
}

fn recent(change: &SessionChange) -> &RecentSession {
    match change {
        SessionChange::Added(r) | SessionChange::Updated(r) | SessionChange::Removed(r) => r,
    }
}

#[test]
fn the_cursor_stops_at_a_hole_and_jumps_when_it_fills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(&dir.path().join("local.db"));
    assert!(receive(&mut db, &[1, 2]).gaps.is_empty());
    assert_eq!(cursor(&db), 2);
    let applied = receive(&mut db, &[4, 5]);
    assert_eq!(applied.gaps, vec![(SessionId::p2p(PEER), 2)]);
    assert_eq!(cursor(&db), 2);
    // A duplicate changes nothing and is not delivered again.
    let duplicate = receive(&mut db, &[1]);
    assert!(duplicate.received.is_empty() && duplicate.sessions.is_empty());
    let applied = receive(&mut db, &[3]);
    assert!(applied.gaps.is_empty());
    assert_eq!(cursor(&db), 5);
    assert!(receive(&mut db, &[6]).gaps.is_empty());
    assert_eq!(cursor(&db), 6);
}

#[test]
fn a_hole_scan_starts_at_the_cursor_not_at_the_first_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(&dir.path().join("local.db"));
    let history: Vec<u64> = (1..=1_000).collect();
    receive(&mut db, &history);
    assert_eq!(cursor(&db), 1_000);
    let steps = |db: &Db| {
        db.sql()
            .expect("sql")
            .prepare_cached(super::db::HELD_ABOVE)
            .expect("statement")
            .reset_status(rusqlite::StatementStatus::VmStep)
    };
    steps(&db);
    // 1,001 is missing: each batch until it comes scans above the cursor.
    for first in [1_002, 1_004, 1_006] {
        let applied = receive(&mut db, &[first, first + 1]);
        assert_eq!(applied.gaps, vec![(SessionId::p2p(PEER), 1_000)]);
    }
    let scanned = steps(&db);
    assert!(
        scanned < 300,
        "three scans above a cursor at 1,000 took {scanned} steps"
    );
    assert!(receive(&mut db, &[1_001]).gaps.is_empty());
    assert_eq!(cursor(&db), 1_007);
}

#[test]
fn the_cursor_and_held_messages_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("local.db");
    {
        let mut db = open(&path);
        receive(&mut db, &[1, 2, 4]);
    }
    let mut db = open(&path);
    assert_eq!(cursor(&db), 2);
    // Held 4 is found again when 3 arrives after the restart.
    assert!(receive(&mut db, &[3]).gaps.is_empty());
    assert_eq!(cursor(&db), 4);
}

#[test]
fn an_ack_shows_in_the_recent_session_and_moves_the_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(&dir.path().join("local.db"));
    let sent = outgoing("out-1", 500);
    let changes = ops::insert_outgoing(&mut db, &sent).expect("insert");
    assert!(matches!(&changes[..], [SessionChange::Added(r)]
        if r.last_message.as_ref().map(|m| m.delivery) == Some(DeliveryState::Sending)));
    let applied = ops::apply(
        &mut db,
        vec![Ack {
            message_id: "out-1".into(),
            result: Ok((77, 900, 1)),
        }],
        Vec::new(),
        Vec::new(),
    )
    .expect("apply");
    let (done, error) = &applied.completed[0];
    assert!(error.is_none());
    assert_eq!((done.server_id, done.timestamp, done.seq), (77, 900, 1));
    let last = recent(&applied.sessions[0])
        .last_message
        .clone()
        .expect("last");
    assert_eq!(last.delivery, DeliveryState::Delivered);
    assert_eq!(last.timestamp, 900);
    assert_eq!(cursor(&db), 1);
    // What the cache says is what the file says.
    let session = SessionId::p2p(PEER);
    let from_cache = ops::recent_session_of(&mut db, &session).expect("recent");
    let fresh = {
        let mut db2 = open(&dir.path().join("local.db"));
        ops::recent_session_of(&mut db2, &session).expect("recent")
    };
    assert_eq!(from_cache, fresh);
    // The next message from the peer continues the conversation gaplessly.
    assert!(receive(&mut db, &[2]).gaps.is_empty());
    assert_eq!(cursor(&db), 2);
}

#[test]
fn unread_counts_follow_receipts_and_mark_all_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(&dir.path().join("local.db"));
    let applied = receive(&mut db, &[1, 2]);
    assert!(matches!(&applied.sessions[..], [SessionChange::Added(r)] if r.unread_count == 2));
    let session = SessionId::p2p(PEER);
    let read = ops::mark_all_read(&mut db, &session).expect("read");
    assert_eq!(read.map(|r| r.unread_count), Some(0));
    let applied = receive(&mut db, &[3]);
    assert!(matches!(&applied.sessions[..], [SessionChange::Updated(r)] if r.unread_count == 1));
    assert_eq!(ops::total_unread(db.sql().expect("sql")).expect("total"), 1);
    let removed = ops::delete_recent_session(&mut db, &session).expect("delete");
    assert_eq!(removed.map(|r| r.unread_count), Some(1));
    assert!(ops::recent_session_of(&mut db, &session)
        .expect("recent")
        .is_none());
    // Off the list: no unread, nothing to mark read; the cursor stays.
    assert_eq!(ops::total_unread(db.sql().expect("sql")).expect("total"), 0);
    assert!(ops::mark_all_read(&mut db, &session)
        .expect("read")
        .is_none());
    assert!(ops::recent_sessions(&mut db).expect("list").is_empty());
    assert_eq!(cursor(&db), 3);
    // A new message brings the session back, as new.
    let applied = receive(&mut db, &[4]);
    assert!(matches!(&applied.sessions[..], [SessionChange::Added(r)] if r.unread_count == 1));
    assert_eq!(cursor(&db), 4);
    assert_eq!(ops::total_unread(db.sql().expect("sql")).expect("total"), 1);
}

#[test]
fn local_ext_changes_reach_the_recent_session_and_the_ack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(&dir.path().join("local.db"));
    ops::insert_outgoing(&mut db, &outgoing("out-1", 500)).expect("insert");
    ops::update_local_ext(&mut db, "out-1", r#"{"pinned":true}"#).expect("ext");
    let session = SessionId::p2p(PEER);
    let last = ops::recent_session_of(&mut db, &session)
        .expect("recent")
        .and_then(|r| r.last_message)
        .expect("last");
    assert_eq!(last.local_ext, r#"{"pinned":true}"#);
    let applied = ops::apply(
        &mut db,
        vec![Ack {
            message_id: "out-1".into(),
            result: Ok((5, 600, 1)),
        }],
        Vec::new(),
        Vec::new(),
    )
    .expect("apply");
    assert_eq!(applied.completed[0].0.local_ext, r#"{"pinned":true}"#);
}

#[test]
fn a_refused_send_fails_and_a_resend_goes_back_to_sending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(&dir.path().join("local.db"));
    ops::insert_outgoing(&mut db, &outgoing("out-1", 500)).expect("insert");
    let refused = ops::apply(
        &mut db,
        vec![Ack {
            message_id: "out-1".into(),
            result: Err(SdkError::server(404, "no such account")),
        }],
        Vec::new(),
        Vec::new(),
    )
    .expect("apply");
    assert_eq!(refused.completed[0].0.delivery, DeliveryState::Failed);
    // The recent list shows the same state as the history.
    let listed = ops::recent_session_of(&mut db, &SessionId::p2p(PEER))
        .expect("recent")
        .and_then(|r| r.last_message)
        .expect("last");
    assert_eq!(listed.delivery, DeliveryState::Failed);
    assert!(ops::pending_outgoing(&mut db).expect("pending").is_empty());
    let again = ops::mark_resending(&mut db, "out-1").expect("resend");
    assert_eq!(again.delivery, DeliveryState::Sending);
    let session = SessionId::p2p(PEER);
    let last = ops::recent_session_of(&mut db, &session)
        .expect("recent")
        .and_then(|r| r.last_message)
        .expect("last");
    assert_eq!(last.delivery, DeliveryState::Sending);
    assert!(matches!(
        ops::mark_resending(&mut db, "out-1"),
        Err(SdkError::InvalidParameter(_))
    ));
    assert!(matches!(
        ops::insert_outgoing(&mut db, &outgoing("out-1", 700)),
        Err(SdkError::InvalidParameter(_))
    ));
}

#[test]
fn a_file_of_the_first_schema_keeps_its_messages_and_settings() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("local.db");
    {
        // What an SDK before versioned schemas left on the device.
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(super::rows::SCHEMA_V1).expect("v1");
        conn.execute(
            "INSERT INTO messages (message_id, session_type, session_id, from_accid, from_nick, \
             message_type, body, attachment, remote_ext, local_ext, timestamp, seq, delivery, outgoing, settings) \
             VALUES ('old-1', 0, ?1, ?1, '', 0, 'hello', '', '', '', 100, 1, 2, 0, ?2)",
            rusqlite::params![
                PEER,
                r#"{"history_enabled":true,"roaming_enabled":false,"sync_enabled":true,"should_be_counted":false,"apns_enabled":true,"apns_with_prefix":false,"apns_content":"ring","apns_payload":"{}"}"#
            ],
        )
        .expect("old row");
        // A listed session with its cursor, and a cursor whose session
        // was deleted from the recent list.
        conn.execute_batch(&format!(
            "INSERT INTO recent_sessions VALUES (0, '{PEER}', 2, 1, 100); \
             INSERT INTO cursors VALUES (0, '{PEER}', 1), (0, 'gone', 7);"
        ))
        .expect("old sessions");
    }
    let mut db = open(&path);
    let listed: Vec<(String, u32, Option<String>)> = ops::recent_sessions(&mut db)
        .expect("recent")
        .into_iter()
        .map(|r| {
            (
                r.session.id,
                r.unread_count,
                r.last_message.map(|m| m.message_id),
            )
        })
        .collect();
    assert_eq!(listed, vec![(PEER.to_owned(), 2, Some("old-1".to_owned()))]);
    assert_eq!(
        ops::total_unread(db.sql().expect("sql")).expect("unread"),
        2
    );
    let mut cursors: Vec<(String, u64)> = ops::cursors(db.sql().expect("sql"))
        .expect("cursors")
        .into_iter()
        .map(|(session, seq)| (session.id, seq))
        .collect();
    cursors.sort();
    assert_eq!(cursors, vec![(PEER.to_owned(), 1), ("gone".to_owned(), 7)]);
    let old = ops::message(db.sql().expect("sql"), "old-1")
        .expect("read")
        .expect("kept");
    assert_eq!(old.text, "hello");
    let expected = MessageSettings {
        roaming_enabled: false,
        should_be_counted: false,
        apns_with_prefix: false,
        apns_content: "ring".into(),
        apns_payload: "{}".into(),
        ..MessageSettings::default()
    };
    assert_eq!(old.settings, expected);
    // The cursor scan (a gap) still finds held sequences through the new index.
    let mut added = vec![3];
    ops::apply(
        &mut db,
        Vec::new(),
        vec![message(PEER, "new-3", 3, 300)],
        Vec::new(),
    )
    .expect("apply");
    let (cursor, gap) = db
        .advance_cursor(&SessionId::p2p(PEER), &mut added)
        .expect("cursor");
    assert_eq!((cursor, gap), (1, true));
    // Opening again runs no migration twice.
    drop(db);
    let db = open(&path);
    let version: i64 = db
        .sql()
        .expect("sql")
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    assert_eq!(version, 9);
}

#[test]
fn lookups_use_their_index() {
    let dir = tempfile::tempdir().expect("dir");
    let db = open(&dir.path().join("local.db"));
    for (sql, index) in [
        (ops::MESSAGE_BY_ID, "messages_by_id"),
        (ops::SET_LOCAL_EXT, "messages_by_id"),
        (ops::HISTORY_ANCHOR, "messages_by_id"),
        (
            "SELECT local_id FROM messages WHERE from_accid = ?1 AND message_id = ?2",
            "messages_by_id",
        ),
        (ops::PENDING_OUTGOING, "messages_unacked"),
        (ops::HISTORY_PAGE, "messages_by_time"),
        (ops::HISTORY_PAGE, "messages_unacked"),
    ] {
        let mut explain = db
            .sql()
            .expect("sql")
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        let unbound = std::iter::repeat_n(rusqlite::types::Null, explain.parameter_count());
        let plan: Vec<String> = explain
            .query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("read");
        assert!(
            plan.iter()
                .any(|step| step.contains(&format!("INDEX {index}"))),
            "{sql}: {plan:?}"
        );
    }
}

#[test]
fn recent_sessions_in_the_same_millisecond_list_the_later_arrival_first() {
    let dir = tempfile::tempdir().expect("dir");
    let mut db = open(&dir.path().join("local.db"));
    // "carol" sorts after "bob" and arrives after it, in the same millisecond.
    ops::apply(
        &mut db,
        Vec::new(),
        vec![message("bob", "b-1", 1, 700)],
        Vec::new(),
    )
    .expect("bob");
    ops::apply(
        &mut db,
        Vec::new(),
        vec![message("carol", "c-1", 1, 700)],
        Vec::new(),
    )
    .expect("carol");
    let order: Vec<String> = ops::recent_sessions(&mut db)
        .expect("list")
        .into_iter()
        .map(|r| r.session.id)
        .collect();
    assert_eq!(order, ["carol", "bob"]);
}

#[test]
fn a_withheld_place_lets_the_cursor_pass_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let mut db = open(&dir.path().join("local.db"));
    let session = SessionId::p2p(PEER);
    let held = |m: LocalMessage| vec![m];
    ops::apply(
        &mut db,
        Vec::new(),
        vec![message(PEER, "p-1", 1, 100), message(PEER, "p-2", 2, 200)],
        Vec::new(),
    )
    .expect("1, 2");
    // 3 is mine, sent from another device with syncEnabled off; 4 and 5
    // arrive first, in two pushes.
    ops::apply(
        &mut db,
        Vec::new(),
        held(message(PEER, "p-4", 4, 400)),
        Vec::new(),
    )
    .expect("4");
    let before = ops::apply(
        &mut db,
        Vec::new(),
        held(message(PEER, "p-5", 5, 500)),
        Vec::new(),
    )
    .expect("5");
    assert_eq!(before.gaps, [(session.clone(), 2)]);
    // The repair answers 3 as a withheld stub.
    let repaired =
        ops::apply(&mut db, Vec::new(), Vec::new(), vec![(session.clone(), 3)]).expect("stub");
    assert!(repaired.gaps.is_empty(), "{:?}", repaired.gaps);
    assert!(repaired.received.is_empty() && repaired.sessions.is_empty());
    assert_eq!(
        ops::cursors(db.sql().expect("sql")).expect("cursors"),
        [(session.clone(), 5)]
    );
    let history = ops::history(db.sql().expect("sql"), &session, None, 100, None).expect("history");
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 4, 5], "nothing stored for the withheld place");
}

/// A history page merges the messages with a sequence and my unacked
/// sends (sending or failed), which live in two indexes, in time order,
/// page after page.
#[test]
fn history_pages_merge_sequenced_messages_and_unacked_sends_in_time_order() {
    let dir = tempfile::tempdir().expect("dir");
    let mut db = open(&dir.path().join("local.db"));
    let session = SessionId::p2p(PEER);
    // Times: received 100, sent-and-acked 200 (sent at 150), failed 250,
    // received 300, sending 350, received 400.
    receive_at(&mut db, "r-1", 1, 100);
    ops::insert_outgoing(&mut db, &outgoing("acked", 150)).expect("send");
    ops::insert_outgoing(&mut db, &outgoing("failed", 250)).expect("send");
    let acks = vec![
        Ack {
            message_id: "acked".into(),
            result: Ok((20, 200, 2)),
        },
        Ack {
            message_id: "failed".into(),
            result: Err(SdkError::Server {
                code: 414,
                message: "refused".into(),
            }),
        },
    ];
    ops::apply(&mut db, acks, Vec::new(), Vec::new()).expect("acks");
    receive_at(&mut db, "r-3", 3, 300);
    ops::insert_outgoing(&mut db, &outgoing("sending", 350)).expect("send");
    receive_at(&mut db, "r-4", 4, 400);
    let page = |db: &Db, before: Option<&str>| -> Vec<String> {
        ops::history(db.sql().expect("sql"), &session, before, 2, None)
            .expect("history")
            .into_iter()
            .map(|m| m.message_id)
            .collect()
    };
    assert_eq!(page(&db, None), ["sending", "r-4"]);
    assert_eq!(page(&db, Some("sending")), ["failed", "r-3"]);
    assert_eq!(page(&db, Some("failed")), ["r-1", "acked"]);
    assert_eq!(page(&db, Some("r-1")), Vec::<String>::new());
    let all = ops::history(db.sql().expect("sql"), &session, None, 100, None).expect("all");
    let states: Vec<(&str, DeliveryState)> = all
        .iter()
        .map(|m| (m.message_id.as_str(), m.delivery))
        .collect();
    assert_eq!(
        states,
        [
            ("r-1", DeliveryState::Delivered),
            ("acked", DeliveryState::Delivered),
            ("failed", DeliveryState::Failed),
            ("r-3", DeliveryState::Delivered),
            ("sending", DeliveryState::Sending),
            ("r-4", DeliveryState::Delivered),
        ]
    );
    let pending: Vec<String> = ops::pending_outgoing(&mut db)
        .expect("outbox")
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(pending, ["sending"], "the failed send is not in the outbox");
}

/// One group commit stamps many messages with one millisecond, and a
/// device may get them out of order (my sends acked first, a lost push
/// repaired later): the history and the session's last message follow the
/// conversation's sequence, not the order this device stored them in.
#[test]
fn messages_of_one_millisecond_keep_the_conversations_order() {
    let dir = tempfile::tempdir().expect("dir");
    let mut db = open(&dir.path().join("local.db"));
    let session = SessionId::p2p(PEER);
    ops::insert_outgoing(&mut db, &outgoing("mine-3", 690)).expect("send");
    ops::insert_outgoing(&mut db, &outgoing("mine-4", 690)).expect("send");
    ops::insert_outgoing(&mut db, &outgoing("sending", 700)).expect("send");
    let acks = [("mine-3", 3), ("mine-4", 4)]
        .into_iter()
        .map(|(id, seq)| Ack {
            message_id: id.into(),
            result: Ok((seq * 10, 700, seq)),
        })
        .collect();
    ops::apply(&mut db, acks, Vec::new(), Vec::new()).expect("acks");
    // 1 and 2 reach this device after 3 and 4, in the same millisecond.
    let late = ops::apply(
        &mut db,
        Vec::new(),
        vec![
            message(PEER, "theirs-2", 2, 700),
            message(PEER, "theirs-1", 1, 700),
        ],
        Vec::new(),
    )
    .expect("late");
    let last = late.sessions.last().map(|c| recent(c).last_message.clone());
    assert_eq!(
        last.flatten().map(|m| m.message_id),
        Some("sending".to_owned()),
        "a late message does not become the last"
    );
    let ids = |page: Vec<LocalMessage>| -> Vec<String> {
        page.into_iter().map(|m| m.message_id).collect()
    };
    let history = |db: &Db, before: Option<&str>, limit| {
        ops::history(db.sql().expect("sql"), &session, before, limit, None).expect("history")
    };
    let timeline = ["theirs-1", "theirs-2", "mine-3", "mine-4", "sending"];
    assert_eq!(ids(history(&db, None, 10)), timeline);
    // Page by page, from each anchor: the same order, nothing twice.
    assert_eq!(ids(history(&db, None, 2)), timeline[3..]);
    assert_eq!(ids(history(&db, Some("mine-4"), 2)), timeline[1..3]);
    assert_eq!(ids(history(&db, Some("theirs-2"), 2)), timeline[..1]);
    // The last send acked in the same millisecond keeps its place.
    let acked = vec![Ack {
        message_id: "sending".into(),
        result: Ok((50, 700, 5)),
    }];
    let applied = ops::apply(&mut db, acked, Vec::new(), Vec::new()).expect("ack");
    let last = applied
        .sessions
        .last()
        .map(|c| recent(c).last_message.clone());
    assert_eq!(last.flatten().map(|m| m.seq), Some(5));
    assert_eq!(ids(history(&db, None, 10)), timeline);
}

fn receive_at(db: &mut Db, id: &str, seq: u64, timestamp: i64) {
    ops::apply(
        db,
        Vec::new(),
        vec![message(PEER, id, seq, timestamp)],
        Vec::new(),
    )
    .expect("receive");
}

/// Logging in again (after a refused login, or a logout) opens the file
/// again while the last session's handle may still be alive or closing it:
/// the two must never write side by side (a transaction that read first
/// failed with "database is locked" while the other closed the file).
#[test]
fn a_file_opened_again_keeps_one_writer() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("local.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for round in 0..40 {
        let first = super::LocalStore::open(&path, ME).expect("open");
        let sent = outgoing(&format!("a-{round}"), round);
        rt.block_on(first.run(move |db| ops::insert_outgoing(db, &sent)))
            .expect("first write");
        let again = super::LocalStore::open(&path, ME).expect("open again");
        assert!(std::sync::Arc::ptr_eq(&first.jobs, &again.jobs));
        drop(first);
        for n in 0..20 {
            let sent = outgoing(&format!("b-{round}-{n}"), round);
            rt.block_on(again.run(move |db| {
                ops::pending_outgoing(db)?;
                ops::insert_outgoing(db, &sent)
            }))
            .expect("write after opening again");
        }
    }
}

/// Inside a transaction a session's row and cursor are written once, when
/// it commits, not at every send, ack and delivery; a statement that reads
/// them meanwhile sees them current, and a rollback drops them.
#[test]
fn a_transaction_writes_each_session_row_once_and_reads_see_it_current() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("local.db");
    let mut db = open(&path);
    // The session and its cursor known (cached) before, as in steady use.
    receive(&mut db, &[1]);
    super::exec(db.between_transactions(), Hot::Begin).expect("begin");
    let before = db.total_changes();
    for i in 0..5 {
        ops::insert_outgoing(&mut db, &outgoing(&format!("out-{i}"), 2_000 + i)).expect("send");
    }
    let acks = (0..5)
        .map(|i| Ack {
            message_id: format!("out-{i}"),
            result: Ok((10 + i as u64, 2_100 + i, i as u64 + 2)),
        })
        .collect();
    let received = vec![message(PEER, "in-7", 7, 2_200)];
    ops::apply(&mut db, acks, received, Vec::new()).expect("apply");
    assert_eq!(
        db.total_changes() - before,
        5 + 5 + 1,
        "five inserts, five acks and a delivery; no session row yet"
    );
    // A read of the sessions table sees the unsaved row.
    let listed = ops::recent_sessions(&mut db).expect("recent");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].unread_count, 2);
    assert_eq!(
        ops::total_unread(db.sql().expect("sql")).expect("unread"),
        2
    );
    assert_eq!(cursor(&db), 7);
    let after_reads = db.total_changes();
    assert_eq!(
        after_reads - before,
        5 + 5 + 1 + 1,
        "the session's row, with its cursor, once"
    );
    db.flush().expect("flush");
    super::exec(db.between_transactions(), Hot::Commit).expect("commit");
    let mut reopened = open(&path);
    let fresh = ops::recent_sessions(&mut reopened).expect("recent");
    assert_eq!(fresh, listed);
    assert_eq!(
        fresh[0]
            .last_message
            .as_ref()
            .map(|m| m.message_id.as_str()),
        Some("in-7")
    );
    assert_eq!(cursor(&reopened), 7);
    // A rolled-back transaction leaves neither its messages nor its rows.
    super::exec(db.between_transactions(), Hot::Begin).expect("begin");
    receive(&mut db, &[8]);
    db.forget();
    super::exec(db.between_transactions(), Hot::Rollback).expect("rollback");
    assert_eq!(cursor(&db), 7);
    let again = ops::recent_sessions(&mut db).expect("recent");
    assert_eq!(again, listed);
}

/// A session the file has no row for yet gets one inside a transaction,
/// whether a batch moves its place in the recent list and its cursor
/// (a first delivery) or only its cursor (a withheld place): the `UPDATE`
/// of the unsaved row finds nothing, and the upserts write it.
#[test]
fn a_new_session_gets_its_row_inside_a_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("local.db");
    let mut db = open(&path);
    let quiet = SessionId::p2p("carol");
    super::exec(db.between_transactions(), Hot::Begin).expect("begin");
    receive(&mut db, &[1, 2]);
    ops::apply(&mut db, Vec::new(), Vec::new(), vec![(quiet.clone(), 1)]).expect("withheld");
    db.flush().expect("flush");
    super::exec(db.between_transactions(), Hot::Commit).expect("commit");
    let mut reopened = open(&path);
    assert_eq!(cursor(&reopened), 2);
    let listed = ops::recent_sessions(&mut reopened).expect("recent");
    assert_eq!(
        listed.len(),
        1,
        "a withheld place lists nothing: {listed:?}"
    );
    assert_eq!(listed[0].session, SessionId::p2p(PEER));
    assert_eq!(listed[0].unread_count, 2);
    let cursors = ops::cursors(reopened.sql().expect("sql")).expect("cursors");
    assert!(cursors.contains(&(quiet, 1)), "{cursors:?}");
}

/// A fixed workload for counting instructions (`valgrind --tool=callgrind`),
/// where wall time on a shared machine is too noisy to compare two builds:
/// per transaction, five sends, their acks and five deliveries, as a client
/// of the closed-loop benchmark commits them. `TIDINGS_WORKLOAD_SQL` runs
/// after the schema, to try a variant without a rebuild.
#[test]
#[ignore]
fn local_workload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = Connection::open(dir.path().join("local.db")).expect("open");
    super::configure(&conn).expect("settings");
    migrate(&conn).expect("schema");
    if let Ok(sql) = std::env::var("TIDINGS_WORKLOAD_SQL") {
        conn.execute_batch(&sql).expect("variant");
    }
    let mut db = Db::new(conn, ME.to_owned()).expect("statements");
    let rounds: u64 = std::env::var("TIDINGS_WORKLOAD_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    // `TIDINGS_WORKLOAD_SMALL=1`: a transaction per send, per ack and per
    // delivery, as at a low rate, instead of five of each in one.
    let small = std::env::var("TIDINGS_WORKLOAD_SMALL").is_ok_and(|v| v == "1");
    let per_round = if small { 1 } else { 5 };
    let mut seq = 0;
    for round in 0..rounds {
        super::exec(db.sql().expect("sql"), Hot::Begin).expect("begin");
        let base = 1_700_000_000_000 + round as i64 * 10;
        let ids: Vec<String> = (0..per_round).map(|i| format!("{base}-{i:08x}")).collect();
        for (i, id) in ids.iter().enumerate() {
            ops::insert_outgoing(&mut db, &outgoing(id, base + i as i64)).expect("send");
        }
        let mut acks = Vec::new();
        let mut received = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            seq += 1;
            acks.push(Ack {
                message_id: id.clone(),
                result: Ok((seq * 10, base + i as i64 + 3, seq)),
            });
            seq += 1;
            received.push(message(
                PEER,
                &format!("{base}-p{i:07x}"),
                seq,
                base + i as i64,
            ));
        }
        if small {
            for (ack, received) in acks.into_iter().zip(received) {
                super::exec(db.sql().expect("sql"), Hot::Commit).expect("commit");
                super::exec(db.sql().expect("sql"), Hot::Begin).expect("begin");
                ops::apply(&mut db, vec![ack], Vec::new(), Vec::new()).expect("ack");
                super::exec(db.sql().expect("sql"), Hot::Commit).expect("commit");
                super::exec(db.sql().expect("sql"), Hot::Begin).expect("begin");
                ops::apply(&mut db, Vec::new(), vec![received], Vec::new()).expect("deliver");
            }
        } else {
            ops::apply(&mut db, acks, received, Vec::new()).expect("apply");
        }
        super::exec(db.sql().expect("sql"), Hot::Commit).expect("commit");
    }
    assert_eq!(cursor(&db), seq);
}

/// SQLite parses a statement again when a rebound value might change its
/// plan (here, whether the partial index serves `seq > ?3`), unless the
/// connection asks for stable plans: the cursor scan of every delivery
/// was parsed again.
#[test]
fn the_cursor_scan_is_not_prepared_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = Connection::open(dir.path().join("local.db")).expect("open");
    super::configure(&conn).expect("configure");
    migrate(&conn).expect("schema");
    let mut stmt = conn.prepare(super::db::HELD_ABOVE).expect("prepare");
    for from in 0..5_i64 {
        let mut rows = stmt.query(rusqlite::params![0, PEER, from]).expect("query");
        while rows.next().expect("step").is_some() {}
    }
    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
}

#[test]
fn the_cursors_of_a_range_are_those_of_its_sessions_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = open(&dir.path().join("local.db"));
    let peers = ["Zoe", "bob", "bobby", "carol", "dave"];
    let received = peers
        .iter()
        .map(|peer| message(peer, &format!("from-{peer}"), 1, 1_000))
        .collect();
    ops::apply(&mut db, Vec::new(), received, Vec::new()).expect("apply");
    let ids = |range: tidings_proto::SessionRange| {
        let mut got: Vec<String> = ops::cursors_in(db.sql().expect("sql"), &range)
            .expect("cursors")
            .into_iter()
            .map(|(s, _)| s.id)
            .collect();
        got.sort();
        got
    };
    let key = |id: &str| Some((0, id.to_owned()));
    let range = |from, until| tidings_proto::SessionRange { from, until };
    assert_eq!(ids(tidings_proto::SessionRange::all()), peers);
    assert_eq!(ids(range(key("bob"), key("carol"))), ["bob", "bobby"]);
    assert_eq!(ids(range(None, key("bob"))), ["Zoe"]);
    assert_eq!(ids(range(key("carol"), None)), ["carol", "dave"]);
    assert_eq!(ids(tidings_proto::SessionRange::only(0, "bob")), ["bob"]);
}

/// A job that fails after it wrote, whatever its error, leaves nothing of
/// its writes (the batch is rolled back); one that refuses before it
/// writes does not harm the jobs beside it.
#[tokio::test]
async fn a_job_that_fails_after_writing_is_rolled_back_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let store = LocalStore::open(&dir.path().join("local.db"), "me").expect("open");
    let profile = |nick: &str| crate::types::UserInfo {
        account: "bob".into(),
        nick: nick.into(),
        ..crate::types::UserInfo::default()
    };
    let half = store.run(move |db| {
        users::save(db.sql()?, &[profile("half")])?;
        Err::<(), _>(SdkError::InvalidParameter("refused after writing".into()))
    });
    assert!(half.await.is_err());
    let held = store
        .run(|db| Ok(users::get(db.sql()?, "bob")?))
        .await
        .expect("read");
    assert_eq!(held, None, "the half-done write was rolled back");

    // A refusal before any write, queued beside a good job.
    let refused = store.run(|_| Err::<(), _>(SdkError::InvalidParameter("bad input".into())));
    let good = store.run(move |db| Ok(users::save(db.sql()?, &[profile("whole")])?));
    assert!(matches!(refused.await, Err(SdkError::InvalidParameter(_))));
    good.await.expect("the good job commits");
    let held = store
        .run(|db| Ok(users::get(db.sql()?, "bob")?))
        .await
        .expect("read");
    assert_eq!(held.map(|p| p.nick).as_deref(), Some("whole"));
}
