//! What a profile may hold: each field's rule, checked before anything is
//! written. Pure functions, tested field by field.

use tidings_proto::ProfileUpdate;
use tidings_store::ProfileChanges;

use crate::error::echo;
use crate::ServiceError;

/// Longest value of each text field, in characters (NIM's server API).
pub const MAX_NICK: usize = 64;
pub const MAX_AVATAR: usize = 1024;
pub const MAX_SIGN: usize = 256;
pub const MAX_EMAIL: usize = 64;
pub const MAX_MOBILE: usize = 32;
pub const MAX_EXT: usize = 1024;

/// Checks every field of `update`; the first bad one refuses the whole
/// update (414, naming the field).
pub fn validate(update: ProfileUpdate) -> Result<ProfileChanges, ServiceError> {
    let changes = ProfileChanges {
        nick: checked("nick", update.nick, MAX_NICK, |_| true)?,
        avatar: checked("avatar", update.avatar, MAX_AVATAR, |_| true)?,
        sign: checked("sign", update.sign, MAX_SIGN, |_| true)?,
        gender: match update.gender {
            Some(g @ 0..=2) => Some(g),
            Some(g) => {
                return Err(ServiceError::bad_parameter(format!(
                    "gender must be 0 (unknown), 1 (male) or 2 (female), not {g}"
                )))
            }
            None => None,
        },
        email: checked("email", update.email, MAX_EMAIL, is_email)?,
        birth: checked("birth", update.birth, 10, is_date)?,
        mobile: checked("mobile", update.mobile, MAX_MOBILE, is_mobile)?,
        ext: checked("ext", update.ext, MAX_EXT, |v| {
            serde_json::from_str::<serde_json::Value>(v).is_ok()
        })?,
    };
    Ok(changes)
}

/// `value` if it is empty (which clears the field) or fits `max` and `ok`.
fn checked(
    field: &str,
    value: Option<String>,
    max: usize,
    ok: impl Fn(&str) -> bool,
) -> Result<Option<String>, ServiceError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(ServiceError::bad_parameter(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if !value.is_empty() && !ok(&value) {
        let expected = match field {
            "email" => "an email address such as name@example.com",
            "birth" => "a date as yyyy-MM-dd",
            "mobile" => "a phone number such as 13588888888 or +(86)-13055555555",
            _ => "JSON",
        };
        return Err(ServiceError::bad_parameter(format!(
            "{field} {} is not {expected}",
            echo(&value)
        )));
    }
    Ok(Some(value))
}

/// `local@domain.tld`: one `@`, no spaces, a dot inside the domain.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let fine = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
    };
    fine(local)
        && fine(domain)
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(host, tld)| !host.is_empty() && tld.len() >= 2 && !tld.ends_with('.'))
}

/// `yyyy-MM-dd`, a date that exists.
pub fn is_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &value[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// Digits (5 to 20), optionally after a country code written `+(86)-` or
/// `+86-`/`+86 `.
pub fn is_mobile(value: &str) -> bool {
    let national = match value.strip_prefix('+') {
        None => value,
        Some(rest) => {
            let (code, rest) = match rest.strip_prefix('(') {
                Some(inner) => match inner.split_once(')') {
                    Some((code, rest)) => (code, rest),
                    None => return false,
                },
                None => match rest.find(['-', ' ']) {
                    Some(at) => (&rest[..at], &rest[at..]),
                    None => return false,
                },
            };
            let code_ok = (1..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit());
            if !code_ok {
                return false;
            }
            rest.strip_prefix(['-', ' ']).unwrap_or(rest)
        }
    };
    (5..=20).contains(&national.len()) && national.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in [
            "a@example.com",
            "first.last+tag@mail.example.cn",
            "x_y@a.io",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "a@",
            "@example.com",
            "a",
            "a@example",
            "a@@example.com",
            "a b@x.com",
            "a@x.c",
            "a@.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn dates() {
        for good in ["1990-01-31", "2024-02-29", "2000-02-29", "2023-12-01"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "2023-02-30",
            "2023-02-29",
            "1900-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-1-01",
            "20230101",
            "yyyy-MM-dd",
            "2023-04-31",
            "0000-01-01",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn mobiles() {
        for good in [
            "13588888888",
            "+(86)-13055555555",
            "+86-13055555555",
            "+1 4155550100",
        ] {
            assert!(is_mobile(good), "{good}");
        }
        for bad in [
            "1234",
            "+(86-130555",
            "phone",
            "+()-1305555555",
            "135 8888 8888",
            "+(86)-",
        ] {
            assert!(!is_mobile(bad), "{bad}");
        }
    }

    #[test]
    fn an_update_is_refused_whole_naming_its_first_bad_field() {
        let update = ProfileUpdate {
            nick: Some("Alice".into()),
            email: Some("a@".into()),
            ..ProfileUpdate::default()
        };
        let refused = validate(update).unwrap_err();
        assert_eq!(refused.code, tidings_proto::Code::BadParameter);
        assert!(
            refused.message.starts_with("email 'a@' is not"),
            "{}",
            refused.message
        );

        let gender = validate(ProfileUpdate {
            gender: Some(7),
            ..ProfileUpdate::default()
        })
        .unwrap_err();
        assert!(gender.message.contains("gender"), "{}", gender.message);

        let ext = validate(ProfileUpdate {
            ext: Some(format!("\"{}\"", "x".repeat(MAX_EXT))),
            ..ProfileUpdate::default()
        })
        .unwrap_err();
        assert_eq!(ext.message, "ext is longer than 1024 characters");
        let not_json = validate(ProfileUpdate {
            ext: Some("{oops".into()),
            ..ProfileUpdate::default()
        })
        .unwrap_err();
        assert!(
            not_json.message.contains("is not JSON"),
            "{}",
            not_json.message
        );
    }

    #[test]
    fn empty_text_clears_and_absent_fields_stay() {
        let changes = validate(ProfileUpdate {
            email: Some(String::new()),
            birth: Some("2023-02-28".into()),
            gender: Some(0),
            ..ProfileUpdate::default()
        })
        .unwrap();
        assert_eq!(changes.email.as_deref(), Some(""));
        assert_eq!(changes.birth.as_deref(), Some("2023-02-28"));
        assert_eq!(changes.gender, Some(0));
        assert_eq!(changes.nick, None);
    }
}
