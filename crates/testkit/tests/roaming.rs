//! The roaming window: a new device gets, per conversation, only the last
//! messages within the window (older ones stay on the server, readable
//! through cloud history) and none sent with roamingEnabled off; a device
//! that was logged in before gets every message it missed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tidings_sdk::*;
use tidings_testkit::*;

async fn synced(
    client: &Client,
    accid: &str,
    token: &str,
) -> tokio::sync::broadcast::Receiver<Event> {
    let mut events = client.events();
    client.login().login(accid, token).await.unwrap();
    wait_for(&mut events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    events
}

async fn texts(client: &Client, peer: &str) -> Vec<String> {
    whole_history(client, &SessionId::p2p(peer))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_gets_the_last_messages_and_an_old_one_all_it_missed() {
    let server = TestServer::start_with(|c| c.roaming_messages_per_conversation = 5)
        .await
        .unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    for i in 0..8 {
        alice
            .chat()
            .send_text(SessionId::p2p("bob"), &format!("m{i}"))
            .await
            .unwrap();
    }
    let bob = server.device(client_type::PC).unwrap();
    let mut events = synced(&bob, "bob", &bob_token).await;
    assert_eq!(texts(&bob, "alice").await, ["m3", "m4", "m5", "m6", "m7"]);
    let recent = bob
        .conversation()
        .recent_session(&SessionId::p2p("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recent.unread_count, 5, "only what it got counts");
    // The sequence goes on from there, with no hole to repair.
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "m8")
        .await
        .unwrap();
    let got = receive(&mut events, 1).await.unwrap();
    assert_eq!((got[0].text.as_str(), got[0].seq), ("m8", 9));
    assert_eq!(texts(&bob, "alice").await.len(), 6);
    // The older ones stay on the server.
    let page = bob
        .chat()
        .fetch_history(CloudHistoryQuery::newest(SessionId::p2p("alice"), 100))
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 9);

    // The same device, offline while 10 more arrive, gets all 10.
    bob.login().logout().await.unwrap();
    for i in 9..19 {
        alice
            .chat()
            .send_text(SessionId::p2p("bob"), &format!("m{i}"))
            .await
            .unwrap();
    }
    synced(&bob, "bob", &bob_token).await;
    assert_eq!(texts(&bob, "alice").await.len(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_is_also_a_time_and_roaming_off_stays_out() {
    let server = TestServer::start_with(|c| c.roaming_window_days = 0.5 / 86_400.0)
        .await
        .unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let carol_token = server.create_account("carol").await.unwrap();
    let dave_token = server.create_account("dave").await.unwrap();
    let dave = server.device(client_type::PC).unwrap();
    dave.login().login("dave", &dave_token).await.unwrap();
    let mut dave_events = dave.events();
    for text in ["old1", "old2"] {
        alice
            .chat()
            .send_text(SessionId::p2p("carol"), text)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    alice
        .chat()
        .send_text(SessionId::p2p("carol"), "new")
        .await
        .unwrap();
    let carol = server.device(client_type::PC).unwrap();
    synced(&carol, "carol", &carol_token).await;
    assert_eq!(texts(&carol, "alice").await, ["new"]);

    // roamingEnabled off: dave's device online gets it, his next one not.
    let mut quiet = OutgoingMessage::text(SessionId::p2p("dave"), "not for later");
    quiet.settings.roaming_enabled = false;
    alice.chat().send(quiet).await.unwrap();
    alice
        .chat()
        .send_text(SessionId::p2p("dave"), "for everyone")
        .await
        .unwrap();
    receive(&mut dave_events, 2).await.unwrap();
    assert_eq!(
        texts(&dave, "alice").await,
        ["not for later", "for everyone"]
    );
    let tablet = server.device(client_type::IOS).unwrap();
    let mut events = synced(&tablet, "dave", &dave_token).await;
    assert_eq!(texts(&tablet, "alice").await, ["for everyone"]);
    alice
        .chat()
        .send_text(SessionId::p2p("dave"), "next")
        .await
        .unwrap();
    let got = receive(&mut events, 1).await.unwrap();
    assert_eq!((got[0].text.as_str(), got[0].seq), ("next", 3));
}
