//! What a connection has queued for its writer task, bounded in bytes: a
//! peer that does not read what it is sent holds the server to at most
//! `limit` bytes of frames, then its connection is closed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tidings_proto::{bus_event, BusEvent, Frame, PushedMessage, WireFrame};
use tokio::sync::{Notify, OwnedSemaphorePermit};

/// Counted for every queued item on top of its frames' bytes, so that a
/// flood of tiny frames is bounded too.
const ITEM_OVERHEAD: usize = 64;

pub(super) enum Outbound {
    Frame(Box<Frame>),
    /// The answers of one batch of sends (or one sync), queued at once;
    /// `room` holds their place among the answers a connection may have
    /// queued.
    /// (Boxed, so every item in the queue is two words.)
    Frames(Box<Answers>),
    /// A bus event's message, encoded from the event every connection
    /// that pushes it shares.
    Push(Arc<BusEvent>),
    /// Bytes outside the framing (see `FrameSink::write_raw`).
    Raw(Vec<u8>),
    Close,
}

impl Outbound {
    /// The bytes this item holds the queue to.
    fn weight(&self) -> usize {
        ITEM_OVERHEAD
            + match self {
                Outbound::Frame(frame) => frame.body_len(),
                Outbound::Frames(answers) => answers.frames.iter().map(WireFrame::body_len).sum(),
                Outbound::Push(event) => match &event.kind {
                    Some(bus_event::Kind::Message(message)) => PushedMessage(message).body_len(),
                    _ => 0,
                },
                Outbound::Raw(bytes) => bytes.len(),
                Outbound::Close => 0,
            }
    }
}

/// The answers of a batch, and their place among the answers a connection
/// may have queued, given back when they are fed.
pub(super) struct Answers {
    pub frames: Vec<Frame>,
    #[allow(dead_code)] // held until the answers are fed
    pub room: OwnedSemaphorePermit,
}

/// The queue is past its limit: the peer does not read fast enough.
#[derive(Debug)]
pub(super) struct Overfull;

/// The writer task is gone (its peer, or a write that stalled).
#[derive(Debug)]
pub(super) struct WriterGone;

/// The sending side, shared by the connection's loop, its send worker and
/// its syncs.
#[derive(Clone)]
pub(super) struct Outbox {
    shared: Arc<Shared>,
    limit: usize,
}

/// The writer's side: takes items and gives their bytes back.
pub(super) struct OutboxReceiver {
    shared: Arc<Shared>,
}

/// A queue guarded by a lock rather than a channel: an idle connection's
/// queue holds no block of slots, only this.
struct Shared {
    queue: Mutex<VecDeque<(Outbound, usize)>>,
    /// Wakes the writer when an item is queued.
    queued_item: Notify,
    /// Wakes whoever waits for the writer to go.
    writer_left: Notify,
    writer_gone: AtomicBool,
    queued: AtomicUsize,
    /// Bytes queued over every connection of the node.
    total: Arc<AtomicI64>,
}

/// A drained queue keeps at most this many slots.
const KEPT_SLOTS: usize = 16;

pub(super) fn outbox(limit: usize, total: Arc<AtomicI64>) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
        queued_item: Notify::new(),
        writer_left: Notify::new(),
        writer_gone: AtomicBool::new(false),
        queued: AtomicUsize::new(0),
        total,
    });
    (
        Outbox {
            shared: shared.clone(),
            limit,
        },
        OutboxReceiver { shared },
    )
}

impl Shared {
    fn count(&self, weight: usize, added: bool) {
        if added {
            self.queued.fetch_add(weight, Ordering::Relaxed);
            self.total.fetch_add(weight as i64, Ordering::Relaxed);
        } else {
            self.queued.fetch_sub(weight, Ordering::Relaxed);
            self.total.fetch_sub(weight as i64, Ordering::Relaxed);
        }
    }

    fn pop(&self) -> Option<Outbound> {
        let mut queue = self.queue.lock().ok()?;
        let (item, weight) = queue.pop_front()?;
        if queue.is_empty() && queue.capacity() > KEPT_SLOTS {
            *queue = VecDeque::new();
        }
        drop(queue);
        self.count(weight, false);
        Some(item)
    }
}

impl Outbox {
    /// Queues `item` whatever the queue holds (for senders bounded on
    /// their own, and for the last frames of a connection).
    pub(super) fn push(&self, item: Outbound) -> Result<(), WriterGone> {
        let shared = &self.shared;
        let weight = item.weight();
        {
            let mut queue = shared.queue.lock().map_err(|_| WriterGone)?;
            if shared.writer_gone.load(Ordering::Acquire) {
                return Err(WriterGone);
            }
            queue.push_back((item, weight));
        }
        shared.count(weight, true);
        shared.queued_item.notify_one();
        Ok(())
    }

    /// Queues `item` unless the queue is already past its limit.
    pub(super) fn push_bounded(&self, item: Outbound) -> Result<(), Result<Overfull, WriterGone>> {
        if self.shared.queued.load(Ordering::Relaxed) > self.limit {
            return Err(Ok(Overfull));
        }
        self.push(item).map_err(Err)
    }

    /// Resolves once the writer task is gone.
    pub(super) async fn writer_gone(&self) {
        let shared = &self.shared;
        loop {
            let left = shared.writer_left.notified();
            if shared.writer_gone.load(Ordering::Acquire) {
                return;
            }
            left.await;
        }
    }
}

impl OutboxReceiver {
    pub(super) async fn recv(&mut self) -> Option<Outbound> {
        loop {
            let queued = self.shared.queued_item.notified();
            if let Some(item) = self.shared.pop() {
                return Some(item);
            }
            queued.await;
        }
    }

    pub(super) fn try_recv(&mut self) -> Option<Outbound> {
        self.shared.pop()
    }
}

impl Drop for OutboxReceiver {
    /// The writer is gone: nothing more is queued, and what was never
    /// taken is no longer counted.
    fn drop(&mut self) {
        let shared = &self.shared;
        let left = match shared.queue.lock() {
            Ok(mut queue) => {
                shared.writer_gone.store(true, Ordering::Release);
                std::mem::take(&mut *queue)
            }
            Err(_) => VecDeque::new(),
        };
        for (_, weight) in &left {
            shared.count(*weight, false);
        }
        drop(left);
        shared.writer_left.notify_waiters();
    }
}
