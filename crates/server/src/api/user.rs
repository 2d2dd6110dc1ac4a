//! `/nimserver/user/*.action`: accounts, tokens, bans.

use std::sync::Arc;

use axum::extract::State;
use serde_json::json;

use super::reply::{ApiReply, ApiResult};
use super::signed::SignedForm;
use crate::state::ServerState;

pub async fn create(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = form.required("accid")?;
    let name = form.optional("name").unwrap_or("");
    let account = state
        .services
        .accounts
        .create(&form.app_key, accid, name, form.optional("token"))
        .await?;
    Ok(ApiReply::with(
        "info",
        json!({ "accid": account.accid, "token": account.token, "name": account.name }),
    ))
}

pub async fn update(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = form.required("accid")?;
    let token = form.required("token")?;
    state
        .services
        .accounts
        .update_token(&form.app_key, accid, token)
        .await?;
    Ok(ApiReply::ok())
}

pub async fn refresh_token(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = form.required("accid")?;
    let token = state
        .services
        .accounts
        .refresh_token(&form.app_key, accid)
        .await?;
    Ok(ApiReply::with(
        "info",
        json!({ "accid": accid, "token": token }),
    ))
}

pub async fn block(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = form.required("accid")?;
    let kick = form.flag("needkick", true)?;
    state
        .services
        .accounts
        .block(&form.app_key, accid, kick)
        .await?;
    Ok(ApiReply::ok())
}

pub async fn unblock(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = form.required("accid")?;
    state
        .services
        .accounts
        .unblock(&form.app_key, accid)
        .await?;
    Ok(ApiReply::ok())
}
