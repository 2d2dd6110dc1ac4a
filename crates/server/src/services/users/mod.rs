//! Users: profiles hosted by the server. Only the account itself changes
//! its profile (the server API may change any of its app's); a change is
//! appended to the account's event log, so every device of it hears of it.

mod profile;

use std::collections::HashSet;
use std::sync::Arc;

use tidings_proto::{
    account_event, response, user_request, GetProfiles, ProfileUpdate, Profiles, UserProfile,
    UserRequest,
};
use tidings_store::{EventsOf, Profile, Store};

pub use profile::validate;

use super::events::{new_event, EventService};
use super::Session;
use crate::error::echo;
use crate::ServiceError;

/// Most accounts one profile fetch by a device may name (NIM's
/// fetchUserInfos).
pub const MAX_PROFILES_PER_FETCH: usize = 150;
/// Most accounts one server-API `user/getUinfos` may name.
pub const MAX_PROFILES_PER_API_CALL: usize = 200;

pub struct UserService {
    store: Arc<dyn Store>,
    events: Arc<EventService>,
    relations: Arc<super::RelationService>,
}

pub fn to_wire(profile: Profile) -> UserProfile {
    UserProfile {
        accid: profile.accid,
        nick: profile.nick,
        avatar: profile.avatar,
        sign: profile.sign,
        gender: profile.gender,
        email: profile.email,
        birth: profile.birth,
        mobile: profile.mobile,
        ext: profile.ext,
        updated_at: profile.updated_at,
    }
}

impl UserService {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<EventService>,
        relations: Arc<super::RelationService>,
    ) -> UserService {
        UserService {
            store,
            events,
            relations,
        }
    }

    pub async fn handle(
        &self,
        session: &Session,
        request: UserRequest,
    ) -> Result<response::Area, ServiceError> {
        match request.kind {
            Some(user_request::Kind::UpdateMine(update)) => Ok(self
                .update_profile(&session.app_key, &session.accid, update)
                .await?
                .into()),
            Some(user_request::Kind::Get(GetProfiles { accids })) => {
                let profiles = self
                    .profiles(&session.app_key, accids, MAX_PROFILES_PER_FETCH)
                    .await?;
                Ok(Profiles { profiles }.into())
            }
            None => Err(ServiceError::bad_parameter("user request has no kind")),
        }
    }

    /// Changes `accid`'s profile: every field is checked first, and a bad
    /// one changes nothing. The new profile goes to the account's log and
    /// to its friends' logs.
    pub async fn update_profile(
        &self,
        app_key: &str,
        accid: &str,
        update: ProfileUpdate,
    ) -> Result<UserProfile, ServiceError> {
        let changes = validate(update)?;
        let mut readers = vec![accid.to_owned()];
        readers.extend(self.relations.friends_of(app_key, accid).await?);
        let events: EventsOf<Profile> = Box::new(move |profile| {
            let kind = account_event::Kind::Profile(to_wire(profile.clone()));
            readers
                .iter()
                .map(|reader| new_event(reader, kind.clone()))
                .collect()
        });
        let (profile, stored) = self
            .store
            .update_profile(app_key, accid, changes, crate::now_ms(), events)
            .await?;
        if let Err(e) = self.events.publish(app_key, &stored).await {
            // Committed: devices get it at their next sync.
            tracing::warn!(error = %e, "could not push a profile change");
        }
        Ok(to_wire(profile))
    }

    /// The profiles of those of `accids` (at most `max`) that are
    /// accounts of the app, in the order asked, each once.
    pub async fn profiles(
        &self,
        app_key: &str,
        accids: Vec<String>,
        max: usize,
    ) -> Result<Vec<UserProfile>, ServiceError> {
        if accids.len() > max {
            return Err(ServiceError::bad_parameter(format!(
                "at most {max} accounts a call, not {}",
                accids.len()
            )));
        }
        if let Some(long) = accids
            .iter()
            .find(|a| a.len() > crate::services::accounts::MAX_ACCID_LEN)
        {
            return Err(ServiceError::bad_parameter(format!(
                "account {} is longer than {} bytes",
                echo(long),
                crate::services::accounts::MAX_ACCID_LEN
            )));
        }
        let mut seen = HashSet::new();
        let asked: Vec<String> = accids
            .into_iter()
            .filter(|a| seen.insert(a.clone()))
            .collect();
        let found = self.store.profiles(app_key, &asked).await?;
        let mut ordered = Vec::with_capacity(found.len());
        for accid in &asked {
            if let Some(profile) = found.iter().find(|p| &p.accid == accid) {
                ordered.push(to_wire(profile.clone()));
            }
        }
        Ok(ordered)
    }
}
