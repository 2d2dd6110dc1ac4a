//! `tidings bench connections`: what an idle logged-in connection costs a
//! node. A node process is started per transport; its resident memory is
//! read before and after N raw protocol clients log in (one account each)
//! and stay idle, with the time it took to log them all in.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures_util::stream::{self, StreamExt};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tidings_proto::{
    decode_frame, encode_frame, encode_length_prefixed, frame, request, Frame, LoginRequest,
    Request,
};
use tidings_testkit::{NodeProcess, ServerApi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::Transport;

#[derive(Args)]
pub struct ConnectionsArgs {
    /// Logged-in idle connections per transport.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Only this transport (default: TCP, then WebSocket).
    #[arg(long, value_enum)]
    transport: Option<Transport>,
    /// Logins in flight at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The node binary to start (default: this one); a wrapper script can
    /// run it under a profiler.
    #[arg(long)]
    node_binary: Option<std::path::PathBuf>,
}

/// Loopback source addresses are spread over 127.0.0.x, this many
/// connections each, so the count is not capped by one address's
/// ephemeral ports.
const PER_SOURCE_ADDRESS: usize = 20_000;

pub async fn run(args: &ConnectionsArgs) -> anyhow::Result<()> {
    let transports = match args.transport {
        Some(t) => vec![t],
        None => vec![Transport::Tcp, Transport::Ws],
    };
    let mut results = Vec::new();
    for transport in transports {
        results.push(measure(args, transport).await?);
    }
    let report = json!({ "scenario": "connections", "count": args.count, "results": results });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for r in &results {
            println!(
                "{:>3}: {} idle logged-in connections; node RSS {:.1} MiB -> {:.1} MiB: {:.1} KiB a connection on average, {:.1} KiB each of the second half; logged in in {:.2} s ({:.0}/s)",
                r["transport"].as_str().unwrap_or(""),
                r["connections"],
                r["rss_before_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
                r["rss_after_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
                r["bytes_per_connection"].as_f64().unwrap_or(0.0) / 1024.0,
                r["marginal_bytes_per_connection"].as_f64().unwrap_or(0.0) / 1024.0,
                r["login_seconds"].as_f64().unwrap_or(0.0),
                r["logins_per_second"].as_f64().unwrap_or(0.0),
            );
        }
    }
    Ok(())
}

async fn measure(args: &ConnectionsArgs, transport: Transport) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("node");
    let exe = match &args.node_binary {
        Some(path) => path.clone(),
        None => std::env::current_exe()?,
    };
    let max = (args.count + 64).to_string();
    // WebSocket handshakes are HTTP connections until they upgrade.
    let max_http = (args.concurrency + 64).to_string();
    // No traffic on an idle connection while it is measured.
    let extra = [
        "--max-connections",
        &max,
        "--idle-timeout-secs",
        "3600",
        "--heartbeat-interval-secs",
        "3600",
        "--login-failures-per-window",
        "0",
        // The bench's HTTP connections are its handshakes in flight: leave
        // the other open files to the gateway.
        "--max-http-connections",
        &max_http,
    ];
    let node = NodeProcess::start_fresh(&exe, &data_dir, &extra).await?;
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("secrets.json"))?)?;
    let app_key = secrets["default_app_key"].as_str().unwrap_or("").to_owned();
    let app_secret = secrets["default_app_secret"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let api = ServerApi::new(
        &format!("http://127.0.0.1:{}", node.http),
        &app_key,
        &app_secret,
    );
    let accounts: Vec<String> = (0..args.count).map(|i| format!("idle{i}")).collect();
    let created: Vec<anyhow::Result<()>> = stream::iter(&accounts)
        .map(|accid| {
            let api = &api;
            async move {
                let token = format!("t-{accid}");
                let answer = api
                    .post(
                        "/nimserver/user/create.action",
                        &[("accid", accid.as_str()), ("token", token.as_str())],
                    )
                    .await?;
                if answer["code"] != 200 {
                    bail!("create {accid}: {answer}");
                }
                Ok(())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    created.into_iter().collect::<anyhow::Result<()>>()?;

    // Two halves: the first warms what the node caches once (the store's
    // pages, the allocator's arenas), the second costs only connections.
    let half = accounts.len() / 2;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = resident_bytes(node.pid())?;
    let started = Instant::now();
    let mut connections =
        log_in_all(args, transport, &node, &app_key, &accounts[..half], 0).await?;
    let first_half_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let middle = resident_bytes(node.pid())?;
    let started_second = Instant::now();
    connections
        .extend(log_in_all(args, transport, &node, &app_key, &accounts[half..], half).await?);
    let login_seconds = first_half_seconds + started_second.elapsed().as_secs_f64();
    // Let the node settle: allocations freed after login given back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident_bytes(node.pid())?;
    let count = connections.len();
    let per_connection = after.saturating_sub(before) as f64 / count.max(1) as f64;
    let marginal = after.saturating_sub(middle) as f64 / (count - half).max(1) as f64;
    drop(connections);
    drop(node);
    Ok(json!({
        "transport": match transport { Transport::Tcp => "tcp", Transport::Ws => "ws" },
        "connections": count,
        "rss_before_bytes": before,
        "rss_half_bytes": middle,
        "rss_after_bytes": after,
        "bytes_per_connection": per_connection.round(),
        "marginal_bytes_per_connection": marginal.round(),
        "login_seconds": login_seconds,
        "logins_per_second": count as f64 / login_seconds.max(1e-9),
    }))
}

/// Every account logged in on its own connection, `concurrency` at a time.
async fn log_in_all(
    args: &ConnectionsArgs,
    transport: Transport,
    node: &NodeProcess,
    app_key: &str,
    accounts: &[String],
    first_index: usize,
) -> anyhow::Result<Vec<Idle>> {
    let connections: Vec<anyhow::Result<Idle>> = stream::iter(accounts.iter().enumerate())
        .map(|(i, accid)| async move {
            let i = first_index + i;
            let login = login_frame(app_key, accid);
            match transport {
                Transport::Tcp => {
                    let addr = SocketAddr::from(([127, 0, 0, 1], node.tcp));
                    let stream = connect_from(i, addr).await?;
                    Ok(Idle::Tcp(log_in_tcp(stream, &login).await?))
                }
                Transport::Ws => {
                    let addr = SocketAddr::from(([127, 0, 0, 1], node.http));
                    let stream = connect_from(i, addr).await?;
                    Ok(Idle::Ws(Box::new(log_in_ws(stream, addr, &login).await?)))
                }
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    connections.into_iter().collect()
}

/// A connection held open, idle.
enum Idle {
    Tcp(#[allow(dead_code)] TcpStream),
    Ws(#[allow(dead_code)] Box<tokio_tungstenite::WebSocketStream<TcpStream>>),
}

/// The node's resident set, from /proc (Linux).
fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading the node's memory needs /proc (Linux)")?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/<pid>/status")?;
    Ok(kib * 1024)
}

async fn connect_from(i: usize, to: SocketAddr) -> anyhow::Result<TcpStream> {
    let nth = i / PER_SOURCE_ADDRESS;
    let stream = if nth == 0 {
        // The kernel's own choice of port (a bound one could not be shared
        // with sockets of other runs still in TIME_WAIT).
        TcpStream::connect(to).await
    } else {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((
            Ipv4Addr::new(127, 0, 0, 1 + nth as u8),
            0,
        )))?;
        socket.connect(to).await
    }
    .with_context(|| format!("connecting to {to}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn login_frame(app_key: &str, accid: &str) -> Frame {
    Frame {
        body: Some(frame::Body::Request(Request {
            seq: 1,
            area: Some(request::Area::from(LoginRequest {
                app_key: app_key.into(),
                account: accid.into(),
                token: format!("t-{accid}"),
                client_type: 4,
                device_id: String::new(),
                auto_login: false,
            })),
        })),
    }
}

fn check_login(body: &[u8]) -> anyhow::Result<()> {
    match decode_frame(body)?.body {
        Some(frame::Body::Response(r)) if r.code == 200 => Ok(()),
        Some(frame::Body::Response(r)) => bail!("login refused: {} {}", r.code, r.message),
        other => bail!("expected the login's answer, got {other:?}"),
    }
}

async fn log_in_tcp(mut stream: TcpStream, login: &Frame) -> anyhow::Result<TcpStream> {
    let mut bytes = Vec::new();
    encode_length_prefixed(login, &mut bytes);
    stream.write_all(&bytes).await?;
    let len = stream.read_u32().await? as usize;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    check_login(&body)?;
    Ok(stream)
}

async fn log_in_ws(
    stream: TcpStream,
    addr: SocketAddr,
    login: &Frame,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream).await?;
    ws.send(WsMessage::Binary(encode_frame(login).into()))
        .await?;
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Binary(body))) => {
                check_login(&body)?;
                return Ok(ws);
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the node closed the WebSocket before answering the login"),
        }
    }
}
