//! Profiles on the account event log, end to end: a change reaches every
//! device of the account (online by push, offline at its next login,
//! before "synced"), others fetch it, a device behind the trimmed log
//! reloads, and bad input changes nothing for anyone.
#![allow(clippy::unwrap_used)]

use tidings_proto::{EventSyncRequest, GetProfiles, ProfileUpdate, UserRequest};
use tidings_sdk::*;
use tidings_testkit::*;

/// The profiles of the next `UserInfoUpdated`.
async fn updated(events: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<UserInfo> {
    wait_for(events, |e| match e {
        Event::UserInfoUpdated(list) => Some(list.to_vec()),
        _ => None,
    })
    .await
    .unwrap()
}

fn full_update() -> UserInfoUpdate {
    UserInfoUpdate {
        nick: Some("Alice".into()),
        avatar: Some("https://example.com/alice.png".into()),
        sign: Some("hello".into()),
        gender: Some(2),
        email: Some("alice@example.com".into()),
        birth: Some("1990-02-28".into()),
        mobile: Some("+(86)-13055555555".into()),
        ext: Some(r#"{"team":"red"}"#.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_change_reaches_every_device_of_mine_and_others_fetch_it() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    let phone = server.device(client_type::IOS).unwrap();
    let mut pc_events = pc.events();
    let mut phone_events = phone.events();
    pc.login().login("alice", &token).await.unwrap();
    phone.login().login("alice", &token).await.unwrap();
    let bob = server.login_new("bob").await.unwrap();

    let mine = pc.user().update_my_info(full_update()).await.unwrap();
    assert_eq!(
        (mine.account.as_str(), mine.nick.as_str(), mine.gender),
        ("alice", "Alice", 2)
    );
    assert!(mine.updated_at > 0);
    let seen = updated(&mut phone_events).await;
    assert_eq!(seen, std::slice::from_ref(&mine));
    assert_eq!(
        phone.user().user_info("alice").await.unwrap(),
        Some(mine.clone())
    );
    // The device that made the change moves over its event too.
    assert_eq!(updated(&mut pc_events).await, std::slice::from_ref(&mine));
    assert_eq!(pc.user().my_info().await.unwrap(), Some(mine.clone()));

    // One field: the others stay.
    let signed = phone
        .user()
        .update_my_info(UserInfoUpdate {
            sign: Some("busy".into()),
            ..UserInfoUpdate::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (signed.sign.as_str(), signed.nick.as_str()),
        ("busy", "Alice")
    );
    assert_eq!(updated(&mut pc_events).await[0].sign, "busy");

    // Another account fetches it (unknown accounts are left out) and
    // keeps it locally.
    assert_eq!(bob.user().user_info("alice").await.unwrap(), None);
    let fetched = bob
        .user()
        .fetch_user_infos(&["alice", "nobody"])
        .await
        .unwrap();
    assert_eq!(fetched, std::slice::from_ref(&signed));
    assert_eq!(bob.user().user_info("alice").await.unwrap(), Some(signed));
    // An account that never set a profile has its name as nick.
    let plain = pc.user().fetch_user_infos(&["bob"]).await.unwrap();
    assert_eq!(
        (plain[0].nick.as_str(), plain[0].email.as_str()),
        ("bob", "")
    );
    assert_eq!(server.log_head("alice").await.unwrap(), 2);
    assert_eq!(server.log_head("bob").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_field_changes_nothing_and_says_which() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let before = alice.user().update_my_info(full_update()).await.unwrap();
    let bad = [
        (
            "email",
            UserInfoUpdate {
                email: Some("a@".into()),
                ..Default::default()
            },
        ),
        (
            "birth",
            UserInfoUpdate {
                birth: Some("2023-02-30".into()),
                ..Default::default()
            },
        ),
        (
            "gender",
            UserInfoUpdate {
                gender: Some(7),
                ..Default::default()
            },
        ),
        (
            "ext",
            UserInfoUpdate {
                ext: Some(format!("\"{}\"", "x".repeat(1100))),
                ..Default::default()
            },
        ),
        (
            "mobile",
            UserInfoUpdate {
                mobile: Some("call me".into()),
                ..Default::default()
            },
        ),
        (
            "nick",
            UserInfoUpdate {
                nick: Some("n".repeat(65)),
                ..Default::default()
            },
        ),
    ];
    for (field, update) in bad {
        // A good field beside the bad one is not applied either.
        let update = UserInfoUpdate {
            sign: Some("changed".into()),
            ..update
        };
        let err = alice.user().update_my_info(update).await.unwrap_err();
        assert_eq!(err.code(), 414, "{field}: {err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    let after = alice.user().fetch_user_infos(&["alice"]).await.unwrap();
    assert_eq!(after, [before]);
    assert_eq!(
        server.log_head("alice").await.unwrap(),
        1,
        "no event for a refused change"
    );
    let many: Vec<String> = (0..151).map(|i| format!("u{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = alice.user().fetch_user_infos(&many).await.unwrap_err();
    assert_eq!(err.code(), 414);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_device_gets_the_changes_before_synced() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    pc.login().login("alice", &token).await.unwrap();
    let phone = server.device(client_type::IOS).unwrap();
    phone.login().login("alice", &token).await.unwrap();
    phone.login().logout().await.unwrap();
    for nick in ["one", "two", "three"] {
        pc.user()
            .update_my_info(UserInfoUpdate {
                nick: Some(nick.into()),
                ..UserInfoUpdate::default()
            })
            .await
            .unwrap();
    }
    let mut events = phone.events();
    phone.login().login("alice", &token).await.unwrap();
    let mut nicks = Vec::new();
    wait_for(&mut events, |e| match e {
        Event::UserInfoUpdated(list) => {
            nicks.extend(list.iter().map(|p| p.nick.clone()));
            None
        }
        Event::LoginStep(LoginStep::Synced) => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(nicks, ["one", "two", "three"]);
    assert_eq!(phone.user().my_info().await.unwrap().unwrap().nick, "three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_behind_the_trimmed_log_reloads_what_it_holds() {
    let server = TestServer::start_with(|c| {
        c.event_log_max_events_per_account = 1;
        c.event_log_trim_interval_secs = 0.1;
    })
    .await
    .unwrap();
    let token = server.create_account("alice").await.unwrap();
    server.create_account("bob").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    pc.login().login("alice", &token).await.unwrap();
    let phone = server.device(client_type::IOS).unwrap();
    phone.login().login("alice", &token).await.unwrap();
    phone.user().fetch_user_infos(&["bob"]).await.unwrap();
    phone.login().logout().await.unwrap();

    for nick in ["one", "two", "three"] {
        pc.user()
            .update_my_info(UserInfoUpdate {
                nick: Some(nick.into()),
                ..UserInfoUpdate::default()
            })
            .await
            .unwrap();
    }
    // Bob's change is not in alice's log; a reload fetches it anyway.
    let answer = server
        .api()
        .post(
            "/nimserver/user/updateUinfo.action",
            &[("accid", "bob"), ("name", "Bobby")],
        )
        .await
        .unwrap();
    assert_eq!(answer["code"], 200, "{answer}");
    server.wait_trimmed("alice", 2).await.unwrap();

    let mut events = phone.events();
    phone.login().login("alice", &token).await.unwrap();
    let mut reloaded = Vec::new();
    wait_for(&mut events, |e| match e {
        Event::UserInfoUpdated(list) => {
            reloaded.extend(list.iter().map(|p| (p.account.clone(), p.nick.clone())));
            None
        }
        Event::LoginStep(LoginStep::Synced) => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    assert!(
        reloaded.contains(&("alice".into(), "three".into())),
        "{reloaded:?}"
    );
    assert!(
        reloaded.contains(&("bob".into(), "Bobby".into())),
        "{reloaded:?}"
    );
    assert_eq!(
        phone.user().user_info("bob").await.unwrap().unwrap().nick,
        "Bobby"
    );
    // And it follows the log from there on.
    pc.user()
        .update_my_info(UserInfoUpdate {
            nick: Some("four".into()),
            ..UserInfoUpdate::default()
        })
        .await
        .unwrap();
    assert_eq!(updated(&mut events).await[0].nick, "four");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_event_and_user_requests_get_clear_codes() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    // Before login: nothing but a login.
    let early = raw
        .call(EventSyncRequest {
            after: 0,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(early.code, 403);
    raw.login(&server.app_key, "alice", &token).await.unwrap();

    let ahead = raw
        .call(EventSyncRequest {
            after: 5,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(ahead.code, 414);
    assert!(
        ahead.message.contains("ahead of the log"),
        "{}",
        ahead.message
    );
    let empty = raw
        .call(tidings_proto::request::Area::User(UserRequest {
            kind: None,
        }))
        .await
        .unwrap();
    assert_eq!(empty.code, 414);
    let too_many = raw
        .call(GetProfiles {
            accids: (0..151).map(|i| format!("u{i}")).collect(),
        })
        .await
        .unwrap();
    assert_eq!(too_many.code, 414);
    let long = raw
        .call(GetProfiles {
            accids: vec!["x".repeat(200_000)],
        })
        .await
        .unwrap();
    assert_eq!(long.code, 414);
    assert!(long.message.len() < 200, "{}", long.message);
    let bad = raw
        .call(ProfileUpdate {
            gender: Some(9),
            ..ProfileUpdate::default()
        })
        .await
        .unwrap();
    assert_eq!(bad.code, 414);
    // The connection still serves.
    let fine = raw
        .call(EventSyncRequest {
            after: 0,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(fine.code, 200);
    assert_eq!(fine.event_page().unwrap().head, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_apps_accounts_are_not_seen_and_the_server_api_works() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let alice = server.device(client_type::PC).unwrap();
    let mut events = alice.events();
    alice.login().login("alice", &token).await.unwrap();

    // The app's backend changes alice's profile: her device hears of it.
    let api = server.api();
    let answer = api
        .post(
            "/nimserver/user/updateUinfo.action",
            &[
                ("accid", "alice"),
                ("name", "Alice"),
                ("icon", "https://example.com/a.png"),
                ("gender", "2"),
                ("ex", r#"{"vip":true}"#),
            ],
        )
        .await
        .unwrap();
    assert_eq!(answer["code"], 200, "{answer}");
    let seen = updated(&mut events).await;
    assert_eq!((seen[0].nick.as_str(), seen[0].gender), ("Alice", 2));
    let got = api
        .post(
            "/nimserver/user/getUinfos.action",
            &[("accids", r#"["alice","nobody"]"#)],
        )
        .await
        .unwrap();
    assert_eq!(got["code"], 200, "{got}");
    let uinfos = got["uinfos"].as_array().unwrap();
    assert_eq!(uinfos.len(), 1);
    assert_eq!(uinfos[0]["name"], "Alice");
    assert_eq!(uinfos[0]["icon"], "https://example.com/a.png");
    assert_eq!(uinfos[0]["ex"], r#"{"vip":true}"#);
    let bad = api
        .post(
            "/nimserver/user/updateUinfo.action",
            &[("accid", "alice"), ("email", "a@"), ("name", "Not applied")],
        )
        .await
        .unwrap();
    assert_eq!(bad["code"], 414, "{bad}");
    let not_array = api
        .post("/nimserver/user/getUinfos.action", &[("accids", "alice")])
        .await
        .unwrap();
    assert_eq!(not_array["code"], 414, "{not_array}");
    let nobody = api
        .post(
            "/nimserver/user/updateUinfo.action",
            &[("accid", "nobody"), ("name", "x")],
        )
        .await
        .unwrap();
    assert_eq!(nobody["code"], 404, "{nobody}");

    // Another app: alice does not exist there, by either path.
    let created = api
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
    let mallory_token = answer["info"]["token"].as_str().unwrap().to_owned();
    let got = other
        .post(
            "/nimserver/user/getUinfos.action",
            &[("accids", r#"["alice"]"#)],
        )
        .await
        .unwrap();
    assert_eq!(got["uinfos"].as_array().unwrap().len(), 0, "{got}");
    let changed = other
        .post(
            "/nimserver/user/updateUinfo.action",
            &[("accid", "alice"), ("name", "pwned")],
        )
        .await
        .unwrap();
    assert_eq!(changed["code"], 404, "{changed}");
    let mut config = server.client_config(Transport::Tcp);
    config.app_key = key.to_owned();
    let mallory = Client::new(config).unwrap();
    mallory
        .login()
        .login("mallory", &mallory_token)
        .await
        .unwrap();
    assert!(mallory
        .user()
        .fetch_user_infos(&["alice"])
        .await
        .unwrap()
        .is_empty());
    let still = alice.user().fetch_user_infos(&["alice"]).await.unwrap();
    assert_eq!(still[0].nick, "Alice");
}
