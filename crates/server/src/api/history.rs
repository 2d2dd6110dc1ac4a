//! `/nimserver/history/*.action`: cloud history for the app's backend.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{json, Value};
use tidings_proto::{HistoryRequest, Message};

use super::reply::{ApiReply, ApiResult};
use super::signed::SignedForm;
use crate::state::ServerState;
use crate::ServiceError;

fn time(form: &SignedForm, name: &str) -> Result<i64, ApiReply> {
    form.required(name)?.parse().map_err(|_| {
        ServiceError::bad_parameter(format!("field '{name}' must be a time in ms")).into()
    })
}

/// `type`: message types separated by commas ("0,1,100").
fn types(form: &SignedForm) -> Result<Vec<u32>, ApiReply> {
    let Some(list) = form.optional("type").filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(|t| {
            t.trim().parse().map_err(|_| {
                ServiceError::bad_parameter("field 'type' must list message types as 0,1,2").into()
            })
        })
        .collect()
}

/// A message as NIM's history answers list it.
fn message_json(m: &Message) -> Value {
    json!({
        "from": m.from,
        "to": m.to,
        "msgid": m.server_id,
        "msgidclient": m.client_id,
        "sendtime": m.timestamp,
        "type": m.message_type,
        "body": m.text,
        "attach": m.attachment,
        "ext": m.remote_ext,
        "fromClientType": m.from_client_type,
        "fromNick": m.from_nick,
    })
}

/// `from`'s P2P conversation with `to` between `begintime` and `endtime`:
/// at most `limit` (1 to 100) messages, newest first unless `reverse` is 1.
pub async fn query_session_msg(
    State(state): State<Arc<ServerState>>,
    form: SignedForm,
) -> ApiResult {
    let from = form.required("from")?;
    state
        .services
        .accounts
        .must_exist(&form.app_key, from)
        .await?;
    let limit = form
        .required("limit")?
        .parse()
        .map_err(|_| ServiceError::bad_parameter("field 'limit' must be 1 to 100"))?;
    let ascending = match form.optional("reverse").unwrap_or("2") {
        "1" => true,
        "2" => false,
        _ => return Err(ServiceError::bad_parameter("field 'reverse' must be 1 or 2").into()),
    };
    let request = HistoryRequest {
        session_type: 0,
        session_id: form.required("to")?.to_owned(),
        start_time: time(&form, "begintime")?,
        end_time: time(&form, "endtime")?,
        limit,
        ascending,
        message_types: types(&form)?,
        anchor_seq: 0,
    };
    let page = state
        .services
        .messages
        .history(&form.app_key, from, &request)
        .await?;
    let msgs: Vec<Value> = page.messages.iter().map(message_json).collect();
    Ok(ApiReply::with("size", json!(msgs.len())).and("msgs", Value::Array(msgs)))
}
