//! The supported methods.

use std::sync::Arc;

use serde_json::{json, Value};
use tidings_sdk::{client_type, Client, ClientConfig, OutgoingMessage, ServerAddress};

use crate::params::Params;
use crate::{json as shapes, listeners, NimError, State};

/// NIM client type names accepted by `init`.
fn client_type_of(name: &str) -> Option<u32> {
    match name.to_ascii_lowercase().as_str() {
        "android" => Some(client_type::ANDROID),
        "ios" => Some(client_type::IOS),
        "pc" | "windows" => Some(client_type::PC),
        "web" => Some(client_type::WEB),
        "mac" | "macos" => Some(client_type::MACOS),
        _ => None,
    }
}

/// `init({appKey, server, dataDir, clientType})`: stands in for config.xml.
pub fn init(
    state: &Arc<State>,
    handle: &tokio::runtime::Handle,
    params: &Value,
) -> Result<Value, NimError> {
    let p = Params::of(params);
    let app_key = p.string("appKey")?;
    let server = ServerAddress::parse(p.string("server")?).map_err(|_| {
        NimError::bad_parameter("server must be host:port, http://host:port or ws://host:port/ws")
    })?;
    let data_dir = p.string("dataDir")?;
    let kind = match p.opt_string("clientType")? {
        None => client_type::PC,
        Some(name) => client_type_of(name).ok_or_else(|| {
            NimError::bad_parameter(format!(
                "clientType '{name}' is not one of android, ios, pc, web, mac"
            ))
        })?,
    };
    let mut guard = state
        .client
        .lock()
        .map_err(|_| NimError::new(500, "bridge state poisoned"))?;
    if guard
        .as_ref()
        .is_some_and(|c| c.login().current_account().is_some())
    {
        return Err(NimError::new(417, "log out before init again"));
    }
    let mut config = ClientConfig::new(app_key, server, data_dir);
    config.client_type = kind;
    let client = Client::new(config)?;
    listeners::forward(state.clone(), &client, handle);
    *guard = Some(client);
    Ok(json!({ "status": true }))
}

pub async fn call(state: &Arc<State>, method: &str, params: &Value) -> Result<Value, NimError> {
    let p = Params::of(params);
    let client = state.client()?;
    match method {
        "login" => {
            let user = p.string("userId")?;
            let password = p.string("password")?;
            client.login().login(user, password).await?;
            Ok(json!({ "status": true, "userId": user }))
        }
        "logout" => {
            client.login().logout().await?;
            Ok(json!({ "status": true }))
        }
        "sendText" | "sendTips" => {
            let session = p.session()?;
            let content = p.string("content")?;
            let outgoing = if method == "sendText" {
                OutgoingMessage::text(session, content)
            } else {
                OutgoingMessage::tip(session, content)
            };
            send(&client, with_ext(outgoing, &p)?).await
        }
        "sendCustomMessage" => {
            let session = p.session()?;
            let attachment = p
                .object_text("attachment")?
                .ok_or_else(|| NimError::bad_parameter("attachment is required"))?;
            let mut outgoing = OutgoingMessage::custom(session, attachment);
            if let Some(text) = p.opt_string("content")? {
                outgoing.text = text.to_owned();
            }
            send(&client, with_ext(outgoing, &p)?).await
        }
        "allRecentSession" => {
            let sessions = client.conversation().all_recent_sessions().await?;
            let list: Vec<Value> = sessions.iter().map(shapes::recent_session).collect();
            Ok(json!({ "status": true, "messages": list }))
        }
        "deleteRecentSession" => {
            let session = p.session()?;
            let found = client
                .conversation()
                .delete_recent_session(&session)
                .await?;
            if !found {
                return Err(NimError::new(
                    404,
                    format!("no recent session '{}'", session.id),
                ));
            }
            Ok(json!({ "status": true }))
        }
        "markAllMessagesReadInSession" => {
            let session = p.session()?;
            client
                .conversation()
                .mark_all_messages_read(&session)
                .await?;
            Ok(json!({ "status": true }))
        }
        "queryMessageHistory" | "queryMessageHistoryByTyps" => {
            let session = p.session()?;
            let limit = p.limit()?;
            let anchor = p.opt_string("messageId")?.filter(|s| !s.is_empty());
            let types = if method == "queryMessageHistoryByTyps" {
                p.types()?
            } else {
                None
            };
            let list = client
                .chat()
                .history_of_types(&session, anchor, limit, types)
                .await?;
            Ok(json!({ "status": true, "messages": shapes::messages(&list) }))
        }
        other => Err(NimError::new(
            crate::NOT_SUPPORTED,
            format!("'{other}' is not supported yet by Tidings"),
        )),
    }
}

fn with_ext(outgoing: OutgoingMessage, p: &Params<'_>) -> Result<OutgoingMessage, NimError> {
    let mut outgoing = outgoing;
    if let Some(ext) = p.object_text("ext")? {
        outgoing = outgoing.with_remote_ext(ext);
    }
    if let Some(local) = p.object_text("localExt")? {
        outgoing = outgoing.with_local_ext(local);
    }
    Ok(outgoing)
}

/// Sends and answers once the server acked (or refused) it.
async fn send(client: &Client, outgoing: OutgoingMessage) -> Result<Value, NimError> {
    let message = client.chat().send(outgoing).await?;
    Ok(json!({ "status": true, "message": shapes::message(&message) }))
}
