//! One client connection: this task reads frames (the transports' reads
//! are cancel-safe), logs in and routes requests to services and bus
//! events to the socket; a writer task writes. An idle connection holds
//! these two tasks, its small queue and no buffers.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesOrdered, StreamExt};
use tidings_bus::{Subject, Subscription};
use tidings_proto::{
    bus_event, clients_change, decode_frame, frame, message_request, request, response,
    session_request, BusEvent, Closing, Code, Frame, Kicked, LoginClient, LoginClientsChanged,
    LoginResponse, Message, MessageRequest, Pong, PushedMessage, Request, Response,
    SendMessageRequest, SessionRequest,
};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

use super::outbox::{outbox, Answers, Outbound, Outbox, OutboxReceiver, Overfull};
use super::{FrameLimit, FrameSink, FrameSource, TransportError};
use crate::metrics::{CloseReason, ConnState, Listener, Metrics};
use crate::services::auth::{kick_applies, Session};
use crate::state::ServerState;
use crate::{now_ms, ServiceError};

/// Answers to sends a connection may have queued (its send worker waits
/// for room past this).
const MAX_QUEUED_ANSWERS: usize = 4096;
const SEND_QUEUE_CAPACITY: usize = 1024;
const MAX_SEND_BATCH: usize = 256;
// A batch's answers must fit in the room for answers, or it would wait forever.
const _: () = assert!(MAX_SEND_BATCH <= MAX_QUEUED_ANSWERS);
const MAX_BATCHES_IN_FLIGHT: usize = 4;
const MAX_LOGIN_FAILURES: u32 = 3;
/// Requests a connection may make before it has logged in (a login and
/// its retries, some pings); past it the connection is closed, so a peer
/// that never logs in cannot keep the server busy answering it.
const MAX_REQUESTS_BEFORE_LOGIN: u32 = 32;
/// Calls (every request but the session's and sends: syncs, profiles,
/// ...) of a connection being answered or waiting for the writer. An
/// answer holds up to half a frame; past this many the connection reads no
/// more requests, so a client that asks without reading holds the server
/// to a few answers, not one for every request it wrote.
const MAX_CALLS_IN_FLIGHT: usize = 4;
/// Frames (or bus events) handled in one turn of a connection's loop
/// before it looks at its timers, the other source and shutdown again.
const MAX_FRAMES_PER_TURN: usize = 64;
/// A writer that sent nothing for this long gives its buffers back.
const BUFFERS_KEPT_IDLE: Duration = Duration::from_secs(1);
/// How long a closing connection's last frames may take to go out before
/// its socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why a connection ends.
enum End {
    PeerGone,
    Close {
        why: CloseReason,
        code: Code,
        reason: String,
    },
    Kicked(Kicked),
    /// The peer spoke HTTP to the TCP gateway: it gets an HTTP answer that
    /// names the HTTP port.
    HttpOnTcp,
}

fn close(why: CloseReason, code: Code, reason: impl Into<String>) -> End {
    End::Close {
        why,
        code,
        reason: reason.into(),
    }
}

fn fell_behind() -> End {
    close(
        CloseReason::SlowReader,
        Code::Unavailable,
        "the connection fell behind what it was sent; reconnect and sync",
    )
}

/// How the writer task ended.
#[derive(Debug, PartialEq, Eq)]
enum WriterEnd {
    Done,
    /// A write made no progress within the write timeout.
    Stalled,
    /// The transport holds as much for the peer as it may.
    Overfull,
}

/// Serves one client connection until it ends.
pub async fn serve_connection<S: FrameSource, K: FrameSink>(
    state: Arc<ServerState>,
    source: S,
    mut sink: K,
    peer: SocketAddr,
    listener: Listener,
) {
    let Ok(_slot) = state.connection_slots.clone().try_acquire_owned() else {
        state.metrics.closed(CloseReason::ConnectionLimit);
        let closing = Frame::push(Closing {
            code: Code::Unavailable.as_u32(),
            reason: "server is at its connection limit".into(),
        });
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            let _ = sink.feed(&closing).await;
            sink.close().await;
        })
        .await;
        return;
    };
    let id = state.next_connection_id();
    let metrics = &state.metrics;
    metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    metrics.conn_state(listener, None, Some(ConnState::BeforeLogin));
    Metrics::inc(&metrics.connections_total);
    let span = tracing::info_span!("conn", id, %peer);
    async move {
        let (out, out_rx) = outbox(
            state.config.max_queued_bytes_per_connection,
            state.metrics.queued_bytes.clone(),
        );
        let mut writer = tokio::spawn(write_loop(
            sink,
            out_rx,
            state.config.heartbeat_interval(),
            state.config.write_timeout(),
        ));
        let limit = source.frame_limit().clone();
        let mut conn = Connection {
            state: state.clone(),
            id,
            out,
            session: None,
            new_events: None,
            login_failures: 0,
            requests_before_login: 0,
            peer,
            listener,
            limit,
            calls: Arc::new(Semaphore::new(MAX_CALLS_IN_FLIGHT)),
        };
        let end = conn.run(source).await;
        let mut why = conn.finish(end).await;
        // A peer that does not read gets its last frames for a moment only.
        let written = match tokio::time::timeout(CLOSE_GRACE, &mut writer).await {
            Ok(written) => written.ok(),
            Err(_) => {
                writer.abort();
                Some(WriterEnd::Stalled)
            }
        };
        if why == CloseReason::PeerClosed {
            match written {
                Some(WriterEnd::Stalled) => why = CloseReason::WriteStalled,
                Some(WriterEnd::Overfull) => why = CloseReason::SlowReader,
                _ => {}
            }
        }
        let metrics = &state.metrics;
        metrics.closed(why);
        let conn_state = if conn.session.is_some() {
            ConnState::LoggedIn
        } else {
            ConnState::BeforeLogin
        };
        metrics.conn_state(listener, Some(conn_state), None);
        metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
    .instrument(span)
    .await;
}

/// What a read from the transport gives: a frame, the end of the stream,
/// or why it failed.
type Inbound = Result<Option<Vec<u8>>, TransportError>;

/// Writes queued frames, flushing once per burst; sends a heartbeat when
/// nothing was sent for a heartbeat interval. A burst that cannot be
/// written within `write_timeout` ends it: the peer does not read.
async fn write_loop<K: FrameSink>(
    mut sink: K,
    mut queue: OutboxReceiver,
    heartbeat: Duration,
    write_timeout: Duration,
) -> WriterEnd {
    let mut last_sent = Instant::now();
    // Whether the sink may hold buffers from its last burst; they are
    // given back once it has been quiet for BUFFERS_KEPT_IDLE.
    let mut holding = false;
    // Moved on only when it fires, or when the sink starts holding buffers
    // (see `Connection::run`).
    let due = tokio::time::sleep_until(last_sent + heartbeat);
    tokio::pin!(due);
    let end = loop {
        let item = tokio::select! {
            item = queue.recv() => item,
            _ = &mut due => {
                if holding && last_sent.elapsed() >= BUFFERS_KEPT_IDLE {
                    sink.release_buffers();
                    holding = false;
                }
                if last_sent.elapsed() >= heartbeat {
                    let beat = Frame::push(tidings_proto::Ping {});
                    let sent = tokio::time::timeout(write_timeout, async {
                        sink.feed(&beat).await?;
                        sink.flush().await
                    })
                    .await;
                    match sent {
                        Ok(Ok(())) => {}
                        Ok(Err(TransportError::SlowReader)) => break WriterEnd::Overfull,
                        Ok(Err(_)) => break WriterEnd::Done,
                        Err(_) => break WriterEnd::Stalled,
                    }
                    sink.release_buffers();
                    holding = false;
                    last_sent = Instant::now();
                }
                let next = if holding { BUFFERS_KEPT_IDLE.min(heartbeat) } else { heartbeat };
                due.as_mut().reset(last_sent + next);
                continue;
            }
        };
        let Some(first) = item else {
            break WriterEnd::Done;
        };
        let burst = tokio::time::timeout(write_timeout, write_burst(&mut sink, &mut queue, first));
        match burst.await {
            Ok(Ok(Burst::More)) => last_sent = Instant::now(),
            Ok(Err(TransportError::SlowReader)) => break WriterEnd::Overfull,
            Ok(Ok(Burst::Closing)) | Ok(Err(_)) => break WriterEnd::Done,
            Err(_) => break WriterEnd::Stalled,
        }
        if !holding {
            holding = true;
            due.as_mut()
                .reset(last_sent + BUFFERS_KEPT_IDLE.min(heartbeat));
        }
    };
    if end == WriterEnd::Done {
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
    }
    end
}

enum Burst {
    More,
    Closing,
}

/// Feeds `first` and everything queued behind it, then flushes once.
async fn write_burst<K: FrameSink>(
    sink: &mut K,
    queue: &mut OutboxReceiver,
    first: Outbound,
) -> Result<Burst, TransportError> {
    let mut item = first;
    loop {
        match item {
            Outbound::Frame(frame) => sink.feed(&*frame).await?,
            Outbound::Frames(answers) => {
                let fed = feed_all(sink, &answers.frames).await;
                drop(answers);
                fed?
            }
            Outbound::Push(event) => feed_push(sink, &event).await?,
            Outbound::Raw(bytes) => sink.write_raw(&bytes).await,
            Outbound::Close => {
                sink.flush().await?;
                return Ok(Burst::Closing);
            }
        }
        match queue.try_recv() {
            Some(next) => item = next,
            None => break,
        }
    }
    sink.flush().await?;
    Ok(Burst::More)
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
        Some(bus_event::Kind::Message(message)) => sink.feed(&PushedMessage(message)).await,
        _ => Ok(()),
    }
}

fn response_frame(seq: u64, result: Result<Option<response::Area>, ServiceError>) -> Frame {
    let response = match result {
        Ok(area) => Response {
            seq,
            code: Code::Ok.as_u32(),
            message: String::new(),
            area,
        },
        Err(e) => Response {
            seq,
            code: e.code.as_u32(),
            message: e.message,
            area: None,
        },
    };
    Frame {
        body: Some(frame::Body::Response(response)),
    }
}

struct LoggedIn {
    session: Arc<Session>,
    /// The send worker's queue, made at the first send: an idle device
    /// holds no worker and no queue.
    sends: Option<mpsc::Sender<(u64, Box<Message>)>>,
}

struct Connection {
    state: Arc<ServerState>,
    id: u64,
    out: Outbox,
    session: Option<LoggedIn>,
    /// The account's event subscription, made at login, taken over by `run`.
    new_events: Option<Subscription>,
    login_failures: u32,
    /// Requests taken before login ([`MAX_REQUESTS_BEFORE_LOGIN`]).
    requests_before_login: u32,
    peer: SocketAddr,
    listener: Listener,
    limit: FrameLimit,
    /// Room for calls being answered or queued ([`MAX_CALLS_IN_FLIGHT`]).
    calls: Arc<Semaphore>,
}

impl Connection {
    /// Reads frames from `source` (its reads are cancel-safe, so it is
    /// read here, in the select, with no task of its own) until the
    /// connection ends.
    async fn run<S: FrameSource>(&mut self, mut source: S) -> End {
        let state = self.state.clone();
        let config = &state.config;
        let login_deadline = Instant::now() + config.login_timeout();
        let mut shutdown = self.state.shutdown.clone();
        if *shutdown.borrow() {
            return close(
                CloseReason::Shutdown,
                Code::Unavailable,
                "server is shutting down",
            );
        }
        let mut events: Option<Subscription> = None;
        let out = self.out.clone();
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
                // The writer gave up on the peer (it does not read).
                () = out.writer_gone() => return End::PeerGone,
                _ = shutdown.changed() => {
                    return close(CloseReason::Shutdown, Code::Unavailable, "server is shutting down");
                }
                _ = &mut silence => {
                    let logged_in = self.session.is_some();
                    let mut deadline = last_heard + config.idle_timeout();
                    if !logged_in {
                        deadline = deadline.min(login_deadline);
                    }
                    if Instant::now() >= deadline {
                        return if logged_in {
                            close(CloseReason::IdleTimeout, Code::Timeout, "no frame within the idle timeout")
                        } else {
                            close(CloseReason::LoginTimeout, Code::Timeout, "no login in time")
                        };
                    }
                    silence.as_mut().reset(deadline);
                }
                first = source.next_frame() => {
                    last_heard = Instant::now();
                    // The frames already read, in one turn: a pipelining
                    // client sends many, and a turn of this select costs
                    // more than handling a frame.
                    let mut next = Some(first);
                    let mut handled = 0;
                    while let Some(item) = next.take() {
                        if let Some(end) = self.handle_inbound(item).await {
                            return end;
                        }
                        handled += 1;
                        if handled < MAX_FRAMES_PER_TURN {
                            next = source.buffered_frame().map(|frame| Ok(Some(frame)));
                        }
                    }
                }
                event = next_event => {
                    let Some(event) = event else {
                        return close(
                            CloseReason::EventsLost,
                            Code::Unavailable,
                            "event stream fell behind; reconnect and sync",
                        );
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

    /// One read from the transport: a frame, the end of the stream or
    /// its failure.
    async fn handle_inbound(&mut self, next: Inbound) -> Option<End> {
        match next {
            Ok(None) => Some(End::PeerGone),
            Ok(Some(bytes)) => self.handle_frame(&bytes).await,
            Err(TransportError::Io(e)) => {
                tracing::debug!(error = %e, "transport failed");
                Some(End::PeerGone)
            }
            Err(TransportError::SlowReader) => Some(fell_behind()),
            Err(TransportError::HttpOnTcp) => {
                Metrics::inc(&self.state.metrics.bad_frames_total);
                Some(End::HttpOnTcp)
            }
            Err(e) => {
                Metrics::inc(&self.state.metrics.bad_frames_total);
                let reason = match (&e, self.session.is_some()) {
                    (TransportError::Frame(tidings_proto::FrameError::TooLarge { .. }), false) => {
                        format!("{e} before login")
                    }
                    _ => e.to_string(),
                };
                Some(close(CloseReason::BadFrame, Code::BadParameter, reason))
            }
        }
    }

    /// Tells the peer why its connection ends (when it is still there to
    /// hear it) and returns the reason to count.
    async fn finish(&mut self, end: End) -> CloseReason {
        if let Some(logged_in) = &self.session {
            if let Err(e) = self.state.services.auth.depart(&logged_in.session).await {
                tracing::warn!(error = %e, "could not tell the other devices this one left");
            }
        }
        let (why, last) = match end {
            End::PeerGone => (CloseReason::PeerClosed, None),
            End::Close { why, code, reason } => {
                tracing::info!(code = code.as_u32(), %reason, "closing connection");
                let closing = Frame::push(Closing {
                    code: code.as_u32(),
                    reason,
                });
                (why, Some(closing))
            }
            End::Kicked(kicked) => {
                tracing::info!(reason = kicked.reason, "device kicked");
                (CloseReason::Kicked, Some(Frame::push(kicked)))
            }
            End::HttpOnTcp => {
                let port = self.state.listening.http.port();
                let _ = self.out.push(Outbound::Raw(http_on_tcp_answer(port)));
                (CloseReason::BadFrame, None)
            }
        };
        if let Some(frame) = last {
            let _ = self.out.push(Outbound::Frame(Box::new(frame)));
        }
        let _ = self.out.push(Outbound::Close);
        why
    }

    async fn send(&self, frame: Frame) -> Option<End> {
        self.queue(Outbound::Frame(Box::new(frame)))
    }

    /// Queues `item` for the writer task: the peer is gone if the writer
    /// stopped, and has fallen behind if too much waits for it already.
    fn queue(&self, item: Outbound) -> Option<End> {
        match self.out.push_bounded(item) {
            Ok(()) => None,
            Err(Ok(Overfull)) => Some(fell_behind()),
            Err(Err(_)) => Some(End::PeerGone),
        }
    }

    async fn handle_frame(&mut self, bytes: &[u8]) -> Option<End> {
        let frame = match decode_frame(bytes) {
            Ok(frame) => frame,
            Err(e) => {
                Metrics::inc(&self.state.metrics.bad_frames_total);
                return Some(close(
                    CloseReason::BadFrame,
                    Code::BadParameter,
                    e.to_string(),
                ));
            }
        };
        match frame.body {
            Some(frame::Body::Request(request)) => self.handle_request(request).await,
            _ => {
                Metrics::inc(&self.state.metrics.bad_frames_total);
                Some(close(
                    CloseReason::BadFrame,
                    Code::BadParameter,
                    "clients may send requests only",
                ))
            }
        }
    }

    async fn handle_request(&mut self, req: Request) -> Option<End> {
        let seq = req.seq;
        if self.session.is_none() {
            self.requests_before_login += 1;
            if self.requests_before_login > MAX_REQUESTS_BEFORE_LOGIN {
                return Some(close(
                    CloseReason::BadFrame,
                    Code::TooFrequent,
                    format!("more than {MAX_REQUESTS_BEFORE_LOGIN} requests before login"),
                ));
            }
        }
        let Some(area) = req.area else {
            return self
                .send(response_frame(
                    seq,
                    Err(ServiceError::bad_parameter("request has no kind")),
                ))
                .await;
        };
        match area {
            request::Area::Session(SessionRequest {
                kind: Some(session_request::Kind::Login(login)),
            }) => self.handle_login(seq, &login).await,
            request::Area::Session(SessionRequest {
                kind: Some(session_request::Kind::Ping(_)),
            }) => {
                self.send(response_frame(seq, Ok(Some(Pong {}.into()))))
                    .await
            }
            request::Area::Session(SessionRequest {
                kind: Some(session_request::Kind::Logout(_)),
            }) => {
                let end = self.send(response_frame(seq, Ok(None))).await;
                end.or(Some(close(CloseReason::Logout, Code::Ok, "logged out")))
            }
            request::Area::Messages(MessageRequest {
                kind: Some(message_request::Kind::Send(send)),
            }) => self.handle_send(seq, send).await,
            other => self.handle_call(seq, other).await,
        }
    }

    async fn handle_login(&mut self, seq: u64, login: &tidings_proto::LoginRequest) -> Option<End> {
        let result = self.login(login).await;
        let failed = result.is_err();
        let end = self.send(response_frame(seq, result)).await;
        if end.is_none() && !failed {
            if let Some(end) = self.deliver_kept_notifications().await {
                return Some(end);
            }
        }
        if failed {
            Metrics::inc(&self.state.metrics.login_failures_total);
            self.login_failures += 1;
            if self.login_failures >= MAX_LOGIN_FAILURES {
                return Some(close(
                    CloseReason::LoginFailures,
                    Code::TooFrequent,
                    "too many failed logins",
                ));
            }
        }
        end
    }

    /// Custom notifications kept while no device of the account was
    /// online, after the login's answer.
    async fn deliver_kept_notifications(&mut self) -> Option<End> {
        let session = self.session.as_ref()?.session.clone();
        let custom = &self.state.services.notifications.custom;
        match custom.take_kept(&session.app_key, &session.accid).await {
            Ok(kept) => {
                for notification in kept {
                    if let Some(end) = self.send(Frame::push(notification)).await {
                        return Some(end);
                    }
                }
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not deliver kept custom notifications");
                None
            }
        }
    }

    /// A send joins the connection's ordered send pipeline.
    async fn handle_send(&mut self, seq: u64, send: SendMessageRequest) -> Option<End> {
        let Some(sends) = self.send_queue() else {
            return self.send(response_frame(seq, Err(not_logged_in()))).await;
        };
        let Some(message) = send.message else {
            let refused = ServiceError::bad_parameter("message is required");
            return self.send(response_frame(seq, Err(refused))).await;
        };
        // The send worker waits for the writer; so does this, until
        // the writer gives up on a peer that does not read.
        let queued = tokio::select! {
            queued = sends.send((seq, Box::new(message))) => queued.is_ok(),
            () = self.out.writer_gone() => return Some(End::PeerGone),
        };
        if !queued {
            return Some(close(
                CloseReason::ServerError,
                Code::ServerError,
                "send queue stopped",
            ));
        }
        None
    }

    /// Every other request runs off the read loop ([`route::call`]), at
    /// most [`MAX_CALLS_IN_FLIGHT`] at a time, so a slow one never stops
    /// reads or pushes; its answer joins the queue when it is ready.
    async fn handle_call(&mut self, seq: u64, area: request::Area) -> Option<End> {
        let Some(logged_in) = &self.session else {
            return self.send(response_frame(seq, Err(not_logged_in()))).await;
        };
        let (state, session, out) = (
            self.state.clone(),
            logged_in.session.clone(),
            self.out.clone(),
        );
        // Never closed, so this only waits for room (or for the writer to
        // give up on a peer that does not read).
        let room = tokio::select! {
            room = self.calls.clone().acquire_owned() => room,
            () = self.out.writer_gone() => return Some(End::PeerGone),
        };
        let Ok(room) = room else {
            return Some(close(
                CloseReason::ServerError,
                Code::ServerError,
                "call queue stopped",
            ));
        };
        tokio::spawn(async move {
            let result = super::route::call(&state, &session, area).await;
            // The room goes back once the writer has fed the answer.
            let answer = Outbound::Frames(Box::new(Answers {
                frames: vec![response_frame(seq, result)],
                room,
            }));
            let _ = out.push(answer);
        });
        None
    }

    async fn login(
        &mut self,
        req: &tidings_proto::LoginRequest,
    ) -> Result<Option<response::Area>, ServiceError> {
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
        tracing::info!(account = %session.accid, client_type = session.client_type, "logged in");
        let metrics = &self.state.metrics;
        Metrics::inc(&metrics.logins_total);
        metrics.conn_state(
            self.listener,
            Some(ConnState::BeforeLogin),
            Some(ConnState::LoggedIn),
        );
        self.limit.open_up();
        self.session = Some(LoggedIn {
            session,
            sends: None,
        });
        self.new_events = Some(events);
        Ok(Some(
            LoginResponse {
                connection_id: self.id,
                server_time: now_ms(),
            }
            .into(),
        ))
    }

    /// The logged-in session's send queue, its worker started at the
    /// first send; `None` before login.
    fn send_queue(&mut self) -> Option<mpsc::Sender<(u64, Box<Message>)>> {
        let logged_in = self.session.as_mut()?;
        let sends = logged_in.sends.get_or_insert_with(|| {
            let (sends, queue) = mpsc::channel(SEND_QUEUE_CAPACITY);
            tokio::spawn(send_worker(
                self.state.clone(),
                logged_in.session.clone(),
                queue,
                AnswerQueue {
                    queue: self.out.clone(),
                    room: Arc::new(Semaphore::new(MAX_QUEUED_ANSWERS)),
                },
            ));
            sends
        });
        Some(sends.clone())
    }

    async fn handle_event(&mut self, event: Arc<BusEvent>) -> Option<End> {
        let logged_in = self.session.as_ref()?;
        match event.kind.as_ref()? {
            bus_event::Kind::Message(_) => {
                if event.origin_connection == self.id {
                    return None;
                }
                Metrics::inc(&self.state.metrics.pushes_total);
                self.queue(Outbound::Push(event))
            }
            // Every device of the account, the one that caused it too:
            // each moves its cursor over every event of its log.
            bus_event::Kind::Event(event) => {
                Metrics::inc(&self.state.metrics.pushes_total);
                self.send(Frame::push(event.clone())).await
            }
            // An online device of the account gets it; the first to get a
            // kept one makes it not kept any more.
            bus_event::Kind::Custom(custom) => {
                if custom.kept != 0 {
                    let state = self.state.clone();
                    let (app, to, kept) = (
                        logged_in.session.app_key.clone(),
                        custom.to.clone(),
                        custom.kept,
                    );
                    tokio::spawn(async move {
                        state
                            .services
                            .notifications
                            .custom
                            .delivered(&app, &to, kept)
                            .await;
                    });
                }
                let mut custom = custom.clone();
                custom.kept = 0;
                self.send(Frame::push(custom)).await
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
    Frame::push(LoginClientsChanged {
        change,
        clients: vec![client],
    })
}

/// What an HTTP client that reached the TCP gateway is told.
fn http_on_tcp_answer(http_port: u16) -> Vec<u8> {
    let body = format!(
        "This is the Tidings TCP gateway (length-prefixed protobuf frames), not HTTP.\n\
         The server API, /lbs, /healthz and the WebSocket gateway (/ws) are on the HTTP port, {http_port}.\n"
    );
    crate::listeners::plain_http_answer("400 Bad Request", &body)
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
    mut queue: mpsc::Receiver<(u64, Box<Message>)>,
    out: AnswerQueue,
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
                    messages.push(*message);
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
    out: &AnswerQueue,
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
        frames.push(response_frame(seq, result.map(|ack| Some(ack.into()))));
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
        .push(Outbound::Frames(Box::new(Answers { frames, room })))
        .is_ok()
}

/// Where a send worker queues its answers: the connection's outbound
/// queue, and room for [`MAX_QUEUED_ANSWERS`] answers in it, so that a
/// client that sends without reading makes the server hold no more
/// answers than frames of one kind.
struct AnswerQueue {
    queue: Outbox,
    room: Arc<Semaphore>,
}
