//! The numeric enumerations of the protocol, shared by server, SDK and
//! bindings (NIM's numbering).

/// `messageType`.
pub mod message_type {
    pub const TEXT: u32 = 0;
    pub const IMAGE: u32 = 1;
    pub const AUDIO: u32 = 2;
    pub const VIDEO: u32 = 3;
    pub const LOCATION: u32 = 4;
    /// Made by the server only.
    pub const NOTIFICATION: u32 = 5;
    pub const FILE: u32 = 6;
    pub const TIP: u32 = 10;
    pub const CUSTOM: u32 = 100;
}

/// `sessionType`.
pub mod session_type {
    pub const P2P: u32 = 0;
    pub const TEAM: u32 = 1;
    pub const CHATROOM: u32 = 2;
}

/// `LoginClientsChanged.change`: what happened to the devices it names.
pub mod clients_change {
    pub const ONLINE: u32 = 1;
    pub const OFFLINE: u32 = 2;
}

/// NIM client types.
pub mod client_type {
    pub const ANDROID: u32 = 1;
    pub const IOS: u32 = 2;
    pub const PC: u32 = 4;
    pub const WINDOWS_PHONE: u32 = 8;
    pub const WEB: u32 = 16;
    pub const REST: u32 = 32;
    pub const MACOS: u32 = 64;
    pub const ALL: [u32; 7] = [ANDROID, IOS, PC, WINDOWS_PHONE, WEB, REST, MACOS];
}

/// Per-message settings as bit flags in one integer, as the server store and
/// the SDK's local database both keep them.
pub mod message_flags {
    pub const HISTORY: u32 = 1;
    pub const ROAMING: u32 = 1 << 1;
    pub const SYNC: u32 = 1 << 2;
    pub const COUNTED: u32 = 1 << 3;
    pub const APNS: u32 = 1 << 4;
    pub const APNS_PREFIX: u32 = 1 << 5;
    pub const ALL: u32 = HISTORY | ROAMING | SYNC | COUNTED | APNS | APNS_PREFIX;
    /// Not a setting: the server store marks a revoked message with it.
    pub const REVOKED: u32 = 1 << 8;
}

/// `FriendRequest.operation` (NIM's verify types).
pub mod friend_operation {
    pub const ADD: u32 = 1;
    pub const REQUEST: u32 = 2;
    pub const ACCEPT: u32 = 3;
    pub const REJECT: u32 = 4;
}

/// `SetSpecialRelation.relation`.
pub mod special_relation {
    pub const BLACKLIST: u32 = 1;
    pub const MUTE: u32 = 2;
}

/// `SystemNotification.type`.
pub mod notification_type {
    pub const TEAM_APPLY: u32 = 0;
    pub const TEAM_APPLY_REJECTED: u32 = 1;
    pub const TEAM_INVITE: u32 = 2;
    pub const TEAM_INVITE_REJECTED: u32 = 3;
    pub const FRIEND: u32 = 5;
}

/// `SystemNotification.status`: 5 to 9 are the app's own.
pub mod notification_status {
    pub const UNTREATED: u32 = 0;
    pub const PASSED: u32 = 1;
    pub const REJECTED: u32 = 2;
    pub const IGNORED: u32 = 3;
    pub const EXPIRED: u32 = 4;
    pub const LAST_APP_DEFINED: u32 = 9;
}
