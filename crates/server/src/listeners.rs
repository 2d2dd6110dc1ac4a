//! The two listeners' accept loops. Each has its own cap on connections,
//! fitted at start into the process's open-file limit, so neither listener
//! can take the other's room (or the store's files); past its cap a
//! listener answers at once (503) rather than leave the peer waiting.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::gateway::{self, Listener};
use crate::metrics::Metrics;
use crate::state::ServerState;

/// Open files kept free for the store, the bus and the like.
const FILES_RESERVED: u64 = 256;
/// Refusals being written at once; past this, a connection over the cap
/// is dropped without an answer.
const MAX_REFUSALS_IN_FLIGHT: usize = 256;
/// How long a refusal may take to write and its peer to hang up.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// How long an HTTP connection may take to finish its request at shutdown.
const HTTP_DRAIN: Duration = Duration::from_secs(5);

/// Lowers the connection caps to what the open-file limit allows: the HTTP
/// listener at most a quarter of it, the gateway the rest, less a reserve.
pub(crate) fn fit_caps_to_open_files(config: &mut ServerConfig) {
    let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) else {
        return;
    };
    let usable = soft.saturating_sub(FILES_RESERVED);
    let http = (config.max_http_connections as u64).min((usable / 4).max(16));
    let gateway = (config.max_connections as u64).min(usable.saturating_sub(http).max(16));
    if http < config.max_http_connections as u64 || gateway < config.max_connections as u64 {
        tracing::info!(
            open_files = soft,
            max_connections = gateway,
            max_http_connections = http,
            "connection caps lowered to fit the open-file limit"
        );
    }
    config.max_http_connections = http as usize;
    config.max_connections = gateway as usize;
}

pub(crate) async fn accept_tcp(
    listener: TcpListener,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted: std::io::Result<(TcpStream, SocketAddr)> = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (source, sink) = gateway::tcp::split(stream);
                tokio::spawn(gateway::serve_connection(
                    state.clone(),
                    source,
                    sink,
                    peer,
                    Listener::Tcp,
                ));
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Out of file descriptors and the like: back off, keep serving.
async fn accept_failed(e: std::io::Error) {
    tracing::warn!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves HTTP/1.1 with a cap on connections, a timeout for each request's
/// head (which also closes idle keep-alive connections) and upgrades to
/// WebSocket, whose connections then count against the gateway's cap.
pub(crate) async fn accept_http(
    listener: TcpListener,
    router: Router,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(state.config.max_http_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.http_header_timeout())
        .keep_alive(true);
    loop {
        let accepted: std::io::Result<(TcpStream, SocketAddr)> = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(e).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            Metrics::inc(&state.metrics.http_refused_total);
            if let Ok(refusing) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse_busy(stream).await;
                    drop(refusing);
                });
            }
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let (state, mut shutdown) = (state.clone(), shutdown.clone());
        tokio::spawn(async move {
            let open = &state.metrics.http_connections_open;
            open.fetch_add(1, Ordering::Relaxed);
            tokio::pin!(connection);
            let stopping = tokio::select! {
                _ = connection.as_mut() => false,
                _ = shutdown.wait_for(|stop| *stop) => true,
            };
            if stopping {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(HTTP_DRAIN, connection.as_mut()).await;
            }
            open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
}

/// A whole HTTP/1.1 answer with a text body, written by hand to a socket
/// no HTTP server serves; `status` is the status line's rest and may carry
/// more header lines.
pub(crate) fn plain_http_answer(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers 503 to a connection over the cap, then waits a moment for the
/// peer to hang up (so the answer is not lost to a reset).
async fn refuse_busy(mut stream: TcpStream) {
    let answer = plain_http_answer(
        "503 Service Unavailable\r\nretry-after: 1",
        "server is at its HTTP connection limit; try again shortly\n",
    );
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
