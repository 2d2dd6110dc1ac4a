//! Several nodes on PostgreSQL and NATS: messages cross nodes, offline sync
//! works from any node, and the multi-device rules hold across nodes.
//! Skipped unless TIDINGS_TEST_PG_URL and TIDINGS_TEST_NATS_URL are set.
#![allow(clippy::unwrap_used)]

use tidings_sdk::*;
use tidings_testkit::*;

async fn login(
    cluster: &TestCluster,
    node: usize,
    accid: &str,
    token: &str,
    device: &str,
    kind: u32,
) -> Client {
    let mut config = cluster.client_config(node, device).unwrap();
    config.client_type = kind;
    let client = Client::new(config).unwrap();
    client.login().login(accid, token).await.unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_nodes_and_offline_sync_works_from_any_node() {
    let Some(cluster) = TestCluster::start(3, "cluster messaging").await.unwrap() else {
        return;
    };
    let alice_token = cluster.create_account("alice").await.unwrap();
    let bob_token = cluster.create_account("bob").await.unwrap();
    let carol_token = cluster.create_account("carol").await.unwrap();
    let alice = login(&cluster, 0, "alice", &alice_token, "a", client_type::PC).await;
    let bob = login(&cluster, 1, "bob", &bob_token, "b", client_type::PC).await;
    let mut bob_events = bob.events();

    // Live, node 0 to node 1.
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "across")
        .await
        .unwrap();
    let got = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!(
        (got[0].text.as_str(), got[0].from.as_str()),
        ("across", "alice")
    );

    // Both directions at once, from two nodes, into one conversation.
    let mut sends = Vec::new();
    for i in 0..40 {
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
    let mut seqs: Vec<u64> = Vec::new();
    for send in sends {
        seqs.push(send.await.unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (2..=41).collect::<Vec<u64>>(), "gapless across nodes");

    // Carol was never online; she logs in on node 2 and gets everything.
    for i in 0..5 {
        alice
            .chat()
            .send_text(SessionId::p2p("carol"), &format!("c{i}"))
            .await
            .unwrap();
    }
    let carol = Client::new(cluster.client_config(2, "c").unwrap()).unwrap();
    let mut carol_events = carol.events();
    carol.login().login("carol", &carol_token).await.unwrap();
    let got = receive(&mut carol_events, 5).await.unwrap();
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["c0", "c1", "c2", "c3", "c4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_kick_each_other_and_sync_across_nodes() {
    let Some(cluster) = TestCluster::start(2, "cluster devices").await.unwrap() else {
        return;
    };
    let token = cluster.create_account("dana").await.unwrap();
    cluster.create_account("erik").await.unwrap();
    let pc = login(&cluster, 0, "dana", &token, "pc", client_type::PC).await;
    let mut pc_events = pc.events();
    let phone = login(&cluster, 1, "dana", &token, "phone", client_type::IOS).await;
    let mut phone_events = phone.events();

    // My message from node 0 reaches my phone on node 1.
    pc.chat()
        .send_text(SessionId::p2p("erik"), "from my pc")
        .await
        .unwrap();
    let got = receive(&mut phone_events, 1).await.unwrap();
    assert!(got[0].is_outgoing);

    // A web login on node 1 kicks the PC on node 0 (desktop kicks desktop).
    let _web = login(&cluster, 1, "dana", &token, "web", client_type::WEB).await;
    let reason = kicked(&mut pc_events).await.unwrap();
    assert_eq!(reason, 1);
    // A ban through node 1's API kicks the phone on node 1 and refuses logins everywhere.
    let api = cluster.api(1).unwrap();
    assert_eq!(
        api.post("/nimserver/user/block.action", &[("accid", "dana")])
            .await
            .unwrap()["code"],
        200
    );
    let reason = kicked(&mut phone_events).await.unwrap();
    assert_eq!(reason, 2);
    let refused = Client::new(cluster.client_config(0, "late").unwrap()).unwrap();
    assert_eq!(
        refused
            .login()
            .login("dana", &token)
            .await
            .unwrap_err()
            .code(),
        422
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_fail_over_to_another_node_and_lose_nothing() {
    let Some(mut cluster) = TestCluster::start(2, "cluster failover").await.unwrap() else {
        return;
    };
    let alice_token = cluster.create_account("alice").await.unwrap();
    let bob_token = cluster.create_account("bob").await.unwrap();
    let mut config = cluster.client_config(0, "alice").unwrap();
    config.alternates = vec![ServerAddress::Tcp(cluster.tcp_addr(1).unwrap().to_string())];
    let alice = Client::new(config).unwrap();
    alice.login().login("alice", &alice_token).await.unwrap();
    let mut alice_events = alice.events();
    let bob = login(&cluster, 1, "bob", &bob_token, "bob", client_type::PC).await;
    let mut bob_events = bob.events();

    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "before")
        .await
        .unwrap();
    cluster.stop(0).await; // alice's node goes away
    wait_for(&mut alice_events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Disconnected)).then_some(())
    })
    .await
    .unwrap();
    let after = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "after")
        .await
        .unwrap();
    assert_eq!(after.seq, 2);
    let got = receive(&mut bob_events, 2).await.unwrap();
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["before", "after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_on_a_node_that_lost_nats_gets_what_was_sent_meanwhile() {
    let Some(mut cluster) = TestCluster::start(1, "cluster bus break").await.unwrap() else {
        return;
    };
    let nats: std::net::SocketAddr = cluster
        .config()
        .bus
        .trim_start_matches("nats://")
        .parse()
        .unwrap();
    // In a storm every connection through the link is cut at once, the
    // node's reconnects too: NATS is out of reach until the calm.
    let link = FlakyLink::start(nats, Cut::AfterMillis(0..=0), 3)
        .await
        .unwrap();
    let behind = cluster
        .add_node_on_bus(&format!("nats://{}", link.addr))
        .await
        .unwrap();
    let alice_token = cluster.create_account("alice").await.unwrap();
    let bob_token = cluster.create_account("bob").await.unwrap();
    let alice = login(&cluster, 0, "alice", &alice_token, "a", client_type::PC).await;
    let bob = login(&cluster, behind, "bob", &bob_token, "b", client_type::PC).await;
    let mut bob_events = bob.events();
    let to_bob = SessionId::p2p("bob");

    alice
        .chat()
        .send_text(to_bob.clone(), "before")
        .await
        .unwrap();
    assert_eq!(receive(&mut bob_events, 1).await.unwrap()[0].text, "before");

    link.storm();
    let cut_by = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while link.cuts() == 0 {
        assert!(tokio::time::Instant::now() < cut_by, "the link never cut");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Stored, and published on a NATS that Bob's node no longer hears.
    for i in 0..5 {
        alice
            .chat()
            .send_text(to_bob.clone(), &format!("meanwhile {i}"))
            .await
            .unwrap();
    }
    // Long enough for Bob's device to try to log in again while its node
    // cannot subscribe it.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    link.calm();

    // Nothing more is sent: Bob's device, online all along from its point
    // of view, must learn of the five on its own.
    let got = receive(&mut bob_events, 5).await.unwrap();
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        (0..5).map(|i| format!("meanwhile {i}")).collect::<Vec<_>>()
    );
    let history = whole_history(&bob, &SessionId::p2p("alice")).await.unwrap();
    assert_eq!(history.len(), 6, "each message once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_on_two_nodes_see_each_other_and_one_logs_the_other_out() {
    let Some(cluster) = TestCluster::start(2, "cluster login clients")
        .await
        .unwrap()
    else {
        return;
    };
    let token = cluster.create_account("alice").await.unwrap();
    let pc = login(&cluster, 0, "alice", &token, "pc", client_type::PC).await;
    let mut pc_events = pc.events();
    let phone = login(&cluster, 1, "alice", &token, "phone", client_type::IOS).await;
    let seen = clients_changed(&mut pc_events).await.unwrap();
    assert_eq!(seen.0, ClientsChange::Online);
    assert_eq!(seen.1[0].client_type, client_type::IOS);
    // The phone learned of the desktop on the other node.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let listed = loop {
        let listed = phone.login().current_login_clients();
        if !listed.is_empty() {
            break listed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the phone never heard of the desktop"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(listed[0].client_type, client_type::PC);

    phone.login().kick_other_clients(&listed).await.unwrap();
    let reason = kicked(&mut pc_events).await.unwrap();
    assert_eq!(reason, 3);
}

/// A profile change on one node reaches the account's device on another
/// (the event crosses NATS), and concurrent changes from two nodes keep
/// the account's event log gapless in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_events_cross_nodes_in_order() {
    let Some(cluster) = TestCluster::start(2, "cluster events").await.unwrap() else {
        return;
    };
    let token = cluster.create_account("alice").await.unwrap();
    let pc = login(&cluster, 0, "alice", &token, "pc", client_type::PC).await;
    let phone = login(&cluster, 1, "alice", &token, "phone", client_type::IOS).await;
    let mut phone_events = phone.events();
    let mut changes = Vec::new();
    for i in 0..10 {
        let device = if i % 2 == 0 {
            pc.clone()
        } else {
            phone.clone()
        };
        changes.push(tokio::spawn(async move {
            device
                .user()
                .update_my_info(UserInfoUpdate {
                    sign: Some(format!("s{i}")),
                    ..UserInfoUpdate::default()
                })
                .await
                .unwrap()
        }));
    }
    for change in changes {
        change.await.unwrap();
    }
    // The phone moves over all ten events (some pushed from the other
    // node), in order, and holds the newest profile.
    let mut seen = 0;
    wait_for(&mut phone_events, |e| match e {
        Event::UserInfoUpdated(list) => {
            seen += list.len();
            (seen >= 10).then_some(())
        }
        _ => None,
    })
    .await
    .unwrap();
    let newest = pc.user().fetch_user_infos(&["alice"]).await.unwrap();
    assert_eq!(
        phone.user().my_info().await.unwrap().as_ref(),
        newest.first()
    );
}

/// A friend request made on one node reaches the target on another; a
/// blacklisting made on one node refuses messages sent through another
/// (within the cache's time to live).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relations_hold_across_nodes() {
    let Some(cluster) = TestCluster::start(2, "cluster relations").await.unwrap() else {
        return;
    };
    let alice_token = cluster.create_account("alice").await.unwrap();
    let bob_token = cluster.create_account("bob").await.unwrap();
    let alice = login(&cluster, 0, "alice", &alice_token, "a", client_type::PC).await;
    let bob = login(&cluster, 1, "bob", &bob_token, "b", client_type::PC).await;
    let mut bob_events = bob.events();
    alice
        .relation()
        .request_friend("bob", 2, "across")
        .await
        .unwrap();
    let note = wait_for(&mut bob_events, |e| match e {
        Event::SystemNotification(n) => Some((**n).clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(
        (note.from.as_str(), note.postscript.as_str()),
        ("alice", "across")
    );
    bob.relation().request_friend("alice", 3, "").await.unwrap();
    assert!(bob.relation().is_my_friend("alice").await.unwrap());

    bob.relation().set_blacklisted("alice", true).await.unwrap();
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match alice.chat().send_text(SessionId::p2p("bob"), "?").await {
                Err(e) if e.code() == 7101 => return,
                _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    })
    .await;
    assert!(
        refused.is_ok(),
        "the blacklist never reached the other node"
    );
}

/// Cloud history, read receipts and revokes with the two accounts on
/// different nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_receipts_and_revokes_cross_nodes() {
    let Some(cluster) = TestCluster::start(2, "cluster messages complete")
        .await
        .unwrap()
    else {
        return;
    };
    let alice_token = cluster.create_account("alice").await.unwrap();
    let bob_token = cluster.create_account("bob").await.unwrap();
    let alice = login(&cluster, 0, "alice", &alice_token, "a", client_type::PC).await;
    let bob = login(&cluster, 1, "bob", &bob_token, "b", client_type::PC).await;
    let mut bob_events = bob.events();
    let mut alice_events = alice.events();
    let first = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "one")
        .await
        .unwrap();
    let second = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "two")
        .await
        .unwrap();
    receive(&mut bob_events, 2).await.unwrap();

    let page = bob
        .chat()
        .fetch_history(CloudHistoryQuery::newest(SessionId::p2p("alice"), 10))
        .await
        .unwrap();
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["two", "one"]);

    bob.chat().send_receipt(&first.message_id).await.unwrap();
    let read = wait_for(&mut alice_events, |e| match e {
        Event::MessageReceipt { message_id, .. } => Some(message_id.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(read, first.message_id);

    alice.chat().revoke(&second.message_id, "").await.unwrap();
    let revoked = wait_for(&mut bob_events, |e| match e {
        Event::MessageRevoked(r) => Some(r.message_id.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(revoked, second.message_id);
    let copy = bob
        .chat()
        .message(&second.message_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.message_type, message_type::NOTIFICATION);
}
