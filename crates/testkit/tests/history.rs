//! Cloud history end to end: pages read from the server in both
//! directions, bounded by time, filtered by type, without the messages
//! sent with historyEnabled off; for a device and for the app's backend.
#![allow(clippy::unwrap_used)]

use tidings_sdk::*;
use tidings_testkit::*;

fn texts(page: &CloudHistoryPage) -> Vec<&str> {
    page.messages.iter().map(|m| m.text.as_str()).collect()
}

/// alice and bob exchange m00..m29: every seventh kept out of history, m05
/// and m25 custom messages. Answers the acked messages in order.
async fn exchange(alice: &Client, bob: &Client) -> Vec<LocalMessage> {
    let mut sent = Vec::new();
    for i in 0..30 {
        let (from, to) = if i % 2 == 0 {
            (alice, "bob")
        } else {
            (bob, "alice")
        };
        let mut out = OutgoingMessage::text(SessionId::p2p(to), format!("m{i:02}"));
        if i % 7 == 6 {
            out.settings.history_enabled = false;
        }
        if i == 5 || i == 25 {
            out.message_type = message_type::CUSTOM;
            out.attachment = format!(r#"{{"n":{i}}}"#);
        }
        sent.push(from.chat().send(out).await.unwrap());
        // Distinct milliseconds, so that time bounds can fall between them.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    sent
}

fn in_history(i: usize) -> bool {
    i % 7 != 6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_history_pages_both_ways_within_times_and_types() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let sent = exchange(&alice, &bob).await;
    let kept: Vec<String> = (0..30)
        .filter(|&i| in_history(i))
        .map(|i| format!("m{i:02}"))
        .collect();

    // Newest first, page by page through the anchor, to the beginning.
    let mut query = CloudHistoryQuery::newest(SessionId::p2p("alice"), 10);
    let mut seen = Vec::new();
    loop {
        let page = bob.chat().fetch_history(query.clone()).await.unwrap();
        assert!(page.messages.len() <= 10);
        seen.extend(texts(&page).into_iter().map(str::to_owned));
        match (page.has_more, page.messages.last()) {
            (true, Some(last)) => query.anchor_seq = last.seq,
            _ => break,
        }
    }
    let newest_first: Vec<String> = kept.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    // Oldest first from a start time, up to an end time.
    let (start, end) = (sent[10].timestamp, sent[20].timestamp);
    let window = bob
        .chat()
        .fetch_history(CloudHistoryQuery {
            start_time: start,
            end_time: end,
            ascending: true,
            limit: 100,
            ..CloudHistoryQuery::newest(SessionId::p2p("alice"), 100)
        })
        .await
        .unwrap();
    let expected: Vec<String> = (10..=20)
        .filter(|&i| in_history(i))
        .map(|i| format!("m{i:02}"))
        .collect();
    assert_eq!(texts(&window), expected);
    assert!(!window.has_more);
    // Each message as this account sees it.
    let first = &window.messages[0];
    assert_eq!(first.session, SessionId::p2p("alice"));
    assert!(!first.is_outgoing, "m10 came from alice");
    assert_eq!(first.message_id, sent[10].message_id);
    assert!(window.messages[1].is_outgoing, "m11 is bob's");

    // By type: the custom messages only, on alice's side.
    let custom = alice
        .chat()
        .fetch_history(CloudHistoryQuery {
            message_types: vec![message_type::CUSTOM],
            ..CloudHistoryQuery::newest(SessionId::p2p("bob"), 100)
        })
        .await
        .unwrap();
    let attachments: Vec<&str> = custom
        .messages
        .iter()
        .map(|m| m.attachment.as_str())
        .collect();
    assert_eq!(attachments, [r#"{"n":25}"#, r#"{"n":5}"#]);

    // A conversation never held: nothing.
    let none = alice
        .chat()
        .fetch_history(CloudHistoryQuery::newest(SessionId::p2p("nobody"), 10))
        .await
        .unwrap();
    assert!(none.messages.is_empty() && !none.has_more);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_history_requests_are_refused() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bad = |query: CloudHistoryQuery| {
        let alice = alice.clone();
        async move { alice.chat().fetch_history(query).await.unwrap_err() }
    };
    let base = CloudHistoryQuery::newest(SessionId::p2p("bob"), 10);
    for limit in [0, 101] {
        let err = bad(CloudHistoryQuery {
            limit,
            ..base.clone()
        })
        .await;
        assert!(err.to_string().contains("limit"), "{err}");
    }
    // The server checks the rest.
    let err = bad(CloudHistoryQuery {
        start_time: 100,
        end_time: 50,
        ..base.clone()
    })
    .await;
    assert_eq!(err.code(), 414, "{err}");
    let err = bad(CloudHistoryQuery {
        session: SessionId {
            kind: SessionType::Chatroom,
            id: "room".into(),
        },
        ..base.clone()
    })
    .await;
    assert_eq!(err.code(), 414, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_history_comes_without_events_and_is_kept_once() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    exchange(&alice, &bob).await;
    let mut events = bob.events();
    let page = bob
        .chat()
        .fetch_history(CloudHistoryQuery {
            save: true,
            ..CloudHistoryQuery::newest(SessionId::p2p("alice"), 100)
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 26);
    // The same messages were already here by sync: nothing doubled, and no
    // event says otherwise (a send after it is the next thing seen).
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "marker")
        .await
        .unwrap();
    let next = receive(&mut events, 1).await.unwrap();
    assert_eq!(next[0].text, "marker");
    let local = whole_history(&bob, &SessionId::p2p("alice")).await.unwrap();
    assert_eq!(local.len(), 31);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_backend_reads_history_through_the_server_api() {
    let server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let sent = exchange(&alice, &bob).await;
    let api = server.api();
    let (begin, end) = (
        sent[0].timestamp.to_string(),
        sent[29].timestamp.to_string(),
    );
    let query = |extra: Vec<(&'static str, String)>| {
        let api = api.clone();
        let (begin, end) = (begin.clone(), end.clone());
        async move {
            let mut form: Vec<(&str, String)> = vec![
                ("from", "alice".into()),
                ("to", "bob".into()),
                ("begintime", begin),
                ("endtime", end),
                ("limit", "5".into()),
            ];
            form.extend(extra);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.post("/nimserver/history/querySessionMsg.action", &form)
                .await
                .unwrap()
        }
    };
    let newest = query(vec![]).await;
    assert_eq!(newest["code"], 200, "{newest}");
    assert_eq!(newest["size"], 5);
    let bodies: Vec<&str> = newest["msgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["m29", "m28", "m26", "m25", "m24"]);
    assert_eq!(newest["msgs"][0]["from"], "bob");
    assert_eq!(
        newest["msgs"][0]["msgidclient"],
        sent[29].message_id.as_str()
    );
    assert_eq!(newest["msgs"][0]["msgid"], sent[29].server_id);
    assert_eq!(newest["msgs"][0]["sendtime"], sent[29].timestamp);

    let oldest = query(vec![("reverse", "1".into()), ("type", "0".into())]).await;
    let bodies: Vec<&str> = oldest["msgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["m00", "m01", "m02", "m03", "m04"]);

    for (field, value) in [
        ("limit", "0"),
        ("limit", "101"),
        ("reverse", "3"),
        ("type", "x"),
        ("begintime", "soon"),
    ] {
        let refused = query(vec![(field, value.into())]).await;
        assert_eq!(refused["code"], 414, "{field}={value}: {refused}");
    }
    let unknown = api
        .post(
            "/nimserver/history/querySessionMsg.action",
            &[
                ("from", "nobody"),
                ("to", "bob"),
                ("begintime", "0"),
                ("endtime", "0"),
                ("limit", "5"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(unknown["code"], 404, "{unknown}");
}
