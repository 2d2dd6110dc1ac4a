//! What a connection has queued for its writer task, bounded in bytes: a
//! peer that does not read what it is sent holds the server to at most
//! `limit` bytes of frames, then its connection is closed.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use tidings_proto::{bus_event, BusEvent, Frame, MessagePush, WireFrame};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

/// Counted for every queued item on top of its frames' bytes, so that a
/// flood of tiny frames is bounded too.
const ITEM_OVERHEAD: usize = 64;

pub(super) enum Outbound {
    Frame(Box<Frame>),
    /// The answers of one batch of sends (or one sync), queued at once;
    /// `room` holds their place among the answers a connection may have
    /// queued.
    Frames {
        frames: Vec<Frame>,
        room: OwnedSemaphorePermit,
    },
    /// A bus event's message, encoded from the event every connection
    /// that pushes it shares.
    Push(Arc<BusEvent>),
    Close,
}

impl Outbound {
    /// The bytes this item holds the queue to.
    fn weight(&self) -> usize {
        ITEM_OVERHEAD
            + match self {
                Outbound::Frame(frame) => frame.body_len(),
                Outbound::Frames { frames, .. } => frames.iter().map(WireFrame::body_len).sum(),
                Outbound::Push(event) => match &event.kind {
                    Some(bus_event::Kind::Message(message)) => MessagePush(message).body_len(),
                    _ => 0,
                },
                Outbound::Close => 0,
            }
    }
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
    queue: mpsc::UnboundedSender<(Outbound, usize)>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    /// Bytes queued over every connection of the node.
    total: Arc<AtomicI64>,
}

/// The writer's side: takes items and gives their bytes back.
pub(super) struct OutboxReceiver {
    queue: mpsc::UnboundedReceiver<(Outbound, usize)>,
    queued: Arc<AtomicUsize>,
    total: Arc<AtomicI64>,
}

pub(super) fn outbox(limit: usize, total: Arc<AtomicI64>) -> (Outbox, OutboxReceiver) {
    let (queue, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        Outbox {
            queue,
            queued: queued.clone(),
            limit,
            total: total.clone(),
        },
        OutboxReceiver {
            queue: rx,
            queued,
            total,
        },
    )
}

impl Outbox {
    /// Queues `item` whatever the queue holds (for senders bounded on
    /// their own, and for the last frames of a connection).
    pub(super) fn push(&self, item: Outbound) -> Result<(), WriterGone> {
        let weight = item.weight();
        self.queued.fetch_add(weight, Ordering::Relaxed);
        self.total.fetch_add(weight as i64, Ordering::Relaxed);
        self.queue.send((item, weight)).map_err(|_| {
            self.queued.fetch_sub(weight, Ordering::Relaxed);
            self.total.fetch_sub(weight as i64, Ordering::Relaxed);
            WriterGone
        })
    }

    /// Queues `item` unless the queue is already past its limit.
    pub(super) fn push_bounded(&self, item: Outbound) -> Result<(), Result<Overfull, WriterGone>> {
        if self.queued.load(Ordering::Relaxed) > self.limit {
            return Err(Ok(Overfull));
        }
        self.push(item).map_err(Err)
    }

    /// Resolves once the writer task is gone.
    pub(super) async fn writer_gone(&self) {
        self.queue.closed().await
    }
}

impl OutboxReceiver {
    pub(super) async fn recv(&mut self) -> Option<Outbound> {
        let (item, weight) = self.queue.recv().await?;
        self.release(weight);
        Some(item)
    }

    pub(super) fn try_recv(&mut self) -> Option<Outbound> {
        let (item, weight) = self.queue.try_recv().ok()?;
        self.release(weight);
        Some(item)
    }

    fn release(&self, weight: usize) {
        self.queued.fetch_sub(weight, Ordering::Relaxed);
        self.total.fetch_sub(weight as i64, Ordering::Relaxed);
    }
}

impl Drop for OutboxReceiver {
    /// What was never taken is no longer queued.
    fn drop(&mut self) {
        self.queue.close();
        while let Ok((_, weight)) = self.queue.try_recv() {
            self.release(weight);
        }
    }
}
