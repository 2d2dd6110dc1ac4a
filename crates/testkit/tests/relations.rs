//! Friends, the blacklist, the mute list and system notifications end to
//! end, on the account event log: every device of each account involved
//! shows the same state, and bad input changes nothing for anyone.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tidings_sdk::*;
use tidings_testkit::*;

type Events = tokio::sync::broadcast::Receiver<Event>;

async fn notified(events: &mut Events) -> SystemNotification {
    wait_for(events, |e| match e {
        Event::SystemNotification(n) => Some((**n).clone()),
        _ => None,
    })
    .await
    .unwrap()
}

async fn custom(events: &mut Events) -> CustomNotification {
    wait_for(events, |e| match e {
        Event::CustomNotification(c) => Some((**c).clone()),
        _ => None,
    })
    .await
    .unwrap()
}

async fn friends_changed(events: &mut Events) -> (Vec<FriendInfo>, Vec<String>) {
    wait_for(events, |e| match e {
        Event::FriendsChanged { changed, removed } => Some((changed.clone(), removed.clone())),
        _ => None,
    })
    .await
    .unwrap()
}

/// Waits until `check` holds of `client` (its local copy follows events).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::time::timeout(Duration::from_secs(10), async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} did not happen"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_friend_request_is_answered_and_every_device_follows() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = server.device(client_type::PC).unwrap();
    let bob_phone = server.device(client_type::IOS).unwrap();
    let mut bob_events = bob.events();
    let mut phone_events = bob_phone.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    bob_phone.login().login("bob", &bob_token).await.unwrap();
    let mut alice_events = alice.events();

    alice
        .relation()
        .request_friend("bob", 2, "hi, it's alice")
        .await
        .unwrap();
    let request = notified(&mut bob_events).await;
    assert_eq!(
        (
            request.kind,
            request.from.as_str(),
            request.postscript.as_str()
        ),
        (5, "alice", "hi, it's alice")
    );
    assert_eq!(request.attach, r#"{"vt":2}"#);
    assert_eq!((request.status, request.read), (0, false));
    assert_eq!(notified(&mut phone_events).await, request);
    assert_eq!(bob.system_notification().unread_count().await.unwrap(), 1);
    assert!(!alice.relation().is_my_friend("bob").await.unwrap());

    bob.relation()
        .request_friend("alice", 3, "welcome")
        .await
        .unwrap();
    // The friendship and the notice of acceptance, in either order.
    let mut accepted = None;
    let mut befriended = None;
    wait_for(&mut alice_events, |e| {
        match e {
            Event::SystemNotification(n) => accepted = Some((**n).clone()),
            Event::FriendsChanged { changed, .. } => befriended = Some(changed.clone()),
            _ => {}
        }
        (accepted.is_some() && befriended.is_some()).then_some(())
    })
    .await
    .unwrap();
    let accepted = accepted.unwrap();
    assert_eq!(
        (accepted.from.as_str(), accepted.attach.as_str()),
        ("bob", r#"{"vt":3}"#)
    );
    assert_eq!(befriended.unwrap()[0].account, "bob");
    assert!(alice.relation().is_my_friend("bob").await.unwrap());
    assert!(bob.relation().is_my_friend("alice").await.unwrap());
    // Bob's phone: the friendship, and the request marked passed.
    let (changed, _) = friends_changed(&mut phone_events).await;
    assert_eq!(changed[0].account, "alice");
    until("the request shows as passed on the phone", || async {
        let list = bob_phone
            .system_notification()
            .fetch(10, None)
            .await
            .unwrap();
        list.len() == 1 && list[0].status == 1
    })
    .await;

    // An alias is mine only; unfriending ends it on both sides.
    alice
        .relation()
        .update_friend("bob", "Bobby", r#"{"met":"work"}"#)
        .await
        .unwrap();
    assert_eq!(
        alice.relation().friend("bob").await.unwrap().unwrap().alias,
        "Bobby"
    );
    assert_eq!(
        bob.relation().friend("alice").await.unwrap().unwrap().alias,
        ""
    );
    bob.relation().delete_friend("alice").await.unwrap();
    let removed = wait_for(&mut alice_events, |e| match e {
        Event::FriendsChanged { removed, .. } if !removed.is_empty() => Some(removed.clone()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(removed, ["bob"]);
    assert!(alice.relation().my_friends().await.unwrap().is_empty());
    // Chatting needs no friendship.
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "still here")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_relation_requests_change_nothing() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    // Notification ids are per account: alice's start later than bob's.
    for nick in ["a", "b"] {
        let update = UserInfoUpdate {
            nick: Some(nick.into()),
            ..UserInfoUpdate::default()
        };
        alice.user().update_my_info(update).await.unwrap();
    }
    let heads = (
        server.log_head("alice").await.unwrap(),
        server.log_head("bob").await.unwrap(),
    );
    let cases: Vec<(u32, Result<(), SdkError>)> = vec![
        (414, alice.relation().request_friend("alice", 2, "me").await),
        (404, alice.relation().request_friend("nobody", 1, "").await),
        (404, alice.relation().request_friend("bob", 3, "").await),
        (404, alice.relation().request_friend("bob", 4, "").await),
        (414, alice.relation().request_friend("bob", 9, "").await),
        (
            414,
            alice
                .relation()
                .request_friend("bob", 2, &"x".repeat(300))
                .await,
        ),
        (404, alice.relation().delete_friend("bob").await),
        (404, alice.relation().update_friend("bob", "B", "").await),
        (414, alice.relation().set_blacklisted("alice", true).await),
        (404, alice.relation().set_muted("nobody", true).await),
    ];
    for (i, (code, result)) in cases.into_iter().enumerate() {
        let err = result.expect_err(&format!("case {i} was accepted"));
        assert_eq!(err.code(), code, "case {i}: {err}");
    }
    // bob asks; alice's answer of someone else's request, or marking bob's
    // notification, fails.
    bob.relation().request_friend("alice", 2, "").await.unwrap();
    let mut bob_notes = bob.events();
    alice.relation().request_friend("bob", 2, "").await.unwrap();
    let bobs = notified(&mut bob_notes).await;
    let err = alice
        .system_notification()
        .set_read(bobs.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 404);
    let err = alice
        .system_notification()
        .delete(bobs.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 404);
    let err = alice
        .system_notification()
        .set_status(bobs.id + 1000, 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 404);
    let err = bob
        .system_notification()
        .set_status(bobs.id, 10)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 414);
    // Only the two requests were recorded: a notification each.
    assert_eq!(server.log_head("alice").await.unwrap(), heads.0 + 1);
    assert_eq!(server.log_head("bob").await.unwrap(), heads.1 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blacklisted_sender_is_refused_and_a_muted_one_is_not() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = server.device(client_type::PC).unwrap();
    let bob_phone = server.device(client_type::IOS).unwrap();
    bob.login().login("bob", &bob_token).await.unwrap();
    let mut phone_events = bob_phone.events();
    bob_phone.login().login("bob", &bob_token).await.unwrap();
    let stored_before = server.stored_messages().await.unwrap();

    bob.relation().set_blacklisted("alice", true).await.unwrap();
    assert!(bob.relation().is_blacklisted("alice").await.unwrap());
    let listed = wait_for(&mut phone_events, |e| match e {
        Event::ListChanged {
            account,
            relation,
            on,
        } => Some((account.clone(), *relation, *on)),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(listed, ("alice".into(), 1, true));
    assert_eq!(bob_phone.relation().blacklist().await.unwrap(), ["alice"]);

    let err = alice
        .chat()
        .send_text(SessionId::p2p("bob"), "let me in")
        .await
        .unwrap_err();
    assert_eq!(err.code(), 7101, "{err}");
    assert_eq!(
        server.stored_messages().await.unwrap(),
        stored_before,
        "nothing stored"
    );
    // The blacklist is one-way: bob may still write to alice.
    bob.chat()
        .send_text(SessionId::p2p("alice"), "hello")
        .await
        .unwrap();

    bob.relation()
        .set_blacklisted("alice", false)
        .await
        .unwrap();
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "thanks")
        .await
        .unwrap();

    // Muted: messages arrive, and say they do not notify.
    bob.relation().set_muted("alice", true).await.unwrap();
    assert!(!bob
        .relation()
        .notify_for_new_messages("alice")
        .await
        .unwrap());
    assert_eq!(bob.relation().mute_list().await.unwrap(), ["alice"]);
    let mut bob_events = bob.events();
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "quietly")
        .await
        .unwrap();
    let got = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!(got[0].text, "quietly");
    assert!(got[0].muted, "a muted sender's message does not notify");
    let kept = bob.chat().message(&got[0].message_id).await.unwrap();
    assert!(kept.unwrap().muted, "and the local copy says so");
    let sent = alice.chat().history(&SessionId::p2p("bob"), None, 1).await;
    assert!(!sent.unwrap()[0].muted, "the sender's copy is not muted");
    assert!(bob
        .relation()
        .notify_for_new_messages("carol")
        .await
        .unwrap());

    // A device that syncs them later has them marked by the server as the
    // mute list stands when they reach it: alice's, received while muted.
    let tablet = server.device(client_type::ANDROID).unwrap(); // bob_phone goes
    let mut tablet_events = tablet.events();
    tablet.login().login("bob", &bob_token).await.unwrap();
    wait_for(&mut tablet_events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    let synced = whole_history(&tablet, &SessionId::p2p("alice")).await;
    let marks: Vec<(String, bool)> = synced
        .unwrap()
        .into_iter()
        .map(|m| (m.text, m.muted))
        .collect();
    let expected = [("hello", false), ("thanks", true), ("quietly", true)];
    assert_eq!(marks, expected.map(|(t, m)| (t.to_owned(), m)));

    // Unmuted, the next message notifies again.
    bob.relation().set_muted("alice", false).await.unwrap();
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "out loud")
        .await
        .unwrap();
    let got = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!((got[0].text.as_str(), got[0].muted), ("out loud", false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_read_and_deleted_on_every_device() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    let phone = server.device(client_type::IOS).unwrap();
    pc.login().login("alice", &token).await.unwrap();
    phone.login().login("alice", &token).await.unwrap();
    let mut pc_events = pc.events();
    for asker in ["bob", "carol", "dave"] {
        let client = server.login_new(asker).await.unwrap();
        client
            .relation()
            .request_friend("alice", 2, asker)
            .await
            .unwrap();
        notified(&mut pc_events).await;
    }
    until("the phone holds three", || async {
        phone
            .system_notification()
            .fetch(10, None)
            .await
            .unwrap()
            .len()
            == 3
    })
    .await;
    let list = pc
        .system_notification()
        .fetch(10, Some(vec![5]))
        .await
        .unwrap();
    let from: Vec<&str> = list.iter().map(|n| n.from.as_str()).collect();
    assert_eq!(from, ["dave", "carol", "bob"], "newest first");
    assert!(pc
        .system_notification()
        .fetch(10, Some(vec![0]))
        .await
        .unwrap()
        .is_empty());

    pc.system_notification().set_read(list[0].id).await.unwrap();
    pc.system_notification()
        .set_status(list[1].id, 3)
        .await
        .unwrap();
    pc.system_notification().delete(list[2].id).await.unwrap();
    until("the phone follows", || async {
        let held = phone.system_notification().fetch(10, None).await.unwrap();
        held.len() == 2 && held[0].read && held[1].status == 3
    })
    .await;
    assert_eq!(phone.system_notification().unread_count().await.unwrap(), 1);
    phone.system_notification().mark_all_read().await.unwrap();
    until("all read on the pc", || async {
        pc.system_notification().unread_count().await.unwrap() == 0
    })
    .await;
    phone.system_notification().delete_all().await.unwrap();
    until("none left on the pc", || async {
        pc.system_notification()
            .fetch(10, None)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_changes_reach_friends() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let carol = server.login_new("carol").await.unwrap();
    alice.relation().request_friend("bob", 1, "").await.unwrap();
    let mut bob_events = bob.events();
    let mut carol_events = carol.events();
    alice
        .user()
        .update_my_info(UserInfoUpdate {
            nick: Some("Alice A.".into()),
            ..UserInfoUpdate::default()
        })
        .await
        .unwrap();
    let seen = wait_for(&mut bob_events, |e| match e {
        Event::UserInfoUpdated(list) => Some(list.to_vec()),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(
        (seen[0].account.as_str(), seen[0].nick.as_str()),
        ("alice", "Alice A.")
    );
    assert_eq!(
        bob.user().user_info("alice").await.unwrap().unwrap().nick,
        "Alice A."
    );
    // Not a friend: nothing pushed (a later event to carol comes first).
    bob.relation().request_friend("carol", 2, "").await.unwrap();
    let first = wait_for(&mut carol_events, |e| match e {
        Event::UserInfoUpdated(_) => Some(false),
        Event::SystemNotification(_) => Some(true),
        _ => None,
    })
    .await
    .unwrap();
    assert!(first, "carol heard of alice's profile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_notifications_online_kept_and_limited() {
    let server = TestServer::start_with(|c| {
        c.custom_notifications_per_window = 6;
        c.custom_notification_window_secs = 60.0;
        c.custom_notifications_kept_per_account = 2;
    })
    .await
    .unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = server.device(client_type::PC).unwrap();
    let mut bob_events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    alice
        .system_notification()
        .send_custom("bob", r#"{"typing":true}"#, true, "")
        .await
        .unwrap();
    let got = custom(&mut bob_events).await;
    assert_eq!(
        (got.from.as_str(), got.content.as_str()),
        ("alice", r#"{"typing":true}"#)
    );

    // Bob offline: the online-only one is dropped, the others are kept
    // (the oldest past the cap of 2 goes) and come at his next login.
    bob.login().logout().await.unwrap();
    let notifications = alice.system_notification();
    let err = notifications
        .send_custom("bob", "{oops", false, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), 414);
    let err = notifications
        .send_custom("nobody", "{}", false, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), 404);
    notifications
        .send_custom("bob", r#"{"n":0}"#, true, "")
        .await
        .unwrap();
    for n in 1..=3 {
        notifications
            .send_custom("bob", &format!(r#"{{"n":{n}}}"#), false, "ping")
            .await
            .unwrap();
    }
    // Six this window (the refused-as-unknown one counts): the seventh is
    // too many.
    let err = notifications
        .send_custom("bob", "{}", false, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), 416, "{err}");

    let again = server.device(client_type::PC).unwrap();
    let mut events = again.events();
    again.login().login("bob", &bob_token).await.unwrap();
    let mut contents = Vec::new();
    while contents.len() < 2 {
        contents.push(custom(&mut events).await.content);
    }
    assert_eq!(contents, [r#"{"n":2}"#, r#"{"n":3}"#]);

    // From the app's backend.
    let answer = server
        .api()
        .post(
            "/nimserver/msg/sendAttachMsg.action",
            &[
                ("from", "alice"),
                ("msgtype", "0"),
                ("to", "bob"),
                ("attach", r#"{"from":"backend"}"#),
                ("save", "1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(answer["code"], 200, "{answer}");
    assert_eq!(custom(&mut events).await.content, r#"{"from":"backend"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_brings_friends_lists_and_notifications() {
    let server = TestServer::start_with(|c| {
        c.event_log_max_events_per_account = 1;
        c.event_log_trim_interval_secs = 0.1;
    })
    .await
    .unwrap();
    let token = server.create_account("alice").await.unwrap();
    let pc = server.device(client_type::PC).unwrap();
    pc.login().login("alice", &token).await.unwrap();
    let phone = server.device(client_type::IOS).unwrap();
    phone.login().login("alice", &token).await.unwrap();
    phone.login().logout().await.unwrap();

    let bob = server.login_new("bob").await.unwrap();
    server.create_account("carol").await.unwrap();
    server.create_account("dave").await.unwrap();
    bob.relation()
        .request_friend("alice", 2, "hello")
        .await
        .unwrap();
    pc.relation().request_friend("dave", 1, "").await.unwrap();
    pc.relation().set_blacklisted("carol", true).await.unwrap();
    pc.relation().set_muted("bob", true).await.unwrap();
    server.wait_trimmed("alice", 2).await.unwrap();

    let mut events = phone.events();
    phone.login().login("alice", &token).await.unwrap();
    wait_for(&mut events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    let friends: Vec<String> = phone
        .relation()
        .my_friends()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.account)
        .collect();
    assert_eq!(friends, ["dave"]);
    assert_eq!(phone.relation().blacklist().await.unwrap(), ["carol"]);
    assert_eq!(phone.relation().mute_list().await.unwrap(), ["bob"]);
    let notes = phone.system_notification().fetch(10, None).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].from.as_str(), notes[0].postscript.as_str()),
        ("bob", "hello")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_backend_manages_relations_through_the_server_api() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    server.create_account("bob").await.unwrap();
    let mut events = alice.events();
    let api = server.api();
    let post = |path: &'static str, form: Vec<(&'static str, &'static str)>| {
        let api = api.clone();
        async move { api.post(path, &form).await.unwrap() }
    };
    let added = post(
        "/nimserver/friend/add.action",
        vec![
            ("accid", "alice"),
            ("faccid", "bob"),
            ("type", "1"),
            ("msg", "hi"),
        ],
    )
    .await;
    assert_eq!(added["code"], 200, "{added}");
    friends_changed(&mut events).await;
    assert!(alice.relation().is_my_friend("bob").await.unwrap());
    let updated = post(
        "/nimserver/friend/update.action",
        vec![("accid", "alice"), ("faccid", "bob"), ("alias", "B")],
    )
    .await;
    assert_eq!(updated["code"], 200, "{updated}");
    let got = post("/nimserver/friend/get.action", vec![("accid", "alice")]).await;
    assert_eq!(got["size"], 1, "{got}");
    assert_eq!(got["friends"][0]["faccid"], "bob");
    assert_eq!(got["friends"][0]["alias"], "B");
    let set = post(
        "/nimserver/user/setSpecialRelation.action",
        vec![
            ("accid", "alice"),
            ("targetAcc", "bob"),
            ("relationType", "1"),
            ("value", "1"),
        ],
    )
    .await;
    assert_eq!(set["code"], 200, "{set}");
    let lists = post(
        "/nimserver/user/listBlackAndMuteList.action",
        vec![("accid", "alice")],
    )
    .await;
    assert_eq!(lists["blacklist"], serde_json::json!(["bob"]), "{lists}");
    assert_eq!(lists["mutelist"], serde_json::json!([]));
    until("alice's device holds the blacklist", || async {
        alice.relation().is_blacklisted("bob").await.unwrap()
    })
    .await;
    for (form, code) in [
        (
            vec![("accid", "nobody"), ("faccid", "bob"), ("type", "1")],
            404,
        ),
        (
            vec![("accid", "alice"), ("faccid", "alice"), ("type", "1")],
            414,
        ),
        (
            vec![("accid", "alice"), ("faccid", "bob"), ("type", "x")],
            414,
        ),
        (
            vec![("accid", "alice"), ("faccid", "bob"), ("type", "7")],
            414,
        ),
    ] {
        let answer = post("/nimserver/friend/add.action", form).await;
        assert_eq!(answer["code"], code, "{answer}");
    }
    let bad = post(
        "/nimserver/user/setSpecialRelation.action",
        vec![
            ("accid", "alice"),
            ("targetAcc", "bob"),
            ("relationType", "3"),
            ("value", "1"),
        ],
    )
    .await;
    assert_eq!(bad["code"], 414, "{bad}");
    let deleted = post(
        "/nimserver/friend/delete.action",
        vec![("accid", "bob"), ("faccid", "alice")],
    )
    .await;
    assert_eq!(deleted["code"], 200, "{deleted}");
    let again = post(
        "/nimserver/friend/delete.action",
        vec![("accid", "bob"), ("faccid", "alice")],
    )
    .await;
    assert_eq!(again["code"], 404, "{again}");
}

/// A reload reads each list page by page, so no answer outgrows a frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_notifications_come_in_pages() {
    use tidings_proto::{ListNotifications, ListRelations};
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let alice = server.device(client_type::PC).unwrap();
    alice.login().login("alice", &token).await.unwrap();
    let mut events = alice.events();
    for who in ["u1", "u2", "u3", "u4", "u5"] {
        let other = server.login_new(who).await.unwrap();
        other
            .relation()
            .request_friend("alice", 2, "")
            .await
            .unwrap();
        notified(&mut events).await;
        alice.relation().set_blacklisted(who, true).await.unwrap();
    }
    let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
    raw.login(&server.app_key, "alice", &token).await.unwrap();
    let mut after = String::new();
    let mut pages = Vec::new();
    loop {
        let answer = raw
            .call(ListRelations {
                relation: 1,
                after: after.clone(),
                limit: 2,
            })
            .await
            .unwrap();
        let page = answer.into_relations().unwrap();
        after = page.blacklist.last().cloned().unwrap_or_default();
        pages.push(page.blacklist.clone());
        if !page.has_more {
            break;
        }
    }
    assert_eq!(pages, [vec!["u1", "u2"], vec!["u3", "u4"], vec!["u5"]]);
    let bad = raw
        .call(ListRelations {
            relation: 7,
            after: String::new(),
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(bad.code, 414);

    let mut before = 0;
    let mut from = Vec::new();
    loop {
        let answer = raw
            .call(ListNotifications { limit: 2, before })
            .await
            .unwrap();
        let page = answer.into_notifications().unwrap();
        before = page.notifications.last().map_or(0, |n| n.id);
        from.extend(page.notifications.iter().map(|n| n.from.clone()));
        if !page.has_more {
            break;
        }
    }
    assert_eq!(from, ["u5", "u4", "u3", "u2", "u1"]);
}

/// An account of another app names this app's accounts in vain: they do
/// not exist there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_apps_account_reaches_no_one_here() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let head = server.log_head("alice").await.unwrap();
    let api = server.api();
    let created = api
        .admin_post(
            &server.admin_token(),
            "/admin/app/create",
            &[("name", "second")],
        )
        .await
        .unwrap();
    let key = created["info"]["appKey"].as_str().unwrap().to_owned();
    let secret = created["info"]["appSecret"].as_str().unwrap().to_owned();
    let other = ServerApi::new(&format!("http://{}", server.http_addr), &key, &secret);
    let answer = other
        .post("/nimserver/user/create.action", &[("accid", "mallory")])
        .await
        .unwrap();
    let token = answer["info"]["token"].as_str().unwrap().to_owned();
    let mut config = server.client_config(Transport::Tcp);
    config.app_key = key;
    let mallory = Client::new(config).unwrap();
    mallory.login().login("mallory", &token).await.unwrap();

    for (what, result) in [
        (
            "request",
            mallory.relation().request_friend("alice", 2, "hi").await,
        ),
        (
            "add",
            mallory.relation().request_friend("alice", 1, "").await,
        ),
        (
            "block",
            mallory.relation().set_blacklisted("alice", true).await,
        ),
        ("mute", mallory.relation().set_muted("alice", true).await),
        (
            "custom",
            mallory
                .system_notification()
                .send_custom("alice", "{}", false, "")
                .await,
        ),
    ] {
        let err = result.expect_err(what);
        assert_eq!(err.code(), 404, "{what}: {err}");
    }
    let answer = other
        .post(
            "/nimserver/friend/add.action",
            &[("accid", "mallory"), ("faccid", "alice"), ("type", "1")],
        )
        .await
        .unwrap();
    assert_eq!(answer["code"], 404, "{answer}");
    assert_eq!(
        server.log_head("alice").await.unwrap(),
        head,
        "nothing reached alice"
    );
    assert!(alice
        .system_notification()
        .fetch(10, None)
        .await
        .unwrap()
        .is_empty());
}
