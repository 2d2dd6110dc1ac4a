//! HTTP surface: the app backend's server API under `/nimserver/`, the
//! operator's `/admin/` API, the WebSocket gateway at `/ws`, `/healthz` and
//! `/metrics`. Handlers are thin: they parse, call a service, answer.

mod admin;
mod reply;
mod signed;
mod user;

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::gateway;
use crate::state::ServerState;

pub use reply::ApiReply;

/// The whole HTTP router.
pub fn app(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/nimserver/user/create.action", post(user::create))
        .route("/nimserver/user/update.action", post(user::update))
        .route(
            "/nimserver/user/refreshToken.action",
            post(user::refresh_token),
        )
        .route("/nimserver/user/block.action", post(user::block))
        .route("/nimserver/user/unblock.action", post(user::unblock))
        .route("/admin/app/create", post(admin::create_app))
        .route("/ws", get(websocket))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<ServerState>>) -> String {
    state.metrics.render(state.services.store.commit_stats())
}

async fn websocket(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> impl IntoResponse {
    upgrade
        .max_message_size(tidings_proto::MAX_FRAME_LEN)
        .max_frame_size(tidings_proto::MAX_FRAME_LEN)
        .on_upgrade(move |socket| async move {
            let (source, sink) = gateway::ws::split(socket);
            gateway::serve_connection(state, source, sink, peer).await;
        })
}
