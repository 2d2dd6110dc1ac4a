//! NIM's friend manager, blacklist and mute list. Reads come from the local
//! copy the account event log keeps current; a change goes to the server
//! and, once it answers, to the local copy as well (the event that follows
//! finds it there already).

use tidings_proto::{
    friend_operation, special_relation, DeleteFriend, FriendRequest, SetSpecialRelation,
    UpdateFriend,
};

use crate::local_store::relations;
use crate::types::FriendInfo;
use crate::{Client, SdkError};

pub struct RelationManager<'a> {
    pub(crate) client: &'a Client,
}

impl RelationManager<'_> {
    /// NIM's requestFriend: `operation` 1 add directly, 2 ask (the target
    /// gets a system notification), 3 accept `account`'s request, 4 reject
    /// it; `message` is the postscript. A request to myself or to an
    /// unknown account, or an answer with no pending request, changes
    /// nothing (414, 404).
    pub async fn request_friend(
        &self,
        account: &str,
        operation: u32,
        message: &str,
    ) -> Result<(), SdkError> {
        let request = FriendRequest {
            accid: account.to_owned(),
            operation,
            message: message.to_owned(),
        };
        self.client.call(request).await?;
        if matches!(operation, friend_operation::ADD | friend_operation::ACCEPT) {
            let friend = FriendInfo {
                account: account.to_owned(),
                created_at: super::now_ms(),
                ..FriendInfo::default()
            };
            self.local(move |conn| {
                if relations::friend(conn, &friend.account)?.is_none() {
                    relations::save_friend(conn, &friend)?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// Ends the friendship, for both.
    pub async fn delete_friend(&self, account: &str) -> Result<(), SdkError> {
        self.client
            .call(DeleteFriend {
                accid: account.to_owned(),
            })
            .await?;
        let account = account.to_owned();
        self.local(move |conn| relations::remove_friend(conn, &account))
            .await
    }

    /// My alias (and ext, JSON) for a friend; only my devices see it.
    pub async fn update_friend(
        &self,
        account: &str,
        alias: &str,
        ext: &str,
    ) -> Result<(), SdkError> {
        let update = UpdateFriend {
            accid: account.to_owned(),
            alias: alias.to_owned(),
            ext: ext.to_owned(),
        };
        self.client.call(update).await?;
        let (account, alias, ext) = (account.to_owned(), alias.to_owned(), ext.to_owned());
        self.local(move |conn| {
            if let Some(mut friend) = relations::friend(conn, &account)? {
                friend.alias = alias;
                friend.ext = ext;
                relations::save_friend(conn, &friend)?;
            }
            Ok(())
        })
        .await
    }

    pub async fn my_friends(&self) -> Result<Vec<FriendInfo>, SdkError> {
        self.read(relations::friends).await
    }

    pub async fn friend(&self, account: &str) -> Result<Option<FriendInfo>, SdkError> {
        let account = account.to_owned();
        self.read(move |conn| relations::friend(conn, &account))
            .await
    }

    pub async fn is_my_friend(&self, account: &str) -> Result<bool, SdkError> {
        Ok(self.friend(account).await?.is_some())
    }

    /// Puts `account` on (or takes it off) my blacklist: its messages to
    /// me are refused (7101) while it is there.
    pub async fn set_blacklisted(&self, account: &str, on: bool) -> Result<(), SdkError> {
        self.set_listed(account, special_relation::BLACKLIST, on)
            .await
    }

    /// Mutes (or unmutes) `account`: its messages still arrive but do not
    /// notify me.
    pub async fn set_muted(&self, account: &str, on: bool) -> Result<(), SdkError> {
        self.set_listed(account, special_relation::MUTE, on).await
    }

    pub async fn blacklist(&self) -> Result<Vec<String>, SdkError> {
        self.read(|conn| relations::listed(conn, special_relation::BLACKLIST))
            .await
    }

    pub async fn mute_list(&self) -> Result<Vec<String>, SdkError> {
        self.read(|conn| relations::listed(conn, special_relation::MUTE))
            .await
    }

    pub async fn is_blacklisted(&self, account: &str) -> Result<bool, SdkError> {
        let account = account.to_owned();
        self.read(move |conn| relations::is_listed(conn, special_relation::BLACKLIST, &account))
            .await
    }

    /// Whether messages from `account` notify me (it is not muted).
    pub async fn notify_for_new_messages(&self, account: &str) -> Result<bool, SdkError> {
        let account = account.to_owned();
        self.read(move |conn| relations::is_listed(conn, special_relation::MUTE, &account))
            .await
            .map(|muted| !muted)
    }

    async fn set_listed(&self, account: &str, relation: u32, on: bool) -> Result<(), SdkError> {
        let request = SetSpecialRelation {
            accid: account.to_owned(),
            relation,
            on,
        };
        self.client.call(request).await?;
        let account = account.to_owned();
        self.local(move |conn| relations::set_listed(conn, relation, &account, on))
            .await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, SdkError> {
        self.client
            .shared()?
            .db
            .run(move |db| Ok(f(db.sql()?)?))
            .await
    }

    async fn local(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), SdkError> {
        self.read(f).await
    }
}
