//! Two devices talk through a link that cuts their connections at random
//! points, mid-frame as often as not: a send whose ack was lost, a push cut
//! in half, a login sync cut short. Nothing may be lost, nothing may arrive
//! twice, and both sides must end with every sequence of the conversation
//! exactly once.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tidings_sdk::*;
use tidings_testkit::*;
use tokio::sync::broadcast::error::RecvError;

const PER_SIDE: usize = 150;
const IN_FLIGHT: usize = 8;

/// Every `Received` message id and how often it came, until `count` distinct
/// ones have come. Fails on a lagged stream: it would hide a duplicate.
async fn count_received(
    mut events: tokio::sync::broadcast::Receiver<Event>,
    count: usize,
) -> anyhow::Result<HashMap<String, usize>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    while seen.len() < count {
        match events.recv().await {
            Ok(Event::Received(messages)) => {
                for message in messages.iter() {
                    *seen.entry(message.message_id.clone()).or_default() += 1;
                }
            }
            Ok(_) => {}
            Err(RecvError::Lagged(n)) => anyhow::bail!("lagged behind {n} events"),
            Err(RecvError::Closed) => anyhow::bail!("event stream closed"),
        }
    }
    Ok(seen)
}

#[tokio::test]
async fn connections_cut_mid_frame_lose_and_duplicate_nothing_over_tcp() {
    through_a_flaky_link(Transport::Tcp).await;
}

#[tokio::test]
async fn connections_cut_mid_frame_lose_and_duplicate_nothing_over_websocket() {
    through_a_flaky_link(Transport::WebSocket).await;
}

async fn through_a_flaky_link(transport: Transport) {
    let server = TestServer::start().await.unwrap();
    let (target, budget) = match transport {
        Transport::Tcp => (server.tcp_addr, Cut::AfterBytes(200..=6000)),
        // A WebSocket connection spends about 300 bytes on its handshake.
        Transport::WebSocket => (server.http_addr, Cut::AfterBytes(600..=6000)),
    };
    let link = FlakyLink::start(target, budget, 20261203).await.unwrap();
    let address = match transport {
        Transport::Tcp => ServerAddress::Tcp(link.addr.to_string()),
        Transport::WebSocket => ServerAddress::WebSocket(format!("ws://{}/ws", link.addr)),
    };
    let mut clients = Vec::new();
    // Alice's desktop and phone, and Bob's desktop.
    for (name, device) in [
        ("alice", client_type::PC),
        ("alice", client_type::IOS),
        ("bob", client_type::PC),
    ] {
        let token = match clients.len() {
            1 => None,
            _ => Some(server.create_account(name).await.unwrap()),
        };
        let mut config = server.client_config(transport);
        config.server = address.clone();
        config.client_type = device;
        clients.push((name, token, Client::new(config).unwrap()));
    }
    let alice_token = clients[0].1.clone().unwrap();
    for (name, token, client) in &clients {
        let token = token.as_ref().unwrap_or(&alice_token);
        client.login().login(name, token).await.unwrap();
    }
    let (alice, alice_phone, bob) = (
        clients[0].2.clone(),
        clients[1].2.clone(),
        clients[2].2.clone(),
    );
    let alice_got = tokio::spawn(count_received(alice.events(), PER_SIDE));
    let bob_got = tokio::spawn(count_received(bob.events(), PER_SIDE));

    link.storm();
    let side = |from: Client, peer: &'static str| async move {
        stream::iter(0..PER_SIDE)
            .map(|i| {
                let from = from.clone();
                async move {
                    from.chat()
                        .send_text(SessionId::p2p(peer), &format!("to {peer} {i}"))
                        .await
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<_>>()
            .await
    };
    let (from_alice, from_bob) = tokio::time::timeout(
        Duration::from_secs(120),
        futures_util::future::join(side(alice.clone(), "bob"), side(bob.clone(), "alice")),
    )
    .await
    .expect("every send acked while the link keeps cutting");
    let cuts_while_sending = link.cuts();
    link.calm();
    eprintln!(
        "{cuts_while_sending} cuts in {} connections while sending",
        link.connections()
    );
    for sent in from_alice.iter().chain(&from_bob) {
        let sent = sent.as_ref().expect("acked");
        assert!(sent.server_id > 0 && sent.seq > 0, "{sent:?}");
    }
    assert!(
        cuts_while_sending >= 20,
        "only {cuts_while_sending} cuts in {} connections: the test shows nothing",
        link.connections()
    );

    let within = Duration::from_secs(30);
    for (name, got) in [("alice", alice_got), ("bob", bob_got)] {
        let counts = tokio::time::timeout(within, got)
            .await
            .unwrap_or_else(|_| panic!("{name} never got all {PER_SIDE} messages"))
            .unwrap()
            .unwrap();
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{name} was told twice of {twice:?}");
    }

    // The server stored each message once.
    let stored = server.stored_messages().await.unwrap();
    assert_eq!(stored, 2 * PER_SIDE as u64);

    // Both devices hold the same conversation: every sequence once, each
    // with the text that was sent, in order.
    let expected: BTreeMap<u64, String> = from_alice
        .iter()
        .chain(&from_bob)
        .flatten()
        .map(|m| (m.seq, m.text.clone()))
        .collect();
    assert_eq!(
        expected.keys().copied().collect::<Vec<_>>(),
        (1..=2 * PER_SIDE as u64).collect::<Vec<_>>(),
        "the acks' sequences are the conversation's, gapless"
    );
    let expected: Vec<(u64, String)> = expected.into_iter().collect();
    let held = |client: Client, peer: &'static str| async move {
        whole_history(&client, &SessionId::p2p(peer))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.seq, m.text))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        held(alice.clone(), "bob").await,
        expected,
        "alice's desktop"
    );
    assert_eq!(held(bob.clone(), "alice").await, expected, "bob's desktop");
    // The phone was told of nothing it did not send; it syncs what Alice
    // sent from the desktop too.
    let phone_caught_up = tokio::time::timeout(within, async {
        while held(alice_phone.clone(), "bob").await.len() < expected.len() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(phone_caught_up.is_ok(), "alice's phone never caught up");
    assert_eq!(held(alice_phone, "bob").await, expected, "alice's phone");
}

/// Bob, logged in straight to the server, and a new device of Alice's (its
/// config and her token) that goes through a flaky link.
struct AliceBehindLink {
    alice_token: String,
    alice_device: ClientConfig,
    bob: Client,
}

type Counting = tokio::task::JoinHandle<anyhow::Result<HashMap<String, usize>>>;

impl AliceBehindLink {
    /// Also counts what Bob receives, until `expected` have come.
    async fn start(
        server: &TestServer,
        link: &FlakyLink,
        expected: usize,
    ) -> (AliceBehindLink, Counting) {
        let alice_token = server.create_account("alice").await.unwrap();
        let bob = server.login_new("bob").await.unwrap();
        let bob_got = tokio::spawn(count_received(bob.events(), expected));
        let mut alice_device = server.client_config(Transport::Tcp);
        alice_device.server = ServerAddress::Tcp(link.addr.to_string());
        let sides = AliceBehindLink {
            alice_token,
            alice_device,
            bob,
        };
        (sides, bob_got)
    }

    /// Bob's history with Alice is `written`, in order with sequences 1, 2, …,
    /// and the server holds nothing else.
    async fn bob_holds(&self, server: &TestServer, written: Vec<String>) {
        let held: Vec<(u64, String)> = whole_history(&self.bob, &SessionId::p2p("alice"))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.seq, m.text))
            .collect();
        let expected: Vec<(u64, String)> = (1..).zip(written).collect();
        assert!(
            held == expected,
            "bob's history is not what alice wrote, in order"
        );
        let stored = server.stored_messages().await.unwrap();
        assert_eq!(stored, expected.len() as u64);
    }
}

/// The app quits in the middle of a storm as soon as it has written its
/// messages, with some acked, some sent but not acked and some not sent;
/// started again on the same data, it sends the rest, and Bob gets each
/// message once, in the order Alice wrote them.
#[tokio::test]
async fn an_app_that_quits_in_a_storm_sends_the_rest_once_and_in_order() {
    let server = TestServer::start().await.unwrap();
    // Cut by time: answers come back while sends are still going out.
    let link = FlakyLink::start(server.tcp_addr, Cut::AfterMillis(5..=60), 3)
        .await
        .unwrap();
    let (sides, mut bob_got) = AliceBehindLink::start(&server, &link, PER_SIDE).await;
    let (alice_token, config) = (sides.alice_token.clone(), sides.alice_device.clone());
    let alice = Client::new(config.clone()).unwrap();
    alice.login().login("alice", &alice_token).await.unwrap();
    link.storm();
    for i in 0..PER_SIDE {
        let outgoing = OutgoingMessage::text(SessionId::p2p("bob"), format!("{i}"));
        alice.chat().enqueue(outgoing).await.unwrap();
    }
    drop(alice); // the app quits

    let alice = Client::new(config).unwrap();
    let resent = tokio::spawn(count_acked(alice.events()));
    alice
        .login()
        .auto_login("alice", &alice_token)
        .await
        .unwrap();
    // On a slow machine a link this bad may not let a login through for
    // a long time: the storm then ends, and everything must still arrive
    // once and in order.
    let in_storm = tokio::time::timeout(Duration::from_secs(10), &mut bob_got).await;
    let finished = match in_storm {
        Ok(done) => Ok(done),
        Err(_) => {
            eprintln!("still storming after 10 s; calm");
            link.calm();
            tokio::time::timeout(Duration::from_secs(50), bob_got).await
        }
    };
    let Ok(counts) = finished else {
        let stored = server.stored_messages().await;
        let pending = alice
            .chat()
            .history(&SessionId::p2p("bob"), None, 100)
            .await;
        let pending: Vec<_> = pending
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.seq == 0)
            .map(|m| (m.text, m.delivery))
            .collect();
        panic!(
            "bob never got every message: the server stored {stored:?}, alice is logged in: {}, \
             her unacked: {pending:?}; {} connections, {} cuts",
            alice.login().is_logged_in(),
            link.connections(),
            link.cuts()
        );
    };
    let counts = counts.unwrap().unwrap();
    assert!(counts.values().all(|n| *n == 1), "bob was told twice");
    link.calm();
    sides
        .bob_holds(&server, (0..PER_SIDE).map(|i| i.to_string()).collect())
        .await;
    drop(alice);
    let resent = resent.await.unwrap();
    assert!(resent > 0, "the restarted app had nothing to send");
    eprintln!(
        "{resent} sends acked after the restart; {} cuts",
        link.cuts()
    );
}

/// Alice wrote far more offline than one connection carries before it is
/// cut. Her outbox goes out a window at a time, and each connection moves
/// it on by the answers it lets back: everything arrives once and in order
/// while the storm goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_larger_than_a_connection_carries_goes_out_in_windows() {
    const WRITTEN: usize = 1200;
    let server = TestServer::start().await.unwrap();
    // 1,200 messages of 300 bytes: about 420 KiB to send, and at most
    // 300 KiB both ways on each connection.
    let link = FlakyLink::start(server.tcp_addr, Cut::AfterBytes(200_000..=300_000), 7)
        .await
        .unwrap();
    let (sides, bob_got) = AliceBehindLink::start(&server, &link, WRITTEN).await;
    let (alice_token, config) = (sides.alice_token.clone(), sides.alice_device.clone());
    let alice = Client::new(config.clone()).unwrap();
    alice.login().login("alice", &alice_token).await.unwrap();
    alice.login().logout().await.unwrap();
    drop(alice);
    let text = |i: usize| format!("{i:>300}");
    {
        // Written offline: the app was started without a server in reach.
        let mut offline = config.clone();
        offline.server = ServerAddress::Tcp("127.0.0.1:1".into());
        let alice = Client::new(offline).unwrap();
        alice
            .login()
            .auto_login("alice", &alice_token)
            .await
            .unwrap();
        for i in 0..WRITTEN {
            let outgoing = OutgoingMessage::text(SessionId::p2p("bob"), text(i));
            alice.chat().enqueue(outgoing).await.unwrap();
        }
    }
    link.storm();
    let alice = Client::new(config).unwrap();
    alice
        .login()
        .auto_login("alice", &alice_token)
        .await
        .unwrap();
    let counts = tokio::time::timeout(Duration::from_secs(60), bob_got)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "bob did not get all {WRITTEN} in the storm; {} connections, {} cuts",
                link.connections(),
                link.cuts()
            )
        })
        .unwrap()
        .unwrap();
    assert!(counts.values().all(|n| *n == 1), "bob was told twice");
    assert!(link.cuts() >= 2, "the outbox fitted in one connection");
    link.calm();
    sides
        .bob_holds(&server, (0..WRITTEN).map(text).collect())
        .await;
}

/// How many sends were acked, until the client is dropped.
async fn count_acked(mut events: tokio::sync::broadcast::Receiver<Event>) -> usize {
    let mut acked = 0;
    loop {
        match events.recv().await {
            Ok(Event::SendComplete { error: None, .. }) => acked += 1,
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return acked,
        }
    }
}
