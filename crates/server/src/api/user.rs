//! `/nimserver/user/*.action`: accounts, tokens, bans, profiles.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{json, Value};
use tidings_proto::{ProfileUpdate, UserProfile};

use super::reply::{ApiReply, ApiResult};
use super::signed::SignedForm;
use crate::services::users::MAX_PROFILES_PER_API_CALL;
use crate::state::ServerState;
use crate::ServiceError;

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

/// NIM's `uinfo`: a profile with the server API's field names.
fn uinfo(profile: &UserProfile) -> Value {
    json!({
        "accid": profile.accid,
        "name": profile.nick,
        "icon": profile.avatar,
        "sign": profile.sign,
        "email": profile.email,
        "birth": profile.birth,
        "mobile": profile.mobile,
        "gender": profile.gender,
        "ex": profile.ext,
    })
}

/// `accids`: a JSON array of account ids.
pub async fn get_uinfos(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accids: Vec<String> = serde_json::from_str(form.required("accids")?)
        .map_err(|_| ServiceError::bad_parameter("accids must be a JSON array of account ids"))?;
    let profiles = state
        .services
        .users
        .profiles(&form.app_key, accids, MAX_PROFILES_PER_API_CALL)
        .await?;
    let list: Vec<Value> = profiles.iter().map(uinfo).collect();
    Ok(ApiReply::with("uinfos", Value::Array(list)))
}

/// Changes the fields given (NIM's names); the others stay.
pub async fn update_uinfo(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = form.required("accid")?;
    let text = |name: &str| form.optional(name).map(str::to_owned);
    let gender = match form.optional("gender") {
        None => None,
        Some(g) => Some(g.parse::<u32>().map_err(|_| {
            ServiceError::bad_parameter("gender must be 0 (unknown), 1 (male) or 2 (female)")
        })?),
    };
    let update = ProfileUpdate {
        nick: text("name"),
        avatar: text("icon"),
        sign: text("sign"),
        gender,
        email: text("email"),
        birth: text("birth"),
        mobile: text("mobile"),
        ext: text("ex"),
    };
    state
        .services
        .users
        .update_profile(&form.app_key, accid, update)
        .await?;
    Ok(ApiReply::ok())
}
