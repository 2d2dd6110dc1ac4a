//! `/nimserver/msg/*.action`.

use std::sync::Arc;

use axum::extract::State;
use tidings_proto::SendCustomNotification;

use super::reply::{ApiReply, ApiResult};
use super::signed::SignedForm;
use crate::services::messages::Revoker;
use crate::state::ServerState;
use crate::ServiceError;

/// A custom notification from the app's backend: `from`, `msgtype` 0 (to
/// an account), `to`, `attach` (JSON), `pushcontent`, and `save`: 1 only
/// to devices online now, 2 (the default) also kept for the next login.
pub async fn send_attach_msg(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    match form.required("msgtype")? {
        "0" => {}
        "1" => {
            return Err(ServiceError::bad_parameter(
                "msgtype 1 (to a team) needs teams, not here yet",
            )
            .into())
        }
        _ => return Err(ServiceError::bad_parameter("msgtype must be 0 (to an account)").into()),
    }
    let online_only = match form.optional("save") {
        None | Some("2") => false,
        Some("1") => true,
        Some(_) => return Err(ServiceError::bad_parameter("save must be 1 or 2").into()),
    };
    let send = SendCustomNotification {
        to: form.required("to")?.to_owned(),
        content: form.required("attach")?.to_owned(),
        online_only,
        push_content: form.optional("pushcontent").unwrap_or("").to_owned(),
    };
    state
        .services
        .notifications
        .custom
        .send_from_backend(&form.app_key, form.optional("from").unwrap_or(""), send)
        .await?;
    Ok(ApiReply::ok())
}

/// NIM's recall: `deleteMsgid` (the server id) sent at `timetag` by `from`
/// to `to`, `type` 7 (P2P; 8, a team's, comes with teams), `msg` the
/// postscript. The backend has no revoke window (`ignoreTime` is accepted
/// and changes nothing).
pub async fn recall(State(state): State<Arc<ServerState>>, form: SignedForm) -> ApiResult {
    match form.required("type")? {
        "7" => {}
        "8" => {
            return Err(ServiceError::bad_parameter(
                "type 8 (a team message) needs teams, not here yet",
            )
            .into())
        }
        _ => return Err(ServiceError::bad_parameter("type must be 7 (P2P)").into()),
    }
    let number = |name: &str| -> Result<i64, ApiReply> {
        form.required(name)?.parse().map_err(|_| {
            ServiceError::bad_parameter(format!("field '{name}' must be a number")).into()
        })
    };
    let server_id = number("deleteMsgid")?;
    let time = number("timetag")?;
    let (from, to) = (form.required("from")?, form.required("to")?);
    let messages = &state.services.messages;
    state
        .services
        .accounts
        .must_exist(&form.app_key, from)
        .await?;
    let mut request = messages
        .named_by_server_id(&form.app_key, from, to, server_id as u64, time)
        .await?;
    request.postscript = form.optional("msg").unwrap_or("").to_owned();
    messages
        .revoke(&form.app_key, from, Revoker::Backend, &request)
        .await?;
    Ok(ApiReply::ok())
}
