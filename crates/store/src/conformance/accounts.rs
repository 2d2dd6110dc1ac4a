//! [`AccountStore`](crate::AccountStore)'s conformance checks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::helpers::*;
use crate::*;

pub async fn apps_round_trip(store: Arc<impl Store>) {
    let created = store.create_app(app("k1")).await.unwrap();
    assert_eq!(store.app("k1").await.unwrap(), Some(created));
    assert_eq!(store.app("nope").await.unwrap(), None);
    assert!(matches!(
        store.create_app(app("k1")).await,
        Err(StoreError::Conflict { .. })
    ));
}

pub async fn accounts_are_scoped_to_their_app(store: Arc<impl Store>) {
    store.create_app(app("a")).await.unwrap();
    store.create_app(app("b")).await.unwrap();
    store.create_account(account("a", "alice")).await.unwrap();
    assert!(store.account("b", "alice").await.unwrap().is_none());
    // The same accid may exist in another app, independently.
    store.create_account(account("b", "alice")).await.unwrap();
    assert!(matches!(
        store.create_account(account("a", "alice")).await,
        Err(StoreError::Conflict { .. })
    ));
    let got = store.account("a", "alice").await.unwrap().unwrap();
    assert_eq!(got.token, "tok-alice");
    assert!(!got.blocked);
}

pub async fn token_and_block_updates(store: Arc<impl Store>) {
    store.create_app(app("a")).await.unwrap();
    store.create_account(account("a", "bob")).await.unwrap();
    store.update_token("a", "bob", "new").await.unwrap();
    store.set_blocked("a", "bob", true).await.unwrap();
    let bob = store.account("a", "bob").await.unwrap().unwrap();
    assert_eq!((bob.token.as_str(), bob.blocked), ("new", true));
    store.set_blocked("a", "bob", false).await.unwrap();
    assert!(!store.account("a", "bob").await.unwrap().unwrap().blocked);
    assert!(matches!(
        store.update_token("a", "ghost", "x").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.set_blocked("a", "ghost", true).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn last_devices_are_kept_per_account_and_group(store: Arc<impl Store>) {
    const MOBILE: u32 = 1 | 2 | 8;
    const DESKTOP: u32 = 4 | 16 | 64;
    store.create_app(app("a")).await.unwrap();
    store.create_account(account("a", "bob")).await.unwrap();
    assert_eq!(store.last_device("a", "bob", MOBILE).await.unwrap(), None);
    store
        .set_last_device("a", "bob", MOBILE, "phone-1")
        .await
        .unwrap();
    store
        .set_last_device("a", "bob", DESKTOP, "desk")
        .await
        .unwrap();
    store
        .set_last_device("a", "bob", MOBILE, "phone-2")
        .await
        .unwrap();
    let last = |app: &'static str, accid: &'static str, group| {
        let store = store.clone();
        async move { store.last_device(app, accid, group).await.unwrap() }
    };
    assert_eq!(last("a", "bob", MOBILE).await.as_deref(), Some("phone-2"));
    assert_eq!(last("a", "bob", DESKTOP).await.as_deref(), Some("desk"));
    assert_eq!(last("a", "alice", MOBILE).await, None);
    assert_eq!(last("b", "bob", MOBILE).await, None);
}

pub async fn nonces_are_single_use_within_window(store: Arc<impl Store>) {
    assert!(store.record_nonce("a", "n1", 1_000, 300).await.unwrap());
    assert!(!store.record_nonce("a", "n1", 1_100, 300).await.unwrap());
    // Another app's nonce space is its own.
    assert!(store.record_nonce("b", "n1", 1_100, 300).await.unwrap());
    // After the window the nonce is forgotten (the timestamp check refuses
    // such old requests anyway).
    assert!(store.record_nonce("a", "n1", 2_000, 300).await.unwrap());
}
