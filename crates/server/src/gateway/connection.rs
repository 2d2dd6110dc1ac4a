//! One client connection: a reader task, a writer task, and this task in
//! between, which logs in, routes requests to services and bus events to
//! the socket.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::stream::{FuturesOrdered, StreamExt};
use tidings_bus::{Subject, Subscription};
use tidings_proto::{
    bus_event, clients_change, decode_frame, frame, push, request, response, BusEvent, Closing,
    Code, Frame, Kicked, LoginClient, LoginClientsChanged, LoginResponse, Message, MessagePush,
    Pong, Push, Request, Response,
};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

use super::{FrameSink, FrameSource, TransportError};
use crate::metrics::Metrics;
use crate::services::auth::{kick_applies, Session};
use crate::state::ServerState;
use crate::{now_ms, ServiceError};

const OUTBOUND_CAPACITY: usize = 4096;
const SEND_QUEUE_CAPACITY: usize = 1024;
const MAX_SEND_BATCH: usize = 256;
// A batch's answers must fit in the room for answers, or it would wait forever.
const _: () = assert!(MAX_SEND_BATCH <= OUTBOUND_CAPACITY);
const MAX_BATCHES_IN_FLIGHT: usize = 4;
const MAX_LOGIN_FAILURES: u32 = 3;
/// Syncs of a connection being answered or waiting for the writer. An
/// answer holds up to half a frame; past this many the connection reads no
/// more requests, so a client that asks without reading holds the server
/// to a few answers, not one for every request it wrote.
const MAX_SYNCS_IN_FLIGHT: usize = 4;
/// Frames (or bus events) handled in one turn of a connection's loop
/// before it looks at its timers, the other source and shutdown again.
const MAX_FRAMES_PER_TURN: usize = 64;

enum Outbound {
    Frame(Box<Frame>),
    /// The answers of one batch of sends, queued at once; `room` holds
    /// their place among the answers a connection may have queued.
    Frames {
        frames: Vec<Frame>,
        room: OwnedSemaphorePermit,
    },
    /// A bus event's message, encoded from the event every connection
    /// that pushes it shares.
    Push(Arc<BusEvent>),
    Close,
}

/// Why a connection ends.
enum End {
    PeerGone,
    Close { code: Code, reason: String },
    Kicked(Kicked),
}

fn close(code: Code, reason: impl Into<String>) -> End {
    End::Close {
        code,
        reason: reason.into(),
    }
}

/// Serves one client connection until it ends.
pub async fn serve_connection<S: FrameSource, K: FrameSink>(
    state: Arc<ServerState>,
    source: S,
    mut sink: K,
    peer: SocketAddr,
) {
    let Ok(_slot) = state.connection_slots.clone().try_acquire_owned() else {
        let closing = push_frame(push::Kind::Closing(Closing {
            code: Code::Unavailable.as_u32(),
            reason: "server is at its connection limit".into(),
        }));
        let _ = sink.feed(&closing).await;
        sink.close().await;
        return;
    };
    let id = state.next_connection_id();
    state
        .metrics
        .connections_open
        .fetch_add(1, Ordering::Relaxed);
    Metrics::inc(&state.metrics.connections_total);
    let span = tracing::info_span!("conn", id, %peer);
    async move {
        let (out, out_rx) = mpsc::channel(OUTBOUND_CAPACITY);
        let writer = tokio::spawn(write_loop(sink, out_rx, state.config.heartbeat_interval()));
        let (inbound_tx, inbound) = mpsc::channel(16);
        let reader = tokio::spawn(read_loop(source, inbound_tx));
        let mut conn = Connection {
            state: state.clone(),
            id,
            out,
            session: None,
            new_events: None,
            login_failures: 0,
            peer,
            syncs: Arc::new(Semaphore::new(MAX_SYNCS_IN_FLIGHT)),
        };
        let end = conn.run(inbound).await;
        conn.finish(end).await;
        reader.abort();
        let _ = writer.await;
        state
            .metrics
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
    }
    .instrument(span)
    .await;
}

/// What the reader task hands over: a frame, the end of the stream, or
/// why it failed.
type Inbound = Result<Option<Vec<u8>>, TransportError>;

/// Reading is not cancel-safe, so it runs in its own task and hands whole
/// frames over a channel: each frame it waited for, with the frames it
/// had already read behind it, as one batch.
async fn read_loop<S: FrameSource>(mut source: S, frames: mpsc::Sender<Vec<Inbound>>) {
    loop {
        let next = source.next_frame().await;
        let last = !matches!(next, Ok(Some(_)));
        let mut batch = vec![next];
        if !last {
            while let Some(frame) = source.buffered_frame() {
                batch.push(Ok(Some(frame)));
            }
        }
        if frames.send(batch).await.is_err() || last {
            return;
        }
    }
}

/// Writes queued frames, flushing once per burst; sends a heartbeat when
/// nothing was sent for a heartbeat interval.
async fn write_loop<K: FrameSink>(
    mut sink: K,
    mut queue: mpsc::Receiver<Outbound>,
    heartbeat: std::time::Duration,
) {
    let mut last_sent = Instant::now();
    // Moved on only when it fires (see `Connection::run`).
    let beat_due = tokio::time::sleep_until(last_sent + heartbeat);
    tokio::pin!(beat_due);
    loop {
        let item = tokio::select! {
            item = queue.recv() => item,
            _ = &mut beat_due => {
                if last_sent.elapsed() >= heartbeat {
                    let beat = push_frame(push::Kind::Heartbeat(tidings_proto::Ping {}));
                    if sink.feed(&beat).await.is_err() || sink.flush().await.is_err() {
                        break;
                    }
                    last_sent = Instant::now();
                }
                beat_due.as_mut().reset(last_sent + heartbeat);
                continue;
            }
        };
        let Some(first) = item else {
            break;
        };
        // Feeds everything queued, then flushes once.
        let (mut item, mut result, mut closing) = (first, Ok(()), false);
        loop {
            result = match item {
                Outbound::Frame(frame) => sink.feed(&*frame).await,
                Outbound::Frames { frames, room } => {
                    let fed = feed_all(&mut sink, &frames).await;
                    drop(room);
                    fed
                }
                Outbound::Push(event) => feed_push(&mut sink, &event).await,
                Outbound::Close => {
                    closing = true;
                    break;
                }
            };
            match queue.try_recv() {
                Ok(next) if result.is_ok() => item = next,
                _ => break,
            }
        }
        if result.is_err() || sink.flush().await.is_err() || closing {
            break;
        }
        last_sent = Instant::now();
    }
    sink.close().await;
}

async fn feed_all<K: FrameSink>(sink: &mut K, frames: &[Frame]) -> Result<(), TransportError> {
    for frame in frames {
        sink.feed(frame).await?;
    }
    Ok(())
}

/// The push of a bus event that carries a message (the only kind queued
/// as [`Outbound::Push`]).
async fn feed_push<K: FrameSink>(sink: &mut K, event: &BusEvent) -> Result<(), TransportError> {
    match &event.kind {
        Some(bus_event::Kind::Message(message)) => sink.feed(&MessagePush(message)).await,
        _ => Ok(()),
    }
}

fn push_frame(kind: push::Kind) -> Frame {
    Frame {
        body: Some(frame::Body::Push(Push { kind: Some(kind) })),
    }
}

fn response_frame(seq: u64, result: Result<Option<response::Kind>, ServiceError>) -> Frame {
    let response = match result {
        Ok(kind) => Response {
            seq,
            code: Code::Ok.as_u32(),
            message: String::new(),
            kind,
        },
        Err(e) => Response {
            seq,
            code: e.code.as_u32(),
            message: e.message,
            kind: None,
        },
    };
    Frame {
        body: Some(frame::Body::Response(response)),
    }
}

struct LoggedIn {
    session: Arc<Session>,
    sends: mpsc::Sender<(u64, Message)>,
}

struct Connection {
    state: Arc<ServerState>,
    id: u64,
    out: mpsc::Sender<Outbound>,
    session: Option<LoggedIn>,
    /// The account's event subscription, made at login, taken over by `run`.
    new_events: Option<Subscription>,
    login_failures: u32,
    peer: SocketAddr,
    /// Room for syncs being answered or queued ([`MAX_SYNCS_IN_FLIGHT`]).
    syncs: Arc<Semaphore>,
}

impl Connection {
    async fn run(&mut self, mut inbound: mpsc::Receiver<Vec<Inbound>>) -> End {
        let state = self.state.clone();
        let config = &state.config;
        let login_deadline = Instant::now() + config.login_timeout();
        let mut shutdown = self.state.shutdown.clone();
        if *shutdown.borrow() {
            return close(Code::Unavailable, "server is shutting down");
        }
        let mut events: Option<Subscription> = None;
        // Only frames from the client count as life; pushes to it do not.
        let mut last_heard = Instant::now();
        // One timer for the connection, moved on only when it fires: not a
        // timer registered and dropped for every frame.
        let silence =
            tokio::time::sleep_until(login_deadline.min(last_heard + config.idle_timeout()));
        tokio::pin!(silence);
        loop {
            if let Some(subscription) = self.new_events.take() {
                events = Some(subscription);
            }
            let next_event = async {
                match events.as_mut() {
                    Some(subscription) => subscription.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.changed() => return close(Code::Unavailable, "server is shutting down"),
                _ = &mut silence => {
                    let logged_in = self.session.is_some();
                    let mut deadline = last_heard + config.idle_timeout();
                    if !logged_in {
                        deadline = deadline.min(login_deadline);
                    }
                    if Instant::now() >= deadline {
                        return if logged_in {
                            close(Code::Timeout, "no frame within the idle timeout")
                        } else {
                            close(Code::Timeout, "no login in time")
                        };
                    }
                    silence.as_mut().reset(deadline);
                }
                batch = inbound.recv() => {
                    last_heard = Instant::now();
                    // The frames already read, in one turn: a pipelining
                    // client sends many, and a turn of this select costs
                    // more than handling a frame. Whole batches only.
                    let Some(batch) = batch else { return End::PeerGone };
                    let mut next = Some(batch);
                    let mut handled = 0;
                    while let Some(batch) = next.take() {
                        for item in batch {
                            if let Some(end) = self.handle_inbound(item).await {
                                return end;
                            }
                            handled += 1;
                        }
                        if handled < MAX_FRAMES_PER_TURN {
                            next = inbound.try_recv().ok();
                        }
                    }
                }
                event = next_event => {
                    let Some(event) = event else {
                        return close(Code::Unavailable, "event stream fell behind; reconnect and sync");
                    };
                    // The events already queued, in one turn, as with frames.
                    let mut next = Some(event);
                    let mut handled = 0;
                    while let Some(event) = next.take() {
                        if let Some(end) = self.handle_event(event).await {
                            return end;
                        }
                        handled += 1;
                        if handled < MAX_FRAMES_PER_TURN {
                            next = events.as_mut().and_then(Subscription::try_next);
                        }
                    }
                }
            }
        }
    }

    /// One item from the reader task: a frame, the end of the stream or
    /// its failure.
    async fn handle_inbound(&mut self, next: Inbound) -> Option<End> {
        match next {
            Ok(None) => Some(End::PeerGone),
            Ok(Some(bytes)) => self.handle_frame(&bytes).await,
            Err(TransportError::Io(e)) => {
                tracing::debug!(error = %e, "transport failed");
                Some(End::PeerGone)
            }
            Err(e) => {
                Metrics::inc(&self.state.metrics.bad_frames_total);
                Some(close(Code::BadParameter, e.to_string()))
            }
        }
    }

    async fn finish(&mut self, end: End) {
        if let Some(logged_in) = &self.session {
            if let Err(e) = self.state.services.auth.depart(&logged_in.session).await {
                tracing::warn!(error = %e, "could not tell the other devices this one left");
            }
        }
        let last = match end {
            End::PeerGone => None,
            End::Close { code, reason } => {
                tracing::info!(code = code.as_u32(), %reason, "closing connection");
                Some(push::Kind::Closing(Closing {
                    code: code.as_u32(),
                    reason,
                }))
            }
            End::Kicked(kicked) => {
                tracing::info!(reason = kicked.reason, "device kicked");
                Some(push::Kind::Kicked(kicked))
            }
        };
        if let Some(kind) = last {
            let _ = self
                .out
                .send(Outbound::Frame(Box::new(push_frame(kind))))
                .await;
        }
        let _ = self.out.send(Outbound::Close).await;
    }

    async fn send(&self, frame: Frame) -> Option<End> {
        self.queue(Outbound::Frame(Box::new(frame))).await
    }

    /// Queues `item` for the writer task; the peer is gone if it stopped.
    async fn queue(&self, item: Outbound) -> Option<End> {
        match self.out.send(item).await {
            Ok(()) => None,
            Err(_) => Some(End::PeerGone),
        }
    }

    async fn handle_frame(&mut self, bytes: &[u8]) -> Option<End> {
        let frame = match decode_frame(bytes) {
            Ok(frame) => frame,
            Err(e) => {
                Metrics::inc(&self.state.metrics.bad_frames_total);
                return Some(close(Code::BadParameter, e.to_string()));
            }
        };
        match frame.body {
            Some(frame::Body::Request(request)) => self.handle_request(request).await,
            _ => {
                Metrics::inc(&self.state.metrics.bad_frames_total);
                Some(close(Code::BadParameter, "clients may send requests only"))
            }
        }
    }

    async fn handle_request(&mut self, req: Request) -> Option<End> {
        let seq = req.seq;
        let Some(kind) = req.kind else {
            return self
                .send(response_frame(
                    seq,
                    Err(ServiceError::bad_parameter("request has no kind")),
                ))
                .await;
        };
        match kind {
            request::Kind::Ping(_) => {
                self.send(response_frame(seq, Ok(Some(response::Kind::Pong(Pong {})))))
                    .await
            }
            request::Kind::Login(login) => {
                let result = self.login(&login).await;
                let failed = result.is_err();
                let end = self.send(response_frame(seq, result)).await;
                if failed {
                    Metrics::inc(&self.state.metrics.login_failures_total);
                    self.login_failures += 1;
                    if self.login_failures >= MAX_LOGIN_FAILURES {
                        return Some(close(Code::TooFrequent, "too many failed logins"));
                    }
                }
                end
            }
            request::Kind::Logout(_) => {
                let end = self.send(response_frame(seq, Ok(None))).await;
                end.or(Some(close(Code::Ok, "logged out")))
            }
            request::Kind::SendMessage(send) => {
                let Some(logged_in) = &self.session else {
                    return self.send(response_frame(seq, Err(not_logged_in()))).await;
                };
                let Some(message) = send.message else {
                    let refused = ServiceError::bad_parameter("message is required");
                    return self.send(response_frame(seq, Err(refused))).await;
                };
                if logged_in.sends.send((seq, message)).await.is_err() {
                    return Some(close(Code::ServerError, "send queue stopped"));
                }
                None
            }
            request::Kind::Sync(sync) => {
                let Some(logged_in) = &self.session else {
                    return self.send(response_frame(seq, Err(not_logged_in()))).await;
                };
                let (state, session, out) = (
                    self.state.clone(),
                    logged_in.session.clone(),
                    self.out.clone(),
                );
                // Never closed, so this only waits for room.
                let Ok(room) = self.syncs.clone().acquire_owned().await else {
                    return Some(close(Code::ServerError, "sync queue stopped"));
                };
                Metrics::inc(&self.state.metrics.syncs_total);
                tokio::spawn(async move {
                    let result = state.services.messages.sync(&session, &sync).await;
                    let frame = response_frame(seq, result.map(|r| Some(response::Kind::Sync(r))));
                    // The room goes back once the writer has fed the answer.
                    let answer = Outbound::Frames {
                        frames: vec![frame],
                        room,
                    };
                    let _ = out.send(answer).await;
                });
                None
            }
            request::Kind::KickClients(kick) => {
                let Some(logged_in) = &self.session else {
                    return self.send(response_frame(seq, Err(not_logged_in()))).await;
                };
                let result = self
                    .state
                    .services
                    .auth
                    .kick_clients(&logged_in.session, &kick)
                    .await
                    .map(|()| None);
                self.send(response_frame(seq, result)).await
            }
        }
    }

    async fn login(
        &mut self,
        req: &tidings_proto::LoginRequest,
    ) -> Result<Option<response::Kind>, ServiceError> {
        if self.session.is_some() {
            return Err(ServiceError::new(
                Code::Refused,
                "already logged in on this connection",
            ));
        }
        let services = &self.state.services;
        let session = Arc::new(services.auth.login(req, self.id, self.peer.ip()).await?);
        let subject = Subject::account(&session.app_key, &session.accid);
        // Listen before announcing, so nothing sent after the login is missed.
        let events = services.bus.subscribe(&subject).await?;
        services.auth.announce(&session).await?;
        let (sends, queue) = mpsc::channel(SEND_QUEUE_CAPACITY);
        tokio::spawn(send_worker(
            self.state.clone(),
            session.clone(),
            queue,
            Answers {
                queue: self.out.clone(),
                room: Arc::new(Semaphore::new(OUTBOUND_CAPACITY)),
            },
        ));
        tracing::info!(account = %session.accid, client_type = session.client_type, "logged in");
        Metrics::inc(&self.state.metrics.logins_total);
        self.session = Some(LoggedIn { session, sends });
        self.new_events = Some(events);
        Ok(Some(response::Kind::Login(LoginResponse {
            connection_id: self.id,
            server_time: now_ms(),
        })))
    }

    async fn handle_event(&mut self, event: Arc<BusEvent>) -> Option<End> {
        let logged_in = self.session.as_ref()?;
        match event.kind.as_ref()? {
            bus_event::Kind::Message(_) => {
                if event.origin_connection == self.id {
                    return None;
                }
                Metrics::inc(&self.state.metrics.pushes_total);
                self.queue(Outbound::Push(event)).await
            }
            bus_event::Kind::Kick(kick) => {
                if !kick_applies(kick, self.id, logged_in.session.client_type) {
                    return None;
                }
                Some(End::Kicked(Kicked {
                    reason: kick.reason,
                    by_client_type: kick.by_client_type,
                    message: kick.message.clone(),
                }))
            }
            bus_event::Kind::Online(online) => {
                if event.origin_connection == self.id
                    || (online.to_connection != 0 && online.to_connection != self.id)
                {
                    return None;
                }
                if online.to_connection == 0 {
                    // A device that just logged in learns of this one.
                    let auth = &self.state.services.auth;
                    if let Err(e) = auth
                        .answer_online(&logged_in.session, event.origin_connection)
                        .await
                    {
                        tracing::warn!(error = %e, "could not answer a new device's login");
                    }
                }
                let client = online.client.clone()?;
                self.send(clients_changed(clients_change::ONLINE, client))
                    .await
            }
            bus_event::Kind::Offline(offline) => {
                if event.origin_connection == self.id {
                    return None;
                }
                let gone = LoginClient {
                    connection_id: offline.connection_id,
                    ..LoginClient::default()
                };
                self.send(clients_changed(clients_change::OFFLINE, gone))
                    .await
            }
        }
    }
}

fn clients_changed(change: u32, client: LoginClient) -> Frame {
    push_frame(push::Kind::ClientsChanged(LoginClientsChanged {
        change,
        clients: vec![client],
    }))
}

fn not_logged_in() -> ServiceError {
    ServiceError::new(Code::Forbidden, "log in first")
}

/// Takes a connection's sends in order and hands them to the message
/// service in batches, so one connection's pipelined sends share a commit
/// and keep their order. Up to [`MAX_BATCHES_IN_FLIGHT`] batches wait for
/// their commits at once: the next group can take this connection's newer
/// sends while the last group commits, so the writer does not wait for the
/// round trip of acks and new sends between two groups.
async fn send_worker(
    state: Arc<ServerState>,
    session: Arc<Session>,
    mut queue: mpsc::Receiver<(u64, Message)>,
    out: Answers,
) {
    let service = &state.services.messages;
    let mut in_flight = FuturesOrdered::new();
    let mut open = true;
    while open || !in_flight.is_empty() {
        tokio::select! {
            biased;
            Some((seqs, stored)) = in_flight.next() => {
                let results = service.finish_batch(&session, stored).await;
                if !answer_batch(&state, &out, seqs, results).await {
                    return;
                }
            }
            next = queue.recv(), if open && in_flight.len() < MAX_BATCHES_IN_FLIGHT => {
                let Some(first) = next else {
                    open = false;
                    continue;
                };
                let (mut seqs, mut messages) = (Vec::new(), Vec::new());
                let mut next = Some(first);
                while let Some((seq, message)) = next {
                    seqs.push(seq);
                    messages.push(message);
                    next = if messages.len() < MAX_SEND_BATCH { queue.try_recv().ok() } else { None };
                }
                let pending = service.start_batch(&session, messages).await;
                in_flight.push_back(async move { (seqs, pending.stored().await) });
            }
        }
    }
}

/// Answers one batch's sends; false once the connection is gone.
async fn answer_batch(
    state: &ServerState,
    out: &Answers,
    seqs: Vec<u64>,
    results: Vec<Result<tidings_proto::SendMessageResponse, ServiceError>>,
) -> bool {
    let mut frames = Vec::with_capacity(seqs.len());
    for (seq, result) in seqs.into_iter().zip(results) {
        match &result {
            Ok(ack) if ack.duplicate => Metrics::inc(&state.metrics.messages_duplicate_total),
            Ok(_) => Metrics::inc(&state.metrics.messages_stored_total),
            Err(_) => {}
        }
        frames.push(response_frame(
            seq,
            result.map(|ack| Some(response::Kind::SendMessage(ack))),
        ));
    }
    let Ok(room) = out
        .room
        .clone()
        .acquire_many_owned(frames.len() as u32)
        .await
    else {
        return false;
    };
    out.queue
        .send(Outbound::Frames { frames, room })
        .await
        .is_ok()
}

/// Where a send worker queues its answers: the connection's outbound
/// queue, and room for [`OUTBOUND_CAPACITY`] answers in it, so that a
/// client that sends without reading makes the server hold no more
/// answers than frames of one kind.
struct Answers {
    queue: mpsc::Sender<Outbound>,
    room: Arc<Semaphore>,
}
