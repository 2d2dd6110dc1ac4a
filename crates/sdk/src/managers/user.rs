//! NIM's user manager: profiles. Reads come from the local copy; fetches
//! and my updates go to the server, and their answers refresh the copy.

use tidings_proto::{response, user_response, GetProfiles, UserResponse};

use crate::connection::convert::{profile_update, user_info};
use crate::local_store::users;
use crate::types::{UserInfo, UserInfoUpdate};
use crate::{Client, SdkError};

/// Most accounts one fetch may name (the server's limit too).
pub const MAX_FETCH: usize = 150;

pub struct UserManager<'a> {
    pub(crate) client: &'a Client,
}

/// The user area's answer, or "the server answered something else".
fn user_answer(area: Option<response::Area>) -> Result<user_response::Kind, SdkError> {
    match area {
        Some(response::Area::User(UserResponse { kind: Some(kind) })) => Ok(kind),
        _ => Err(SdkError::server(
            tidings_proto::Code::ServerError.as_u32(),
            "unexpected answer to a user request",
        )),
    }
}

impl UserManager<'_> {
    /// Changes my profile. The server checks every field (414 names the
    /// first bad one, and nothing changes); every device of mine then gets
    /// `Event::UserInfoUpdated`.
    pub async fn update_my_info(&self, update: UserInfoUpdate) -> Result<UserInfo, SdkError> {
        let answer = self.client.call(profile_update(update)).await?;
        let user_response::Kind::Mine(mine) = user_answer(answer)? else {
            return Err(SdkError::server(
                tidings_proto::Code::ServerError.as_u32(),
                "unexpected answer to a profile update",
            ));
        };
        let mine = user_info(mine);
        self.save(vec![mine.clone()]).await?;
        Ok(mine)
    }

    /// Fetches profiles from the server (at most [`MAX_FETCH`] accounts;
    /// unknown ones are left out) and keeps them in the local copy.
    pub async fn fetch_user_infos(&self, accounts: &[&str]) -> Result<Vec<UserInfo>, SdkError> {
        if accounts.len() > MAX_FETCH {
            return Err(SdkError::InvalidParameter(format!(
                "at most {MAX_FETCH} accounts a fetch, not {}",
                accounts.len()
            )));
        }
        let request = GetProfiles {
            accids: accounts.iter().map(|a| a.to_string()).collect(),
        };
        let answer = self.client.call(request).await?;
        let user_response::Kind::Profiles(found) = user_answer(answer)? else {
            return Err(SdkError::server(
                tidings_proto::Code::ServerError.as_u32(),
                "unexpected answer to a profile fetch",
            ));
        };
        let profiles: Vec<UserInfo> = found.profiles.into_iter().map(user_info).collect();
        self.save(profiles.clone()).await?;
        Ok(profiles)
    }

    /// The profile held locally, if any (never waits for the network).
    pub async fn user_info(&self, account: &str) -> Result<Option<UserInfo>, SdkError> {
        let account = account.to_owned();
        self.client
            .shared()?
            .db
            .run(move |db| Ok(users::get(db.sql()?, &account)?))
            .await
    }

    /// My own profile, as held locally.
    pub async fn my_info(&self) -> Result<Option<UserInfo>, SdkError> {
        let me = self.client.shared()?.account.clone();
        self.user_info(&me).await
    }

    async fn save(&self, profiles: Vec<UserInfo>) -> Result<(), SdkError> {
        self.client
            .shared()?
            .db
            .run(move |db| Ok(users::save(db.sql()?, &profiles)?))
            .await
    }
}
