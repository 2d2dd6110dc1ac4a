//! How large a message's fields may be. The server's message service
//! refuses a send over them (414); the SDK checks them before a message
//! enters its outbox, so the app learns at once and no send the server
//! would refuse waits there to be resent after every reconnect.

use crate::Message;

pub const MAX_CLIENT_ID_LEN: usize = 64;
pub const MAX_TEXT_CHARS: usize = 5000;
pub const MAX_ATTACHMENT_BYTES: usize = 16 * 1024;
pub const MAX_EXT_BYTES: usize = 4096;
pub const MAX_APNS_CONTENT_CHARS: usize = 500;
pub const MAX_APNS_PAYLOAD_BYTES: usize = 2048;

/// The fields of a message whose sizes are limited, borrowed from whatever
/// holds them (a wire message, a device's message).
pub struct SizedFields<'a> {
    pub client_id: &'a str,
    pub text: &'a str,
    pub attachment: &'a str,
    pub remote_ext: &'a str,
    pub apns_content: &'a str,
    pub apns_payload: &'a str,
}

impl<'a> SizedFields<'a> {
    pub fn of(m: &'a Message) -> SizedFields<'a> {
        let setting = m.setting.as_ref();
        SizedFields {
            client_id: &m.client_id,
            text: &m.text,
            attachment: &m.attachment,
            remote_ext: &m.remote_ext,
            apns_content: setting.map_or("", |s| s.apns_content.as_str()),
            apns_payload: setting.map_or("", |s| s.apns_payload.as_str()),
        }
    }

    /// Why the message is too large, naming its first field over a limit
    /// (as the 414's message), or `None` when every field fits. Together
    /// the limits keep a send far under [`crate::MAX_FRAME_LEN`].
    pub fn oversized(&self) -> Option<String> {
        if self.client_id.len() > MAX_CLIENT_ID_LEN {
            return Some(format!(
                "messageId must be 1 to {MAX_CLIENT_ID_LEN} characters"
            ));
        }
        // Characters are counted only when the bytes could be too many.
        let chars_over = |value: &str, max: usize| value.len() > max && value.chars().count() > max;
        if chars_over(self.text, MAX_TEXT_CHARS) {
            return Some(format!(
                "text has {} characters; the limit is {MAX_TEXT_CHARS}",
                self.text.chars().count()
            ));
        }
        let too_long = |field: &str, value: &str, max: usize| {
            (value.len() > max).then(|| format!("{field} is longer than {max} bytes"))
        };
        if let Some(error) = too_long("attachment", self.attachment, MAX_ATTACHMENT_BYTES)
            .or_else(|| too_long("remoteExt", self.remote_ext, MAX_EXT_BYTES))
        {
            return Some(error);
        }
        if chars_over(self.apns_content, MAX_APNS_CONTENT_CHARS) {
            return Some(format!(
                "apnsContent is longer than {MAX_APNS_CONTENT_CHARS} characters"
            ));
        }
        too_long("apnsPayload", self.apns_payload, MAX_APNS_PAYLOAD_BYTES)
    }
}

/// [`SizedFields::oversized`] of a wire message.
pub fn oversized_field(m: &Message) -> Option<String> {
    SizedFields::of(m).oversized()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageSetting;

    fn largest() -> Message {
        Message {
            client_id: "c".repeat(MAX_CLIENT_ID_LEN),
            text: "字".repeat(MAX_TEXT_CHARS),
            attachment: "a".repeat(MAX_ATTACHMENT_BYTES),
            remote_ext: "e".repeat(MAX_EXT_BYTES),
            setting: Some(MessageSetting {
                apns_content: "字".repeat(MAX_APNS_CONTENT_CHARS),
                apns_payload: "p".repeat(MAX_APNS_PAYLOAD_BYTES),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_largest_message_within_the_limits_fits_and_is_far_under_a_frame() {
        let m = largest();
        assert_eq!(oversized_field(&m), None);
        assert!(prost::Message::encoded_len(&m) < crate::MAX_FRAME_LEN / 4);
    }

    #[test]
    fn one_unit_over_any_limit_names_that_field() {
        type Grow = fn(&mut Message);
        let cases: [(&str, Grow); 6] = [
            ("messageId", |m| m.client_id.push('c')),
            ("text", |m| m.text.push('字')),
            ("attachment", |m| m.attachment.push('a')),
            ("remoteExt", |m| m.remote_ext.push('e')),
            ("apnsContent", |m| {
                if let Some(s) = m.setting.as_mut() {
                    s.apns_content.push('字')
                }
            }),
            ("apnsPayload", |m| {
                if let Some(s) = m.setting.as_mut() {
                    s.apns_payload.push('p')
                }
            }),
        ];
        for (field, grow) in cases {
            let mut m = largest();
            grow(&mut m);
            let error = oversized_field(&m).unwrap_or_default();
            assert!(error.starts_with(field), "{field}: {error:?}");
        }
    }
}
