//! `/admin/*`: the operator's API, authorised by the admin token kept in the
//! data directory (`Authorization: Bearer <token>`).

use std::sync::Arc;

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tidings_proto::Code;

use super::reply::{ApiReply, ApiResult};
use super::signed::{is_form, read_form, unsupported_media_type};
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

/// The token is checked before the body is read, and the body must be a
/// form (415 otherwise), of at most [`MAX_FORM_BYTES`].
pub async fn create_app(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    if let Err(refused) = authorise(&state, request.headers()) {
        return refused.into_response();
    }
    if !is_form(request.headers()) {
        return unsupported_media_type();
    }
    match read_form(request).await {
        Ok(fields) => create_app_from(&state, fields).await.into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn create_app_from(state: &ServerState, fields: HashMap<String, String>) -> ApiResult {
    let name = fields.get("name").map(|s| s.as_str()).unwrap_or("");
    let app = state.services.apps.create(name).await?;
    Ok(ApiReply::with(
        "info",
        json!({ "appKey": app.app_key, "appSecret": app.app_secret, "name": app.name }),
    ))
}
