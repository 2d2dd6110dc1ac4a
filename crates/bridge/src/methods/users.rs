//! Users: profiles; onUserInfoUpdate.

use serde_json::{json, Value};
use tidings_sdk::{Client, UserInfoUpdate};

use super::{Answer, Handler};
use crate::json as shapes;
use crate::params::Params;
use crate::NimError;

pub const CALLS: &[(&str, Handler)] = &[
    ("userInfo", user_info),
    ("fetchUserInfos", fetch_user_infos),
    ("updateMyUserInfo", update_my_user_info),
];
pub const LISTENERS: &[&str] = &["onUserInfoUpdate"];

/// The local copies: the profile (`userInfo` null when this device holds
/// none: `fetchUserInfos` fetches it), my alias for the account if a
/// friend, whether its messages notify me, whether I blacklisted it.
fn user_info(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let account = Params::of(&params).string("userId")?;
        let held = client.user().user_info(account).await?;
        let relations = client.relation();
        let alias = relations
            .friend(account)
            .await?
            .map(|f| f.alias)
            .unwrap_or_default();
        Ok(json!({
            "status": true,
            "userId": account,
            "alias": alias,
            "notifyForNewMsg": relations.notify_for_new_messages(account).await?,
            "isInMyBlackList": relations.is_blacklisted(account).await?,
            "userInfo": held.as_ref().map(shapes::user),
        }))
    })
}

/// `userIds` (seed 002's example passes `userId`, taken too), at most 150.
fn fetch_user_infos(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let ids = params
            .get("userIds")
            .or_else(|| params.get("userId"))
            .ok_or_else(|| NimError::bad_parameter("userIds is required"))?;
        let list: Vec<&str> = match ids {
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| NimError::bad_parameter("userIds must hold strings"))
                })
                .collect::<Result<_, _>>()?,
            Value::String(one) => vec![one.as_str()],
            _ => {
                return Err(NimError::bad_parameter(
                    "userIds must be an array of strings",
                ))
            }
        };
        let found = client.user().fetch_user_infos(&list).await?;
        let users: Vec<Value> = found.iter().map(shapes::user).collect();
        Ok(json!({ "status": true, "message": users }))
    })
}

fn update_my_user_info(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let text = |name: &str| p.opt_string(name).map(|v| v.map(str::to_owned));
        let gender = match params.get("gender") {
            None | Some(Value::Null) => None,
            Some(g) => Some(
                g.as_u64()
                    .and_then(|g| u32::try_from(g).ok())
                    .ok_or_else(|| NimError::bad_parameter("gender must be 0, 1 or 2"))?,
            ),
        };
        let update = UserInfoUpdate {
            nick: text("nickname")?,
            avatar: text("avatar")?,
            sign: text("sign")?,
            gender,
            email: text("email")?,
            birth: text("birth")?,
            mobile: text("mobile")?,
            ext: p.object_text("ext")?,
        };
        client.user().update_my_info(update).await?;
        Ok(json!({ "status": true }))
    })
}
