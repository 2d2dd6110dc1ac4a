//! [`ReceiptStore`](crate::ReceiptStore)'s conformance checks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::*;

fn mark(seq: u64) -> ReadMark {
    ReadMark {
        seq,
        timestamp: 1_000 + seq as i64,
        client_id: format!("m{seq}"),
    }
}

/// Events naming the mark, one for the reader and one for the peer.
fn events() -> EventsOf<ReadMark> {
    Box::new(|mark: &ReadMark| {
        ["r", "p"]
            .iter()
            .map(|accid| NewEvent {
                accid: (*accid).into(),
                body: mark.client_id.as_bytes().to_vec(),
            })
            .collect()
    })
}

pub async fn read_marks_only_move_forward_with_their_events(store: Arc<impl Store>) {
    assert_eq!(store.read_mark("a", "c", "r").await.unwrap(), None);
    let first = store
        .mark_read("a", "c", "r", mark(5), 10, events())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(store.read_mark("a", "c", "r").await.unwrap(), Some(mark(5)));
    // The same mark again, or an older one: nothing changes, no event.
    for seq in [5, 3] {
        let again = store
            .mark_read("a", "c", "r", mark(seq), 11, events())
            .await;
        assert_eq!(again.unwrap(), None, "mark {seq}");
    }
    assert_eq!(store.events_after("a", "r", 0, 10).await.unwrap().head, 1);
    let later = store
        .mark_read("a", "c", "r", mark(9), 12, events())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later[0].pos, 2);
    assert_eq!(store.read_mark("a", "c", "r").await.unwrap(), Some(mark(9)));
    // Per reader, conversation and app.
    assert_eq!(store.read_mark("a", "c", "p").await.unwrap(), None);
    assert_eq!(store.read_mark("a", "d", "r").await.unwrap(), None);
    assert_eq!(store.read_mark("b", "c", "r").await.unwrap(), None);
}
