//! P2P read receipts end to end: the peer's devices learn their messages
//! were read, the reader's devices' unread counts follow, only marks that
//! move forward count, and a receipt naming a message of another
//! conversation changes nothing.
#![allow(clippy::unwrap_used)]

use tidings_proto::SendReceipt;
use tidings_sdk::*;
use tidings_testkit::*;

type Events = tokio::sync::broadcast::Receiver<Event>;

async fn receipt(events: &mut Events) -> (SessionId, String, i64) {
    wait_for(events, |e| match e {
        Event::MessageReceipt {
            session,
            message_id,
            timestamp,
        } => Some((session.clone(), message_id.clone(), *timestamp)),
        _ => None,
    })
    .await
    .unwrap()
}

async fn unread_becomes(events: &mut Events, session: &SessionId, count: u32) {
    wait_for(events, |e| match e {
        Event::RecentSessionUpdated(s) if &s.session == session && s.unread_count == count => {
            Some(())
        }
        _ => None,
    })
    .await
    .unwrap_or_else(|e| panic!("unread of {session:?} never became {count}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_reaches_the_sender_and_the_readers_other_devices() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = server.device(client_type::PC).unwrap();
    let bob_phone = server.device(client_type::IOS).unwrap();
    let mut bob_events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let mut phone_events = bob_phone.events();
    bob_phone.login().login("bob", &bob_token).await.unwrap();

    let mut sent = Vec::new();
    for i in 1..=3 {
        sent.push(
            alice
                .chat()
                .send_text(SessionId::p2p("bob"), &format!("m{i}"))
                .await
                .unwrap(),
        );
    }
    receive(&mut bob_events, 3).await.unwrap();
    receive(&mut phone_events, 3).await.unwrap();
    let with_alice = SessionId::p2p("alice");
    let unread = |client: &Client| {
        let client = client.clone();
        let session = with_alice.clone();
        async move {
            let recent = client.conversation().recent_session(&session).await;
            recent.unwrap().map_or(0, |s| s.unread_count)
        }
    };
    assert_eq!(unread(&bob_phone).await, 3);

    // bob read up to m2 on his PC.
    let mut alice_events = alice.events();
    bob.chat().send_receipt(&sent[1].message_id).await.unwrap();
    let (session, message_id, timestamp) = receipt(&mut alice_events).await;
    assert_eq!(session, SessionId::p2p("bob"));
    assert_eq!(message_id, sent[1].message_id);
    assert_eq!(timestamp, sent[1].timestamp);
    let read: Vec<bool> = whole_history(&alice, &SessionId::p2p("bob"))
        .await
        .unwrap()
        .iter()
        .map(|m| m.is_remote_read)
        .collect();
    assert_eq!(read, [true, true, false]);
    // Both of bob's devices count one unread message now.
    unread_becomes(&mut phone_events, &with_alice, 1).await;
    unread_becomes(&mut bob_events, &with_alice, 1).await;
    assert_eq!(unread(&bob).await, 1);

    // The same receipt again, or an older one: nothing, no event. The
    // next receipt (m3) is the next thing alice hears.
    let head = server.log_head("alice").await.unwrap();
    bob.chat().send_receipt(&sent[1].message_id).await.unwrap();
    bob_phone
        .chat()
        .send_receipt(&sent[0].message_id)
        .await
        .unwrap();
    assert_eq!(server.log_head("alice").await.unwrap(), head);
    bob_phone
        .chat()
        .send_receipt(&sent[2].message_id)
        .await
        .unwrap();
    let (_, message_id, _) = receipt(&mut alice_events).await;
    assert_eq!(message_id, sent[2].message_id);
    unread_becomes(&mut bob_events, &with_alice, 0).await;
    let last = alice.chat().message(&sent[2].message_id).await.unwrap();
    assert!(last.unwrap().is_remote_read);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_receipts_change_nothing() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let carol_token = server.create_account("carol").await.unwrap();
    let mut bob_events = bob.events();
    let m = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "hi")
        .await
        .unwrap();
    receive(&mut bob_events, 1).await.unwrap();

    // My own message, or one I do not hold: refused by the SDK.
    let err = alice.chat().send_receipt(&m.message_id).await.unwrap_err();
    assert_eq!(err.code(), 414, "{err}");
    let err = bob.chat().send_receipt("no-such-id").await.unwrap_err();
    assert_eq!(err.code(), 414, "{err}");

    // Whatever a client sends, the server checks the message is the peer's
    // message of that conversation.
    let heads = (
        server.log_head("alice").await.unwrap(),
        server.log_head("bob").await.unwrap(),
        server.log_head("carol").await.unwrap(),
    );
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    let login = raw
        .login(&server.app_key, "carol", &carol_token)
        .await
        .unwrap();
    assert_eq!(login.code, 200);
    let named = |session_id: &str, seq: u64, client_id: &str| SendReceipt {
        session_type: 0,
        session_id: session_id.into(),
        seq,
        client_id: client_id.into(),
    };
    for (what, bad, code) in [
        (
            "alice's message to bob",
            named("alice", m.seq, &m.message_id),
            404,
        ),
        ("a wrong id at the seq", named("alice", m.seq, "other"), 404),
        ("no seq", named("alice", 0, &m.message_id), 414),
        (
            "a team session",
            SendReceipt {
                session_type: 1,
                ..named("alice", m.seq, &m.message_id)
            },
            414,
        ),
    ] {
        let answer = raw.call(bad).await.unwrap();
        assert_eq!(answer.code, code, "{what}: {}", answer.message);
    }
    // carol naming it in her session with bob: not that conversation's.
    let answer = raw.call(named("bob", m.seq, &m.message_id)).await.unwrap();
    assert_eq!(answer.code, 404, "{}", answer.message);
    assert_eq!(
        heads,
        (
            server.log_head("alice").await.unwrap(),
            server.log_head("bob").await.unwrap(),
            server.log_head("carol").await.unwrap(),
        )
    );
}
