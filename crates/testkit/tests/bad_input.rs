//! Everything a peer can send wrong gets a clear code, and nobody else is harmed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tidings_proto::{
    request, Code, ConversationCursor, KickClientsRequest, Message, SendMessageRequest, SessionKey,
    SyncRequest,
};
use tidings_sdk::*;
use tidings_testkit::*;

fn text_to(to: &str, client_id: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        message: Some(Message {
            client_id: client_id.into(),
            to: to.into(),
            text: text.into(),
            ..Default::default()
        }),
    }
}

/// A logged-in bystander whose traffic must keep flowing.
async fn bystanders(server: &TestServer) -> (Client, Client) {
    (
        server.login_new("carol").await.unwrap(),
        server.login_new("dave").await.unwrap(),
    )
}

async fn still_works(carol: &Client, dave: &Client) {
    let mut events = dave.events();
    carol
        .chat()
        .send_text(SessionId::p2p("dave"), "still here")
        .await
        .unwrap();
    let got = receive(&mut events, 1).await.unwrap();
    assert_eq!(got[0].text, "still here");
}

#[tokio::test]
async fn undecodable_frame_closes_only_that_connection() {
    let server = TestServer::start().await.unwrap();
    let (carol, dave) = bystanders(&server).await;
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.write_raw(&[0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    let closing = raw
        .closing()
        .await
        .unwrap()
        .expect("a Closing push with the reason");
    assert_eq!(closing.code, Code::BadParameter.as_u32());
    assert!(closing.reason.contains("undecodable"), "{}", closing.reason);
    still_works(&carol, &dave).await;
}

fn refused_for_size(closing: &tidings_proto::Closing) {
    assert_eq!(closing.code, Code::BadParameter.as_u32());
    assert!(
        closing.reason.contains("exceeds the limit"),
        "{}",
        closing.reason
    );
}

#[tokio::test]
async fn oversized_frame_is_refused_before_it_is_read() {
    let server = TestServer::start().await.unwrap();
    let (carol, dave) = bystanders(&server).await;
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.write_raw(&(64u32 * 1024 * 1024).to_be_bytes())
        .await
        .unwrap();
    let closing = raw.closing().await.unwrap().unwrap();
    refused_for_size(&closing);
    still_works(&carol, &dave).await;
}

/// Frames that arrive in one write are taken from the reader's buffer
/// together; a bad one among them still closes the connection with its
/// reason, after the good ones before it are answered.
#[tokio::test]
async fn an_oversized_frame_behind_good_ones_in_one_write_is_refused_after_them() {
    use tidings_proto::{encode_length_prefixed, frame, Frame, Ping, Request};
    let server = TestServer::start().await.unwrap();
    let (carol, dave) = bystanders(&server).await;
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    let mut bytes = Vec::new();
    for seq in 1..=3 {
        let ping = Frame {
            body: Some(frame::Body::Request(Request {
                seq,
                area: Some(request::Area::from(Ping {})),
            })),
        };
        encode_length_prefixed(&ping, &mut bytes);
    }
    bytes.extend_from_slice(&(64u32 * 1024 * 1024).to_be_bytes());
    raw.write_raw(&bytes).await.unwrap();
    let mut answered = Vec::new();
    let closing = loop {
        let frame = raw.recv().await.unwrap().expect("a Closing push first");
        match frame.body {
            Some(frame::Body::Response(r)) => answered.push((r.seq, r.code)),
            Some(frame::Body::Push(p)) => {
                if let Some(c) = p.into_closing() {
                    break c;
                }
            }
            _ => {}
        }
    };
    assert_eq!(answered, vec![(1, 200), (2, 200), (3, 200)]);
    refused_for_size(&closing);
    still_works(&carol, &dave).await;
}

#[tokio::test]
async fn requests_before_login_are_refused() {
    let server = TestServer::start().await.unwrap();
    server.create_account("bob").await.unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    let answer = raw.call(text_to("bob", "c1", "hi")).await.unwrap();
    assert_eq!(answer.code, Code::Forbidden.as_u32());
    assert_eq!(answer.message, "log in first");
    let answer = raw
        .call(request::Area::from(SyncRequest::default()))
        .await
        .unwrap();
    assert_eq!(answer.code, Code::Forbidden.as_u32());
    let answer = raw
        .call(request::Area::from(KickClientsRequest {
            connection_ids: vec![1],
        }))
        .await
        .unwrap();
    assert_eq!(answer.code, Code::Forbidden.as_u32());
}

#[tokio::test]
async fn kicking_no_device_or_oneself_is_414() {
    let server = TestServer::start().await.unwrap();
    let (mut alice, _) = alice_logged_in_beside_bob(&server).await;
    let answer = alice
        .call(request::Area::from(KickClientsRequest::default()))
        .await
        .unwrap();
    assert_eq!(answer.code, 414, "{}", answer.message);
    let pong = alice
        .call(request::Area::from(tidings_proto::Ping {}))
        .await
        .unwrap();
    assert_eq!(pong.code, 200, "the connection goes on");
    // Its own connection id, as the server told it at login.
    let mut again = RawConnection::connect(server.tcp_addr).await.unwrap();
    let token = server.create_account("carol").await.unwrap();
    let answer = again.login(&server.app_key, "carol", &token).await.unwrap();
    let Some(me) = answer.login().cloned() else {
        panic!("no login answer: {answer:?}");
    };
    let answer = again
        .call(request::Area::from(KickClientsRequest {
            connection_ids: vec![me.connection_id],
        }))
        .await
        .unwrap();
    assert_eq!(answer.code, 414, "{}", answer.message);
    assert!(answer.message.contains("itself"), "{}", answer.message);
}

/// Accounts alice and bob, and alice logged in on a raw connection (with
/// her token, to log in again).
async fn alice_logged_in_beside_bob(server: &TestServer) -> (RawConnection, String) {
    let token = server.create_account("alice").await.unwrap();
    server.create_account("bob").await.unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    assert_eq!(
        raw.login(&server.app_key, "alice", &token)
            .await
            .unwrap()
            .code,
        200
    );
    (raw, token)
}

#[tokio::test]
async fn bad_sends_get_clear_codes_and_store_nothing() {
    let server = TestServer::start().await.unwrap();
    let (mut raw, _) = alice_logged_in_beside_bob(&server).await;

    let long = "字".repeat(5001);
    let answer = raw.call(text_to("bob", "c1", &long)).await.unwrap();
    assert_eq!(answer.code, Code::BadParameter.as_u32());
    assert!(answer.message.contains("5000"), "{}", answer.message);
    // Exactly 5,000 characters is fine.
    let answer = raw
        .call(text_to("bob", "c2", &"字".repeat(5000)))
        .await
        .unwrap();
    assert_eq!(answer.code, 200);

    let answer = raw.call(text_to("nobody", "c3", "hi")).await.unwrap();
    assert_eq!(answer.code, Code::NotFound.as_u32());
    assert!(answer.message.contains("nobody"));

    let answer = raw.call(text_to("bob", "", "hi")).await.unwrap();
    assert_eq!(answer.code, Code::BadParameter.as_u32());
    let answer = raw.call(text_to("bob", "c4", "")).await.unwrap();
    assert_eq!(answer.code, Code::BadParameter.as_u32());
    let mut bad_ext = text_to("bob", "c5", "hi");
    bad_ext.message.as_mut().unwrap().remote_ext = "not json".into();
    let answer = raw.call(bad_ext).await.unwrap();
    assert_eq!(answer.code, Code::BadParameter.as_u32());
    assert!(answer.message.contains("remoteExt"));
    let mut image = text_to("bob", "c6", "hi");
    image.message.as_mut().unwrap().message_type = 1;
    let answer = raw.call(image).await.unwrap();
    assert_eq!(answer.code, Code::BadParameter.as_u32());
    assert!(answer.message.contains("not supported yet"));
    let answer = raw
        .call(request::Area::from(SendMessageRequest { message: None }))
        .await
        .unwrap();
    assert_eq!(answer.code, Code::BadParameter.as_u32());

    // Only the one valid message was stored.
    let count = server.stored_messages().await.unwrap();
    assert_eq!(count, 1);
}

fn p2p_key(peer: &str) -> Option<SessionKey> {
    Some(SessionKey {
        session_type: 0,
        session_id: peer.into(),
    })
}

fn cursor(session_type: u32, peer: &str) -> ConversationCursor {
    ConversationCursor {
        session_type,
        session_id: peer.into(),
        seq: 0,
    }
}

#[tokio::test]
async fn bad_sync_requests_get_414_and_the_connection_keeps_working() {
    let server = TestServer::start().await.unwrap();
    let (mut alice, _) = alice_logged_in_beside_bob(&server).await;
    server.create_account("carol").await.unwrap();
    for (to, id) in [("bob", "b1"), ("carol", "c1")] {
        assert_eq!(alice.call(text_to(to, id, "hi")).await.unwrap().code, 200);
    }
    let refused = [
        SyncRequest {
            cursors: vec![cursor(1, "team-1")],
            only_listed: true,
            ..Default::default()
        },
        SyncRequest {
            cursors: vec![cursor(0, "bob")],
            only_listed: true,
            until: p2p_key("carol"),
            ..Default::default()
        },
        SyncRequest {
            from: p2p_key("carol"),
            until: p2p_key("bob"),
            ..Default::default()
        },
        SyncRequest {
            cursors: vec![cursor(0, "carol")],
            until: p2p_key("carol"),
            ..Default::default()
        },
    ];
    for request in refused {
        let answer = alice
            .call(request::Area::from(request.clone()))
            .await
            .unwrap();
        assert_eq!(answer.code, Code::BadParameter.as_u32(), "{request:?}");
        assert!(!answer.message.is_empty());
    }
    // The same connection syncs a range: bob's conversation, not carol's.
    let answer = alice
        .call(request::Area::from(SyncRequest {
            cursors: vec![cursor(0, "bob")],
            until: p2p_key("carol"),
            ..Default::default()
        }))
        .await
        .unwrap();
    let Some(page) = answer.sync_page().cloned() else {
        panic!("not a sync page: {answer:?}");
    };
    let ids: Vec<&str> = page.messages.iter().map(|m| m.client_id.as_str()).collect();
    assert_eq!(ids, ["b1"]);
}

/// A message the server would refuse for its size (one larger than a
/// frame among them) is refused by the SDK at once: it never waits in the
/// outbox to be resent after every reconnect, ahead of the messages after it.
#[tokio::test]
async fn the_sdk_refuses_fields_over_the_limits_before_they_reach_the_outbox() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut bob_events = bob.events();
    let to_bob = SessionId::p2p("bob");
    let json_of = |bytes: usize| format!("{{\"k\":\"{}\"}}", "x".repeat(bytes));
    let with_apns = |content: String, payload: String| {
        OutgoingMessage::text(to_bob.clone(), "hi").with_settings(MessageSettings {
            apns_content: content,
            apns_payload: payload,
            ..MessageSettings::default()
        })
    };
    let too_large = [
        (
            "text",
            OutgoingMessage::text(to_bob.clone(), "字".repeat(5001)),
        ),
        (
            "attachment",
            OutgoingMessage::custom(to_bob.clone(), json_of(16 * 1024)),
        ),
        (
            "attachment",
            OutgoingMessage::custom(to_bob.clone(), json_of(300_000)),
        ),
        (
            "remoteExt",
            OutgoingMessage::text(to_bob.clone(), "hi").with_remote_ext(json_of(4096)),
        ),
        ("apnsContent", with_apns("字".repeat(501), String::new())),
        ("apnsPayload", with_apns(String::new(), json_of(2048))),
    ];
    for (field, message) in too_large {
        let chat = alice.chat();
        let sent = tokio::time::timeout(Duration::from_secs(10), chat.send(message));
        let refused = sent.await.expect("refused at once").unwrap_err();
        assert_eq!(refused.code(), Code::BadParameter.as_u32(), "{field}");
        assert!(refused.to_string().contains(field), "{field}: {refused}");
    }
    assert!(whole_history(&alice, &to_bob).await.unwrap().is_empty());
    // At the limits exactly, everything goes through.
    let largest = OutgoingMessage::custom(to_bob.clone(), json_of(16 * 1024 - 10))
        .with_remote_ext(json_of(4096 - 10));
    alice.chat().send(largest).await.unwrap();
    alice.chat().send_text(to_bob, "after").await.unwrap();
    let got = receive(&mut bob_events, 2).await.unwrap();
    assert_eq!(got[1].text, "after");
    assert_eq!(server.stored_messages().await.unwrap(), 2);
}

#[tokio::test]
async fn resend_with_the_same_message_id_is_stored_and_delivered_once() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut bob_events = bob.events();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.login(&server.app_key, "alice", &token).await.unwrap();
    let first = raw.call(text_to("bob", "same-id", "once")).await.unwrap();
    let first = *ack(&first).unwrap();
    assert!(!first.duplicate);
    // A resend on a new connection, as after a lost ack and a reconnect.
    let mut again_conn = RawConnection::connect(server.tcp_addr).await.unwrap();
    again_conn
        .login(&server.app_key, "alice", &token)
        .await
        .unwrap();
    let again = again_conn
        .call(text_to("bob", "same-id", "once"))
        .await
        .unwrap();
    let again = ack(&again).unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.server_id, again.timestamp, again.seq),
        (first.server_id, first.timestamp, first.seq)
    );
    let got = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!(got[0].text, "once");
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = bob_events.try_recv() {
        assert!(
            !matches!(event, Event::Received(_)),
            "delivered twice: {event:?}"
        );
    }
}

#[tokio::test]
async fn login_errors_wrong_token_banned_unknown_app_bad_parameters() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let client = Client::new(server.client_config(Transport::Tcp)).unwrap();

    let wrong = client
        .login()
        .login("alice", "not-the-token")
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), 302, "{wrong}");
    let unknown = client.login().login("nobody", "x").await.unwrap_err();
    assert_eq!(
        unknown.code(),
        302,
        "unknown accounts look like wrong tokens"
    );
    let empty = client.login().login("alice", "").await.unwrap_err();
    assert_eq!(empty.code(), 414);

    let mut other_app = server.client_config(Transport::Tcp);
    other_app.app_key = "no-such-app".into();
    let err = Client::new(other_app)
        .unwrap()
        .login()
        .login("alice", &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 403);
    assert!(err.to_string().contains("unknown AppKey"), "{err}");

    let mut bad_type = server.client_config(Transport::Tcp);
    bad_type.client_type = 3;
    let err = Client::new(bad_type)
        .unwrap()
        .login()
        .login("alice", &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 414);

    let answer = server
        .api()
        .post("/nimserver/user/block.action", &[("accid", "alice")])
        .await
        .unwrap();
    assert_eq!(answer["code"], 200);
    let banned = client.login().login("alice", &token).await.unwrap_err();
    assert_eq!(banned.code(), 422);
    server
        .api()
        .post("/nimserver/user/unblock.action", &[("accid", "alice")])
        .await
        .unwrap();
    client.login().login("alice", &token).await.unwrap();

    // An auto login names its device: without one it cannot be checked
    // against the account's last device.
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    let answer = raw
        .call(tidings_proto::request::Area::from(
            tidings_proto::LoginRequest {
                app_key: server.app_key.clone(),
                account: "alice".into(),
                token: token.clone(),
                client_type: client_type::IOS,
                device_id: String::new(),
                auto_login: true,
            },
        ))
        .await
        .unwrap();
    assert_eq!(answer.code, 414, "{}", answer.message);
    assert!(answer.message.contains("device_id"), "{}", answer.message);
}

#[tokio::test]
async fn wrong_tokens_lock_an_account_from_that_address_for_the_window() {
    let server = TestServer::start_with(|config| {
        config.login_failures_per_window = 3;
        config.login_failure_window_secs = 1.5;
    })
    .await
    .unwrap();
    let alice_token = server.create_account("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let guesser = Client::new(server.client_config(Transport::Tcp)).unwrap();
    for guess in ["a", "b", "c"] {
        let wrong = guesser.login().login("alice", guess).await.unwrap_err();
        assert_eq!(wrong.code(), 302, "{wrong}");
    }
    // The right token from here is refused too, for the rest of the window.
    let locked = guesser
        .login()
        .login("alice", &alice_token)
        .await
        .unwrap_err();
    assert_eq!(locked.code(), 416, "{locked}");
    assert!(locked.to_string().contains("try again in"), "{locked}");
    // Nobody else is: another account from the same address logs in.
    let bob = Client::new(server.client_config(Transport::Tcp)).unwrap();
    bob.login().login("bob", &bob_token).await.unwrap();

    tokio::time::sleep(Duration::from_millis(1600)).await;
    guesser.login().login("alice", &alice_token).await.unwrap();
}

#[tokio::test]
async fn unknown_server_fails_with_a_connection_error() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let config = ClientConfig::new("app", ServerAddress::Tcp(addr.to_string()), dir.path());
    let err = Client::new(config)
        .unwrap()
        .login()
        .login("alice", "t")
        .await
        .unwrap_err();
    assert_eq!(err.code(), 408);
    assert!(ServerAddress::parse("ftp://x:1").is_err());
}

#[tokio::test]
async fn accounts_of_another_app_do_not_exist_here() {
    let server = TestServer::start().await.unwrap();
    server.create_account("bob").await.unwrap();
    let created = server
        .api()
        .admin_post(
            &server.admin_token(),
            "/admin/app/create",
            &[("name", "second")],
        )
        .await
        .unwrap();
    let key = created["info"]["appKey"].as_str().unwrap();
    let secret = created["info"]["appSecret"].as_str().unwrap();
    let other = ServerApi::new(&format!("http://{}", server.http_addr), key, secret);
    let answer = other
        .post("/nimserver/user/create.action", &[("accid", "mallory")])
        .await
        .unwrap();
    let token = answer["info"]["token"].as_str().unwrap().to_owned();

    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    assert_eq!(raw.login(key, "mallory", &token).await.unwrap().code, 200);
    let answer = raw.call(text_to("bob", "x1", "hi bob")).await.unwrap();
    assert_eq!(answer.code, Code::NotFound.as_u32());
    // Nor can app B's account log in with app A's key.
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    assert_eq!(
        raw.login(&server.app_key, "mallory", &token)
            .await
            .unwrap()
            .code,
        302
    );
    let store = &server.server().unwrap().state().services.store;
    assert_eq!(store.message_count(&server.app_key).await.unwrap(), 0);
    assert_eq!(store.message_count(key).await.unwrap(), 0);
}

/// A server with these timings and "alice" logged in on a raw connection.
async fn logged_in_raw(idle_secs: f64, heartbeat_secs: f64) -> (TestServer, String, RawConnection) {
    let server = TestServer::start_with(|c| {
        c.idle_timeout_secs = idle_secs;
        c.heartbeat_interval_secs = heartbeat_secs;
    })
    .await
    .unwrap();
    let token = server.create_account("alice").await.unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.login(&server.app_key, "alice", &token).await.unwrap();
    (server, token, raw)
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let (server, token, mut raw) = logged_in_raw(0.5, 0.2).await;
    let closing = raw.closing().await.unwrap().unwrap();
    assert_eq!(closing.code, Code::Timeout.as_u32());

    // An SDK client heartbeats and stays.
    let mut config = server.client_config(Transport::Tcp);
    config.heartbeat_interval = Duration::from_millis(100);
    let client = Client::new(config).unwrap();
    let mut events = client.events();
    client.login().login("alice", &token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, Event::LoginStep(LoginStep::Disconnected)),
            "dropped: {event:?}"
        );
    }
    assert!(client.login().is_logged_in());
}

#[tokio::test]
async fn the_server_heartbeats_a_connection_it_has_nothing_to_send() {
    let (_server, _, mut raw) = logged_in_raw(2.0, 0.2).await;
    let started = std::time::Instant::now();
    let mut beats = 0;
    while started.elapsed() < Duration::from_millis(1100) {
        let frame = tokio::time::timeout(Duration::from_secs(1), raw.recv())
            .await
            .expect("a frame within a second")
            .unwrap()
            .expect("still open");
        if let Some(tidings_proto::frame::Body::Push(push)) = &frame.body {
            if push.heartbeat().is_none() {
                continue;
            }
            beats += 1;
        }
    }
    // One about every 0.2 s of silence (and none while it was sending).
    assert!((3..=7).contains(&beats), "{beats} heartbeats in 1.1 s");
}

#[tokio::test]
async fn a_connection_that_never_logs_in_is_closed() {
    let server = TestServer::start_with(|c| c.login_timeout_secs = 0.3)
        .await
        .unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    let closing = raw.closing().await.unwrap().unwrap();
    assert_eq!(closing.code, Code::Timeout.as_u32());
    assert_eq!(closing.reason, "no login in time");
}

#[tokio::test]
async fn pushes_to_a_silent_client_do_not_keep_it_alive() {
    let server = TestServer::start_with(|c| c.idle_timeout_secs = 0.5)
        .await
        .unwrap();
    let token = server.create_account("quiet").await.unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.login(&server.app_key, "quiet", &token).await.unwrap();
    let chatty = server.login_new("chatty").await.unwrap();
    let sender = tokio::spawn(async move {
        for i in 0..30 {
            let _ = chatty
                .chat()
                .send_text(SessionId::p2p("quiet"), &format!("{i}"))
                .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let closing = raw.closing().await.unwrap().unwrap();
    assert_eq!(closing.code, Code::Timeout.as_u32());
    sender.abort();
}

/// A client that floods sends without reading its answers is held back
/// (its queued sends and answers are bounded, so the server stops reading
/// it) and harms nobody else. When its connection falls too far behind it
/// is closed with 503 and a reason; a resend of what was not answered
/// stores nothing twice, so every message is there exactly once.
/// Alice asks for the same large sync again and again without reading the
/// answers. The server takes up a few of her requests at a time, not all
/// she wrote (each answer holds up to 128 KiB), everyone else carries on,
/// and once she reads, every request is answered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_asks_for_syncs_without_reading_holds_the_server_to_a_few_answers() {
    use tidings_proto::{decode_frame, encode_length_prefixed, frame, Frame, Request};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const FLOOD: u64 = 200;
    let server = TestServer::start().await.unwrap();
    let (carol, dave) = bystanders(&server).await;
    let (mut alice, _) = alice_logged_in_beside_bob(&server).await;
    // Every sync of this history is cut at 128 KiB: 200 answers are 25 MiB,
    // far more than the sockets' buffers hold.
    for i in 0..40 {
        let long = text_to("bob", &format!("long-{i}"), &"x".repeat(4000));
        assert_eq!(alice.call(long).await.unwrap().code, 200);
    }
    let mut flood = Vec::new();
    for seq in 1_000..1_000 + FLOOD {
        let request = Frame {
            body: Some(frame::Body::Request(Request {
                seq,
                area: Some(request::Area::from(SyncRequest::default())),
            })),
        };
        encode_length_prefixed(&request, &mut flood);
    }
    let taken_before = server.metric("tidings_syncs_total").await.unwrap();
    let (mut read, mut write) = alice.into_stream().into_split();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&flood).await;
        std::future::pending::<()>().await;
        drop(write);
    });
    still_works(&carol, &dave).await;
    // Until the server takes up no more of them (answering all 200 would
    // take it a few seconds).
    let mut taken = -1;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.metric("tidings_syncs_total").await.unwrap() - taken_before;
        if now == taken {
            break;
        }
        taken = now;
    }
    // A few held, and what the sockets' buffers took before they filled.
    assert!(
        taken < FLOOD as i64 / 2,
        "the server took up {taken} of {FLOOD} syncs alice does not read"
    );
    still_works(&carol, &dave).await;

    let mut answered = std::collections::BTreeSet::new();
    while (answered.len() as u64) < FLOOD {
        let len = tokio::time::timeout(Duration::from_secs(20), read.read_u32())
            .await
            .expect("answers keep coming once alice reads")
            .unwrap();
        let mut body = vec![0u8; len as usize];
        read.read_exact(&mut body).await.unwrap();
        if let Some(frame::Body::Response(r)) = decode_frame(&body).unwrap().body {
            assert_eq!(r.code, 200, "{}", r.message);
            let seq = r.seq;
            let Some(page) = r.into_sync_page() else {
                continue; // a send's answer
            };
            assert!(page.has_more && !page.messages.is_empty());
            assert!(answered.insert(seq), "answered twice: {seq}");
        }
    }
    writer.abort();
}

#[tokio::test]
async fn a_client_that_floods_without_reading_harms_nobody_and_loses_nothing() {
    use tidings_proto::{decode_frame, encode_length_prefixed, frame, Frame, Request};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const FLOOD: u64 = 12_000;
    let server = TestServer::start().await.unwrap();
    let (carol, dave) = bystanders(&server).await;
    let send = |seq: u64| text_to("bob", &format!("flood-{seq:06}"), "x");
    let (raw, token) = alice_logged_in_beside_bob(&server).await;
    let (mut read, mut write) = raw.into_stream().into_split();
    let mut flood = Vec::new();
    for seq in 1..=FLOOD {
        let request = Frame {
            body: Some(frame::Body::Request(Request {
                seq,
                area: Some(send(seq).into()),
            })),
        };
        encode_length_prefixed(&request, &mut flood);
    }
    // The write half stays open (and so does alice's side of the socket)
    // until the test ends: she has not hung up, she is only not reading.
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&flood).await;
        std::future::pending::<()>().await;
        drop(write);
    });
    // Alice reads nothing for a while; everyone else carries on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    still_works(&carol, &dave).await;

    let mut answered = std::collections::BTreeSet::new();
    let mut closing = None;
    while (answered.len() as u64) < FLOOD && closing.is_none() {
        let len = tokio::time::timeout(Duration::from_secs(20), read.read_u32())
            .await
            .expect("frames keep coming once alice reads");
        let Ok(len) = len else { break };
        let mut body = vec![0u8; len as usize];
        read.read_exact(&mut body).await.unwrap();
        match decode_frame(&body).unwrap().body {
            Some(frame::Body::Response(r)) => {
                assert_eq!(r.code, 200, "{}", r.message);
                assert!(answered.insert(r.seq), "answered twice: {}", r.seq);
            }
            Some(frame::Body::Push(p)) => {
                if let Some(c) = p.into_closing() {
                    closing = Some(c);
                }
            }
            _ => {}
        }
    }
    writer.abort();
    if let Some(c) = &closing {
        assert_eq!(c.code, Code::Unavailable.as_u32(), "{}", c.reason);
        assert!(c.reason.contains("reconnect and sync"), "{}", c.reason);
    }
    // What was not answered is resent on a new connection, as the SDK does.
    let mut again = RawConnection::connect(server.tcp_addr).await.unwrap();
    assert_eq!(
        again
            .login(&server.app_key, "alice", &token)
            .await
            .unwrap()
            .code,
        200
    );
    for seq in (1..=FLOOD).filter(|seq| !answered.contains(seq)) {
        let r = again.call(send(seq)).await.unwrap();
        assert_eq!(r.code, 200, "{}", r.message);
    }
    let store = &server.server().unwrap().state().services.store;
    assert_eq!(
        store.message_count(&server.app_key).await.unwrap(),
        FLOOD + 1,
        "every flood message once, and the bystanders' one"
    );
    still_works(&carol, &dave).await;
}
