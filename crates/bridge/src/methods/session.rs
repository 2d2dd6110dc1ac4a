//! Recent sessions: the list, deleting one, reading one.

use serde_json::{json, Value};
use tidings_sdk::Client;

use super::{Answer, Handler};
use crate::json as shapes;
use crate::params::Params;
use crate::NimError;

pub const CALLS: &[(&str, Handler)] = &[
    ("allRecentSession", all_recent_sessions),
    ("deleteRecentSession", delete_recent_session),
    ("markAllMessagesReadInSession", mark_all_read),
];
pub const LISTENERS: &[&str] = &[];

fn all_recent_sessions(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        let sessions = client.conversation().all_recent_sessions().await?;
        let list: Vec<Value> = sessions.iter().map(shapes::recent_session).collect();
        Ok(json!({ "status": true, "messages": list }))
    })
}

fn delete_recent_session(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let session = Params::of(&params).session()?;
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
    })
}

fn mark_all_read(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let session = Params::of(&params).session()?;
        client
            .conversation()
            .mark_all_messages_read(&session)
            .await?;
        Ok(json!({ "status": true }))
    })
}
