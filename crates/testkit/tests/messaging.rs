//! P2P messaging end to end: real server, real sockets, real SDK clients.
#![allow(clippy::unwrap_used)]

use tidings_sdk::*;
use tidings_testkit::*;

async fn pair(server: &TestServer, transport: Transport) -> (Client, Client) {
    let mut clients = Vec::new();
    for name in ["alice", "bob"] {
        let token = server.create_account(name).await.unwrap();
        let client = Client::new(server.client_config(transport)).unwrap();
        client.login().login(name, &token).await.unwrap();
        clients.push(client);
    }
    let bob = clients.pop().unwrap();
    (clients.pop().unwrap(), bob)
}

async fn live_text(transport: Transport) {
    let server = TestServer::start().await.unwrap();
    let (alice, bob) = pair(&server, transport).await;
    let mut alice_events = alice.events();
    let mut bob_events = bob.events();

    let sent = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "hello bob")
        .await
        .unwrap();
    assert_eq!(sent.delivery, DeliveryState::Delivered);
    assert!(sent.server_id > 0);
    assert_eq!(sent.seq, 1);

    let will_send = wait_for(&mut alice_events, |e| match e {
        Event::WillSend(m) => Some(m.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(will_send.delivery, DeliveryState::Sending);
    let (complete, error) = wait_for(&mut alice_events, |e| match e {
        Event::SendComplete { message, error } => Some((message.clone(), error.clone())),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(
        (complete.message_id.as_str(), error),
        (will_send.message_id.as_str(), None)
    );

    let got = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!(got[0].text, "hello bob");
    assert_eq!(got[0].from, "alice");
    assert_eq!(got[0].session, SessionId::p2p("alice"));
    assert_eq!(got[0].message_id, sent.message_id);
    assert_eq!(got[0].server_id, sent.server_id);
    assert_eq!(got[0].timestamp, sent.timestamp);
    assert!(!got[0].is_outgoing);

    let recent = bob.conversation().all_recent_sessions().await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].unread_count, 1);
    assert_eq!(recent[0].last_message.as_ref().unwrap().text, "hello bob");
    // The sender's own recent session counts nothing unread.
    let mine = alice.conversation().all_recent_sessions().await.unwrap();
    assert_eq!((mine.len(), mine[0].unread_count), (1, 0));
}

#[tokio::test]
async fn text_reaches_an_online_peer_over_tcp() {
    live_text(Transport::Tcp).await;
}

#[tokio::test]
async fn text_reaches_an_online_peer_over_websocket() {
    live_text(Transport::WebSocket).await;
}

#[tokio::test]
async fn tip_and_custom_messages_with_remote_and_local_ext() {
    let server = TestServer::start().await.unwrap();
    let (alice, bob) = pair(&server, Transport::Tcp).await;
    let mut bob_events = bob.events();
    let to_bob = SessionId::p2p("bob");
    alice
        .chat()
        .send_tip(to_bob.clone(), "a tip")
        .await
        .unwrap();
    let custom = OutgoingMessage::custom(to_bob.clone(), r#"{"kind":"card","id":7}"#)
        .with_remote_ext(r#"{"color":"red"}"#)
        .with_local_ext(r#"{"draft":true}"#);
    let sent = alice.chat().send(custom).await.unwrap();
    assert_eq!(sent.local_ext, r#"{"draft":true}"#);

    let got = receive(&mut bob_events, 2).await.unwrap();
    assert_eq!(
        (got[0].message_type, got[0].text.as_str()),
        (message_type::TIP, "a tip")
    );
    assert_eq!(got[1].message_type, message_type::CUSTOM);
    assert_eq!(got[1].attachment, r#"{"kind":"card","id":7}"#);
    assert_eq!(got[1].remote_ext, r#"{"color":"red"}"#);
    assert_eq!(got[1].local_ext, "", "localExt never leaves the device");
    // The sender keeps its localExt and can change it.
    let kept = alice
        .chat()
        .message(&sent.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.local_ext, r#"{"draft":true}"#);
    alice
        .chat()
        .update_local_ext(&sent.message_id, r#"{"draft":false}"#)
        .await
        .unwrap();
    let kept = alice
        .chat()
        .message(&sent.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.local_ext, r#"{"draft":false}"#);
}

#[tokio::test]
async fn offline_peer_gets_everything_in_order_on_next_login_then_synced() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    for i in 0..30 {
        alice
            .chat()
            .send_text(SessionId::p2p("bob"), &format!("m{i}"))
            .await
            .unwrap();
    }
    // Not counted: does not raise the unread count.
    let quiet =
        OutgoingMessage::text(SessionId::p2p("bob"), "quiet").with_settings(MessageSettings {
            should_be_counted: false,
            ..MessageSettings::default()
        });
    alice.chat().send(quiet).await.unwrap();

    let bob = Client::new(server.client_config(Transport::Tcp)).unwrap();
    let mut events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let got = receive(&mut events, 31).await.unwrap();
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    let mut expected: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    expected.push("quiet".into());
    assert_eq!(texts, expected);
    let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=31).collect::<Vec<u64>>());
    wait_for(&mut events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(bob.conversation().total_unread_count().await.unwrap(), 30);

    // Local history pages backwards, oldest first within a page.
    let session = SessionId::p2p("alice");
    let last = bob.chat().history(&session, None, 10).await.unwrap();
    assert_eq!(last.first().unwrap().text, "m21");
    assert_eq!(last.last().unwrap().text, "quiet");
    let before = bob
        .chat()
        .history(&session, Some(&last[0].message_id), 5)
        .await
        .unwrap();
    let texts: Vec<&str> = before.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["m16", "m17", "m18", "m19", "m20"]);
}

/// Logs `accid` in on the device of `config` and waits (up to a minute:
/// thousands of messages) for the sync after login to end, on the first
/// connection: a sync that only ends after a reconnect fails.
async fn log_in_until_synced(config: &ClientConfig, accid: &str, token: &str) -> Client {
    let client = Client::new(config.clone()).unwrap();
    let mut events = client.events();
    client.login().login(accid, token).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            match events.recv().await {
                Ok(Event::LoginStep(LoginStep::Synced)) => return,
                Ok(Event::LoginStep(LoginStep::Disconnected)) => {
                    panic!("disconnected while syncing")
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("the sync after login ended");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_with_more_sessions_than_one_frame_of_cursors_syncs_whole() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("hub").await.unwrap();
    // 8,000 cursors of 32-byte ids take about 300 KiB: more than a frame,
    // both at the second login and by the end of the first.
    let peers: Vec<String> = (0..8000).map(|i| format!("{i:032}")).collect();
    server
        .store_one_from_each(&peers, "hub", "first")
        .await
        .unwrap();

    let device = server.client_config(Transport::Tcp);
    let hub = log_in_until_synced(&device, "hub", &token).await;
    assert_eq!(hub.conversation().total_unread_count().await.unwrap(), 8000);
    hub.login().logout().await.unwrap();
    drop(hub);

    server
        .store_one_from_each(&peers, "hub", "second")
        .await
        .unwrap();
    let hub = log_in_until_synced(&device, "hub", &token).await;
    assert_eq!(
        hub.conversation().total_unread_count().await.unwrap(),
        16000
    );
    let recent = hub.conversation().all_recent_sessions().await.unwrap();
    assert_eq!(recent.len(), 8000);
    assert!(recent.iter().all(
        |s| s.last_message.as_ref().is_some_and(|m| m.text == "second") && s.unread_count == 2
    ));
}

#[tokio::test]
async fn local_data_survives_a_restart_and_reads_offline() {
    let mut server = TestServer::start().await.unwrap();
    let (alice, bob) = pair(&server, Transport::Tcp).await;
    let mut bob_events = bob.events();
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "keep me")
        .await
        .unwrap();
    receive(&mut bob_events, 1).await.unwrap();
    let bob_config = bob.config().clone();
    bob.login().logout().await.unwrap();
    drop(bob);
    server.shutdown().await;

    // Server gone: an app restarted with saved credentials reads at once.
    let bob = Client::new(bob_config).unwrap();
    bob.login().auto_login("bob", "whatever").await.unwrap();
    let recent = bob.conversation().all_recent_sessions().await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].last_message.as_ref().unwrap().text, "keep me");
    let history = bob
        .chat()
        .history(&SessionId::p2p("alice"), None, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
}

/// A new iOS device of `accid`, logged in, once its sync after login is done.
async fn phone_synced(
    server: &TestServer,
    transport: Transport,
    accid: &str,
    token: &str,
) -> (Client, tokio::sync::broadcast::Receiver<Event>) {
    let mut config = server.client_config(transport);
    config.client_type = client_type::IOS;
    let phone = Client::new(config).unwrap();
    let mut events = phone.events();
    phone.login().login(accid, token).await.unwrap();
    wait_for(&mut events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    (phone, events)
}

#[tokio::test]
async fn my_other_devices_get_what_i_send_unless_sync_is_off() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    server.create_account("bob").await.unwrap();
    let pc = Client::new(server.client_config(Transport::Tcp)).unwrap();
    pc.login().login("alice", &token).await.unwrap();
    // Online and synced: what follows is live, not roaming history.
    let (phone, mut phone_events) =
        phone_synced(&server, Transport::WebSocket, "alice", &token).await;
    let mut pc_events = pc.events();

    let no_sync =
        OutgoingMessage::text(SessionId::p2p("bob"), "only here").with_settings(MessageSettings {
            sync_enabled: false,
            ..MessageSettings::default()
        });
    pc.chat().send(no_sync).await.unwrap();
    pc.chat()
        .send_text(SessionId::p2p("bob"), "from my pc")
        .await
        .unwrap();
    // "only here" is not pushed live, and the phone's repair of the hole it
    // leaves gets only a stub: its place, not the message.
    let got = wait_for(&mut phone_events, |e| match e {
        Event::Received(ms) => ms.iter().find(|m| m.text == "from my pc").cloned(),
        _ => None,
    })
    .await
    .unwrap();
    assert!(got.is_outgoing);
    assert_eq!(got.session, SessionId::p2p("bob"));
    let recent = phone.conversation().all_recent_sessions().await.unwrap();
    assert_eq!(
        recent[0].unread_count, 0,
        "my own messages are never unread"
    );

    // The sending device does not receive its own message back.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    while let Ok(event) = pc_events.try_recv() {
        assert!(
            !matches!(event, Event::Received(_)),
            "echo to the sender: {event:?}"
        );
    }

    // Well past the gap grace (300 ms), the repair has run on the phone.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let bob_session = SessionId::p2p("bob");
    let texts = |history: Vec<LocalMessage>| -> Vec<String> {
        history.into_iter().map(|m| m.text).collect()
    };
    let on_phone = phone.chat().history(&bob_session, None, 100).await.unwrap();
    assert_eq!(texts(on_phone), ["from my pc"]);
    while let Ok(event) = phone_events.try_recv() {
        if let Event::Received(ms) = &event {
            assert!(ms.iter().all(|m| m.text != "only here"), "{event:?}");
        }
    }

    // A device that logs in later gets it as roaming history.
    phone.login().logout().await.unwrap();
    let (later, _) = phone_synced(&server, Transport::Tcp, "alice", &token).await;
    let on_later = later.chat().history(&bob_session, None, 100).await.unwrap();
    assert_eq!(texts(on_later), ["only here", "from my pc"]);
}

#[tokio::test]
async fn recent_sessions_delete_mark_read_and_events() {
    let server = TestServer::start().await.unwrap();
    let (alice, bob) = pair(&server, Transport::Tcp).await;
    let carol = server.login_new("carol").await.unwrap();
    let mut bob_events = bob.events();
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "1")
        .await
        .unwrap();
    let added = wait_for(&mut bob_events, |e| match e {
        Event::RecentSessionAdded(s) => Some(s.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(
        (added.session.id.as_str(), added.unread_count),
        ("alice", 1)
    );
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "2")
        .await
        .unwrap();
    let updated = wait_for(&mut bob_events, |e| match e {
        Event::RecentSessionUpdated(s) => Some(s.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(updated.unread_count, 2);
    carol
        .chat()
        .send_text(SessionId::p2p("bob"), "3")
        .await
        .unwrap();
    receive(&mut bob_events, 1).await.unwrap();
    assert_eq!(bob.conversation().total_unread_count().await.unwrap(), 3);

    let sessions = bob.conversation().all_recent_sessions().await.unwrap();
    assert_eq!(sessions[0].session.id, "carol", "newest first");

    bob.conversation()
        .mark_all_messages_read(&SessionId::p2p("alice"))
        .await
        .unwrap();
    let read = wait_for(&mut bob_events, |e| match e {
        Event::RecentSessionUpdated(s) => Some(s.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!((read.session.id.as_str(), read.unread_count), ("alice", 0));
    assert_eq!(bob.conversation().total_unread_count().await.unwrap(), 1);

    assert!(bob
        .conversation()
        .delete_recent_session(&SessionId::p2p("carol"))
        .await
        .unwrap());
    let removed = wait_for(&mut bob_events, |e| match e {
        Event::RecentSessionRemoved(s) => Some(s.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(removed.session.id, "carol");
    assert!(!bob
        .conversation()
        .delete_recent_session(&SessionId::p2p("carol"))
        .await
        .unwrap());
    assert_eq!(
        bob.conversation()
            .all_recent_sessions()
            .await
            .unwrap()
            .len(),
        1
    );
    // Its messages stay in local history.
    assert_eq!(
        bob.chat()
            .history(&SessionId::p2p("carol"), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn both_directions_under_load_arrive_complete_and_in_sequence() {
    let server = TestServer::start().await.unwrap();
    let (alice, bob) = pair(&server, Transport::Tcp).await;
    let mut alice_events = alice.events();
    let mut bob_events = bob.events();
    let n = 300;
    let mut sends = Vec::new();
    for i in 0..n {
        let (from, to) = if i % 2 == 0 {
            (alice.clone(), "bob")
        } else {
            (bob.clone(), "alice")
        };
        sends.push(tokio::spawn(async move {
            from.chat()
                .send_text(SessionId::p2p(to), &format!("{i}"))
                .await
                .unwrap()
        }));
    }
    for send in sends {
        send.await.unwrap();
    }
    receive(&mut bob_events, n / 2).await.unwrap();
    receive(&mut alice_events, n / 2).await.unwrap();
    // Both sides hold every sequence of the conversation exactly once.
    for (client, peer) in [(&alice, "bob"), (&bob, "alice")] {
        let all = whole_history(client, &SessionId::p2p(peer)).await.unwrap();
        let mut seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn sync_disabled_messages_are_not_pushed_to_my_other_devices() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let pc = Client::new(server.client_config(Transport::Tcp)).unwrap();
    pc.login().login("alice", &token).await.unwrap();
    let mut phone = RawConnection::connect(server.tcp_addr).await.unwrap();
    assert_eq!(
        phone
            .login_as(&server.app_key, "alice", &token, client_type::IOS)
            .await
            .unwrap()
            .code,
        200
    );

    let no_sync =
        OutgoingMessage::text(SessionId::p2p("bob"), "only here").with_settings(MessageSettings {
            sync_enabled: false,
            ..MessageSettings::default()
        });
    pc.chat().send(no_sync).await.unwrap();
    pc.chat()
        .send_text(SessionId::p2p("bob"), "synced")
        .await
        .unwrap();
    let first_push = loop {
        let frame = phone.recv().await.unwrap().unwrap();
        if let Some(m) = pushed_message(&frame) {
            break m.clone();
        }
    };
    assert_eq!(first_push.text, "synced");
    assert_eq!(first_push.seq, 2, "the unpushed message still holds seq 1");

    // Repairing the hole while online: seq 1 comes as a stub, seq 2 whole.
    let sync = |live: bool| tidings_proto::SyncRequest {
        cursors: vec![tidings_proto::ConversationCursor {
            session_type: 0,
            session_id: "bob".into(),
            seq: 0,
        }],
        limit: 10,
        only_listed: true,
        live,
        ..Default::default()
    };
    let page = |response: tidings_proto::Response| match response.into_sync_page() {
        Some(page) => page.messages,
        None => panic!("not a sync page"),
    };
    let live = page(phone.call(sync(true)).await.unwrap());
    assert_eq!(live.len(), 2);
    assert!(live[0].withheld && live[0].seq == 1, "{:?}", live[0]);
    assert!(live[0].text.is_empty() && live[0].setting.is_none());
    assert!(!live[1].withheld && live[1].text == "synced");
    // A sync that is not a live repair (after a login) gets it whole: roaming.
    let roaming = page(phone.call(sync(false)).await.unwrap());
    assert!(!roaming[0].withheld && roaming[0].text == "only here");
    // The peer is not me: it gets the message whole, live or not.
    let mut bob = RawConnection::connect(server.tcp_addr).await.unwrap();
    bob.login(&server.app_key, "bob", &bob_token).await.unwrap();
    let mut for_bob = sync(true);
    for_bob.cursors[0].session_id = "alice".into();
    let peer = page(bob.call(for_bob).await.unwrap());
    assert!(!peer[0].withheld && peer[0].text == "only here");
}

/// One connection pipelines more sends than one batch takes, so several
/// of its batches wait for commits at once: the acks still come in send
/// order with consecutive sequences, a resend of an earlier id (in a
/// batch still in flight or committed) answers its original, and the
/// peer gets every message once, in sequence order.
#[tokio::test]
async fn pipelined_sends_on_one_connection_keep_their_order() {
    use tidings_proto::{frame, request, Message, SendMessageRequest};
    let server = TestServer::start().await.unwrap();
    let alice_token = server.create_account("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let mut bob = RawConnection::connect(server.tcp_addr).await.unwrap();
    bob.login(&server.app_key, "bob", &bob_token).await.unwrap();
    let mut alice = RawConnection::connect(server.tcp_addr).await.unwrap();
    alice
        .login(&server.app_key, "alice", &alice_token)
        .await
        .unwrap();
    let fresh = 2000u64;
    // Every 100th send repeats the id of the one sent 50 sends before.
    let mut client_ids = Vec::new();
    for i in 0..fresh {
        client_ids.push(format!("m{i}"));
        if i % 100 == 99 {
            client_ids.push(format!("m{}", i - 50));
        }
    }
    let pushes = tokio::spawn(async move {
        let mut seqs = Vec::new();
        while (seqs.len() as u64) < fresh {
            let frame = bob.recv().await.unwrap().expect("bob's connection open");
            if let Some(m) = pushed_message(&frame) {
                assert_eq!(m.text, format!("text of {}", m.client_id));
                seqs.push(m.seq);
            }
        }
        seqs
    });
    let mut request_seqs = Vec::new();
    for id in &client_ids {
        let send = request::Area::from(SendMessageRequest {
            message: Some(Message {
                client_id: id.clone(),
                to: "bob".into(),
                text: format!("text of {id}"),
                ..Default::default()
            }),
        });
        request_seqs.push(alice.send(send).await.unwrap());
    }
    let mut acks = Vec::new();
    while acks.len() < client_ids.len() {
        let frame = alice
            .recv()
            .await
            .unwrap()
            .expect("alice's connection open");
        if let Some(frame::Body::Response(response)) = &frame.body {
            assert_eq!(response.code, 200, "{response:?}");
            acks.push((response.seq, *ack(response).unwrap()));
        }
    }
    let mut seq_of = std::collections::HashMap::new();
    let mut next_seq = 1;
    for ((id, request_seq), (answered, ack)) in client_ids.iter().zip(&request_seqs).zip(&acks) {
        assert_eq!(answered, request_seq, "acks come in send order");
        match seq_of.get(id) {
            None => {
                assert!(!ack.duplicate, "{id} is new");
                assert_eq!(ack.seq, next_seq, "{id} takes the next sequence");
                seq_of.insert(id.clone(), ack.seq);
                next_seq += 1;
            }
            Some(&original) => {
                assert!(ack.duplicate, "{id} is a resend");
                assert_eq!(ack.seq, original);
            }
        }
    }
    let pushed = pushes.await.unwrap();
    assert_eq!(pushed, (1..=fresh).collect::<Vec<_>>());
}

/// A burst of pipelined sends reaches an online peer whole and in order:
/// the server stores them in batches of up to 256 and pushes each batch
/// at once, so the peer's connection finds far more events queued than it
/// handles in one turn of its loop.
#[tokio::test]
async fn a_burst_of_pipelined_sends_reaches_the_online_peer_whole_and_in_order() {
    use tidings_proto::{request, Message, SendMessageRequest};
    const BURST: u64 = 1500;
    let server = TestServer::start().await.unwrap();
    let mut raw = Vec::new();
    for name in ["alice", "bob"] {
        let token = server.create_account(name).await.unwrap();
        let mut conn = RawConnection::connect(server.tcp_addr).await.unwrap();
        let login = conn.login(&server.app_key, name, &token).await.unwrap();
        assert_eq!(login.code, 200, "{}", login.message);
        raw.push(conn);
    }
    let mut bob = raw.pop().unwrap();
    let mut alice = raw.pop().unwrap();
    for i in 0..BURST {
        alice
            .send(request::Area::from(SendMessageRequest {
                message: Some(Message {
                    client_id: format!("burst-{i:05}"),
                    to: "bob".into(),
                    text: format!("message {i}"),
                    ..Default::default()
                }),
            }))
            .await
            .unwrap();
    }
    let mut seqs = Vec::new();
    while (seqs.len() as u64) < BURST {
        let frame = bob
            .recv()
            .await
            .unwrap()
            .expect("bob's connection stays open");
        if let Some(m) = pushed_message(&frame) {
            assert_eq!(m.text, format!("message {}", seqs.len()));
            seqs.push(m.seq);
        }
    }
    assert_eq!(seqs, (1..=BURST).collect::<Vec<_>>());
    let mut acked = 0;
    while acked < BURST {
        let frame = alice
            .recv()
            .await
            .unwrap()
            .expect("alice's connection stays open");
        if let Some(tidings_proto::frame::Body::Response(r)) = &frame.body {
            assert_eq!(r.code, 200, "{}", r.message);
            acked += 1;
        }
    }
}

/// Forty of the longest texts (5,000 CJK characters, 15 KB each) wait for
/// an offline device: more than one frame can carry (256 KiB), so the
/// server pages its sync by size as well as by count.
#[tokio::test]
async fn an_offline_backlog_larger_than_a_frame_syncs_whole() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let long = "消".repeat(4996);
    for i in 0..40 {
        alice
            .chat()
            .send_text(SessionId::p2p("bob"), &format!("{i:04}{long}"))
            .await
            .unwrap();
    }
    let bob = Client::new(server.client_config(Transport::Tcp)).unwrap();
    let mut events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let got = receive(&mut events, 40).await.unwrap();
    let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
    assert!(got.iter().all(|m| m.text.ends_with(&long)));
    wait_for(&mut events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
}
