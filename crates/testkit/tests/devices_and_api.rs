//! Multi-device rules, bans, reconnects, graceful shutdown, and the server API.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tidings_sdk::*;
use tidings_testkit::api::Signature;
use tidings_testkit::*;

#[tokio::test]
async fn desktops_kick_desktops_mobiles_kick_mobiles_and_the_two_coexist() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    let phone = server.device(client_type::IOS).unwrap();
    let mut pc_events = pc.events();
    let mut phone_events = phone.events();
    pc.login().login("alice", &token).await.unwrap();
    phone.login().login("alice", &token).await.unwrap();

    let web = server.device(client_type::WEB).unwrap();
    web.login().login("alice", &token).await.unwrap();
    let (reason, _) = wait_for(&mut pc_events, |e| match e {
        Event::Kicked { reason, message } => Some((*reason, message.clone())),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(reason, 1);
    let android = server.device(client_type::ANDROID).unwrap();
    android.login().login("alice", &token).await.unwrap();
    let reason = kicked(&mut phone_events).await.unwrap();
    assert_eq!(reason, 1);
    // The kicked devices stop; web and android stay.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pc.login().is_logged_in());
    assert!(!phone.login().is_logged_in());
    assert!(web.login().is_logged_in());
    assert!(android.login().is_logged_in());
}

#[tokio::test]
async fn a_ban_kicks_online_devices_and_refuses_logins() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    let mut events = pc.events();
    pc.login().login("alice", &token).await.unwrap();
    let answer = server
        .api()
        .post("/nimserver/user/block.action", &[("accid", "alice")])
        .await
        .unwrap();
    assert_eq!(answer["code"], 200);
    let reason = kicked(&mut events).await.unwrap();
    assert_eq!(reason, 2);
    let err = server
        .device(client_type::PC)
        .unwrap()
        .login()
        .login("alice", &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 422);
}

#[tokio::test]
async fn sdk_reconnects_after_a_server_restart_and_resends_its_outbox() {
    let mut server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let mut alice_events = alice.events();
    let data_dir = server.data_dir();
    let (http, tcp) = (server.http_addr, server.tcp_addr);

    server.shutdown().await;
    let closed = wait_for(&mut alice_events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Disconnected)).then_some(())
    })
    .await;
    assert!(closed.is_ok());
    // Written while the server is down: kept and sent after the reconnect.
    let queued = alice
        .chat()
        .enqueue(OutgoingMessage::text(
            SessionId::p2p("bob"),
            "while you were out",
        ))
        .await
        .unwrap();
    assert_eq!(queued.delivery, DeliveryState::Sending);

    let restarted = tidings_server::Server::start(tidings_server::ServerConfig {
        data_dir,
        http_listen: http,
        tcp_listen: tcp,
        ..tidings_server::ServerConfig::default()
    })
    .await
    .unwrap();
    let (message, error) = wait_for(&mut alice_events, |e| match e {
        Event::SendComplete { message, error } => Some((message.clone(), error.clone())),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(
        (message.message_id.as_str(), error),
        (queued.message_id.as_str(), None)
    );
    assert!(alice.login().is_logged_in());

    let bob = Client::new(server.client_config(Transport::Tcp)).unwrap();
    let mut bob_events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let got = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!(got[0].text, "while you were out");
    restarted.shutdown().await;
}

#[tokio::test]
async fn unacked_messages_survive_an_sdk_restart_without_duplicates() {
    let mut server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let config = server.client_config(Transport::Tcp);
    let alice = Client::new(config.clone()).unwrap();
    alice.login().login("alice", &token).await.unwrap();
    let data_dir = server.data_dir();
    let (http, tcp) = (server.http_addr, server.tcp_addr);
    server.shutdown().await;
    alice
        .chat()
        .enqueue(OutgoingMessage::text(SessionId::p2p("bob"), "one"))
        .await
        .unwrap();
    alice
        .chat()
        .enqueue(OutgoingMessage::text(SessionId::p2p("bob"), "two"))
        .await
        .unwrap();
    drop(alice); // the app quits with two unsent messages

    let restarted = tidings_server::Server::start(tidings_server::ServerConfig {
        data_dir,
        http_listen: http,
        tcp_listen: tcp,
        ..tidings_server::ServerConfig::default()
    })
    .await
    .unwrap();
    let alice = Client::new(config).unwrap();
    let mut events = alice.events();
    alice.login().login("alice", &token).await.unwrap();
    for _ in 0..2 {
        let error = wait_for(&mut events, |e| match e {
            Event::SendComplete { error, .. } => Some(error.clone()),
            _ => None,
        })
        .await
        .unwrap();
        assert_eq!(error, None);
    }
    let bob = Client::new(server.client_config(Transport::Tcp)).unwrap();
    let mut bob_events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let got = receive(&mut bob_events, 2).await.unwrap();
    assert_eq!(
        got.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(
        restarted
            .state()
            .services
            .store
            .message_count(&server.app_key)
            .await
            .unwrap(),
        2
    );
    restarted.shutdown().await;
}

#[tokio::test]
async fn server_api_accounts_and_tokens() {
    let server = TestServer::start().await.unwrap();
    let api = server.api();
    let created = api
        .post(
            "/nimserver/user/create.action",
            &[("accid", "erin"), ("name", "Erin"), ("token", "t0")],
        )
        .await
        .unwrap();
    assert_eq!(created["code"], 200);
    assert_eq!(
        created["info"],
        serde_json::json!({"accid": "erin", "token": "t0", "name": "Erin"})
    );
    let again = api
        .post("/nimserver/user/create.action", &[("accid", "erin")])
        .await
        .unwrap();
    assert_eq!(again["code"], 414);
    assert!(again["desc"]
        .as_str()
        .unwrap()
        .contains("already registered"));
    let bad = api
        .post("/nimserver/user/create.action", &[("accid", "has space")])
        .await
        .unwrap();
    assert_eq!(bad["code"], 414);
    let missing = api
        .post("/nimserver/user/create.action", &[("name", "x")])
        .await
        .unwrap();
    assert_eq!(missing["code"], 414);
    assert_eq!(missing["desc"], "missing field 'accid'");

    let updated = api
        .post(
            "/nimserver/user/update.action",
            &[("accid", "erin"), ("token", "t1")],
        )
        .await
        .unwrap();
    assert_eq!(updated["code"], 200);
    let client = Client::new(server.client_config(Transport::Tcp)).unwrap();
    assert_eq!(
        client.login().login("erin", "t0").await.unwrap_err().code(),
        302
    );
    client.login().login("erin", "t1").await.unwrap();
    client.login().logout().await.unwrap();

    let refreshed = api
        .post("/nimserver/user/refreshToken.action", &[("accid", "erin")])
        .await
        .unwrap();
    let token = refreshed["info"]["token"].as_str().unwrap();
    assert_ne!(token, "t1");
    client.login().login("erin", token).await.unwrap();

    let ghost = api
        .post("/nimserver/user/refreshToken.action", &[("accid", "ghost")])
        .await
        .unwrap();
    assert_eq!(ghost["code"], 404);
}

#[tokio::test]
async fn server_api_refuses_bad_signatures_stale_times_and_replays() {
    let server = TestServer::start().await.unwrap();
    let api = server.api();
    let path = "/nimserver/user/create.action";
    let form = [("accid", "frank")];

    let good = api.sign();
    let forged = Signature {
        checksum: "0".repeat(40),
        ..api.sign()
    };
    let answer = api.post_signed(path, &form, &forged).await.unwrap();
    assert_eq!(answer["code"], 403);
    assert!(answer["desc"].as_str().unwrap().contains("CheckSum"));

    let stale_time = (good.cur_time.parse::<u64>().unwrap() - 301).to_string();
    let stale = Signature {
        checksum: tidings_testkit::api::checksum(&server.app_secret, &good.nonce, &stale_time),
        nonce: good.nonce.clone(),
        cur_time: stale_time,
    };
    let answer = api.post_signed(path, &form, &stale).await.unwrap();
    assert_eq!(answer["code"], 403);
    assert!(answer["desc"].as_str().unwrap().contains("CurTime"));

    assert_eq!(
        api.post_signed(path, &form, &good).await.unwrap()["code"],
        200
    );
    let replay = api
        .post_signed(path, &[("accid", "grace")], &good)
        .await
        .unwrap();
    assert_eq!(replay["code"], 403);
    assert!(replay["desc"].as_str().unwrap().contains("Nonce"));

    let stranger = ServerApi::new(&format!("http://{}", server.http_addr), "nope", "x");
    let answer = stranger.post(path, &form).await.unwrap();
    assert_eq!(answer["code"], 403);
    assert!(answer["desc"].as_str().unwrap().contains("unknown AppKey"));

    // A missing header is a bad parameter.
    let raw = reqwest::Client::new()
        .post(format!("http://{}{path}", server.http_addr))
        .header("AppKey", &server.app_key)
        .body("accid=heidi")
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(answer["code"], 414);
    assert_eq!(answer["desc"], "missing header 'Nonce'");

    let admin = api
        .admin_post("wrong", "/admin/app/create", &[("name", "x")])
        .await
        .unwrap();
    assert_eq!(admin["code"], 403);
}

#[tokio::test]
async fn graceful_shutdown_tells_connections_why() {
    let mut server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.login(&server.app_key, "alice", &token).await.unwrap();
    let reading = tokio::spawn(async move { raw.closing().await });
    server.shutdown().await;
    let closing = reading.await.unwrap().unwrap().unwrap();
    assert_eq!(closing.code, 503);
    assert_eq!(closing.reason, "server is shutting down");
    // Health and metrics were served until then.
}

#[tokio::test]
async fn health_and_metrics() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    server.create_account("bob").await.unwrap();
    for text in ["one", "two"] {
        alice
            .chat()
            .send_text(SessionId::p2p("bob"), text)
            .await
            .unwrap();
    }
    let base = format!("http://{}", server.http_addr);
    let health = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(health, "ok");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tidings_logins_total 1"), "{metrics}");
    assert!(metrics.contains("tidings_connections_open 1"), "{metrics}");
    // Every group commit, in the histogram of commit times.
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    let groups = value("tidings_store_transactions_total");
    assert!(
        groups >= 2,
        "two sends acked one after the other: {metrics}"
    );
    assert_eq!(value("tidings_store_commit_seconds_count"), groups);
    assert_eq!(
        value("tidings_store_commit_seconds_bucket{le=\"+Inf\"}"),
        groups
    );
    assert_eq!(value("tidings_store_messages_total"), 2);
}

/// The code of the next `LoginFailed`, or of a login that came through (200).
async fn login_outcome(events: &mut tokio::sync::broadcast::Receiver<Event>) -> u32 {
    wait_for(events, |e| match e {
        Event::LoginFailed(error) => Some(error.code()),
        Event::LoginStep(LoginStep::LoggedIn) => Some(200),
        _ => None,
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_auto_login_from_a_device_that_is_no_longer_the_last_is_refused_unless_forced() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let old_phone = server.device(client_type::IOS).unwrap();
    old_phone.login().login("alice", &token).await.unwrap();
    old_phone.login().logout().await.unwrap();
    // The app starts again on the phone she logged in on last: no question.
    let mut old_events = old_phone.events();
    old_phone.login().auto_login("alice", &token).await.unwrap();
    assert_eq!(login_outcome(&mut old_events).await, 200);
    old_phone.login().logout().await.unwrap();

    // She moves to a new phone; the old one, started again, must not take
    // her session back by itself.
    let new_phone = server.device(client_type::ANDROID).unwrap();
    let mut new_events = new_phone.events();
    new_phone.login().login("alice", &token).await.unwrap();
    let mut old_events = old_phone.events();
    old_phone.login().auto_login("alice", &token).await.unwrap();
    assert_eq!(login_outcome(&mut old_events).await, 417);
    assert!(!old_phone.login().is_logged_in());

    // A desktop is of the other kick group: its auto login goes through.
    let desktop = server.device(client_type::PC).unwrap();
    let mut desktop_events = desktop.events();
    desktop.login().auto_login("alice", &token).await.unwrap();
    assert_eq!(login_outcome(&mut desktop_events).await, 200);
    assert!(
        new_phone.login().is_logged_in(),
        "nobody kicked the new phone"
    );

    // Forced, the old phone logs in and kicks the new one, which is then
    // no longer the last phone either.
    old_phone.login().logout().await.unwrap();
    let mut old_events = old_phone.events();
    old_phone
        .login()
        .auto_login_forced("alice", &token)
        .await
        .unwrap();
    assert_eq!(login_outcome(&mut old_events).await, 200);
    let reason = kicked(&mut new_events).await.unwrap();
    assert_eq!(reason, 1);
    let mut new_events = new_phone.events();
    new_phone.login().auto_login("alice", &token).await.unwrap();
    assert_eq!(login_outcome(&mut new_events).await, 417);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_offline_while_another_logged_in_does_not_take_the_session_back_on_reconnect() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let link = FlakyLink::start(server.tcp_addr, Cut::AfterMillis(0..=0), 5)
        .await
        .unwrap();
    let mut config = server.client_config(Transport::Tcp);
    config.client_type = client_type::IOS;
    config.server = ServerAddress::Tcp(link.addr.to_string());
    let old_phone = Client::new(config).unwrap();
    let mut old_events = old_phone.events();
    old_phone.login().login("alice", &token).await.unwrap();

    // The old phone loses its network; meanwhile she logs in on another.
    link.storm();
    wait_for(&mut old_events, |e| match e {
        Event::LoginStep(LoginStep::Disconnected) => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    let new_phone = server.device(client_type::ANDROID).unwrap();
    let mut new_events = new_phone.events();
    new_phone.login().login("alice", &token).await.unwrap();
    link.calm();

    // The old phone's login after the reconnect is refused, for good.
    assert_eq!(login_outcome(&mut old_events).await, 417);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(new_phone.login().is_logged_in());
    assert!(!old_phone.login().is_logged_in());
    while let Ok(event) = new_events.try_recv() {
        assert!(
            !matches!(event, Event::Kicked { .. }),
            "the new phone was kicked"
        );
    }
}

#[tokio::test]
async fn devices_see_each_other_and_one_logs_another_out() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    let mut pc_events = pc.events();
    pc.login().login("alice", &token).await.unwrap();
    assert!(pc.login().current_login_clients().is_empty());

    let phone = server.device(client_type::IOS).unwrap();
    let mut phone_events = phone.events();
    phone.login().login("alice", &token).await.unwrap();
    // The desktop hears of the phone, and the phone of the desktop that
    // was online before it.
    let (change, clients) = clients_changed(&mut pc_events).await.unwrap();
    assert_eq!(change, ClientsChange::Online);
    assert_eq!(clients[0].client_type, client_type::IOS);
    let (change, clients) = clients_changed(&mut phone_events).await.unwrap();
    assert_eq!(change, ClientsChange::Online);
    assert_eq!(clients[0].client_type, client_type::PC);
    let listed = phone.login().current_login_clients();
    assert_eq!(listed, clients);
    assert!(listed[0].login_time > 0 && !listed[0].device_id.is_empty());

    // Bob's devices are no part of it, and Bob cannot log Alice's out.
    let (mut bob, _) = raw_logged_in(&server, "bob").await;
    let answer = bob
        .call(tidings_proto::request::Area::from(
            tidings_proto::KickClientsRequest {
                connection_ids: vec![listed[0].connection_id],
            },
        ))
        .await
        .unwrap();
    assert_eq!(answer.code, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pc.login().is_logged_in(), "Bob's kick reached Alice");
    assert_eq!(phone.login().current_login_clients(), listed);

    // The phone logs the desktop out.
    phone.login().kick_other_clients(&listed).await.unwrap();
    let reason = kicked(&mut pc_events).await.unwrap();
    assert_eq!(reason, 3);
    let (change, gone) = clients_changed(&mut phone_events).await.unwrap();
    assert_eq!(change, ClientsChange::Offline);
    assert_eq!(gone, listed);
    assert!(phone.login().current_login_clients().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !pc.login().is_logged_in(),
        "kicked devices do not come back"
    );
    assert!(phone.login().is_logged_in());
}

/// A raw connection logged in to a new account, and its token.
async fn raw_logged_in(server: &TestServer, accid: &str) -> (RawConnection, String) {
    let token = server.create_account(accid).await.unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    let answer = raw.login(&server.app_key, accid, &token).await.unwrap();
    assert_eq!(answer.code, 200, "{}", answer.message);
    (raw, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_reconnects_lists_the_others_again() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    pc.login().login("alice", &token).await.unwrap();
    let link = FlakyLink::start(server.tcp_addr, Cut::AfterMillis(0..=0), 9)
        .await
        .unwrap();
    let mut config = server.client_config(Transport::Tcp);
    config.client_type = client_type::IOS;
    config.server = ServerAddress::Tcp(link.addr.to_string());
    let phone = Client::new(config).unwrap();
    let mut phone_events = phone.events();
    phone.login().login("alice", &token).await.unwrap();
    let (_, first) = clients_changed(&mut phone_events).await.unwrap();

    link.storm();
    wait_for(&mut phone_events, |e| match e {
        Event::LoginStep(LoginStep::Disconnected) => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    assert!(phone.login().current_login_clients().is_empty());
    link.calm();
    let (change, again) = clients_changed(&mut phone_events).await.unwrap();
    assert_eq!(change, ClientsChange::Online);
    assert_eq!(again, first, "the same desktop, listed again");
    assert_eq!(phone.login().current_login_clients(), first);
}
