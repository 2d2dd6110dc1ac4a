//! [`UserStore`](crate::UserStore)'s conformance checks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::helpers::*;
use crate::*;

fn no_events() -> EventsOf<Profile> {
    Box::new(|_| Vec::new())
}

pub async fn profiles_start_from_the_account_and_change_field_by_field(store: Arc<impl Store>) {
    store.create_app(app("us1")).await.unwrap();
    store.create_app(app("us2")).await.unwrap();
    for accid in ["a", "b"] {
        store.create_account(account("us1", accid)).await.unwrap();
    }
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut fresh = store
        .profiles("us1", &ids(&["a", "b", "nobody"]))
        .await
        .unwrap();
    fresh.sort_by(|x, y| x.accid.cmp(&y.accid));
    assert_eq!(fresh.len(), 2);
    assert_eq!(
        fresh[0],
        Profile {
            accid: "a".into(),
            nick: "a".into(),
            ..Profile::default()
        }
    );
    assert!(store
        .profiles("us2", &ids(&["a"]))
        .await
        .unwrap()
        .is_empty());

    let every = ProfileChanges {
        nick: Some("Alice".into()),
        avatar: Some("https://example.com/a.png".into()),
        sign: Some("hi".into()),
        gender: Some(2),
        email: Some("a@example.com".into()),
        birth: Some("1990-01-31".into()),
        mobile: Some("+(86)-13055555555".into()),
        ext: Some(r#"{"k":1}"#.into()),
    };
    let seen = Arc::new(std::sync::Mutex::new(None));
    let seen_in_tx = seen.clone();
    let events: EventsOf<Profile> = Box::new(move |p| {
        *seen_in_tx.lock().unwrap() = Some(p.clone());
        vec![NewEvent {
            accid: "a".into(),
            body: b"p".to_vec(),
        }]
    });
    let (updated, appended) = store
        .update_profile("us1", "a", every, 50, events)
        .await
        .unwrap();
    let expected = Profile {
        accid: "a".into(),
        nick: "Alice".into(),
        avatar: "https://example.com/a.png".into(),
        sign: "hi".into(),
        gender: 2,
        email: "a@example.com".into(),
        birth: "1990-01-31".into(),
        mobile: "+(86)-13055555555".into(),
        ext: r#"{"k":1}"#.into(),
        updated_at: 50,
    };
    assert_eq!(updated, expected);
    assert_eq!(
        seen.lock().unwrap().as_ref(),
        Some(&expected),
        "events see the new profile"
    );
    assert_eq!(appended.len(), 1);

    // One field at a time; the others stay; empty text clears.
    let sign_only = ProfileChanges {
        sign: Some(String::new()),
        ..ProfileChanges::default()
    };
    let (after, _) = store
        .update_profile("us1", "a", sign_only, 60, no_events())
        .await
        .unwrap();
    let expected = Profile {
        sign: String::new(),
        updated_at: 60,
        ..expected
    };
    assert_eq!(after, expected);
    let read = store.profiles("us1", &ids(&["a"])).await.unwrap();
    assert_eq!(read, std::slice::from_ref(&expected));
    // A change stamped earlier (another node's clock) still comes after.
    let earlier = ProfileChanges {
        nick: Some("Al".into()),
        ..ProfileChanges::default()
    };
    let (later, _) = store
        .update_profile("us1", "a", earlier, 40, no_events())
        .await
        .unwrap();
    assert_eq!((later.nick.as_str(), later.updated_at), ("Al", 61));
    // b is untouched.
    let b = store.profiles("us1", &ids(&["b"])).await.unwrap();
    assert_eq!(b[0].nick, "b");
}

pub async fn a_profile_update_of_no_account_changes_nothing(store: Arc<impl Store>) {
    store.create_app(app("us3")).await.unwrap();
    store.create_account(account("us3", "a")).await.unwrap();
    let events: EventsOf<Profile> = Box::new(|_| {
        vec![NewEvent {
            accid: "a".into(),
            body: b"never".to_vec(),
        }]
    });
    let changes = ProfileChanges {
        nick: Some("x".into()),
        ..ProfileChanges::default()
    };
    let refused = store
        .update_profile("us3", "nobody", changes, 1, events)
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(store.events_after("us3", "a", 0, 10).await.unwrap().head, 0);
    assert!(store
        .profiles("us3", &["nobody".to_string()])
        .await
        .unwrap()
        .is_empty());
}
