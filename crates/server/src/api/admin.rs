//! `/admin/*`: the operator's API, authorised by the admin token kept in the
//! data directory (`Authorization: Bearer <token>`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;
use tidings_proto::Code;

use super::reply::{ApiReply, ApiResult};
use super::signed::parse_form;
use crate::services::apps::constant_time_eq;
use crate::state::ServerState;
use crate::ServiceError;

fn authorise(state: &ServerState, headers: &HeaderMap) -> Result<(), ApiReply> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if given.is_empty() || !constant_time_eq(given.as_bytes(), state.admin_token.as_bytes()) {
        return Err(ServiceError::new(Code::Forbidden, "admin token missing or wrong").into());
    }
    Ok(())
}

pub async fn create_app(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorise(&state, &headers)?;
    let fields = parse_form(&body)?;
    let name = fields.get("name").map(|s| s.as_str()).unwrap_or("");
    let app = state.services.apps.create(name).await?;
    Ok(ApiReply::with(
        "info",
        json!({ "appKey": app.app_key, "appSecret": app.app_secret, "name": app.name }),
    ))
}
