//! `tidings chat` driven through its standard input, as a person types:
//! a refused send says why, the session list and the history agree on its
//! state, /read and /delete confirm, a bad /history count is an error, and
//! after a kick nothing typed is queued; people and conversation commands
//! print what they did and what others did.
#![allow(clippy::unwrap_used)]

mod support;

use support::Chat;
use tidings_testkit::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_client_says_what_happened() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut chat = Chat::start(&server, "alice", &token, &dir.path().join("pc"));
    chat.expect("logged in as alice");

    chat.say("@nosuchuser hello?");
    let refused = chat.expect("! not sent");
    assert!(
        refused.contains("404") && refused.contains("nosuchuser"),
        "{refused}"
    );
    chat.say("/sessions");
    let listed = chat.expect("nosuchuser");
    assert!(listed.contains("(failed)"), "{listed}");
    chat.say("/history nosuchuser 5");
    assert!(chat.expect("hello?").contains("(failed)"));
    chat.say("/history nosuchuser x");
    chat.expect("! /history [peer] [n]");
    chat.say("/read nosuchuser");
    chat.expect("nosuchuser: marked read");
    chat.say("/delete nosuchuser");
    chat.expect("nosuchuser: removed");

    // Another desktop login of alice kicks this one: what is typed after
    // is refused, not queued for the next start.
    let other =
        tidings_sdk::Client::new(server.client_config(tidings_testkit::Transport::Tcp)).unwrap();
    other.login().login("alice", &token).await.unwrap();
    chat.expect("! kicked");
    chat.say("@bob are you there");
    chat.expect("nothing is sent");
    chat.say("/quit");
    let store = &server.server().unwrap().state().services.store;
    assert_eq!(store.message_count(&server.app_key).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_friends_blocks_and_notifications_in_the_terminal() {
    let server = TestServer::start().await.unwrap();
    let alice_token = server.create_account("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Chat::start(&server, "alice", &alice_token, &dir.path().join("a"));
    let mut bob = Chat::start(&server, "bob", &bob_token, &dir.path().join("b"));
    alice.expect("logged in as alice");
    bob.expect("logged in as bob");

    alice.say("/nick Alice Liddell");
    alice.expect("you are now Alice Liddell");
    bob.say("/profile alice");
    bob.expect("Alice Liddell (alice)");
    alice.say("/profile");
    alice.expect("Alice Liddell (alice)");

    alice.say("/add bob see you at the party");
    alice.expect("friend request sent to bob");
    let request = bob.expect("friend request from alice");
    assert!(
        request.contains("see you at the party") && request.contains("/accept alice"),
        "{request}"
    );
    bob.say("/notifications");
    bob.expect("* ");
    bob.say("/accept alice");
    bob.expect("alice is your friend");
    alice.expect("bob accepted your friend request");
    alice.say("/friends");
    alice.expect("  bob");

    bob.say("/block alice");
    bob.expect("/block alice: done");
    alice.say("@bob hello?");
    let refused = alice.expect("! not sent");
    assert!(refused.contains("7101"), "{refused}");
    bob.say("/unblock alice");
    bob.expect("/unblock alice: done");
    alice.say("/add alice");
    alice.expect("! ");
    alice.say("/frobnicate");
    alice.expect("unknown command /frobnicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_history_receipts_revokes_and_deletes_in_the_terminal() {
    let server = TestServer::start().await.unwrap();
    let alice_token = server.create_account("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Chat::start(&server, "alice", &alice_token, &dir.path().join("a"));
    let mut bob = Chat::start(&server, "bob", &bob_token, &dir.path().join("b"));
    alice.expect("logged in as alice");
    bob.expect("logged in as bob");

    alice.say("@bob first");
    bob.expect("first");
    alice.say("@bob second thoughts");
    bob.expect("second thoughts");
    bob.say("/seen alice");
    bob.expect("alice knows you read");
    alice.expect("bob read your messages");
    alice.say("/revoke bob");
    alice.expect("revoked: second thoughts");
    bob.expect("alice revoked a message: second thoughts");
    bob.say("/cloud alice 5");
    bob.expect("alice: first");
    bob.expect("(revoked)");
    bob.say("/clear alice");
    bob.expect("alice: messages deleted on this device");
    bob.say("/history alice");
    bob.expect("no messages");
    bob.say("/cloud");
    bob.expect("! /cloud needs a peer");
    bob.say("/cloud alice 500");
    bob.expect("! /cloud <peer> [n]");
}
