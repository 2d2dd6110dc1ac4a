//! [`NotificationStore`](crate::NotificationStore)'s conformance checks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::helpers::*;
use super::relations::notice;
use crate::*;

async fn three_notices(store: &impl Store, app_key: &str) -> Vec<u64> {
    store.create_app(app(app_key)).await.unwrap();
    for accid in ["a", "b", "c"] {
        store.create_account(account(app_key, accid)).await.unwrap();
    }
    let mut ids = Vec::new();
    for (i, from) in ["b", "c", "b"].into_iter().enumerate() {
        let stored = store
            .change_relation(
                app_key,
                RelationChange::Request {
                    from: from.into(),
                    to: "a".into(),
                },
                i as i64,
                Box::new(move |_| Recorded {
                    events: Vec::new(),
                    notifications: vec![notice("a", from, r#"{"vt":2}"#)],
                }),
            )
            .await
            .unwrap();
        ids.push(stored[0].pos);
    }
    ids
}

fn note_ids(events: &'static str) -> EventsOf<Vec<u64>> {
    Box::new(move |ids: &Vec<u64>| {
        vec![NewEvent {
            accid: "a".into(),
            body: format!("{events}{ids:?}").into_bytes(),
        }]
    })
}

pub async fn notifications_are_marked_and_deleted_by_their_owner_only(store: Arc<impl Store>) {
    let ids = three_notices(&*store, "nt1").await;
    let listed = store.notifications("nt1", "a", 0, 2).await.unwrap();
    let newest: Vec<u64> = listed.iter().map(|n| n.id).collect();
    assert_eq!(newest, [ids[2], ids[1]]);
    let older = store.notifications("nt1", "a", ids[1], 2).await.unwrap();
    let older: Vec<u64> = older.iter().map(|n| n.id).collect();
    assert_eq!(older, [ids[0]], "the next page");

    let read_one = NotificationMark {
        ids: vec![ids[0]],
        read: Some(true),
        ..NotificationMark::default()
    };
    let (changed, events) = store
        .mark_notifications("nt1", "a", read_one, 9, note_ids("read"))
        .await
        .unwrap();
    assert_eq!(changed, [ids[0]]);
    assert_eq!(events.len(), 1);
    // b cannot mark a's notification, nor a one that does not exist.
    for (owner, id) in [("b", ids[1]), ("a", 9_999)] {
        let theirs = NotificationMark {
            ids: vec![id],
            status: Some(3),
            ..NotificationMark::default()
        };
        let refused = store
            .mark_notifications("nt1", owner, theirs, 10, note_ids("x"))
            .await;
        assert!(
            matches!(refused, Err(StoreError::NotFound { .. })),
            "{refused:?}"
        );
    }
    let all = store.notifications("nt1", "a", 0, 10).await.unwrap();
    let state: Vec<(bool, u32)> = all.iter().map(|n| (n.read, n.status)).collect();
    assert_eq!(state, [(false, 0), (false, 0), (true, 0)]);

    // All read, one status, one deleted, then all deleted.
    let all_read = NotificationMark {
        read: Some(true),
        ..NotificationMark::default()
    };
    let (changed, _) = store
        .mark_notifications("nt1", "a", all_read, 11, note_ids("all"))
        .await
        .unwrap();
    assert_eq!(changed.len(), 3);
    let status = NotificationMark {
        ids: vec![ids[1]],
        status: Some(6),
        ..NotificationMark::default()
    };
    store
        .mark_notifications("nt1", "a", status, 12, note_ids("status"))
        .await
        .unwrap();
    let delete = NotificationMark {
        ids: vec![ids[2]],
        delete: true,
        ..NotificationMark::default()
    };
    store
        .mark_notifications("nt1", "a", delete, 13, note_ids("delete"))
        .await
        .unwrap();
    let left = store.notifications("nt1", "a", 0, 10).await.unwrap();
    let state: Vec<(u64, bool, u32)> = left.iter().map(|n| (n.id, n.read, n.status)).collect();
    assert_eq!(state, [(ids[1], true, 6), (ids[0], true, 0)]);
    let delete_all = NotificationMark {
        delete: true,
        ..NotificationMark::default()
    };
    store
        .mark_notifications("nt1", "a", delete_all, 14, note_ids("gone"))
        .await
        .unwrap();
    assert!(store
        .notifications("nt1", "a", 0, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn custom_notifications_are_kept_up_to_a_cap_and_taken_once(store: Arc<impl Store>) {
    store.create_app(app("nt2")).await.unwrap();
    let mut seqs = Vec::new();
    for i in 0..5 {
        let row = CustomRow {
            seq: 0,
            from: "b".into(),
            to: "a".into(),
            content: format!("{{\"n\":{i}}}"),
            push_content: String::new(),
            time: i,
        };
        seqs.push(store.keep_custom("nt2", row, 4).await.unwrap());
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    // One was delivered to a device meanwhile.
    store.forget_custom("nt2", "a", 4).await.unwrap();
    store.forget_custom("nt2", "a", 4).await.unwrap();
    let taken = store.take_custom("nt2", "a").await.unwrap();
    let kept: Vec<(u64, i64)> = taken.iter().map(|r| (r.seq, r.time)).collect();
    assert_eq!(
        kept,
        [(2, 1), (3, 2), (5, 4)],
        "the oldest went past the cap"
    );
    assert!(store.take_custom("nt2", "a").await.unwrap().is_empty());
}
