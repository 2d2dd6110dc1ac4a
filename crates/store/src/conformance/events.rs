//! [`EventStore`](crate::EventStore)'s conformance checks. Events are
//! appended by other areas' changes; these use profile updates.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::helpers::*;
use crate::*;

/// Updates `accid`'s nick at `at`, appending one event (body `body`) to
/// each of `logs`.
async fn change(
    store: &impl Store,
    app_key: &str,
    accid: &str,
    at: i64,
    logs: &[&str],
    body: &str,
) -> Vec<StoredEvent> {
    let logs: Vec<String> = logs.iter().map(|s| s.to_string()).collect();
    let body = body.as_bytes().to_vec();
    let changes = ProfileChanges {
        nick: Some(format!("nick {at}")),
        ..ProfileChanges::default()
    };
    let events: EventsOf<Profile> = Box::new(move |_| {
        logs.into_iter()
            .map(|accid| NewEvent {
                accid,
                body: body.clone(),
            })
            .collect()
    });
    store
        .update_profile(app_key, accid, changes, at, events)
        .await
        .unwrap()
        .1
}

async fn setup(store: &impl Store, app_key: &str, accids: &[&str]) {
    store.create_app(app(app_key)).await.unwrap();
    for accid in accids {
        store.create_account(account(app_key, accid)).await.unwrap();
    }
}

pub async fn events_get_gapless_positions_per_account(store: Arc<impl Store>) {
    setup(&*store, "ev1", &["a", "b"]).await;
    setup(&*store, "ev2", &["a"]).await;
    let first = change(&*store, "ev1", "a", 10, &["a", "b"], "one").await;
    let positions: Vec<(&str, u64, i64)> = first
        .iter()
        .map(|e| (e.accid.as_str(), e.pos, e.time))
        .collect();
    assert_eq!(positions, [("a", 1, 10), ("b", 1, 10)]);
    let second = change(&*store, "ev1", "a", 11, &["a"], "two").await;
    assert_eq!(second[0].pos, 2);
    // Another app's account of the same name has its own log.
    assert_eq!(change(&*store, "ev2", "a", 12, &["a"], "x").await[0].pos, 1);

    let page = store.events_after("ev1", "a", 0, 10).await.unwrap();
    assert_eq!((page.head, page.trimmed_through), (2, 0));
    let bodies: Vec<&[u8]> = page.events.iter().map(|e| e.body.as_slice()).collect();
    assert_eq!(bodies, [b"one".as_slice(), b"two".as_slice()]);
    assert_eq!(page.events, [first[0].clone(), second[0].clone()]);
    let tail = store.events_after("ev1", "a", 1, 10).await.unwrap();
    assert_eq!(tail.events, [second[0].clone()]);
    let limited = store.events_after("ev1", "a", 0, 1).await.unwrap();
    assert_eq!(limited.events, [first[0].clone()]);
    assert_eq!(limited.head, 2);
    let b = store.events_after("ev1", "b", 0, 10).await.unwrap();
    assert_eq!((b.events.len(), b.head), (1, 1));
    let none = store.events_after("ev1", "nobody", 0, 10).await.unwrap();
    assert_eq!(none, EventPage::default());
}

pub async fn concurrent_changes_keep_event_positions_gapless(store: Arc<impl Store>) {
    setup(&*store, "ev3", &["a", "b", "c"]).await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let store = store.clone();
        let who = ["a", "b", "c"][i % 3];
        tasks.push(tokio::spawn(async move {
            change(&*store, "ev3", who, i as i64, &["a", who], "e").await
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let page = store.events_after("ev3", "a", 0, 100).await.unwrap();
    let positions: Vec<u64> = page.events.iter().map(|e| e.pos).collect();
    // a's own ten changes appended two events each, b's and c's one each.
    assert_eq!(positions, (1..=40).collect::<Vec<u64>>());
    assert_eq!(page.head, 40);
}

pub async fn events_are_trimmed_by_age_and_count(store: Arc<impl Store>) {
    setup(&*store, "ev4", &["a", "b"]).await;
    for at in 1..=6 {
        change(&*store, "ev4", "a", at, &["a"], "e").await;
    }
    change(&*store, "ev4", "b", 1, &["b"], "e").await;
    // By age: events before 3 go, of every account.
    assert_eq!(store.trim_events(3, 100).await.unwrap(), 3);
    let a = store.events_after("ev4", "a", 0, 100).await.unwrap();
    assert_eq!(a.events.first().map(|e| e.pos), Some(3));
    assert_eq!((a.head, a.trimmed_through), (6, 2));
    let b = store.events_after("ev4", "b", 0, 100).await.unwrap();
    assert!(b.events.is_empty());
    assert_eq!((b.head, b.trimmed_through), (1, 1));
    // By count: the newest two stay.
    assert_eq!(store.trim_events(0, 2).await.unwrap(), 2);
    let a = store.events_after("ev4", "a", 4, 100).await.unwrap();
    let kept: Vec<u64> = a.events.iter().map(|e| e.pos).collect();
    assert_eq!((kept, a.trimmed_through), (vec![5, 6], 4));
    // Positions are never reused, even once everything is trimmed.
    assert_eq!(store.trim_events(0, 0).await.unwrap(), 2);
    let a = store.events_after("ev4", "a", 6, 100).await.unwrap();
    assert_eq!((a.head, a.trimmed_through), (6, 6));
    assert_eq!(change(&*store, "ev4", "a", 7, &["a"], "e").await[0].pos, 7);
}
