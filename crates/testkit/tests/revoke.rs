//! Revoking messages end to end: every device of both accounts replaces
//! its copy by a revoke notification, cloud history and later syncs answer
//! the notification, only the sender may revoke and only within the
//! window, and the app's backend may revoke any message.
#![allow(clippy::unwrap_used)]

use tidings_proto::RevokeRequest;
use tidings_sdk::*;
use tidings_testkit::*;

type Events = tokio::sync::broadcast::Receiver<Event>;

async fn revoked(events: &mut Events) -> MessageRevoke {
    wait_for(events, |e| match e {
        Event::MessageRevoked(r) => Some((**r).clone()),
        _ => None,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_replaces_every_copy_everywhere() {
    let server = TestServer::start().await.unwrap();
    let alice_token = server.create_account("alice").await.unwrap();
    let alice = server.device(client_type::PC).unwrap();
    let alice_phone = server.device(client_type::IOS).unwrap();
    alice.login().login("alice", &alice_token).await.unwrap();
    let mut phone_events = alice_phone.events();
    alice_phone
        .login()
        .login("alice", &alice_token)
        .await
        .unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = server.device(client_type::PC).unwrap();
    let mut bob_events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();

    let m1 = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "m1")
        .await
        .unwrap();
    let m2 = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "m2")
        .await
        .unwrap();
    receive(&mut bob_events, 2).await.unwrap();
    receive(&mut phone_events, 2).await.unwrap();

    let mut alice_events = alice.events();
    alice.chat().revoke(&m2.message_id, "oops").await.unwrap();
    for events in [&mut bob_events, &mut phone_events] {
        let r = revoked(events).await;
        assert_eq!(r.message_id, m2.message_id);
        assert_eq!((r.from.as_str(), r.revoked_by.as_str()), ("alice", "alice"));
        assert_eq!(r.postscript, "oops");
        assert_eq!(r.original.unwrap().text, "m2");
    }
    for (who, client) in [("bob", &bob), ("alice's phone", &alice_phone)] {
        let copy = client
            .chat()
            .message(&m2.message_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(copy.message_type, message_type::NOTIFICATION, "{who}");
        assert_eq!(copy.text, "", "{who}");
        assert!(
            copy.attachment.contains("revoked"),
            "{who}: {}",
            copy.attachment
        );
        assert_eq!((copy.seq, copy.timestamp), (m2.seq, m2.timestamp), "{who}");
        let untouched = client
            .chat()
            .message(&m1.message_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(untouched.text, "m1", "{who}");
    }
    let recent = bob
        .conversation()
        .recent_session(&SessionId::p2p("alice"))
        .await
        .unwrap()
        .unwrap();
    let last = recent.last_message.unwrap();
    assert_eq!(
        (last.message_id.as_str(), last.message_type),
        (m2.message_id.as_str(), message_type::NOTIFICATION)
    );
    // The revoking device gets the event too, and its copy follows.
    revoked(&mut alice_events).await;
    let mine = alice.chat().message(&m2.message_id).await.unwrap().unwrap();
    assert_eq!(mine.message_type, message_type::NOTIFICATION);

    // Cloud history and a device that syncs later: the notification.
    let page = bob
        .chat()
        .fetch_history(CloudHistoryQuery::newest(SessionId::p2p("alice"), 10))
        .await
        .unwrap();
    let kinds: Vec<(String, u32)> = page
        .messages
        .iter()
        .map(|m| (m.text.clone(), m.message_type))
        .collect();
    assert_eq!(kinds, [("".to_owned(), 5), ("m1".to_owned(), 0)]);
    let tablet = server.device(client_type::ANDROID).unwrap();
    let mut tablet_events = tablet.events();
    tablet.login().login("bob", &bob_token).await.unwrap();
    wait_for(&mut tablet_events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    let synced = whole_history(&tablet, &SessionId::p2p("alice"))
        .await
        .unwrap();
    let types: Vec<u32> = synced.iter().map(|m| m.message_type).collect();
    assert_eq!(types, [0, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_sender_within_the_window() {
    let server = TestServer::start_with(|c| c.revoke_window_secs = 0.2)
        .await
        .unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = server.device(client_type::PC).unwrap();
    let mut bob_events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let m = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "hi")
        .await
        .unwrap();
    receive(&mut bob_events, 1).await.unwrap();

    // Not mine: the SDK refuses; the server refuses whatever a client sends.
    let err = bob.chat().revoke(&m.message_id, "").await.unwrap_err();
    assert_eq!(err.code(), 414, "{err}");
    let heads = (
        server.log_head("alice").await.unwrap(),
        server.log_head("bob").await.unwrap(),
    );
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.login(&server.app_key, "bob", &bob_token).await.unwrap();
    let request = |seq: u64, client_id: &str| RevokeRequest {
        session_type: 0,
        session_id: "alice".into(),
        seq,
        client_id: client_id.into(),
        postscript: String::new(),
    };
    for (what, bad, code) in [
        ("alice's message", request(m.seq, &m.message_id), 403),
        ("a wrong id", request(m.seq, "other"), 404),
        ("no such seq", request(9, &m.message_id), 404),
        ("no seq", request(0, &m.message_id), 414),
    ] {
        let answer = raw.call(bad).await.unwrap();
        assert_eq!(answer.code, code, "{what}: {}", answer.message);
    }
    // After the window: 509, and nothing changed for anyone.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let err = alice.chat().revoke(&m.message_id, "").await.unwrap_err();
    assert_eq!(err.code(), 509, "{err}");
    assert_eq!(
        heads,
        (
            server.log_head("alice").await.unwrap(),
            server.log_head("bob").await.unwrap(),
        )
    );
    let copy = bob.chat().message(&m.message_id).await.unwrap().unwrap();
    assert_eq!(copy.text, "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_backend_recalls_any_message() {
    let server = TestServer::start_with(|c| c.revoke_window_secs = 0.01)
        .await
        .unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut bob_events = bob.events();
    let m = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "hi")
        .await
        .unwrap();
    receive(&mut bob_events, 1).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let api = server.api();
    let (id, time) = (m.server_id.to_string(), m.timestamp.to_string());
    let recall = |id: String, kind: &'static str| {
        let (api, time) = (api.clone(), time.clone());
        async move {
            api.post(
                "/nimserver/msg/recall.action",
                &[
                    ("deleteMsgid", id.as_str()),
                    ("timetag", time.as_str()),
                    ("type", kind),
                    ("from", "alice"),
                    ("to", "bob"),
                    ("msg", "moderated"),
                ],
            )
            .await
            .unwrap()
        }
    };
    for (bad_id, kind, code) in [("12345", "7", 404), (id.as_str(), "9", 414)] {
        let refused = recall(bad_id.to_owned(), kind).await;
        assert_eq!(refused["code"], code, "{refused}");
    }
    let done = recall(id.clone(), "7").await;
    assert_eq!(done["code"], 200, "{done}");
    let r = revoked(&mut bob_events).await;
    assert_eq!(
        (r.message_id.as_str(), r.revoked_by.as_str()),
        (m.message_id.as_str(), "")
    );
    assert_eq!(r.postscript, "moderated");
    let again = recall(id, "7").await;
    assert_eq!(again["code"], 404, "{again}");
}
