//! The order of an account's conversations, which the sync of everything
//! is cut by (`SyncRequest.from` / `until`): session type, then session id
//! bytewise. The SDK plans its ranges with it, the server checks them, and
//! the stores read one range with it.

use crate::{SessionKey, SyncRequest};

/// Conversations at or after `from` and before `until`; an unset bound is
/// no bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRange {
    pub from: Option<(u32, String)>,
    pub until: Option<(u32, String)>,
}

impl SessionRange {
    /// Every conversation.
    pub fn all() -> SessionRange {
        SessionRange::default()
    }

    /// The range a sync request names.
    pub fn of(request: &SyncRequest) -> SessionRange {
        let key = |k: &SessionKey| (k.session_type, k.session_id.clone());
        SessionRange {
            from: request.from.as_ref().map(key),
            until: request.until.as_ref().map(key),
        }
    }

    /// Its bounds as a sync request carries them.
    pub fn to_wire(&self) -> (Option<SessionKey>, Option<SessionKey>) {
        let key = |k: &(u32, String)| SessionKey {
            session_type: k.0,
            session_id: k.1.clone(),
        };
        (self.from.as_ref().map(key), self.until.as_ref().map(key))
    }

    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// Nothing can lie in it: `from` is not before `until`.
    pub fn is_empty(&self) -> bool {
        matches!((&self.from, &self.until), (Some(from), Some(until)) if from >= until)
    }

    pub fn holds(&self, session_type: u32, session_id: &str) -> bool {
        let key = (session_type, session_id);
        self.from
            .as_ref()
            .is_none_or(|(t, id)| (*t, id.as_str()) <= key)
            && self
                .until
                .as_ref()
                .is_none_or(|(t, id)| key < (*t, id.as_str()))
    }

    /// Cuts every conversation into ranges holding at most `per_range` of
    /// `keys` each (any order); keys not listed fall into one of them too.
    pub fn plan<'a>(
        keys: impl IntoIterator<Item = (u32, &'a str)>,
        per_range: usize,
    ) -> Vec<SessionRange> {
        let mut keys: Vec<(u32, &str)> = keys.into_iter().collect();
        keys.sort_unstable();
        let mut ranges = Vec::with_capacity(keys.len() / per_range.max(1) + 1);
        let mut from = None;
        for chunk in keys.chunks(per_range.max(1)).skip(1) {
            let bound = (chunk[0].0, chunk[0].1.to_owned());
            ranges.push(SessionRange {
                from: from.take(),
                until: Some(bound.clone()),
            });
            from = Some(bound);
        }
        ranges.push(SessionRange { from, until: None });
        ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        // In no particular order.
        (0..n).map(|i| format!("{:032}", (i * 7919) % n)).collect()
    }

    #[test]
    fn no_keys_make_one_range_of_everything() {
        assert_eq!(SessionRange::plan([], 1000), [SessionRange::all()]);
    }

    #[test]
    fn every_session_falls_in_exactly_one_range() {
        let known = ids(2500);
        let ranges = SessionRange::plan(known.iter().map(|id| (0, id.as_str())), 1000);
        assert_eq!(ranges.len(), 3);
        for id in &known {
            assert_eq!(ranges.iter().filter(|r| r.holds(0, id)).count(), 1);
        }
        for r in &ranges {
            assert!(!r.is_empty());
            assert!(known.iter().filter(|id| r.holds(0, id)).count() <= 1000);
        }
        // Sessions not listed: before, between, after, of another type.
        for (t, id) in [
            (0, ""),
            (0, "00000000000000000000000000000005x"),
            (0, "zzz"),
            (1, ""),
        ] {
            assert_eq!(ranges.iter().filter(|r| r.holds(t, id)).count(), 1);
        }
    }

    #[test]
    fn ids_compare_bytewise() {
        let range = SessionRange {
            from: Some((0, "U".into())),
            until: Some((0, "a".into())),
        };
        assert!(range.holds(0, "Zed"));
        assert!(!range.holds(0, "alice"));
        assert!(!range.holds(0, "Alice"));
        assert!(!range.holds(0, "é"));
        assert_eq!(
            SessionRange::of(&SyncRequest {
                from: range.to_wire().0,
                until: range.to_wire().1,
                ..Default::default()
            }),
            range
        );
    }
}
