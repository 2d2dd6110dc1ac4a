//! HTTP surface: the app backend's server API under `/nimserver/`, the
//! operator's `/admin/` API, the WebSocket gateway at `/ws`, `/healthz` and
//! `/metrics`. Handlers are thin: they parse, call a service, answer.

mod admin;
mod friend;
mod history;
mod lbs;
mod msg;
mod reply;
mod signed;
mod user;

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::gateway::{self, Listener};
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
        .route("/nimserver/user/getUinfos.action", post(user::get_uinfos))
        .route(
            "/nimserver/user/updateUinfo.action",
            post(user::update_uinfo),
        )
        .route(
            "/nimserver/user/setSpecialRelation.action",
            post(friend::set_special_relation),
        )
        .route(
            "/nimserver/user/listBlackAndMuteList.action",
            post(friend::list_black_and_mute_list),
        )
        .route("/nimserver/friend/add.action", post(friend::add))
        .route("/nimserver/friend/update.action", post(friend::update))
        .route("/nimserver/friend/delete.action", post(friend::delete))
        .route("/nimserver/friend/get.action", post(friend::get))
        .route(
            "/nimserver/msg/sendAttachMsg.action",
            post(msg::send_attach_msg),
        )
        .route("/nimserver/msg/recall.action", post(msg::recall))
        .route(
            "/nimserver/history/querySessionMsg.action",
            post(history::query_session_msg),
        )
        .route("/admin/app/create", post(admin::create_app))
        .route("/ws", get(websocket))
        .route("/lbs", get(lbs::gateways))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            within_request_timeout,
        ))
        .with_state(state)
}

/// A request's body and answer must be done within the request timeout,
/// so a body sent a byte at a time holds its connection for that long only.
async fn within_request_timeout(
    State(state): State<Arc<ServerState>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = state.config.http_request_timeout();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(answer) => answer,
        Err(_) => {
            let refused = crate::ServiceError::new(
                tidings_proto::Code::Timeout,
                format!("the request took longer than {} s", limit.as_secs_f64()),
            );
            let mut answer = axum::response::IntoResponse::into_response(ApiReply::from(refused));
            *answer.status_mut() = axum::http::StatusCode::REQUEST_TIMEOUT;
            answer
                .headers_mut()
                .insert("connection", axum::http::HeaderValue::from_static("close"));
            answer
        }
    }
}

async fn metrics(State(state): State<Arc<ServerState>>) -> String {
    state.metrics.render(
        state.services.store.commit_stats(),
        state.services.auth.throttle_entries(),
    )
}

async fn websocket(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    mut request: Request,
) -> Response {
    let (answer, upgrade) = match gateway::ws::accept(&mut request) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let (source, sink) = gateway::ws::split(upgraded).await;
                gateway::serve_connection(state, source, sink, peer, Listener::WebSocket).await;
            }
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
    answer
}
