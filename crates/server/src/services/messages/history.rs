//! Cloud history: a page of one conversation, found through the store's
//! sequence index (times map to sequences), never by a scan of the
//! conversation.

use tidings_proto::{HistoryPage, HistoryRequest, Message};
use tidings_store::{flags, p2p_conversation, StoredMessage};

use super::{session_type, to_wire, MessageService};
use crate::ServiceError;

pub const MAX_HISTORY_LIMIT: u32 = 100;
/// Messages read per store call while a page fills: a page whose messages
/// are mostly filtered out (history off, other types) takes several.
const READ_CHUNK: u32 = 200;
/// The most messages one page reads: a filter that matches almost nothing
/// answers a partial page with `has_more` instead of reading the whole
/// conversation in one request.
const MAX_READ_PER_PAGE: usize = 10_000;

/// The request's bounds, checked.
fn check(req: &HistoryRequest) -> Result<(), ServiceError> {
    if req.limit == 0 || req.limit > MAX_HISTORY_LIMIT {
        return Err(ServiceError::bad_parameter(format!(
            "limit must be 1 to {MAX_HISTORY_LIMIT}, not {}",
            req.limit
        )));
    }
    if req.session_type != session_type::P2P {
        return Err(ServiceError::bad_parameter(format!(
            "sessionType {} is not supported yet",
            req.session_type
        )));
    }
    if req.session_id.is_empty() {
        return Err(ServiceError::bad_parameter("sessionId is required"));
    }
    if req.start_time < 0 || req.end_time < 0 {
        return Err(ServiceError::bad_parameter("times must not be negative"));
    }
    if req.end_time > 0 && req.end_time < req.start_time {
        return Err(ServiceError::bad_parameter(
            "endTime must not come before startTime",
        ));
    }
    Ok(())
}

/// Whether a stored message belongs in the page.
fn wanted(stored: &StoredMessage, req: &HistoryRequest) -> bool {
    let m = &stored.message;
    m.flags & flags::HISTORY != 0
        && (req.message_types.is_empty() || req.message_types.contains(&m.message_type))
}

impl MessageService {
    /// A page of `owner`'s conversation with `req.session_id`, for the
    /// owner's device or the app's backend.
    pub async fn history(
        &self,
        app_key: &str,
        owner: &str,
        req: &HistoryRequest,
    ) -> Result<HistoryPage, ServiceError> {
        check(req)?;
        let conversation = p2p_conversation(owner, &req.session_id);
        let store = &self.store;
        // The sequences the time bounds allow: first..=last.
        let first = match req.start_time {
            0 => 1,
            start => store.seq_at_time(app_key, &conversation, start).await?,
        };
        let last = match req.end_time {
            0 => u64::MAX,
            end => store
                .seq_at_time(app_key, &conversation, end.saturating_add(1))
                .await?
                .saturating_sub(1),
        };
        let limit = req.limit as usize;
        let mut page: Vec<Message> = Vec::with_capacity(limit);
        let mut read = 0;
        let mut has_more = false;
        if req.ascending {
            let mut after = first.saturating_sub(1).max(req.anchor_seq);
            'reading: while read < MAX_READ_PER_PAGE {
                let chunk = store
                    .messages_after(app_key, &conversation, after, READ_CHUNK)
                    .await?;
                let Some(end) = chunk.last() else { break };
                after = end.seq;
                read += chunk.len();
                for stored in chunk.iter().take_while(|m| m.seq <= last) {
                    if !wanted(stored, req) {
                        continue;
                    }
                    if page.len() == limit {
                        has_more = true;
                        break 'reading;
                    }
                    page.push(to_wire(stored));
                }
                if end.seq >= last || chunk.len() < READ_CHUNK as usize {
                    break;
                }
            }
            has_more |= read >= MAX_READ_PER_PAGE;
        } else {
            let mut before = match req.anchor_seq {
                0 => last.saturating_add(1),
                anchor => anchor.min(last.saturating_add(1)),
            };
            'reading: while read < MAX_READ_PER_PAGE {
                let chunk = store
                    .messages_before(app_key, &conversation, before, READ_CHUNK)
                    .await?;
                let Some(end) = chunk.last() else { break };
                before = end.seq;
                read += chunk.len();
                for stored in chunk.iter().take_while(|m| m.seq >= first) {
                    if !wanted(stored, req) {
                        continue;
                    }
                    if page.len() == limit {
                        has_more = true;
                        break 'reading;
                    }
                    page.push(to_wire(stored));
                }
                if end.seq <= first || chunk.len() < READ_CHUNK as usize {
                    break;
                }
            }
            has_more |= read >= MAX_READ_PER_PAGE;
        }
        Ok(HistoryPage {
            messages: page,
            has_more,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(limit: u32) -> HistoryRequest {
        HistoryRequest {
            session_id: "bob".into(),
            limit,
            ..HistoryRequest::default()
        }
    }

    #[test]
    fn limits_and_bounds_are_checked() {
        assert!(check(&request(1)).is_ok());
        assert!(check(&request(100)).is_ok());
        for bad in [
            request(0),
            request(101),
            HistoryRequest {
                session_type: 2,
                ..request(10)
            },
            HistoryRequest {
                session_id: String::new(),
                ..request(10)
            },
            HistoryRequest {
                start_time: 10,
                end_time: 5,
                ..request(10)
            },
            HistoryRequest {
                start_time: -1,
                ..request(10)
            },
        ] {
            let err = check(&bad).expect_err("refused");
            assert_eq!(err.code, tidings_proto::Code::BadParameter, "{bad:?}");
        }
    }
}
