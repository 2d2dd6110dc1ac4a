//! The attacks one client with a valid AppKey could make on a node's
//! memory and connection slots, each with its bound: a real server with
//! small limits, the attack sent from the test, the bound read from the
//! server's own `/metrics`, and a normal device that still logs in and
//! exchanges a message during and after it.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tidings_proto::{
    encode_frame, encode_length_prefixed, frame, request, Code, Frame, LoginRequest, Ping, Request,
    MAX_LOGIN_FRAME_LEN,
};
use tidings_sdk::*;
use tidings_testkit::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits until the metric satisfies `ok` (checked every 50 ms, 20 s at
/// most); returns its last value.
async fn metric_until(server: &TestServer, name: &str, ok: impl Fn(i64) -> bool) -> i64 {
    let mut value = 0;
    for _ in 0..400 {
        value = server.metric(name).await.unwrap();
        if ok(value) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} is still {value}");
}

fn closed(reason: &str) -> String {
    format!("tidings_connections_closed_total{{reason=\"{reason}\"}}")
}

fn open(listener: &str, state: &str) -> String {
    format!("tidings_connections{{listener=\"{listener}\",state=\"{state}\"}}")
}

/// Alice and Bob exchange a message over fresh devices.
async fn a_device_still_logs_in_and_chats(server: &TestServer, tag: &str) {
    let alice = format!("alice{tag}");
    let bob = format!("bob{tag}");
    let a = server.login_new(&alice).await.unwrap();
    let b = server.login_new(&bob).await.unwrap();
    let mut events = b.events();
    a.chat()
        .send_text(SessionId::p2p(&bob), "hello")
        .await
        .unwrap();
    let got = receive(&mut events, 1).await.unwrap();
    assert_eq!(got[0].text, "hello");
    a.login().logout().await.unwrap();
    b.login().logout().await.unwrap();
}

fn request_frame(seq: u64, kind: request::Area) -> Frame {
    Frame {
        body: Some(frame::Body::Request(Request {
            seq,
            area: Some(kind),
        })),
    }
}

fn login_frame(server: &TestServer, account: &str, token: &str) -> Frame {
    request_frame(
        1,
        request::Area::from(LoginRequest {
            app_key: server.app_key.clone(),
            account: account.into(),
            token: token.into(),
            client_type: 4,
            device_id: "attacker".into(),
            auto_login: false,
        }),
    )
}

/// A WebSocket client frame (masked with a zero key, so the payload goes
/// as it is): `opcode` 0x2 binary, 0x9 ping.
fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=65535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

/// A WebSocket to the gateway, handshake done by hand, for sending what no
/// client library would.
async fn ws_connect(server: &TestServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.http_addr).await.unwrap();
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.http_addr
    );
    stream.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "the accept key of RFC 6455's example: {head}"
    );
    stream
}

/// Writes until the server hangs up (a write fails) or `deadline` passes;
/// true if it hung up.
async fn write_until_refused(stream: &mut TcpStream, chunk: &[u8], deadline: Duration) -> bool {
    tokio::time::timeout(deadline, async {
        loop {
            if stream.write_all(chunk).await.is_err() {
                return;
            }
        }
    })
    .await
    .is_ok()
}

/// Hole 1: a WebSocket that pings without reading. Before login its pings
/// spend the few KiB it may send; after login, the pongs it does not read
/// fill a bounded buffer and its connection is closed as a slow reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_ping_flood_is_closed_not_queued() {
    let server = TestServer::start_with(|c| {
        c.login_timeout_secs = 30.0;
        c.idle_timeout_secs = 60.0;
        c.heartbeat_interval_secs = 0.5;
        c.write_timeout_secs = 2.0;
    })
    .await
    .unwrap();
    let token = server.create_account("mallory").await.unwrap();

    // Before login: a budget of a few KiB, pings included.
    let mut before = ws_connect(&server).await;
    let pings: Vec<u8> = (0..64).flat_map(|_| ws_frame(0x9, &[7u8; 125])).collect();
    assert!(write_until_refused(&mut before, &pings, Duration::from_secs(20)).await);
    metric_until(&server, &closed("bad_frame"), |v| v >= 1).await;

    // Logged in: pongs pile up only as far as the codec's bounded buffer.
    let mut after = ws_connect(&server).await;
    let login = encode_frame(&login_frame(&server, "mallory", &token));
    after.write_all(&ws_frame(0x2, &login)).await.unwrap();
    metric_until(&server, &open("ws", "logged_in"), |v| v == 1).await;
    let flood = tokio::spawn(async move {
        let refused = write_until_refused(&mut after, &pings, Duration::from_secs(60)).await;
        (refused, after)
    });
    a_device_still_logs_in_and_chats(&server, "1").await;
    // Its next frame finds the codec's buffer full, or its write stalls.
    let mut ended = 0;
    for _ in 0..400 {
        ended = server.metric(&closed("slow_reader")).await.unwrap()
            + server.metric(&closed("write_stalled")).await.unwrap();
        if ended >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ended, 1);
    let (refused, _after) = flood.await.unwrap();
    assert!(refused, "the server hung up on the flood");
    metric_until(&server, &open("ws", "logged_in"), |v| v == 0).await;
    assert_eq!(server.metric("tidings_queued_bytes").await.unwrap(), 0);
    a_device_still_logs_in_and_chats(&server, "2").await;
}

/// Hole 3: connections that never log in and never read, but keep
/// sending, are closed at the login timeout and give their slots back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_log_in_lose_their_slots_at_the_login_timeout() {
    const SLOTS: usize = 20;
    let server = TestServer::start_with(|c| {
        c.max_connections = SLOTS;
        c.login_timeout_secs = 1.0;
        c.idle_timeout_secs = 2.0;
    })
    .await
    .unwrap();
    let mut ping = Vec::new();
    encode_length_prefixed(&request_frame(1, request::Area::from(Ping {})), &mut ping);
    let mut floods = Vec::new();
    for _ in 0..SLOTS {
        let mut stream = TcpStream::connect(server.tcp_addr).await.unwrap();
        let ping = ping.clone();
        // A ping every 50 ms, answers never read (a faster flood passes
        // the requests allowed before login and is closed sooner).
        floods.push(tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(60), async {
                loop {
                    if stream.write_all(&ping).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .is_ok()
        }));
    }
    metric_until(&server, "tidings_connections_open", |v| v == SLOTS as i64).await;
    // Every slot is taken: a device is refused for now.
    let mut refused = RawConnection::connect(server.tcp_addr).await.unwrap();
    let closing = refused.closing().await.unwrap().unwrap();
    assert_eq!(closing.code, Code::Unavailable.as_u32());

    metric_until(&server, "tidings_connections_open", |v| v == 0).await;
    let timed_out = server.metric(&closed("login_timeout")).await.unwrap();
    assert_eq!(timed_out, SLOTS as i64);
    assert_eq!(server.metric(&closed("connection_limit")).await.unwrap(), 1);
    for flood in floods {
        assert!(flood.await.unwrap(), "the server hung up on every flood");
    }
    a_device_still_logs_in_and_chats(&server, "-end").await;
}

/// Hole 3, logged in: a device that does not read its pushes is closed
/// once its queue is full, and loses nothing: it syncs them all later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_device_that_does_not_read_is_closed_when_its_queue_is_full() {
    const MESSAGES: usize = 3000;
    let server = TestServer::start_with(|c| {
        c.max_queued_bytes_per_connection = 64 * 1024;
    })
    .await
    .unwrap();
    let token = server.create_account("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut alice = RawConnection::connect(server.tcp_addr).await.unwrap();
    assert_eq!(
        alice
            .login(&server.app_key, "alice", &token)
            .await
            .unwrap()
            .code,
        200
    );
    // Alice reads nothing from here on; the pushes fill the sockets'
    // buffers, then her queue.
    let text = "x".repeat(4000);
    for i in 0..MESSAGES {
        bob.chat()
            .send_text(SessionId::p2p("alice"), &format!("{i}:{text}"))
            .await
            .unwrap();
        if i % 200 == 199 && server.metric(&closed("slow_reader")).await.unwrap() >= 1 {
            break;
        }
    }
    metric_until(&server, &closed("slow_reader"), |v| v >= 1).await;
    assert_eq!(server.metric(&open("tcp", "logged_in")).await.unwrap(), 1);
    assert!(server.metric("tidings_queued_bytes").await.unwrap() < 1024 * 1024);
    drop(alice);

    // What she missed reaches her next device: a new device, so the
    // roaming window's share (the last 100 of the conversation).
    let sent = server
        .server()
        .unwrap()
        .state()
        .services
        .store
        .message_count(&server.app_key)
        .await
        .unwrap();
    let device = Client::new(server.client_config(Transport::Tcp)).unwrap();
    let mut events = device.events();
    device.login().login("alice", &token).await.unwrap();
    let roaming = (sent as usize).min(100);
    let got = receive(&mut events, roaming).await.unwrap();
    assert_eq!(got.len(), roaming);
    assert_eq!(got.last().unwrap().seq, sent);
    a_device_still_logs_in_and_chats(&server, "-end").await;
}

/// Hole 3, a peer that stops taking bytes: the write timeout ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_makes_no_progress_ends_the_connection_at_the_write_timeout() {
    let server = TestServer::start_with(|c| {
        c.write_timeout_secs = 1.0;
        // Only the stalled write may end it: with the default queue bound,
        // a fast sender fills 4 MiB before the second passes, and the
        // connection closes as a slow peer instead.
        c.max_queued_bytes_per_connection = 256 * 1024 * 1024;
    })
    .await
    .unwrap();
    let token = server.create_account("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut alice = RawConnection::connect(server.tcp_addr).await.unwrap();
    alice.login(&server.app_key, "alice", &token).await.unwrap();
    let text = "y".repeat(4000);
    for i in 0..3000 {
        bob.chat()
            .send_text(SessionId::p2p("alice"), &format!("{i}:{text}"))
            .await
            .unwrap();
        if i % 200 == 199 && server.metric(&closed("write_stalled")).await.unwrap() >= 1 {
            break;
        }
    }
    metric_until(&server, &closed("write_stalled"), |v| v >= 1).await;
    metric_until(&server, &open("tcp", "logged_in"), |v| v == 1).await;
    drop(alice);
    a_device_still_logs_in_and_chats(&server, "-end").await;
}

/// Hole 2: the wrong-token throttle keeps nothing of a name over the
/// account limit (414 first), and a few bytes per name within it.
#[tokio::test]
async fn long_account_names_are_refused_before_the_throttle_keeps_them() {
    let server = TestServer::start().await.unwrap();
    for i in 0..50 {
        let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
        let name = format!("{i}{}", "n".repeat(2000));
        let answer = raw.login(&server.app_key, &name, "wrong").await.unwrap();
        assert_eq!(
            answer.code,
            Code::BadParameter.as_u32(),
            "{}",
            answer.message
        );
        assert!(answer.message.len() < 300, "{}", answer.message);
    }
    assert_eq!(
        server
            .metric("tidings_login_throttle_entries")
            .await
            .unwrap(),
        0
    );
    for i in 0..20 {
        let mut raw = RawConnection::connect(server.tcp_addr).await.unwrap();
        let answer = raw
            .login(&server.app_key, &format!("nobody{i}"), "wrong")
            .await
            .unwrap();
        assert_eq!(answer.code, Code::BadToken.as_u32());
    }
    assert_eq!(
        server
            .metric("tidings_login_throttle_entries")
            .await
            .unwrap(),
        20
    );
    a_device_still_logs_in_and_chats(&server, "-end").await;
}

/// Hole 5: before login only a login-sized frame is taken, over TCP and
/// WebSocket; after login a whole frame is.
#[tokio::test]
async fn before_login_only_a_login_sized_frame_is_taken() {
    let server = TestServer::start().await.unwrap();
    let mut tcp = RawConnection::connect(server.tcp_addr).await.unwrap();
    tcp.write_raw(&(MAX_LOGIN_FRAME_LEN as u32 + 1).to_be_bytes())
        .await
        .unwrap();
    let closing = tcp.closing().await.unwrap().unwrap();
    assert_eq!(closing.code, Code::BadParameter.as_u32());
    assert!(
        closing.reason.contains("before login"),
        "{}",
        closing.reason
    );

    // A flood of small requests before login: a few are answered, then
    // the connection is closed.
    let mut flood = RawConnection::connect(server.tcp_addr).await.unwrap();
    let mut pings = Vec::new();
    for seq in 1..=100 {
        encode_length_prefixed(
            &request_frame(seq, request::Area::from(Ping {})),
            &mut pings,
        );
    }
    flood.write_raw(&pings).await.unwrap();
    let mut answered = 0;
    let closing = loop {
        let frame = flood.recv().await.unwrap().expect("a Closing push");
        match frame.body {
            Some(frame::Body::Response(_)) => answered += 1,
            Some(frame::Body::Push(p)) => {
                if let Some(c) = p.into_closing() {
                    break c;
                }
            }
            _ => {}
        }
    };
    assert_eq!(answered, 32);
    assert_eq!(
        closing.code,
        Code::TooFrequent.as_u32(),
        "{}",
        closing.reason
    );

    // Over WebSocket the frame is cut into pieces the server must buffer.
    let mut ws = ws_connect(&server).await;
    let big = ws_frame(0x2, &vec![0u8; 64 * 1024]);
    assert!(write_until_refused(&mut ws, &big, Duration::from_secs(20)).await);
    metric_until(&server, &closed("bad_frame"), |v| v >= 3).await;

    // Logged in, a 100 KiB frame is read (and its oversized text refused
    // with a code, the connection kept).
    let token = server.create_account("alice").await.unwrap();
    let mut alice = RawConnection::connect(server.tcp_addr).await.unwrap();
    alice.login(&server.app_key, "alice", &token).await.unwrap();
    let long = request::Area::from(tidings_proto::SendMessageRequest {
        message: Some(tidings_proto::Message {
            client_id: "big".into(),
            to: "alice".into(),
            text: "z".repeat(100 * 1024),
            ..Default::default()
        }),
    });
    let answer = alice.call(long).await.unwrap();
    assert_eq!(
        answer.code,
        Code::BadParameter.as_u32(),
        "{}",
        answer.message
    );
    let ping = alice.call(request::Area::from(Ping {})).await.unwrap();
    assert_eq!(ping.code, 200);
    a_device_still_logs_in_and_chats(&server, "-end").await;
}

/// Hole 4: idle HTTP connections, a head or a body sent a byte at a time,
/// and more connections than the cap: each is bounded, the gateway keeps
/// its own room, and past the cap the answer is 503 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_listener_has_timeouts_and_a_cap() {
    const CAP: usize = 8;
    let server = TestServer::start_with(|c| {
        c.max_http_connections = CAP;
        c.http_header_timeout_secs = 1.0;
        c.http_request_timeout_secs = 1.5;
    })
    .await
    .unwrap();
    let token = server.create_account("alice").await.unwrap();
    // The cap, taken by idle connections.
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(TcpStream::connect(server.http_addr).await.unwrap());
    }
    let mut over = TcpStream::connect(server.http_addr).await.unwrap();
    over.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    over.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    // The gateway has its own room meanwhile.
    let mut alice = RawConnection::connect(server.tcp_addr).await.unwrap();
    let login = alice.login(&server.app_key, "alice", &token).await.unwrap();
    assert_eq!(login.code, 200);
    // The idle ones are closed at the header timeout.
    for mut stream in idle {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest));
        assert!(read.await.is_ok(), "an idle HTTP connection stayed open");
    }
    metric_until(&server, "tidings_http_connections_open", |v| v <= 1).await;
    assert!(server.metric("tidings_http_refused_total").await.unwrap() >= 1);

    // A head sent a byte at a time.
    let mut slow = TcpStream::connect(server.http_addr).await.unwrap();
    let closed_early = tokio::time::timeout(Duration::from_secs(20), async {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
            .iter()
            .cycle()
        {
            if slow.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert!(closed_early.await.is_ok(), "a slow head stayed open");

    // A body sent a byte at a time: 408.
    let mut slow = TcpStream::connect(server.http_addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /admin/app/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
            server.admin_token()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (mut read, mut write) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if write.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let got = tokio::time::timeout(Duration::from_secs(20), read.read_to_end(&mut answer));
    assert!(got.await.is_ok(), "a slow body stayed open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    trickle.abort();

    let health = reqwest::get(format!("http://{}/healthz", server.http_addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    a_device_still_logs_in_and_chats(&server, "-end").await;
}

/// Hole 6: the operator API checks its token before it reads a body and
/// takes forms only; error messages cut what they echo; a header that is
/// not ASCII is malformed, not missing.
#[tokio::test]
async fn the_admin_api_and_error_messages_bound_what_they_take_and_echo() {
    let server = TestServer::start().await.unwrap();
    let url = format!("http://{}/admin/app/create", server.http_addr);
    let http = reqwest::Client::new();
    let bearer = format!("Bearer {}", server.admin_token());
    for content_type in [Some("application/json"), None] {
        let mut request = http
            .post(&url)
            .header("authorization", &bearer)
            .body(r#"{"name":"json"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 415, "{content_type:?}");
    }

    // A large body without the token: refused before it is read.
    let mut stream = TcpStream::connect(server.http_addr).await.unwrap();
    stream
        .write_all(
            b"POST /admin/app/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\nname=a",
        )
        .await
        .unwrap();
    let mut head = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
        .await
        .expect("answered before the body")
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // A send to a 200,000-character account: the answer is short.
    let token = server.create_account("alice").await.unwrap();
    let mut alice = RawConnection::connect(server.tcp_addr).await.unwrap();
    alice.login(&server.app_key, "alice", &token).await.unwrap();
    let send = request::Area::from(tidings_proto::SendMessageRequest {
        message: Some(tidings_proto::Message {
            client_id: "far".into(),
            to: "q".repeat(200_000),
            text: "hi".into(),
            ..Default::default()
        }),
    });
    let answer = alice.call(send).await.unwrap();
    assert_eq!(answer.code, Code::NotFound.as_u32(), "{}", answer.message);
    assert!(answer.message.len() < 200, "{}", answer.message);

    // A Nonce that is not ASCII.
    let answer: serde_json::Value = http
        .post(format!(
            "http://{}/nimserver/user/create.action",
            server.http_addr
        ))
        .header("AppKey", &server.app_key)
        .header(
            "Nonce",
            reqwest::header::HeaderValue::from_bytes(b"n\xc3\xa9").unwrap(),
        )
        .header("CurTime", "1")
        .header("CheckSum", "x")
        .form(&[("accid", "x")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["code"], 414);
    assert!(
        answer["desc"]
            .as_str()
            .unwrap()
            .contains("malformed header 'Nonce'"),
        "{answer}"
    );
}
