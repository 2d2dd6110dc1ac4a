//! [`RelationStore`](crate::RelationStore)'s conformance checks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::helpers::*;
use crate::*;

async fn setup(store: &impl Store, app_key: &str, accids: &[&str]) {
    store.create_app(app(app_key)).await.unwrap();
    for accid in accids {
        store.create_account(account(app_key, accid)).await.unwrap();
    }
}

/// A notification for `owner`, with its event.
pub fn notice(owner: &str, from: &str, attach: &str) -> NewNotification {
    NewNotification {
        owner: owner.into(),
        kind: 5,
        from: from.into(),
        target: owner.into(),
        postscript: "hi".into(),
        attach: attach.into(),
        status: 0,
        event: NewEvent {
            accid: owner.into(),
            body: attach.as_bytes().to_vec(),
        },
    }
}

fn record(
    events: Vec<(&str, &str)>,
    notifications: Vec<NewNotification>,
    seen: Option<Arc<std::sync::Mutex<Option<ChangeFacts>>>>,
) -> RecordChange {
    let events: Vec<NewEvent> = events
        .into_iter()
        .map(|(accid, body)| NewEvent {
            accid: accid.into(),
            body: body.as_bytes().to_vec(),
        })
        .collect();
    Box::new(move |facts| {
        if let Some(seen) = seen {
            *seen.lock().unwrap() = Some(facts.clone());
        }
        Recorded {
            events,
            notifications,
        }
    })
}

fn change(from: &str, to: &str) -> (String, String) {
    (from.to_string(), to.to_string())
}

pub async fn friend_requests_are_answered_once(store: Arc<impl Store>) {
    setup(&*store, "rl1", &["a", "b", "c"]).await;
    let (a, b) = change("a", "b");
    // Accepting a request that was never made changes nothing.
    let refused = store
        .change_relation(
            "rl1",
            RelationChange::Befriend {
                a: a.clone(),
                b: b.clone(),
                answering: true,
            },
            1,
            record(vec![("a", "x")], vec![], None),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert!(store.friend("rl1", "a", "b").await.unwrap().is_none());
    assert_eq!(store.events_after("rl1", "a", 0, 10).await.unwrap().head, 0);

    // a asks b: b gets a notification whose id is its event's position.
    let stored = store
        .change_relation(
            "rl1",
            RelationChange::Request {
                from: a.clone(),
                to: b.clone(),
            },
            10,
            record(vec![], vec![notice("b", "a", r#"{"vt":2}"#)], None),
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let listed = store.notifications("rl1", "b", 0, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, stored[0].pos);
    assert_eq!(
        (listed[0].status, listed[0].read, listed[0].time),
        (0, false, 10)
    );

    // b accepts: both are friends, the request's notification passed.
    let seen = Arc::new(std::sync::Mutex::new(None));
    store
        .change_relation(
            "rl1",
            RelationChange::Befriend {
                a: a.clone(),
                b: b.clone(),
                answering: true,
            },
            20,
            record(
                vec![("a", "friend"), ("b", "friend")],
                vec![notice("a", "b", r#"{"vt":3}"#)],
                Some(seen.clone()),
            ),
        )
        .await
        .unwrap();
    let facts = seen.lock().unwrap().clone().unwrap();
    assert_eq!(facts.answered_notification, Some(listed[0].id));
    assert_eq!(
        facts
            .friend
            .as_ref()
            .map(|f| (f.accid.as_str(), f.created_at)),
        Some(("b", 20))
    );
    assert_eq!(facts.reverse.as_ref().map(|f| f.accid.as_str()), Some("a"));
    assert!(store.friend("rl1", "a", "b").await.unwrap().is_some());
    assert!(store.friend("rl1", "b", "a").await.unwrap().is_some());
    assert_eq!(
        store.notifications("rl1", "b", 0, 10).await.unwrap()[0].status,
        1
    );
    // The request is gone: it cannot be answered twice.
    let again = store
        .change_relation(
            "rl1",
            RelationChange::Reject {
                a: a.clone(),
                b: b.clone(),
            },
            30,
            record(vec![], vec![], None),
        )
        .await;
    assert!(matches!(again, Err(StoreError::NotFound { .. })));

    // c asks b, b rejects.
    store
        .change_relation(
            "rl1",
            RelationChange::Request {
                from: "c".into(),
                to: "b".into(),
            },
            40,
            record(vec![], vec![notice("b", "c", r#"{"vt":2}"#)], None),
        )
        .await
        .unwrap();
    store
        .change_relation(
            "rl1",
            RelationChange::Reject {
                a: "c".into(),
                b: "b".into(),
            },
            50,
            record(vec![], vec![notice("c", "b", r#"{"vt":4}"#)], None),
        )
        .await
        .unwrap();
    let b_list = store.notifications("rl1", "b", 0, 10).await.unwrap();
    assert_eq!(b_list[0].from, "c");
    assert_eq!(b_list[0].status, 2);
    assert!(store.friend("rl1", "b", "c").await.unwrap().is_none());
}

pub async fn friends_aliases_and_lists_are_per_owner(store: Arc<impl Store>) {
    setup(&*store, "rl2", &["a", "b", "c"]).await;
    setup(&*store, "rl3", &["a", "b"]).await;
    store
        .change_relation(
            "rl2",
            RelationChange::Befriend {
                a: "a".into(),
                b: "b".into(),
                answering: false,
            },
            1,
            record(vec![], vec![], None),
        )
        .await
        .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(None));
    store
        .change_relation(
            "rl2",
            RelationChange::UpdateFriend {
                owner: "a".into(),
                friend: "b".into(),
                alias: "Bee".into(),
                ext: "{}".into(),
            },
            2,
            record(vec![], vec![], Some(seen.clone())),
        )
        .await
        .unwrap();
    let friend = seen.lock().unwrap().clone().unwrap().friend.unwrap();
    assert_eq!((friend.alias.as_str(), friend.created_at), ("Bee", 1));
    // b's row for a has no alias.
    assert_eq!(
        store.friend("rl2", "b", "a").await.unwrap().unwrap().alias,
        ""
    );
    // Befriending again keeps the alias.
    store
        .change_relation(
            "rl2",
            RelationChange::Befriend {
                a: "b".into(),
                b: "a".into(),
                answering: false,
            },
            3,
            record(vec![], vec![], None),
        )
        .await
        .unwrap();
    assert_eq!(
        store.friend("rl2", "a", "b").await.unwrap().unwrap().alias,
        "Bee"
    );
    let not_friends = store
        .change_relation(
            "rl2",
            RelationChange::UpdateFriend {
                owner: "a".into(),
                friend: "c".into(),
                alias: "x".into(),
                ext: String::new(),
            },
            4,
            record(vec![], vec![], None),
        )
        .await;
    assert!(matches!(not_friends, Err(StoreError::NotFound { .. })));

    for (target, relation) in [("c", BLACKLIST), ("b", MUTE), ("c", MUTE)] {
        store
            .change_relation(
                "rl2",
                RelationChange::Special {
                    owner: "a".into(),
                    target: target.into(),
                    relation,
                    on: true,
                },
                5,
                record(vec![("a", "special")], vec![], None),
            )
            .await
            .unwrap();
    }
    store
        .change_relation(
            "rl2",
            RelationChange::Special {
                owner: "a".into(),
                target: "c".into(),
                relation: MUTE,
                on: false,
            },
            6,
            record(vec![], vec![], None),
        )
        .await
        .unwrap();
    let set = store.relations("rl2", "a").await.unwrap();
    let friends: Vec<&str> = set.friends.iter().map(|f| f.accid.as_str()).collect();
    assert_eq!(friends, ["b"]);
    assert_eq!(set.blacklist, ["c"]);
    assert_eq!(set.muted, ["b"]);
    assert_eq!(store.listed("rl2", "a", BLACKLIST).await.unwrap(), ["c"]);
    assert!(store
        .listed("rl2", "c", BLACKLIST)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.events_after("rl2", "a", 0, 10).await.unwrap().head, 3);
    // Another app's accounts of the same names know nothing of it.
    assert_eq!(
        store.relations("rl3", "a").await.unwrap(),
        RelationSet::default()
    );

    // Unfriending ends it both ways, once.
    store
        .change_relation(
            "rl2",
            RelationChange::Unfriend {
                a: "b".into(),
                b: "a".into(),
            },
            7,
            record(vec![], vec![], None),
        )
        .await
        .unwrap();
    assert!(store.friend("rl2", "a", "b").await.unwrap().is_none());
    assert!(store.friend("rl2", "b", "a").await.unwrap().is_none());
    let again = store
        .change_relation(
            "rl2",
            RelationChange::Unfriend {
                a: "a".into(),
                b: "b".into(),
            },
            8,
            record(vec![], vec![], None),
        )
        .await;
    assert!(matches!(again, Err(StoreError::NotFound { .. })));
}

/// Two accounts that asked each other accept each other's request at the
/// same moment, many pairs at once: both answers hold, every event lands
/// once, and no transaction fails on the other.
pub async fn mutual_answers_at_once_both_hold(store: Arc<impl Store>) {
    const PAIRS: usize = 12;
    let names: Vec<(String, String)> = (0..PAIRS)
        .map(|i| (format!("x{i}"), format!("y{i}")))
        .collect();
    let accids: Vec<&str> = names
        .iter()
        .flat_map(|(x, y)| [x.as_str(), y.as_str()])
        .collect();
    setup(&*store, "rl3", &accids).await;
    for (x, y) in &names {
        for (from, to) in [(x, y), (y, x)] {
            let request = RelationChange::Request {
                from: from.clone(),
                to: to.clone(),
            };
            let notified = notice(to, from, r#"{"vt":2}"#);
            store
                .change_relation("rl3", request, 1, record(vec![], vec![notified], None))
                .await
                .unwrap();
        }
    }
    let mut answers = Vec::new();
    for (x, y) in &names {
        for (asker, answerer) in [(x, y), (y, x)] {
            let store = store.clone();
            let accept = RelationChange::Befriend {
                a: asker.clone(),
                b: answerer.clone(),
                answering: true,
            };
            let events = record(vec![(asker, "friend"), (answerer, "friend")], vec![], None);
            answers.push(tokio::spawn(async move {
                store.change_relation("rl3", accept, 2, events).await
            }));
        }
    }
    for answer in answers {
        answer.await.unwrap().unwrap();
    }
    for (x, y) in &names {
        assert!(store.friend("rl3", x, y).await.unwrap().is_some());
        assert!(store.friend("rl3", y, x).await.unwrap().is_some());
        for accid in [x, y] {
            // a notification, then one event per answer
            let page = store.events_after("rl3", accid, 0, 10).await.unwrap();
            let positions: Vec<u64> = page.events.iter().map(|e| e.pos).collect();
            assert_eq!(positions, [1, 2, 3], "events of {accid}");
        }
    }
}
