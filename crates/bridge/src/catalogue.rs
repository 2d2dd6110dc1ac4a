//! The method catalogue of seed 002: every name and its kind. Whether
//! Tidings supports one is whether `methods/` has a handler for it.

/// How a name is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `method(params, callback(ret, err))`.
    Call,
    /// Returns its value directly (`isLogined()`).
    Sync,
    /// `listener(callback(ret))`.
    Listener,
}

/// All 125 names of seed 002, in its order.
#[rustfmt::skip]
pub const SEED_METHODS: &[(&str, Kind)] = &[
    ("login", Kind::Call),
    ("logout", Kind::Call),
    ("onKick", Kind::Listener),
    ("willSendIMMessage", Kind::Listener),
    ("onSendMessageWithProgress", Kind::Listener),
    ("onRecvIMMessages", Kind::Listener),
    ("allRecentSession", Kind::Call),
    ("fetchMessageHistory", Kind::Call),
    ("sendText", Kind::Call),
    ("sendImage", Kind::Call),
    ("sendLocationMsg", Kind::Call),
    ("sendAudio", Kind::Call),
    ("sendVideo", Kind::Call),
    ("sendFile", Kind::Call),
    ("switchAudioOutputDevice", Kind::Call),
    ("isPlaying", Kind::Call),
    ("playAudio", Kind::Call),
    ("stopPlay", Kind::Call),
    ("isRecording", Kind::Call),
    ("recordAudioForDuration", Kind::Call),
    ("cancelRecord", Kind::Call),
    ("stopRecord", Kind::Call),
    ("onIMTeamRemoved", Kind::Listener),
    ("onIMTeamUpdated", Kind::Listener),
    ("onBlackListChanged", Kind::Listener),
    ("allMyTeams", Kind::Call),
    ("teamById", Kind::Call),
    ("fetchTeamInfo", Kind::Call),
    ("createTeam", Kind::Call),
    ("addUsers", Kind::Call),
    ("acceptInviteWithTeam", Kind::Call),
    ("rejectInviteWithTeam", Kind::Call),
    ("applyToTeam", Kind::Call),
    ("passApplyToTeam", Kind::Call),
    ("rejectApplyToTeam", Kind::Call),
    ("updateTeamName", Kind::Call),
    ("updateTeamIntro", Kind::Call),
    ("updateTeamAnnouncement", Kind::Call),
    ("updateTeamJoinMode", Kind::Call),
    ("addManagersToTeam", Kind::Call),
    ("removeManagersFromTeam", Kind::Call),
    ("transferManagerWithTeam", Kind::Call),
    ("fetchTeamMembers", Kind::Call),
    ("quitTeam", Kind::Call),
    ("kickUsers", Kind::Call),
    ("dismissTeam", Kind::Call),
    ("updateNotifyStateForTeam", Kind::Call),
    ("onIMSystemMessageRecieved", Kind::Listener),
    ("fetchSystemNotifications", Kind::Call),
    ("allNotificationsUnreadCount", Kind::Call),
    ("deleteAllNotifications", Kind::Call),
    ("markAllNotificationsAsRead", Kind::Call),
    ("onUserInfoUpdate", Kind::Listener),
    ("userInfo", Kind::Call),
    ("fetchUserInfos", Kind::Call),
    ("updateMyUserInfo", Kind::Call),
    ("myFriends", Kind::Call),
    ("requestFriend", Kind::Call),
    ("deleteFriend", Kind::Call),
    ("myBlackList", Kind::Call),
    ("addToBlackList", Kind::Call),
    ("removeFromBlackBlackList", Kind::Call),
    ("isUserInBlackList", Kind::Call),
    ("myMuteUserList", Kind::Call),
    ("updateNotifyStateForUser", Kind::Call),
    ("notifyForNewMsgForUser", Kind::Call),
    ("onChatRoomStatusChanged", Kind::Listener),
    ("onChatRoomKickOutEvent", Kind::Listener),
    ("enterChatRoom", Kind::Call),
    ("exitChatRoom", Kind::Call),
    ("getChatRoomHistoryMsg", Kind::Call),
    ("getChatRoomInfo", Kind::Call),
    ("getChatRoomMembers", Kind::Call),
    ("getChatRoomMembersByIds", Kind::Call),
    ("addUserToBlackList", Kind::Call),
    ("muteUser", Kind::Call),
    ("setAdmin", Kind::Call),
    ("setNormal", Kind::Call),
    ("kickMemberFromChatRoom", Kind::Call),
    ("startCall", Kind::Call),
    ("onCallReceive", Kind::Listener),
    ("responseCall", Kind::Call),
    ("onCallResponse", Kind::Listener),
    ("onCallResponsedByOther", Kind::Listener),
    ("onCallCallEstablished", Kind::Listener),
    ("onCallCallDisconnected", Kind::Listener),
    ("callControl", Kind::Call),
    ("onCallControl", Kind::Listener),
    ("callHangup", Kind::Call),
    ("onCallHangup", Kind::Listener),
    ("currentCallID", Kind::Call),
    ("onCallNetStatus", Kind::Listener),
    ("initCallRemoteView", Kind::Call),
    ("removeCallRemoteView", Kind::Call),
    ("setCallMute", Kind::Call),
    ("setCallSpeaker", Kind::Call),
    ("switchCallCamera", Kind::Call),
    ("switchCallCameraFlash", Kind::Call),
    ("sendMessageReceipt", Kind::Call),
    ("onIMRecvMessageReceipt", Kind::Listener),
    ("markAllMessagesReadInSession", Kind::Call),
    ("updateTeamAvatar", Kind::Call),
    ("updateUserNick", Kind::Call),
    ("updateMyTeamNick", Kind::Call),
    ("updateTeamCustomInfo", Kind::Call),
    ("updateMuteStateByUserId", Kind::Call),
    ("updateMuteStateByAll", Kind::Call),
    ("queryTeamMemberByUserId", Kind::Call),
    ("setSystemMessageStatus", Kind::Call),
    ("deleteSystemMessage", Kind::Call),
    ("setSystemMessageRead", Kind::Call),
    ("revokeMessage", Kind::Call),
    ("onIMRecvRevokeMessageNotification", Kind::Listener),
    ("onIMLogin", Kind::Listener),
    ("isLogined", Kind::Sync),
    ("isMyFriend", Kind::Sync),
    ("isMyTeam", Kind::Sync),
    ("deleteRecentSession", Kind::Call),
    ("downloadAttachment", Kind::Call),
    ("abortDownloadAttachment", Kind::Call),
    ("enablePushService", Kind::Call),
    ("sendTips", Kind::Call),
    ("queryMessageHistory", Kind::Call),
    ("queryMessageHistoryByTyps", Kind::Call),
    ("clearChattingHistory", Kind::Call),
];

/// Tidings methods beyond the seed.
pub const EXTENSIONS: &[(&str, Kind)] = &[
    // Stands in for the seed's config.xml.
    ("init", Kind::Sync),
    // Custom messages (type 100) with an app JSON attachment; the seed has no call for them.
    ("sendCustomMessage", Kind::Call),
    // Custom notifications (guide 000): opaque JSON to an account, not stored.
    ("sendCustomNotification", Kind::Call),
    ("onCustomNotification", Kind::Listener),
];

pub fn kind_of(name: &str) -> Option<Kind> {
    SEED_METHODS
        .iter()
        .chain(EXTENSIONS)
        .find(|(n, _)| *n == name)
        .map(|(_, kind)| *kind)
}

/// Whether a method has a handler (or a listener gets events): what is
/// not supported answers 501.
pub fn is_supported(name: &str) -> bool {
    crate::methods::supported().any(|n| n == name)
}

/// The whole catalogue for bindings: `[{"name", "kind", "supported", "seed"}]`.
pub fn to_json() -> String {
    let entry = |(name, kind): &(&str, Kind), seed: bool| {
        serde_json::json!({
            "name": name,
            "kind": match kind { Kind::Call => "call", Kind::Sync => "sync", Kind::Listener => "listener" },
            "supported": is_supported(name),
            "seed": seed,
        })
    };
    let list: Vec<serde_json::Value> = SEED_METHODS
        .iter()
        .map(|m| entry(m, true))
        .chain(EXTENSIONS.iter().map(|m| entry(m, false)))
        .collect();
    serde_json::Value::Array(list).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_the_seed() {
        assert_eq!(SEED_METHODS.len(), 125);
        let listeners = SEED_METHODS
            .iter()
            .filter(|(_, k)| *k == Kind::Listener)
            .count();
        assert_eq!(listeners, 22);
        for name in crate::methods::supported() {
            assert!(kind_of(name).is_some(), "{name} is not a known method");
        }
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// docs/nim-api.md has one row per seed method, marked as the catalogue says.
    #[test]
    fn the_conformance_table_matches_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/nim-api.md");
        let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for (name, _) in SEED_METHODS {
            let cell = format!("| `{name}` |");
            let row = doc
                .lines()
                .find(|line| line.contains(&cell))
                .unwrap_or_else(|| panic!("docs/nim-api.md has no row for {name}"));
            let marked = row.contains("| supported |");
            assert_eq!(
                marked,
                is_supported(name),
                "row of {name} says supported = {marked}"
            );
        }
    }
}
