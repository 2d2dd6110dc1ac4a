//! The JSON API end to end: two bridges (two apps' `nim` modules) against a
//! real server, over real sockets.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use tidings_bridge::{Bridge, NimError};
use tidings_testkit::TestServer;

struct World {
    rt: tokio::runtime::Runtime,
    server: TestServer,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(TestServer::start()).unwrap();
        World {
            rt,
            server,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn account(&self, accid: &str) -> String {
        self.rt.block_on(self.server.create_account(accid)).unwrap()
    }

    fn nim(&self, name: &str) -> Bridge {
        self.nim_as(name, "pc")
    }

    fn nim_as(&self, name: &str, client_type: &str) -> Bridge {
        let bridge = Bridge::new().unwrap();
        let config = json!({
            "appKey": self.server.app_key,
            "server": format!("http://{}", self.server.http_addr),
            "dataDir": self.dir.path().join(name).to_str().unwrap(),
            "clientType": client_type,
        });
        bridge.call_sync("init", &config.to_string()).unwrap();
        bridge
    }

    fn call(&self, nim: &Bridge, method: &str, params: Value) -> Result<Value, NimError> {
        self.rt.block_on(nim.call_async(method, params))
    }
}

fn listen(nim: &Bridge, name: &str) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    nim.listen(
        name,
        std::sync::Arc::new(move |ret: String| {
            let _ = tx.send(serde_json::from_str(&ret).unwrap());
        }),
    )
    .unwrap();
    rx
}

fn next(rx: &mpsc::Receiver<Value>) -> Value {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("listener fired")
}

#[test]
fn two_accounts_talk_through_the_json_api() {
    let world = World::new();
    let (alice_token, bob_token) = (world.account("alice"), world.account("bob"));
    let alice = world.nim("alice");
    let bob = world.nim("bob");
    let steps = listen(&bob, "onIMLogin");
    let received = listen(&bob, "onRecvIMMessages");
    let will_send = listen(&alice, "willSendIMMessage");

    assert_eq!(alice.call_sync("isLogined", "{}").unwrap(), "false");
    let ret = world
        .call(
            &alice,
            "login",
            json!({"userId": "alice", "password": alice_token}),
        )
        .unwrap();
    assert_eq!(ret, json!({"status": true, "userId": "alice"}));
    assert_eq!(alice.call_sync("isLogined", "").unwrap(), "true");
    world
        .call(
            &bob,
            "login",
            json!({"userId": "bob", "password": bob_token}),
        )
        .unwrap();
    let mut seen = Vec::new();
    while !seen.contains(&8) {
        seen.push(next(&steps)["step"].as_u64().unwrap());
    }
    assert!(seen.starts_with(&[1, 2, 4, 5]), "{seen:?}");

    let ret = world
        .call(
            &alice,
            "sendText",
            json!({"sessionId": "bob", "sessionType": 0, "content": "hi bob", "ext": {"k": 1}}),
        )
        .unwrap();
    assert_eq!(ret["status"], true);
    let message = &ret["message"];
    assert_eq!(message["messageType"], 0);
    assert_eq!(message["from"], "alice");
    assert_eq!(message["text"], "hi bob");
    assert_eq!(message["sessionId"], "bob");
    assert_eq!(message["sessionType"], 0);
    assert_eq!(message["ext"], json!({"k": 1}));
    assert!(message["timestamp"].as_i64().unwrap() > 0);
    assert!(message["messageId"].as_str().unwrap().len() >= 16);

    let will = next(&will_send);
    assert_eq!(will["messageId"], message["messageId"]);
    assert_eq!(
        (will["content"].as_str(), will["sessionType"].as_u64()),
        (Some("hi bob"), Some(0))
    );

    let got = next(&received);
    let m = &got["messages"][0];
    assert_eq!(
        (
            m["text"].as_str(),
            m["from"].as_str(),
            m["sessionId"].as_str()
        ),
        (Some("hi bob"), Some("alice"), Some("alice"))
    );
    assert_eq!(m["messageId"], message["messageId"]);
    assert_eq!(m["ext"], json!({"k": 1}));

    world
        .call(
            &alice,
            "sendTips",
            json!({"sessionId": "bob", "sessionType": 0, "content": "a tip"}),
        )
        .unwrap();
    world
        .call(
            &alice,
            "sendCustomMessage",
            json!({"sessionId": "bob", "sessionType": 0, "attachment": {"card": 7}}),
        )
        .unwrap();
    let mut texts = Vec::new();
    while texts.len() < 2 {
        for m in next(&received)["messages"].as_array().unwrap() {
            texts.push((
                m["messageType"].as_u64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(texts, vec![(10, "a tip".to_owned()), (100, String::new())]);

    let recent = world.call(&bob, "allRecentSession", json!({})).unwrap();
    let sessions = recent["messages"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["sessionType"], 0);
    assert_eq!(sessions[0]["unreadCount"], 3);
    assert_eq!(sessions[0]["lastMessage"]["messageType"], 100);
    assert_eq!(sessions[0]["lastMessage"]["attachment"], json!({"card": 7}));

    let history = world
        .call(
            &bob,
            "queryMessageHistory",
            json!({"sessionId": "alice", "sessionType": 0, "limit": "10"}),
        )
        .unwrap();
    let kinds: Vec<u64> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["messageType"].as_u64().unwrap())
        .collect();
    assert_eq!(kinds, vec![0, 10, 100]);
    let first_id = history["messages"][1]["messageId"].clone();
    let before = world
        .call(
            &bob,
            "queryMessageHistory",
            json!({"sessionId": "alice", "sessionType": 0, "messageId": first_id}),
        )
        .unwrap();
    assert_eq!(before["messages"].as_array().unwrap().len(), 1);
    let tips = world
        .call(
            &bob,
            "queryMessageHistoryByTyps",
            json!({"sessionId": "alice", "sessionType": 0, "types": [10]}),
        )
        .unwrap();
    assert_eq!(tips["messages"].as_array().unwrap().len(), 1);
    assert_eq!(tips["messages"][0]["text"], "a tip");

    world
        .call(
            &bob,
            "markAllMessagesReadInSession",
            json!({"sessionId": "alice", "sessionType": 0}),
        )
        .unwrap();
    let recent = world.call(&bob, "allRecentSession", json!({})).unwrap();
    assert_eq!(recent["messages"][0]["unreadCount"], 0);
    world
        .call(
            &bob,
            "deleteRecentSession",
            json!({"sessionId": "alice", "sessionType": 0}),
        )
        .unwrap();
    let recent = world.call(&bob, "allRecentSession", json!({})).unwrap();
    assert_eq!(recent["messages"], json!([]));
    let err = world
        .call(
            &bob,
            "deleteRecentSession",
            json!({"sessionId": "alice", "sessionType": 0}),
        )
        .unwrap_err();
    assert_eq!(err.error_code, 404);

    assert_eq!(
        world.call(&alice, "logout", json!({})).unwrap(),
        json!({"status": true})
    );
    assert_eq!(alice.call_sync("isLogined", "{}").unwrap(), "false");
}

#[test]
fn kicks_reach_on_kick() {
    let world = World::new();
    let token = world.account("carol");
    let first = world.nim("carol-1");
    let kicked = listen(&first, "onKick");
    world
        .call(
            &first,
            "login",
            json!({"userId": "carol", "password": token}),
        )
        .unwrap();
    let second = world.nim("carol-2");
    world
        .call(
            &second,
            "login",
            json!({"userId": "carol", "password": token}),
        )
        .unwrap();
    assert_eq!(next(&kicked), json!({"code": 1}));
}

#[test]
fn errors_are_clear_and_typed() {
    let world = World::new();
    let token = world.account("dave");
    let nim = Bridge::new().unwrap();
    // Before init.
    let err = world
        .call(&nim, "login", json!({"userId": "dave", "password": token}))
        .unwrap_err();
    assert_eq!(err.error_code, 414);
    assert!(err.error_message.contains("init"));
    // Bad init.
    for (config, needle) in [
        (
            json!({"server": "127.0.0.1:1", "dataDir": "/tmp/x"}),
            "appKey",
        ),
        (
            json!({"appKey": "k", "server": "nowhere", "dataDir": "/tmp/x"}),
            "server",
        ),
        (
            json!({"appKey": "k", "server": "127.0.0.1:1", "dataDir": "/tmp/x", "clientType": "toaster"}),
            "clientType",
        ),
        (
            json!({"appKey": 5, "server": "127.0.0.1:1", "dataDir": "/tmp/x"}),
            "appKey must be a string",
        ),
    ] {
        let err: Value =
            serde_json::from_str(&nim.call_sync("init", &config.to_string()).unwrap_err()).unwrap();
        assert_eq!(err["errorCode"], 414);
        assert!(
            err["errorMessage"].as_str().unwrap().contains(needle),
            "{err}"
        );
    }
    let err: Value = serde_json::from_str(&nim.call_sync("init", "not json").unwrap_err()).unwrap();
    assert_eq!(err["errorCode"], 414);

    let nim = world.nim("dave");
    let err = world
        .call(&nim, "login", json!({"userId": "dave"}))
        .unwrap_err();
    assert_eq!(
        (err.error_code, err.error_message.as_str()),
        (414, "password is required")
    );
    let err = world
        .call(
            &nim,
            "login",
            json!({"userId": "dave", "password": "wrong"}),
        )
        .unwrap_err();
    assert_eq!(err.error_code, 302);
    world
        .call(&nim, "login", json!({"userId": "dave", "password": token}))
        .unwrap();

    let err = world
        .call(
            &nim,
            "sendText",
            json!({"sessionId": "bob", "content": "x"}),
        )
        .unwrap_err();
    assert_eq!(
        (err.error_code, err.error_message.as_str()),
        (414, "sessionType is required")
    );
    let err = world
        .call(
            &nim,
            "sendText",
            json!({"sessionId": "bob", "sessionType": "zero", "content": "x"}),
        )
        .unwrap_err();
    assert_eq!(err.error_code, 414);
    let err = world
        .call(
            &nim,
            "sendText",
            json!({"sessionId": "nobody", "sessionType": 0, "content": "x"}),
        )
        .unwrap_err();
    assert_eq!(err.error_code, 404, "{}", err.error_message);
    let err = world
        .call(
            &nim,
            "sendText",
            json!({"sessionId": "dave", "sessionType": 0, "content": "x", "ext": "no"}),
        )
        .unwrap_err();
    assert_eq!(
        (err.error_code, err.error_message.as_str()),
        (414, "ext must be an object")
    );
    let err = world
        .call(
            &nim,
            "queryMessageHistory",
            json!({"sessionId": "x", "sessionType": 0, "limit": 500}),
        )
        .unwrap_err();
    assert_eq!(err.error_code, 414);

    let err = world
        .call(&nim, "createTeam", json!({"name": "t", "users": []}))
        .unwrap_err();
    assert_eq!(err.error_code, tidings_bridge::NOT_SUPPORTED);
    assert!(err.error_message.contains("not supported yet"));
    let err = world.call(&nim, "makeCoffee", json!({})).unwrap_err();
    assert_eq!(err.error_code, 404);
    let err: Value = serde_json::from_str(
        &nim.listen("onIMTeamRemoved", std::sync::Arc::new(|_| {}))
            .unwrap_err(),
    )
    .unwrap();
    assert_eq!(err["errorCode"], 501);
    let err: Value = serde_json::from_str(
        &nim.listen("login", std::sync::Arc::new(|_| {}))
            .unwrap_err(),
    )
    .unwrap();
    assert_eq!(err["errorCode"], 414);
    let err = world
        .call(&nim, "login", json!("not an object"))
        .unwrap_err();
    assert_eq!(err.error_code, 414);
}

/// A host whose listener is slow loses no message: its first
/// `onRecvIMMessages` call is held until a sync has produced more events
/// than the SDK's event channel keeps (16,384), and once it returns every
/// message still reaches it, in order.
#[test]
fn a_listener_held_up_through_a_large_sync_misses_no_message() {
    const SESSIONS: usize = 20_000;
    let world = World::new();
    let bob_token = world.account("bob");
    let peers: Vec<String> = (0..SESSIONS).map(|i| format!("p{i:05}")).collect();
    world
        .rt
        .block_on(
            world
                .server
                .store_one_from_each(&peers, "bob", "while away"),
        )
        .unwrap();
    let bob = world.nim("bob");
    let (release, held) = mpsc::channel::<()>();
    let held = std::sync::Mutex::new(Some(held));
    let (got_tx, got) = mpsc::channel::<Vec<String>>();
    bob.listen(
        "onRecvIMMessages",
        std::sync::Arc::new(move |ret: String| {
            if let Some(held) = held.lock().unwrap().take() {
                let _ = held.recv();
            }
            let ret: Value = serde_json::from_str(&ret).unwrap();
            let from = ret["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["from"].as_str().unwrap().to_owned())
                .collect();
            let _ = got_tx.send(from);
        }),
    )
    .unwrap();
    world
        .call(
            &bob,
            "login",
            json!({ "userId": "bob", "password": bob_token }),
        )
        .unwrap();
    // The sync goes on while the listener is held: wait until every
    // session is in the local database.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let recent = world.call(&bob, "allRecentSession", json!({})).unwrap();
        if recent["messages"].as_array().unwrap().len() == SESSIONS {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sync did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
    release.send(()).unwrap();
    let mut from = Vec::new();
    while from.len() < SESSIONS {
        from.extend(
            got.recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| {
                    panic!("{} of {SESSIONS} messages reached the listener", from.len())
                }),
        );
    }
    from.sort();
    assert_eq!(from, peers, "each message once");
}

/// "Supported" is having a handler: every supported name answers with
/// something other than 501, even to empty params, and every supported
/// listener can be registered.
#[test]
fn every_supported_name_answers() {
    let world = World::new();
    let token = world.account("erin");
    let nim = world.nim("erin");
    world
        .call(&nim, "login", json!({"userId": "erin", "password": token}))
        .unwrap();
    let catalogue: Value = serde_json::from_str(&tidings_bridge::catalogue::to_json()).unwrap();
    let mut checked = 0;
    for entry in catalogue.as_array().unwrap() {
        if entry["supported"] != true {
            continue;
        }
        let name = entry["name"].as_str().unwrap();
        match entry["kind"].as_str().unwrap() {
            "listener" => {
                let _ = listen(&nim, name);
            }
            "sync" if name == "init" => {}
            "sync" => {
                let answer = nim.call_sync(name, "{}");
                if let Err(err) = answer {
                    let err: Value = serde_json::from_str(&err).unwrap();
                    assert_ne!(err["errorCode"], 501, "{name}: {err}");
                }
            }
            _ if name == "logout" => {}
            _ => {
                if let Err(err) = world.call(&nim, name, json!({})) {
                    assert_ne!(err.error_code, 501, "{name}: {}", err.error_message);
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

#[test]
fn profiles_through_the_json_api() {
    let world = World::new();
    let frank_token = world.account("frank");
    let grace_token = world.account("grace");
    let frank = world.nim("frank");
    let frank_phone = world.nim_as("frank-phone", "ios");
    let grace = world.nim("grace");
    let updates = listen(&frank_phone, "onUserInfoUpdate");
    for nim in [&frank, &frank_phone] {
        world
            .call(
                nim,
                "login",
                json!({"userId": "frank", "password": frank_token}),
            )
            .unwrap();
    }
    world
        .call(
            &grace,
            "login",
            json!({"userId": "grace", "password": grace_token}),
        )
        .unwrap();

    let ret = world
        .call(
            &frank,
            "updateMyUserInfo",
            json!({
                "nickname": "Frank",
                "avatar": "https://example.com/f.png",
                "gender": 1,
                "email": "frank@example.com",
                "birth": "1985-07-04",
                "mobile": "13588888888",
                "ext": {"level": 3},
            }),
        )
        .unwrap();
    assert_eq!(ret, json!({"status": true}));
    // My other device hears of it, one call per user.
    let heard = next(&updates);
    assert_eq!(heard["account"], "frank");
    assert_eq!(heard["nickName"], "Frank");
    assert_eq!(heard["birth"], "1985-07-04");
    let bad = world
        .call(&frank, "updateMyUserInfo", json!({"email": "frank@"}))
        .unwrap_err();
    assert_eq!(bad.error_code, 414);
    assert!(bad.error_message.contains("email"), "{}", bad.error_message);

    let fetched = world
        .call(
            &grace,
            "fetchUserInfos",
            json!({"userIds": ["frank", "nobody"]}),
        )
        .unwrap();
    let users = fetched["message"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["account"], "frank");
    assert_eq!(users[0]["nickName"], "Frank");
    assert_eq!(users[0]["avatarUrl"], "https://example.com/f.png");
    assert_eq!(users[0]["gender"], 1);
    assert_eq!(users[0]["ext"], r#"{"level":3}"#);
    // The seed's example passes `userId`: taken too.
    let one = world
        .call(&grace, "fetchUserInfos", json!({"userId": "frank"}))
        .unwrap();
    assert_eq!(one["message"].as_array().unwrap().len(), 1);

    let local = world
        .call(&grace, "userInfo", json!({"userId": "frank"}))
        .unwrap();
    assert_eq!(local["userId"], "frank");
    assert_eq!(local["userInfo"]["nickName"], "Frank");
    assert_eq!(local["notifyForNewMsg"], true);
    assert_eq!(local["isInMyBlackList"], false);
    let unknown = world
        .call(&grace, "userInfo", json!({"userId": "nobody"}))
        .unwrap();
    assert_eq!(unknown["userInfo"], Value::Null);
    let err = world.call(&grace, "userInfo", json!({})).unwrap_err();
    assert_eq!(err.error_code, 414);
}

#[test]
fn friends_lists_and_notifications_through_the_json_api() {
    let world = World::new();
    let hana_token = world.account("hana");
    let ivan_token = world.account("ivan");
    let hana = world.nim("hana");
    let ivan = world.nim("ivan");
    let ivan_requests = listen(&ivan, "onIMSystemMessageRecieved");
    let hana_blacklist = listen(&hana, "onBlackListChanged");
    let ivan_custom = listen(&ivan, "onCustomNotification");
    world
        .call(
            &hana,
            "login",
            json!({"userId": "hana", "password": hana_token}),
        )
        .unwrap();
    world
        .call(
            &ivan,
            "login",
            json!({"userId": "ivan", "password": ivan_token}),
        )
        .unwrap();

    let ret = world
        .call(
            &hana,
            "requestFriend",
            json!({"userId": "ivan", "operation": 2, "message": "hi"}),
        )
        .unwrap();
    assert_eq!(ret, json!({"status": true}));
    let note = next(&ivan_requests);
    assert_eq!(note["type"], 5);
    assert_eq!(note["sourceID"], "hana");
    assert_eq!(note["postscript"], "hi");
    assert_eq!(note["read"], false);
    let id = note["messageId"].as_str().unwrap().to_owned();
    let listed = world
        .call(&ivan, "fetchSystemNotifications", json!({"limit": 10}))
        .unwrap();
    assert_eq!(listed["notifications"][0]["status"], 0);
    let count = world
        .call(&ivan, "allNotificationsUnreadCount", json!({}))
        .unwrap();
    assert_eq!(count["count"], 1);
    world
        .call(&ivan, "setSystemMessageRead", json!({"messageId": id}))
        .unwrap();
    world
        .call(
            &ivan,
            "requestFriend",
            json!({"userId": "hana", "operation": 3, "message": ""}),
        )
        .unwrap();
    let friends = world.call(&ivan, "myFriends", json!({})).unwrap();
    assert_eq!(friends["users"][0]["account"], "hana");
    assert!(
        ivan.call_sync("isMyFriend", r#"{"account":"hana"}"#)
            .unwrap()
            == "true"
    );
    assert!(
        ivan.call_sync("isMyFriend", r#"{"account":"nobody"}"#)
            .unwrap()
            == "false"
    );
    let fetched = world
        .call(&ivan, "fetchSystemNotifications", json!({}))
        .unwrap();
    assert_eq!(fetched["notifications"][0]["status"], 1, "{fetched}");
    assert_eq!(fetched["notifications"][0]["read"], true);
    world
        .call(
            &ivan,
            "setSystemMessageStatus",
            json!({"messageId": id, "messageStatus": "6"}),
        )
        .unwrap();
    world
        .call(&ivan, "deleteSystemMessage", json!({"messageId": id}))
        .unwrap();
    world
        .call(&ivan, "markAllNotificationsAsRead", json!({}))
        .unwrap();
    world
        .call(&ivan, "deleteAllNotifications", json!({}))
        .unwrap();
    let empty = world
        .call(&ivan, "fetchSystemNotifications", json!({}))
        .unwrap();
    assert_eq!(empty["notifications"], json!([]));

    world
        .call(&hana, "addToBlackList", json!({"userId": "ivan"}))
        .unwrap();
    let changed = next(&hana_blacklist);
    assert_eq!(changed["userId"], "ivan");
    assert_eq!(changed["isInBlackList"], true);
    let inside = world
        .call(&hana, "isUserInBlackList", json!({"userId": "ivan"}))
        .unwrap();
    assert_eq!(inside["status"], true);
    let card = world
        .call(&hana, "userInfo", json!({"userId": "ivan"}))
        .unwrap();
    assert_eq!(card["isInMyBlackList"], true, "{card}");
    let list = world.call(&hana, "myBlackList", json!({})).unwrap();
    assert_eq!(list["users"][0]["account"], "ivan");
    let refused = world
        .call(
            &ivan,
            "sendText",
            json!({"sessionId": "hana", "sessionType": 0, "content": "?"}),
        )
        .unwrap_err();
    assert_eq!(refused.error_code, 7101);
    world
        .call(&hana, "removeFromBlackBlackList", json!({"userId": "ivan"}))
        .unwrap();
    world
        .call(
            &hana,
            "updateNotifyStateForUser",
            json!({"userId": "ivan", "notify": false}),
        )
        .unwrap();
    let notify = world
        .call(&hana, "notifyForNewMsgForUser", json!({"userId": "ivan"}))
        .unwrap();
    assert_eq!(notify["status"], false);
    world
        .call(&hana, "fetchUserInfos", json!({"userIds": ["ivan"]}))
        .unwrap();
    let card = world
        .call(&hana, "userInfo", json!({"userId": "ivan"}))
        .unwrap();
    assert_eq!(card["notifyForNewMsg"], false, "{card}");
    assert_eq!(card["isInMyBlackList"], false, "{card}");
    assert_eq!(card["userInfo"]["account"], "ivan", "{card}");
    let muted = world.call(&hana, "myMuteUserList", json!({})).unwrap();
    assert_eq!(muted["users"][0]["account"], "ivan");

    world
        .call(
            &hana,
            "sendCustomNotification",
            json!({"to": "ivan", "content": {"typing": true}, "onlineOnly": true}),
        )
        .unwrap();
    let custom = next(&ivan_custom);
    assert_eq!(custom["from"], "hana");
    assert_eq!(custom["content"], r#"{"typing":true}"#);

    world
        .call(&ivan, "deleteFriend", json!({"userId": "hana"}))
        .unwrap();
    let err = world
        .call(&ivan, "deleteFriend", json!({"userId": "hana"}))
        .unwrap_err();
    assert_eq!(err.error_code, 404);
    let err = world
        .call(
            &ivan,
            "requestFriend",
            json!({"userId": "ivan", "operation": 1}),
        )
        .unwrap_err();
    assert_eq!(err.error_code, 414);
    let err = world
        .call(&ivan, "setSystemMessageRead", json!({"messageId": "x"}))
        .unwrap_err();
    assert_eq!(err.error_code, 414);
}
