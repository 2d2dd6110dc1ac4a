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

    /// The one conversation `(session_type, session_id)`: from it to the
    /// next id in byte order, the same id followed by a NUL.
    pub fn only(session_type: u32, session_id: &str) -> SessionRange {
        SessionRange {
            from: Some((session_type, session_id.to_owned())),
            until: Some((session_type, format!("{session_id}\0"))),
        }
    }

    /// Its bounds for an SQL row-value comparison, `(type, id) >= from AND
    /// (type, id) < until`: an unbounded end becomes a pair before or
    /// after every conversation, so one statement serves every range.
    pub fn sql_bounds(&self) -> ((i64, &str), (i64, &str)) {
        fn bound(b: &Option<(u32, String)>, open: i64) -> (i64, &str) {
            b.as_ref()
                .map_or((open, ""), |(t, id)| (i64::from(*t), id.as_str()))
        }
        (bound(&self.from, i64::MIN), bound(&self.until, i64::MAX))
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
        SessionRange::all().split(keys, per_range)
    }

    /// Cuts this range into consecutive parts holding at most `per_range`
    /// of the `keys` it holds each; together they cover exactly this range.
    pub fn split<'a>(
        &self,
        keys: impl IntoIterator<Item = (u32, &'a str)>,
        per_range: usize,
    ) -> Vec<SessionRange> {
        let mut keys: Vec<(u32, &str)> = keys
            .into_iter()
            .filter(|(t, id)| self.holds(*t, id))
            .collect();
        keys.sort_unstable();
        let mut parts = Vec::with_capacity(keys.len() / per_range.max(1) + 1);
        let mut from = self.from.clone();
        for chunk in keys.chunks(per_range.max(1)).skip(1) {
            let bound = (chunk[0].0, chunk[0].1.to_owned());
            parts.push(SessionRange {
                from: from.take(),
                until: Some(bound.clone()),
            });
            from = Some(bound);
        }
        parts.push(SessionRange {
            from,
            until: self.until.clone(),
        });
        parts
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
    fn a_split_covers_exactly_its_range() {
        let known = ids(2500);
        let keys = || known.iter().map(|id| (0, id.as_str()));
        let range = SessionRange {
            from: Some((0, format!("{:032}", 100))),
            until: Some((0, format!("{:032}", 2400))),
        };
        let parts = range.split(keys(), 1000);
        assert_eq!(parts.len(), 3, "2,300 keys in parts of 1,000");
        assert_eq!(parts[0].from, range.from);
        assert_eq!(parts[2].until, range.until);
        for id in &known {
            let inside = parts.iter().filter(|p| p.holds(0, id)).count();
            assert_eq!(inside, usize::from(range.holds(0, id)), "{id}");
        }
        for p in &parts {
            assert!(known.iter().filter(|id| p.holds(0, id)).count() <= 1000);
        }
    }

    #[test]
    fn only_holds_its_one_conversation() {
        let range = SessionRange::only(0, "bob");
        assert!(range.holds(0, "bob"));
        for (t, id) in [(0, "bo"), (0, "bob\0"), (0, "bob0"), (0, "boc"), (1, "bob")] {
            assert!(!range.holds(t, id), "{t} {id:?}");
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
