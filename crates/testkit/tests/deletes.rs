//! Local deletes: one message, a session's messages, everything. They are
//! the device's own (the guide's rule) and survive what the network brings
//! again: a login's sync and a saved page of cloud history. Local marks
//! (played) are kept the same way.
#![allow(clippy::unwrap_used)]

use tidings_sdk::*;
use tidings_testkit::*;

type Events = tokio::sync::broadcast::Receiver<Event>;

async fn texts(client: &Client, peer: &str) -> Vec<String> {
    whole_history(client, &SessionId::p2p(peer))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

async fn session_update(events: &mut Events, peer: &str) -> RecentSession {
    wait_for(events, |e| match e {
        Event::RecentSessionUpdated(s) if s.session.id == peer => Some((**s).clone()),
        _ => None,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_messages_stay_deleted_on_this_device_only() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = server.device(client_type::PC).unwrap();
    let bob_phone = server.device(client_type::IOS).unwrap();
    let mut events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let mut phone_events = bob_phone.events();
    bob_phone.login().login("bob", &bob_token).await.unwrap();
    let mut sent = Vec::new();
    for text in ["m1", "m2", "m3"] {
        sent.push(
            alice
                .chat()
                .send_text(SessionId::p2p("bob"), text)
                .await
                .unwrap(),
        );
    }
    receive(&mut events, 3).await.unwrap();
    receive(&mut phone_events, 3).await.unwrap();

    // One in the middle, then the last: the previous one takes its place.
    bob.chat()
        .delete_message(&sent[1].message_id)
        .await
        .unwrap();
    assert_eq!(texts(&bob, "alice").await, ["m1", "m3"]);
    let held = bob
        .chat()
        .message(&sent[1].message_id)
        .await
        .unwrap()
        .unwrap();
    assert!(held.is_deleted, "a read by id still finds it");
    let mut updates = bob.events();
    bob.chat()
        .delete_message(&sent[2].message_id)
        .await
        .unwrap();
    let recent = session_update(&mut updates, "alice").await;
    assert_eq!(recent.last_message.unwrap().text, "m1");
    // Deleting it again changes nothing; an unknown id is an error.
    bob.chat()
        .delete_message(&sent[2].message_id)
        .await
        .unwrap();
    let err = bob.chat().delete_message("no-such-id").await.unwrap_err();
    assert_eq!(err.code(), 414, "{err}");
    // Local: the phone still holds all three.
    assert_eq!(texts(&bob_phone, "alice").await, ["m1", "m2", "m3"]);

    // A saved page of cloud history brings them again: still deleted.
    let page = bob
        .chat()
        .fetch_history(CloudHistoryQuery {
            save: true,
            ..CloudHistoryQuery::newest(SessionId::p2p("alice"), 10)
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 3);
    assert_eq!(texts(&bob, "alice").await, ["m1"]);
    // And the next login's sync: still deleted, and new messages arrive.
    bob.login().logout().await.unwrap();
    let mut events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    wait_for(&mut events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "m4")
        .await
        .unwrap();
    receive(&mut events, 1).await.unwrap();
    assert_eq!(texts(&bob, "alice").await, ["m1", "m4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_or_everything_is_cleared() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let carol = server.login_new("carol").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut events = bob.events();
    for (from, text) in [(&alice, "a1"), (&alice, "a2"), (&carol, "c1")] {
        from.chat()
            .send_text(SessionId::p2p("bob"), text)
            .await
            .unwrap();
    }
    receive(&mut events, 3).await.unwrap();
    let with = |peer: &str| SessionId::p2p(peer);

    // Kept: the session stays, read and empty.
    let mut events = bob.events();
    bob.chat()
        .clear_history(&with("alice"), true)
        .await
        .unwrap();
    let recent = session_update(&mut events, "alice").await;
    assert_eq!((recent.unread_count, recent.last_message), (0, None));
    assert!(texts(&bob, "alice").await.is_empty());
    assert_eq!(texts(&bob, "carol").await, ["c1"]);
    // Not kept: it leaves the list; a new message brings it back.
    bob.chat()
        .clear_history(&with("carol"), false)
        .await
        .unwrap();
    wait_for(&mut events, |e| match e {
        Event::RecentSessionRemoved(s) if s.session.id == "carol" => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    assert!(bob
        .conversation()
        .recent_session(&with("carol"))
        .await
        .unwrap()
        .is_none());
    carol.chat().send_text(with("bob"), "c2").await.unwrap();
    receive(&mut events, 1).await.unwrap();
    assert_eq!(texts(&bob, "carol").await, ["c2"]);

    // Everything.
    bob.chat().clear_all_history().await.unwrap();
    for peer in ["alice", "carol"] {
        assert!(texts(&bob, peer).await.is_empty(), "{peer}");
    }
    assert_eq!(bob.conversation().total_unread_count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_marked_played_on_this_device() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut events = bob.events();
    let m = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "listen")
        .await
        .unwrap();
    let got = receive(&mut events, 1).await.unwrap();
    assert!(!got[0].is_played);
    assert_eq!(got[0].from_nick, "alice", "the sender's name comes along");
    bob.chat().set_played(&m.message_id, true).await.unwrap();
    let held = bob.chat().message(&m.message_id).await.unwrap().unwrap();
    assert!(held.is_played);
    let listed = whole_history(&bob, &SessionId::p2p("alice")).await.unwrap();
    assert!(listed[0].is_played);
    bob.chat().set_played(&m.message_id, false).await.unwrap();
    let held = bob.chat().message(&m.message_id).await.unwrap().unwrap();
    assert!(!held.is_played);
    let sent = alice.chat().message(&m.message_id).await.unwrap().unwrap();
    assert!(!sent.is_played, "the mark is this device's own");
    let err = bob.chat().set_played("no-such-id", true).await.unwrap_err();
    assert_eq!(err.code(), 414, "{err}");
}
