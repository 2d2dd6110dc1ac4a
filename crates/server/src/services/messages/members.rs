//! Who takes part in a conversation. The message service decides it and
//! hands it to the store with the conversation's first message; stores
//! only record it.

use tidings_store::Member;

/// A P2P conversation has both accounts, each seeing the other as the
/// session; a note to myself has me once.
pub fn p2p_members(from: &str, to: &str) -> Vec<Member> {
    let mut members = vec![Member {
        accid: from.to_owned(),
        session_id: to.to_owned(),
    }];
    if from != to {
        members.push(Member {
            accid: to.to_owned(),
            session_id: from.to_owned(),
        });
    }
    members
}

#[cfg(test)]
mod tests {
    use super::p2p_members;

    #[test]
    fn a_pair_sees_each_other() {
        let members = p2p_members("ann", "bob");
        let seen: Vec<(&str, &str)> = members
            .iter()
            .map(|m| (m.accid.as_str(), m.session_id.as_str()))
            .collect();
        assert_eq!(seen, [("ann", "bob"), ("bob", "ann")]);
    }

    #[test]
    fn a_note_to_myself_has_me_once() {
        let members = p2p_members("ann", "ann");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].accid, "ann");
        assert_eq!(members[0].session_id, "ann");
    }
}
