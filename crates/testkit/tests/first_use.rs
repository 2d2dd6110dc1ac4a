//! The first hour of a new user: one server address for everything, and
//! errors that name the right port when the wrong one was given.
#![allow(clippy::unwrap_used)]

use tidings_sdk::*;
use tidings_testkit::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn http_address(server: &TestServer) -> ServerAddress {
    ServerAddress::parse(&format!("http://{}", server.http_addr)).unwrap()
}

/// `GET /lbs` of `server`, with `host` as its Host header if given.
async fn lbs(server: &TestServer, host: Option<&str>) -> serde_json::Value {
    let mut request = reqwest::Client::new().get(format!("http://{}/lbs", server.http_addr));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn lbs_lists_the_gateways_at_the_host_the_client_used() {
    let server = TestServer::start().await.unwrap();
    let answer = lbs(&server, None).await;
    assert_eq!(answer["code"], 200);
    assert_eq!(answer["tcp"][0], server.tcp_addr.to_string());
    assert_eq!(answer["ws"][0], format!("ws://{}/ws", server.http_addr));

    let answer = lbs(&server, Some("chat.example.com:9430")).await;
    assert_eq!(
        answer["tcp"][0],
        format!("chat.example.com:{}", server.tcp_addr.port())
    );
    assert_eq!(answer["ws"][0], "ws://chat.example.com:9430/ws");

    let fixed = TestServer::start_with(|c| {
        c.lbs_tcp = vec!["edge-1:9431".into(), "edge-2:9431".into()];
    })
    .await
    .unwrap();
    let answer = lbs(&fixed, None).await;
    assert_eq!(
        answer["tcp"],
        serde_json::json!(["edge-1:9431", "edge-2:9431"])
    );
}

/// `http://host:port` is all a device needs: the SDK asks `/lbs` and logs
/// in over the TCP gateway.
#[tokio::test]
async fn the_http_address_alone_logs_a_device_in_over_tcp() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut bob_events = bob.events();
    let mut config = server.client_config(Transport::Tcp);
    config.server = http_address(&server);
    let alice = Client::new(config).unwrap();
    alice.login().login("alice", &token).await.unwrap();
    assert_eq!(
        server
            .metric("tidings_connections{listener=\"tcp\",state=\"logged_in\"}")
            .await
            .unwrap(),
        2
    );
    alice
        .chat()
        .send_text(SessionId::p2p("bob"), "one address")
        .await
        .unwrap();
    let got = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!(got[0].text, "one address");
}

async fn login_error(server: &TestServer, address: ServerAddress) -> String {
    let mut config = server.client_config(Transport::Tcp);
    config.server = address;
    let client = Client::new(config).unwrap();
    let token = server.create_account(&format!("u{}", rand_suffix())).await;
    client
        .login()
        .login("nobody", &token.unwrap_or_default())
        .await
        .expect_err("the login fails")
        .to_string()
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[tokio::test]
async fn a_wrong_port_is_named_with_the_right_one() {
    let server = TestServer::start().await.unwrap();
    // A TCP client at the HTTP port.
    let error = login_error(&server, ServerAddress::Tcp(server.http_addr.to_string())).await;
    assert!(error.contains("answered in HTTP"), "{error}");
    assert!(error.contains(&server.http_addr.to_string()), "{error}");
    // The HTTP address given as the TCP gateway's.
    let error = login_error(
        &server,
        ServerAddress::parse(&format!("http://{}", server.tcp_addr)).unwrap(),
    )
    .await;
    assert!(error.contains("TCP gateway"), "{error}");
    // A WebSocket at the TCP port.
    let error = login_error(
        &server,
        ServerAddress::WebSocket(format!("ws://{}/ws", server.tcp_addr)),
    )
    .await;
    assert!(error.contains("TCP gateway"), "{error}");
    // Nothing listening: the address tried is named.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap();
    drop(closed);
    let error = login_error(&server, ServerAddress::Tcp(nowhere.to_string())).await;
    assert!(error.contains(&nowhere.to_string()), "{error}");
}

/// curl, a browser or an HTTP library at the TCP gateway gets an HTTP
/// answer naming the HTTP port, not bytes it cannot read.
#[tokio::test]
async fn http_at_the_tcp_gateway_is_answered_in_http() {
    let server = TestServer::start().await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(server.tcp_addr)
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains(&format!("HTTP port, {}", server.http_addr.port())),
        "{answer}"
    );
    let error = reqwest::get(format!("http://{}/healthz", server.tcp_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("TCP gateway"), "{error}");
}
