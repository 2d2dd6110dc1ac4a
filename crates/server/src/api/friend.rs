//! `/nimserver/friend/*.action` and the special relations of
//! `/nimserver/user/`: the app's backend acting for an account.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{json, Value};

use super::reply::{ApiReply, ApiResult};
use super::signed::SignedForm;
use crate::state::ServerState;
use crate::ServiceError;

/// `accid`, which must be an account of the app.
async fn acting(state: &ServerState, form: &SignedForm) -> Result<String, ApiReply> {
    let accid = form.required("accid")?;
    state
        .services
        .accounts
        .must_exist(&form.app_key, accid)
        .await?;
    Ok(accid.to_owned())
}

fn number(form: &SignedForm, name: &str) -> Result<u32, ApiReply> {
    form.required(name)?
        .parse()
        .map_err(|_| ServiceError::bad_parameter(format!("field '{name}' must be a number")).into())
}

/// `type`: 1 add directly, 2 request, 3 accept, 4 reject; `msg`: the postscript.
pub async fn add(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = acting(&state, &form).await?;
    let operation = number(&form, "type")?;
    let postscript = form.optional("msg").unwrap_or("");
    state
        .services
        .relations
        .friend(
            &form.app_key,
            &accid,
            form.required("faccid")?,
            operation,
            postscript,
        )
        .await?;
    Ok(ApiReply::ok())
}

/// `alias` and `ex` of `accid`'s friend `faccid`.
pub async fn update(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = acting(&state, &form).await?;
    let alias = form.optional("alias").unwrap_or("").to_owned();
    let ext = form.optional("ex").unwrap_or("").to_owned();
    state
        .services
        .relations
        .update_friend(&form.app_key, &accid, form.required("faccid")?, alias, ext)
        .await?;
    Ok(ApiReply::ok())
}

pub async fn delete(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = acting(&state, &form).await?;
    state
        .services
        .relations
        .unfriend(&form.app_key, &accid, form.required("faccid")?)
        .await?;
    Ok(ApiReply::ok())
}

pub async fn get(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    let accid = acting(&state, &form).await?;
    let relations = state
        .services
        .relations
        .relations(&form.app_key, &accid)
        .await?;
    let friends: Vec<Value> = relations
        .friends
        .iter()
        .map(|f| {
            json!({
                "faccid": f.accid,
                "alias": f.alias,
                "ex": f.ext,
                "createtime": f.created_at,
                "bidirection": true,
            })
        })
        .collect();
    Ok(ApiReply::with("size", json!(friends.len())).and("friends", Value::Array(friends)))
}

/// `relationType` 1 blacklist, 2 mute; `value` 1 on, 0 off.
pub async fn set_special_relation(
    State(state): State<Arc<ServerState>>,
    form: SignedForm,
) -> ApiResult {
    let accid = acting(&state, &form).await?;
    let relation = number(&form, "relationType")?;
    let on = match number(&form, "value")? {
        0 => false,
        1 => true,
        _ => return Err(ServiceError::bad_parameter("field 'value' must be 0 or 1").into()),
    };
    state
        .services
        .relations
        .set_special(
            &form.app_key,
            &accid,
            form.required("targetAcc")?,
            relation,
            on,
        )
        .await?;
    Ok(ApiReply::ok())
}

pub async fn list_black_and_mute_list(
    State(state): State<Arc<ServerState>>,
    form: SignedForm,
) -> ApiResult {
    let accid = acting(&state, &form).await?;
    let relations = state
        .services
        .relations
        .relations(&form.app_key, &accid)
        .await?;
    Ok(ApiReply::with("blacklist", json!(relations.blacklist))
        .and("mutelist", json!(relations.muted)))
}
