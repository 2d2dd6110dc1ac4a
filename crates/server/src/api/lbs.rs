//! `GET /lbs`: the gateways a device should connect to, asked of the one
//! address a user knows (the HTTP address), as NIM's SDK asks its LBS.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;

use super::reply::ApiReply;
use crate::state::ServerState;

pub async fn gateways(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> ApiReply {
    let config = &state.config;
    let listening = state.listening;
    // The host the client reached this node by, so the answer works from
    // where the client is (not 0.0.0.0, not an internal address).
    let authority = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .map(str::to_owned)
        .unwrap_or_else(|| listening.http.to_string());
    let host = host_part(&authority);
    let tcp = if config.lbs_tcp.is_empty() {
        vec![format!("{host}:{}", listening.tcp.port())]
    } else {
        config.lbs_tcp.clone()
    };
    let ws = if config.lbs_ws.is_empty() {
        // The WebSocket gateway is where this answer came from.
        vec![format!("ws://{authority}/ws")]
    } else {
        config.lbs_ws.clone()
    };
    ApiReply::ok().and("tcp", json!(tcp)).and("ws", json!(ws))
}

/// `host` of `host:port`, `[v6]:port` or `host`.
fn host_part(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::host_part;

    #[test]
    fn the_host_of_an_authority() {
        assert_eq!(host_part("example.com:9430"), "example.com");
        assert_eq!(host_part("example.com"), "example.com");
        assert_eq!(host_part("[::1]:9430"), "[::1]");
        assert_eq!(host_part("10.0.0.2:80"), "10.0.0.2");
    }
}
