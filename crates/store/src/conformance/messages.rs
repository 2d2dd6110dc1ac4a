//! [`MessageStore`](crate::MessageStore)'s conformance checks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::helpers::*;
use crate::*;

pub async fn append_assigns_gapless_sequences(store: Arc<impl Store>) {
    let mut last_id = 0;
    for i in 1..=5u64 {
        let (from, to) = if i % 2 == 0 { ("x", "y") } else { ("y", "x") };
        let got = store
            .append_message(text("a", from, to, &format!("m{i}")))
            .await
            .unwrap();
        assert!(!got.duplicate);
        assert_eq!(got.stored.seq, i);
        assert!(got.stored.server_id > last_id, "server ids increase");
        assert!(got.stored.timestamp > 0);
        last_id = got.stored.server_id;
    }
    // Another conversation starts at 1.
    let other = store
        .append_message(text("a", "x", "z", "m1"))
        .await
        .unwrap();
    assert_eq!(other.stored.seq, 1);
    // So does the same pair in another app.
    let other_app = store
        .append_message(text("b", "x", "y", "m1"))
        .await
        .unwrap();
    assert_eq!(other_app.stored.seq, 1);
}

pub async fn append_is_idempotent_on_client_id(store: Arc<impl Store>) {
    let first = store
        .append_message(text("a", "x", "y", "c1"))
        .await
        .unwrap();
    let again = store
        .append_message(text("a", "x", "y", "c1"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.stored, first.stored);
    // The same client id from another sender is another message.
    let other = store
        .append_message(text("a", "y", "x", "c1"))
        .await
        .unwrap();
    assert!(!other.duplicate);
    assert_eq!(other.stored.seq, 2);
    // The same sender's client id in another conversation is another
    // message too, and a resend of either finds its own original.
    let elsewhere = store
        .append_message(text("a", "x", "z", "c1"))
        .await
        .unwrap();
    assert!(!elsewhere.duplicate);
    assert_eq!(
        (elsewhere.stored.seq, elsewhere.stored.message.to.as_str()),
        (1, "z")
    );
    for (to, original) in [("y", &first), ("z", &elsewhere)] {
        let again = store
            .append_message(text("a", "x", to, "c1"))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(again.stored, original.stored);
    }
    // In another app, the same names are strangers.
    let other_app = store
        .append_message(text("b", "x", "y", "c1"))
        .await
        .unwrap();
    assert!(!other_app.duplicate);
    assert_eq!(store.message_count("a").await.unwrap(), 3);
}

pub async fn concurrent_appends_keep_sequences_gapless(store: Arc<impl Store>) {
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let (from, to) = if i % 2 == 0 { ("p", "q") } else { ("q", "p") };
            let client_id = format!("c{}", i % 150); // some resends
            store
                .append_message(text("a", from, to, &client_id))
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = store
        .messages_after("a", &p2p_conversation("p", "q"), 0, 1000)
        .await
        .unwrap();
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    let expected: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(seqs, expected);
    // 150 distinct ids per sender parity: i%150 over even i and odd i.
    let mut keys: Vec<(String, String)> = all
        .iter()
        .map(|m| (m.message.from.clone(), m.message.client_id.clone()))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "no message stored twice");
    assert_eq!(n, 150);
}

pub async fn conversations_of_lists_both_sides(store: Arc<impl Store>) {
    store
        .append_message(text("a", "u1", "u2", "1"))
        .await
        .unwrap();
    store
        .append_message(text("a", "u2", "u1", "2"))
        .await
        .unwrap();
    store
        .append_message(text("a", "u1", "u3", "3"))
        .await
        .unwrap();
    let mut of_u1 = store
        .conversations_of("a", "u1", &SessionRange::all())
        .await
        .unwrap();
    of_u1.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    assert_eq!(of_u1.len(), 2);
    assert_eq!((of_u1[0].session_id.as_str(), of_u1[0].last_seq), ("u2", 2));
    assert_eq!((of_u1[1].session_id.as_str(), of_u1[1].last_seq), ("u3", 1));
    let of_u3 = store
        .conversations_of("a", "u3", &SessionRange::all())
        .await
        .unwrap();
    assert_eq!(of_u3.len(), 1);
    assert_eq!(of_u3[0].session_id, "u1");
    assert!(store
        .conversations_of("b", "u1", &SessionRange::all())
        .await
        .unwrap()
        .is_empty());
}

/// The store records the members the message service names, with the
/// session id each sees, when the conversation opens; it adds nobody
/// itself, and later messages change nothing.
pub async fn members_are_recorded_as_named(store: Arc<impl Store>) {
    let mut unnamed = text("a", "u1", "u2", "1");
    unnamed.members = Members::Recorded;
    store.append_message(unnamed).await.unwrap();
    for accid in ["u1", "u2"] {
        let of = store
            .conversations_of("a", accid, &SessionRange::all())
            .await
            .unwrap();
        assert!(of.is_empty(), "{accid} was recorded by the store itself");
    }
    let mut named = text("a", "u3", "u4", "2");
    named.conversation = "team:t1".into();
    named.session_type = 1;
    named.members = Members::Listed(vec![
        Member {
            accid: "u3".into(),
            session_id: "t1".into(),
        },
        Member {
            accid: "u5".into(),
            session_id: "t1".into(),
        },
    ]);
    store.append_message(named.clone()).await.unwrap();
    let mut later = named;
    later.client_id = "3".into();
    later.members = Members::Listed(vec![Member {
        accid: "u6".into(),
        session_id: "t1".into(),
    }]);
    store.append_message(later).await.unwrap();
    for (accid, expected) in [("u3", 1), ("u4", 0), ("u5", 1), ("u6", 0)] {
        let of = store
            .conversations_of("a", accid, &SessionRange::all())
            .await
            .unwrap();
        assert_eq!(of.len(), expected, "conversations of {accid}");
        if let Some(c) = of.first() {
            assert_eq!((c.session_type, c.session_id.as_str()), (1, "t1"));
            assert_eq!(c.last_seq, 2);
        }
    }
}

pub async fn conversations_of_a_range_compare_ids_bytewise(store: Arc<impl Store>) {
    // Bytewise, "U5" < "u2" < "u3" < "u4" < "é" (a locale would put
    // "U5" last or "é" first).
    for (i, peer) in ["u3", "é", "u2", "U5", "u4"].iter().enumerate() {
        store
            .append_message(text("a", "me", peer, &format!("{i}")))
            .await
            .unwrap();
    }
    store
        .append_message(text("a", "other", "u9", "x"))
        .await
        .unwrap();
    let key = |id: &str| Some((0, id.to_owned()));
    let ids = |range: SessionRange| {
        let store = store.clone();
        async move {
            let got = store.conversations_of("a", "me", &range).await.unwrap();
            got.into_iter().map(|c| c.session_id).collect::<Vec<_>>()
        }
    };
    let all = ids(SessionRange::all()).await;
    assert_eq!(all, ["U5", "u2", "u3", "u4", "é"], "in the range's order");
    let cases = [
        (None, key("u2"), vec!["U5"]),
        (key("u2"), key("u4"), vec!["u2", "u3"]),
        (key("u3"), None, vec!["u3", "u4", "é"]),
        (key("u35"), key("u4"), vec![]),
        (
            None,
            Some((1, String::new())),
            vec!["U5", "u2", "u3", "u4", "é"],
        ),
        (Some((1, String::new())), None, vec![]),
    ];
    for (from, until, expected) in cases {
        let range = SessionRange { from, until };
        assert_eq!(ids(range.clone()).await, expected, "{range:?}");
    }
}

pub async fn messages_after_pages_in_order(store: Arc<impl Store>) {
    for i in 0..10 {
        store
            .append_message(text("a", "m", "n", &format!("{i}")))
            .await
            .unwrap();
    }
    let conv = p2p_conversation("m", "n");
    let page = store.messages_after("a", &conv, 3, 4).await.unwrap();
    let seqs: Vec<u64> = page.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![4, 5, 6, 7]);
    assert_eq!(page[0].message.client_id, "3");
    assert_eq!(page[0].message.text, "hello 3");
    assert!(store
        .messages_after("a", &conv, 10, 4)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .messages_after("b", &conv, 0, 4)
        .await
        .unwrap()
        .is_empty());
}

pub async fn batch_append_keeps_order_and_dedups_within_batch(store: Arc<impl Store>) {
    let batch = vec![
        text("a", "s", "t", "1"),
        text("a", "s", "t", "2"),
        text("a", "s", "t", "1"),
        text("a", "t", "s", "1"),
    ];
    let got = store.append_messages(batch).await.unwrap();
    let seqs: Vec<(u64, bool)> = got.iter().map(|a| (a.stored.seq, a.duplicate)).collect();
    assert_eq!(seqs, vec![(1, false), (2, false), (1, true), (3, false)]);
    store.flush().await.unwrap();
    assert_eq!(store.message_count("a").await.unwrap(), 3);
}

/// Long batches (a backend may claim their keys many at a time) with
/// resends at every kind of place: of committed messages, of earlier
/// sends of the same batch near and far, at the first and last place,
/// twice in a row; checked against a model of the rules.
pub async fn resends_anywhere_in_long_batches_take_no_sequence(store: Arc<impl Store>) {
    let peers = ["p1", "p2", "p3"];
    let send = |i: usize, id: &str| text("a", "s", peers[i % peers.len()], id);
    let mut model: std::collections::HashMap<(String, String), StoredMessage> =
        std::collections::HashMap::new();
    let mut next_seq: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut check = |sent: &[NewMessage], got: &[Appended]| {
        assert_eq!(got.len(), sent.len());
        for (i, (m, a)) in sent.iter().zip(got).enumerate() {
            let key = (m.conversation.clone(), m.client_id.clone());
            match model.get(&key) {
                Some(original) => {
                    assert!(a.duplicate, "send {i} ({}) is a resend", m.client_id);
                    assert_eq!(&*a.stored, original, "send {i} answers its original");
                }
                None => {
                    let seq = next_seq.entry(m.conversation.clone()).or_insert(0);
                    *seq += 1;
                    assert!(!a.duplicate, "send {i} ({}) is new", m.client_id);
                    assert_eq!(a.stored.seq, *seq, "send {i} takes the next sequence");
                    assert_eq!(a.stored.message, as_stored(m));
                    model.insert(key, (*a.stored).clone());
                }
            }
        }
    };
    let first: Vec<NewMessage> = (0..40).map(|i| send(i, &format!("a{i}"))).collect();
    let got = store.append_messages(first.clone()).await.unwrap();
    check(&first, &got);
    let mut second = Vec::new();
    for i in 0..100 {
        let resend = match i {
            0 | 31 | 32 | 63 | 99 => Some(format!("a{}", i % 40)),
            34 => Some("b33".to_owned()),
            40 | 41 => Some("b5".to_owned()),
            64 => Some("b64".to_owned()),
            _ => None,
        };
        match resend {
            Some(id) => {
                // The resend goes to the conversation of its original.
                let original = first
                    .iter()
                    .chain(&second)
                    .find(|m: &&NewMessage| m.client_id == id)
                    .cloned();
                second.push(original.unwrap_or_else(|| send(i, &id)));
            }
            None => second.push(send(i, &format!("b{i}"))),
        }
    }
    let got = store.append_messages(second.clone()).await.unwrap();
    check(&second, &got);
    // And the same batch again: every send is a resend.
    let got = store.append_messages(second.clone()).await.unwrap();
    check(&second, &got);
    store.flush().await.unwrap();
    let mut stored = 0;
    for peer in peers {
        let conversation = p2p_conversation("s", peer);
        let all = store
            .messages_after("a", &conversation, 0, 1000)
            .await
            .unwrap();
        let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
        let expected: Vec<u64> = (1..=all.len() as u64).collect();
        assert_eq!(seqs, expected, "{conversation} is gapless");
        stored += all.len();
    }
    assert_eq!(stored, model.len());
    assert_eq!(store.message_count("a").await.unwrap(), model.len() as u64);
}

/// Polls `f` once with the caller's context.
async fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut *f).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// Two batches of one sender in flight at once, the second awaited
/// first: the first polled takes the earlier sequences, and a resend in
/// the second finds its original in the first.
pub async fn appends_commit_in_the_order_first_polled(store: Arc<impl Store>) {
    for round in 0..20 {
        let (one, two) = (format!("{round}-1"), format!("{round}-2"));
        let mut first = store.append_messages(vec![text("a", "s", "t", &one)]);
        let polled_first = poll_once(&mut first).await;
        let mut second =
            store.append_messages(vec![text("a", "s", "t", &two), text("a", "s", "t", &one)]);
        let polled_second = poll_once(&mut second).await;
        let second = match polled_second {
            Some(done) => done,
            None => second.await,
        }
        .unwrap();
        let first = match polled_first {
            Some(done) => done,
            None => first.await,
        }
        .unwrap();
        let base = 2 * round + 1;
        assert_eq!((first[0].stored.seq, first[0].duplicate), (base, false));
        assert_eq!(
            (second[0].stored.seq, second[0].duplicate),
            (base + 1, false)
        );
        assert_eq!((second[1].stored.seq, second[1].duplicate), (base, true));
        assert_eq!(second[1].stored.server_id, first[0].stored.server_id);
    }
    assert_eq!(store.message_count("a").await.unwrap(), 40);
}

/// Plain text messages and messages that fill the optional fields,
/// mixed in one batch (a backend may write the two kinds differently),
/// read back field for field, resends included.
pub async fn every_field_reads_back_as_written(store: Arc<impl Store>) {
    let message = |i: usize| {
        let (from, to) = if i.is_multiple_of(3) {
            ("p", "q")
        } else {
            ("q", "p")
        };
        let mut m = text("a", from, to, &format!("rich-{i:03}"));
        m.from_nick = if i.is_multiple_of(2) {
            format!("nick {i}")
        } else {
            String::new()
        };
        m.from_client_type = (i % 5) as u32;
        m.message_type = if i.is_multiple_of(9) { 100 } else { 0 };
        m.flags = if i.is_multiple_of(4) { 0 } else { flags::ALL };
        let field = |every: usize, what: &str| {
            if i.is_multiple_of(every) {
                format!("{what} {i}")
            } else {
                String::new()
            }
        };
        m.attachment = field(5, "{\"url\":\"https://x/\"}");
        m.remote_ext = field(7, "{\"ext\":1}");
        m.apns_content = field(11, "push");
        m.apns_payload = field(13, "{\"p\":2}");
        m
    };
    // Long enough that some runs of 32 rows are all plain and others not.
    let sent: Vec<NewMessage> = (0..150)
        .map(|i| {
            if (40..80).contains(&i) {
                text("a", "p", "q", &format!("plain-{i:03}"))
            } else {
                message(i)
            }
        })
        .collect();
    let appended = store.append_messages(sent.clone()).await.unwrap();
    let again = store.append_messages(sent[..10].to_vec()).await.unwrap();
    let conversation = p2p_conversation("p", "q");
    let stored = store
        .messages_after("a", &conversation, 0, 1000)
        .await
        .unwrap();
    assert_eq!(stored.len(), sent.len());
    for (i, (m, a)) in sent.iter().zip(&appended).enumerate() {
        let read = stored
            .iter()
            .find(|s| s.message.client_id == m.client_id)
            .unwrap();
        assert_eq!(read.message, as_stored(m), "message {i} as read");
        assert_eq!(read, a.stored.as_ref(), "message {i} as acked");
    }
    for (resent, original) in again.iter().zip(&appended) {
        assert!(resent.duplicate);
        assert_eq!(resent.stored, original.stored);
    }
}

/// History reads backwards from any sequence, and times map to sequences
/// (a conversation's times follow its sequence).
pub async fn history_reads_backwards_and_finds_times(store: Arc<impl Store>) {
    let mut stamps = Vec::new();
    for i in 0..30 {
        let appended = store
            .append_message(text("a", "h1", "h2", &format!("{i:02}")))
            .await
            .unwrap();
        stamps.push(appended.stored.timestamp);
        if i % 10 == 9 {
            // a later group, and a later millisecond
            store.flush().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
    }
    let conv = p2p_conversation("h1", "h2");
    let newest = store
        .messages_before("a", &conv, u64::MAX, 4)
        .await
        .unwrap();
    let seqs: Vec<u64> = newest.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [30, 29, 28, 27]);
    let page = store.messages_before("a", &conv, 12, 5).await.unwrap();
    let seqs: Vec<u64> = page.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [11, 10, 9, 8, 7]);
    assert_eq!(page[0].message.text, "hello 10");
    let first = store.messages_before("a", &conv, 3, 10).await.unwrap();
    assert_eq!(first.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 1]);
    assert!(store
        .messages_before("a", &conv, 1, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .messages_before("b", &conv, 100, 10)
        .await
        .unwrap()
        .is_empty());

    for (i, &at) in stamps.iter().enumerate() {
        let first_at = stamps.iter().position(|&t| t >= at).unwrap() as u64 + 1;
        assert_eq!(
            store.seq_at_time("a", &conv, at).await.unwrap(),
            first_at,
            "message {i} at {at}"
        );
        let after = stamps
            .iter()
            .position(|&t| t > at)
            .map_or(31, |p| p as u64 + 1);
        assert_eq!(store.seq_at_time("a", &conv, at + 1).await.unwrap(), after);
    }
    assert_eq!(store.seq_at_time("a", &conv, 0).await.unwrap(), 1);
    assert_eq!(store.seq_at_time("a", &conv, i64::MAX).await.unwrap(), 31);
    assert_eq!(store.seq_at_time("a", "p2p:x|y", 5).await.unwrap(), 1);
}

/// A revoked message reads back as its notification, once; its events are
/// appended with it; nothing else changes.
pub async fn a_revoked_message_reads_back_as_its_notification(store: Arc<impl Store>) {
    for i in 0..3 {
        let mut m = text("a", "r1", "r2", &format!("{i}"));
        m.remote_ext = r#"{"x":1}"#.into();
        store.append_message(m).await.unwrap();
    }
    let conv = p2p_conversation("r1", "r2");
    let event = |accid: &str| NewEvent {
        accid: accid.into(),
        body: b"revoked".to_vec(),
    };
    let stored = store
        .revoke_message(
            "a",
            &conv,
            2,
            r#"{"revoked":true}"#.into(),
            5,
            vec![event("r1"), event("r2")],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.len(), 2);
    let all = store.messages_after("a", &conv, 0, 10).await.unwrap();
    let revoked = &all[1].message;
    assert_eq!(revoked.message_type, message_type::NOTIFICATION);
    assert_eq!(
        (
            revoked.text.as_str(),
            revoked.attachment.as_str(),
            revoked.remote_ext.as_str()
        ),
        ("", r#"{"revoked":true}"#, "")
    );
    assert_ne!(revoked.flags & flags::REVOKED, 0);
    assert_eq!(revoked.client_id, "1", "the message keeps its identity");
    for other in [&all[0], &all[2]] {
        assert_eq!(other.message.message_type, 0);
        assert_eq!(other.message.flags & flags::REVOKED, 0);
    }
    // Once only; an unknown sequence or conversation: nothing.
    for (conversation, seq) in [(conv.as_str(), 2), (conv.as_str(), 9), ("p2p:x|y", 1)] {
        let again = store
            .revoke_message("a", conversation, seq, "{}".into(), 6, vec![event("r1")])
            .await
            .unwrap();
        assert!(again.is_none(), "{conversation} {seq}");
    }
    assert_eq!(store.events_after("a", "r1", 0, 10).await.unwrap().head, 1);
    // A resend of the revoked message answers the notification it became.
    let resent = store
        .append_message(text("a", "r1", "r2", "1"))
        .await
        .unwrap();
    assert!(resent.duplicate);
    assert_eq!(
        resent.stored.message.message_type,
        message_type::NOTIFICATION
    );
}
