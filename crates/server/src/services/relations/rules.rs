//! Who may do what to whom among friends and lists: pure functions,
//! tested case by case. Whether the accounts exist is checked by the
//! service after these.

use tidings_proto::{friend_operation, special_relation};

use crate::error::echo;
use crate::ServiceError;

/// Longest postscript of a friend request or answer, in characters.
pub const MAX_POSTSCRIPT: usize = 256;
/// Longest alias, in characters.
pub const MAX_ALIAS: usize = 64;
/// Longest friend ext, in characters.
pub const MAX_FRIEND_EXT: usize = 1024;

fn not_yourself(me: &str, other: &str, what: &str) -> Result<(), ServiceError> {
    if other.is_empty() {
        return Err(ServiceError::bad_parameter("accid is required"));
    }
    if me == other {
        return Err(ServiceError::bad_parameter(format!("{what} yourself")));
    }
    Ok(())
}

/// A friend operation's checks before the store is asked.
pub fn check_friend_request(
    me: &str,
    target: &str,
    operation: u32,
    postscript: &str,
) -> Result<(), ServiceError> {
    let what = match operation {
        friend_operation::ADD => "a friend request to",
        friend_operation::REQUEST => "a friend request to",
        friend_operation::ACCEPT => "accepting a friend request from",
        friend_operation::REJECT => "rejecting a friend request from",
        other => {
            return Err(ServiceError::bad_parameter(format!(
                "operation must be 1 (add), 2 (request), 3 (accept) or 4 (reject), not {other}"
            )))
        }
    };
    not_yourself(me, target, what)?;
    if postscript.chars().count() > MAX_POSTSCRIPT {
        return Err(ServiceError::bad_parameter(format!(
            "message is longer than {MAX_POSTSCRIPT} characters"
        )));
    }
    Ok(())
}

pub fn check_unfriend(me: &str, target: &str) -> Result<(), ServiceError> {
    not_yourself(me, target, "deleting")
}

pub fn check_friend_update(
    me: &str,
    friend: &str,
    alias: &str,
    ext: &str,
) -> Result<(), ServiceError> {
    not_yourself(me, friend, "an alias for")?;
    if alias.chars().count() > MAX_ALIAS {
        return Err(ServiceError::bad_parameter(format!(
            "alias is longer than {MAX_ALIAS} characters"
        )));
    }
    if ext.chars().count() > MAX_FRIEND_EXT {
        return Err(ServiceError::bad_parameter(format!(
            "ext is longer than {MAX_FRIEND_EXT} characters"
        )));
    }
    if !ext.is_empty() && serde_json::from_str::<serde_json::Value>(ext).is_err() {
        return Err(ServiceError::bad_parameter(format!(
            "ext {} is not JSON",
            echo(ext)
        )));
    }
    Ok(())
}

pub fn check_special(me: &str, target: &str, relation: u32) -> Result<(), ServiceError> {
    let what = match relation {
        special_relation::BLACKLIST => "blacklisting",
        special_relation::MUTE => "muting",
        other => {
            return Err(ServiceError::bad_parameter(format!(
                "relation must be 1 (blacklist) or 2 (mute), not {other}"
            )))
        }
    };
    not_yourself(me, target, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings_proto::Code;

    fn refused(result: Result<(), ServiceError>) -> String {
        match result {
            Err(e) if e.code == Code::BadParameter => e.message,
            other => panic!("not refused with 414: {other:?}"),
        }
    }

    #[test]
    fn friend_requests() {
        for op in 1..=4 {
            assert!(check_friend_request("a", "b", op, "hi").is_ok(), "{op}");
            assert!(refused(check_friend_request("a", "a", op, "")).contains("yourself"));
        }
        assert!(refused(check_friend_request("a", "b", 5, "")).contains("operation"));
        assert!(refused(check_friend_request("a", "b", 0, "")).contains("operation"));
        assert!(refused(check_friend_request("a", "", 1, "")).contains("accid"));
        let long = "x".repeat(MAX_POSTSCRIPT + 1);
        assert!(refused(check_friend_request("a", "b", 2, &long)).contains("message"));
    }

    #[test]
    fn unfriending_and_aliases() {
        assert!(check_unfriend("a", "b").is_ok());
        assert!(refused(check_unfriend("a", "a")).contains("yourself"));
        assert!(check_friend_update("a", "b", "Bee", r#"{"k":1}"#).is_ok());
        assert!(check_friend_update("a", "b", "", "").is_ok());
        assert!(refused(check_friend_update("a", "b", &"x".repeat(65), "")).contains("alias"));
        assert!(refused(check_friend_update("a", "b", "", "{oops")).contains("JSON"));
        assert!(refused(check_friend_update("a", "a", "me", "")).contains("yourself"));
    }

    #[test]
    fn lists() {
        assert!(check_special("a", "b", 1).is_ok());
        assert!(check_special("a", "b", 2).is_ok());
        assert!(refused(check_special("a", "b", 3)).contains("relation"));
        assert!(refused(check_special("a", "a", 1)).contains("yourself"));
    }
}
