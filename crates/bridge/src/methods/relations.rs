//! Friends, blacklist and mute list: requestFriend, deleteFriend,
//! myFriends, isMyFriend, the blacklist's and mute list's calls;
//! onBlackListChanged.

use std::sync::Arc;

use serde_json::{json, Value};
use tidings_sdk::{Client, UserInfo};

use super::{Answer, Handler, SyncHandler};
use crate::json as shapes;
use crate::params::Params;
use crate::{NimError, State};

pub const CALLS: &[(&str, Handler)] = &[
    ("requestFriend", request_friend),
    ("deleteFriend", delete_friend),
    ("myFriends", my_friends),
    ("myBlackList", my_blacklist),
    ("addToBlackList", add_to_blacklist),
    ("removeFromBlackBlackList", remove_from_blacklist),
    ("isUserInBlackList", is_user_in_blacklist),
    ("myMuteUserList", my_mute_list),
    ("updateNotifyStateForUser", update_notify_state),
    ("notifyForNewMsgForUser", notify_for_new_msg),
];
pub const SYNC: &[(&str, SyncHandler)] = &[("isMyFriend", is_my_friend)];
pub const LISTENERS: &[&str] = &["onBlackListChanged"];

fn request_friend(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let account = p.string("userId")?;
        let operation = params
            .get("operation")
            .and_then(Value::as_u64)
            .and_then(|o| u32::try_from(o).ok())
            .ok_or_else(|| NimError::bad_parameter("operation must be 1, 2, 3 or 4"))?;
        let message = p.opt_string("message")?.unwrap_or("");
        client
            .relation()
            .request_friend(account, operation, message)
            .await?;
        Ok(json!({ "status": true }))
    })
}

fn delete_friend(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let account = Params::of(&params).string("userId")?;
        client.relation().delete_friend(account).await?;
        Ok(json!({ "status": true }))
    })
}

/// The seed's User of each account: the profile held locally, fetched
/// first for those not held.
async fn users_of(client: &Client, accounts: Vec<String>) -> Result<Vec<Value>, NimError> {
    let mut held: Vec<Option<UserInfo>> = Vec::with_capacity(accounts.len());
    for account in &accounts {
        held.push(client.user().user_info(account).await?);
    }
    let missing: Vec<&str> = accounts
        .iter()
        .zip(&held)
        .filter(|(_, profile)| profile.is_none())
        .map(|(account, _)| account.as_str())
        .collect();
    let mut fetched = Vec::new();
    for chunk in missing.chunks(tidings_sdk::MAX_USER_FETCH) {
        fetched.extend(client.user().fetch_user_infos(chunk).await?);
    }
    Ok(accounts
        .into_iter()
        .zip(held)
        .map(|(account, profile)| {
            let profile = profile
                .or_else(|| fetched.iter().find(|p| p.account == account).cloned())
                .unwrap_or(UserInfo {
                    account,
                    ..UserInfo::default()
                });
            shapes::user(&profile)
        })
        .collect())
}

fn my_friends(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        let friends = client.relation().my_friends().await?;
        let accounts = friends.into_iter().map(|f| f.account).collect();
        Ok(json!({ "status": true, "users": users_of(&client, accounts).await? }))
    })
}

fn my_blacklist(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        let accounts = client.relation().blacklist().await?;
        Ok(json!({ "status": true, "users": users_of(&client, accounts).await? }))
    })
}

fn my_mute_list(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        let accounts = client.relation().mute_list().await?;
        Ok(json!({ "status": true, "users": users_of(&client, accounts).await? }))
    })
}

fn add_to_blacklist(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let account = Params::of(&params).string("userId")?;
        client.relation().set_blacklisted(account, true).await?;
        Ok(json!({ "status": true }))
    })
}

fn remove_from_blacklist(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let account = Params::of(&params).string("userId")?;
        client.relation().set_blacklisted(account, false).await?;
        Ok(json!({ "status": true }))
    })
}

/// `status` true: in my blacklist.
fn is_user_in_blacklist(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let account = Params::of(&params).string("userId")?;
        let listed = client.relation().is_blacklisted(account).await?;
        Ok(json!({ "status": listed }))
    })
}

/// `notify` false mutes the account.
fn update_notify_state(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let account = Params::of(&params).string("userId")?;
        let notify = match params.get("notify") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(notify)) => *notify,
            Some(_) => return Err(NimError::bad_parameter("notify must be a boolean")),
        };
        client.relation().set_muted(account, !notify).await?;
        Ok(json!({ "status": true }))
    })
}

/// `status` true: messages from the account notify me.
fn notify_for_new_msg(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let account = Params::of(&params).string("userId")?;
        let notify = client.relation().notify_for_new_messages(account).await?;
        Ok(json!({ "status": notify }))
    })
}

/// Answers at once from the local copy.
fn is_my_friend(
    state: &Arc<State>,
    handle: &tokio::runtime::Handle,
    params: &Value,
) -> Result<Value, NimError> {
    let account = Params::of(params).string("account")?.to_owned();
    let client = state.client()?;
    let friend = handle.block_on(async move { client.relation().is_my_friend(&account).await })?;
    Ok(Value::Bool(friend))
}
