//! The connection task's loop: connect, log in, serve, reconnect.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidings_proto::{
    frame, push, request, response, Code, Frame, LoginRequest, LogoutRequest, Ping, Push,
    SendMessageRequest, SessionRange,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::backoff;
use super::convert::{from_wire, to_wire, withheld_place};
use super::link::{Link, Pending, SyncScope};
use super::transport;
use super::{Command, Shared};
use crate::local_store::{ops, Ack, Applied, SessionChange};
use crate::types::{ClientsChange, LocalMessage, LoginClient};
use crate::{Event, LoginStep, SdkError};

/// How long a gap may stand before it is repaired by a sync: pushes of
/// concurrent senders often arrive slightly out of order.
const GAP_GRACE: Duration = Duration::from_millis(300);
const TICK: Duration = Duration::from_millis(100);
const MAX_FRAMES_PER_BATCH: usize = 512;
/// Batches handed to the local database and not yet committed. The task
/// keeps sending and reading while they commit; past this many it waits.
const MAX_APPLYING: usize = 8;
/// Sends on the wire and not yet answered. An outbox that piled up offline
/// goes out this many at a time: on a link that drops after a few hundred
/// kilobytes, a resend of everything at once would never see an answer.
const SEND_WINDOW: usize = 256;

/// Codes after which retrying the login cannot help.
fn login_is_final(code: u32) -> bool {
    !matches!(
        Code::from_u32(code),
        Code::ServerError | Code::Unavailable | Code::Timeout | Code::TooFrequent
    )
}

/// Codes after which a send is kept and resent on the next connection.
fn send_is_retryable(code: u32) -> bool {
    matches!(
        Code::from_u32(code),
        Code::ServerError | Code::Unavailable | Code::Timeout
    )
}

enum LinkEnd {
    /// Logged out, kicked or refused: stop for good.
    Stop,
    /// The connection dropped; `logged_in` says whether it got that far.
    Lost { logged_in: bool },
}

pub(crate) fn spawn(
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    outbox: Vec<LocalMessage>,
    first_login: Option<oneshot::Sender<Result<(), SdkError>>>,
    forced: bool,
) -> JoinHandle<()> {
    let task = Task {
        shared,
        applying: VecDeque::new(),
        commands,
        outbox: outbox.into(),
        unsent_from: 0,
        first_login,
        forced,
    };
    tokio::spawn(task.run())
}

/// A batch on its way into the local database, and what follows its commit.
struct Applying {
    committed: Pin<Box<dyn Future<Output = Result<Applied, SdkError>> + Send>>,
    /// Sync scopes whose next page is asked for after the commit.
    follow_ups: Vec<SyncScope>,
    /// The sync of everything ends with this batch.
    sync_done: bool,
}

struct Task {
    shared: Arc<Shared>,
    /// Batches committing in the local database, in order.
    applying: VecDeque<Applying>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// My messages not yet acked, in send order.
    outbox: VecDeque<LocalMessage>,
    /// The outbox's first message not yet sent on this connection: those
    /// before it wait for their answers.
    unsent_from: usize,
    /// Present until the first login's outcome is known; a manual login
    /// reports it here and does not retry a refused connection.
    first_login: Option<oneshot::Sender<Result<(), SdkError>>>,
    /// Every login is forced: never refused because another device of
    /// the kick group logged in since this one did.
    forced: bool,
}

impl Task {
    async fn run(mut self) {
        let config = self.shared.config.clone();
        let addresses: Vec<_> = std::iter::once(config.server.clone())
            .chain(config.alternates.iter().cloned())
            .collect();
        let mut current = 0usize;
        // Addresses that failed since the last good connection.
        let mut failed = 0usize;
        let mut attempt = 0u32;
        loop {
            self.step(LoginStep::Connecting);
            let address = &addresses[current % addresses.len()];
            let connected =
                tokio::time::timeout(config.request_timeout, transport::connect(address))
                    .await
                    .unwrap_or(Err(SdkError::Timeout));
            match connected {
                Err(e) => {
                    tracing::debug!(error = %e, ?address, "connect failed");
                    self.step(LoginStep::ConnectFailed);
                    current += 1;
                    failed += 1;
                    if failed < addresses.len() {
                        continue; // another node may answer at once
                    }
                    if let Some(first) = self.first_login.take() {
                        let _ = first.send(Err(e));
                        break;
                    }
                }
                Ok((sink, inbound, reader)) => {
                    self.step(LoginStep::Connected);
                    let link = Link::new(sink, inbound, reader);
                    match self.serve(link).await {
                        LinkEnd::Stop => break,
                        LinkEnd::Lost { logged_in } => {
                            if logged_in {
                                attempt = 0;
                            }
                            // The node may be gone: the next try goes to another.
                            current += 1;
                            self.shared.logged_in.store(false, Ordering::SeqCst);
                            self.shared.forget_clients();
                            self.step(LoginStep::Disconnected);
                        }
                    }
                }
            }
            failed = 0;
            let delay = backoff::delay(attempt, config.reconnect_min, config.reconnect_max);
            attempt = attempt.saturating_add(1);
            if !self.wait_offline(delay).await {
                break;
            }
        }
        self.shared.logged_in.store(false, Ordering::SeqCst);
        self.shared.forget_clients();
        self.shared.fail_all_waiters();
    }

    fn step(&self, step: LoginStep) {
        self.shared.emit(Event::LoginStep(step));
    }

    /// Sleeps before a reconnect while still taking commands. False: stop.
    async fn wait_offline(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                command = self.commands.recv() => match command {
                    Some(Command::Send(message)) => self.outbox.push_back(*message),
                    Some(Command::KickClients(_, done)) => not_connected(done),
                    Some(Command::Logout(done)) => {
                        let _ = done.send(());
                        return false;
                    }
                    None => return false,
                },
            }
        }
    }

    async fn serve(&mut self, mut link: Link) -> LinkEnd {
        match self.log_in(&mut link).await {
            Ok(()) => {}
            Err(end) => return end,
        }
        let end = match self.after_login(&mut link).await {
            Ok(()) => self.serve_logged_in(&mut link).await,
            Err(_) => LinkEnd::Lost { logged_in: true },
        };
        // What reached the database still reaches the app.
        if let Err(e) = self.finish_applying(&mut link).await {
            tracing::debug!(error = %e, "finishing local batches after the link ended");
        }
        link.sink.close().await;
        end
    }

    async fn log_in(&mut self, link: &mut Link) -> Result<(), LinkEnd> {
        self.step(LoginStep::LoggingIn);
        let config = &self.shared.config;
        let login = LoginRequest {
            app_key: config.app_key.clone(),
            account: self.shared.account.clone(),
            token: self.shared.token.clone(),
            client_type: config.client_type,
            device_id: self.shared.device_id.clone(),
            // Only the first try of a manual login is the user's own doing.
            auto_login: !self.forced && self.first_login.is_none(),
        };
        let sent = async {
            let seq = link
                .request(Pending::Login, request::Kind::Login(login))
                .await?;
            link.flush().await?;
            Ok::<u64, SdkError>(seq)
        };
        let seq = match sent.await {
            Ok(seq) => seq,
            Err(e) => return Err(self.first_login_lost(Some(e.to_string()))),
        };
        // Why the connection ended before the answer, if it said.
        let mut why = None;
        let answer = tokio::time::timeout(config.request_timeout, async {
            while let Some(frame) = link.inbound.recv().await {
                match frame.map(|f| f.body) {
                    Ok(Some(frame::Body::Response(r))) if r.seq == seq => return Some(r),
                    Ok(Some(frame::Body::Push(Push {
                        kind: Some(push::Kind::Closing(closing)),
                    }))) => {
                        why = Some(format!(
                            "the server closed the connection ({}: {})",
                            closing.code, closing.reason
                        ));
                    }
                    Err(e) => why = Some(e),
                    Ok(_) => {}
                }
            }
            None
        })
        .await;
        let Ok(Some(response)) = answer else {
            return Err(self.first_login_lost(why));
        };
        link.pending.remove(&seq);
        if response.code == Code::Ok.as_u32() {
            // The devices online beside this connection come again as pushes.
            self.shared.forget_clients();
            self.shared.logged_in.store(true, Ordering::SeqCst);
            self.step(LoginStep::LoggedIn);
            if let Some(first) = self.first_login.take() {
                let _ = first.send(Ok(()));
            }
            return Ok(());
        }
        let error = SdkError::server(response.code, response.message);
        self.step(LoginStep::LoginFailed);
        if !login_is_final(response.code) && self.first_login.is_none() {
            return Err(LinkEnd::Lost { logged_in: false });
        }
        self.shared.emit(Event::LoginFailed(error.clone()));
        if let Some(first) = self.first_login.take() {
            let _ = first.send(Err(error));
        }
        Err(LinkEnd::Stop)
    }

    /// The connection failed during login: a first (manual) login reports
    /// it and stops; later logins retry.
    fn first_login_lost(&mut self, why: Option<String>) -> LinkEnd {
        match self.first_login.take() {
            Some(first) => {
                let _ = first.send(Err(SdkError::Connection(
                    why.unwrap_or_else(|| "connection lost during login".into()),
                )));
                LinkEnd::Stop
            }
            None => LinkEnd::Lost { logged_in: false },
        }
    }

    /// Starts the sync of everything and resends the outbox.
    async fn after_login(&mut self, link: &mut Link) -> Result<(), SdkError> {
        self.step(LoginStep::Syncing);
        let cursors = self.shared.db.run(|db| ops::cursors(db.sql()?)).await?;
        link.sync_all(cursors).await?;
        self.unsent_from = 0;
        self.send_more(link).await?;
        link.flush().await
    }

    /// Sends the outbox's next messages, in order, while the window has room.
    /// True if it sent any (call [`Link::flush`]).
    async fn send_more(&mut self, link: &mut Link) -> Result<bool, SdkError> {
        let before = self.unsent_from;
        while self.unsent_from < SEND_WINDOW {
            let Some(message) = self.outbox.get(self.unsent_from) else {
                break;
            };
            send_message(link, message).await?;
            self.unsent_from += 1;
        }
        Ok(self.unsent_from > before)
    }

    async fn serve_logged_in(&mut self, link: &mut Link) -> LinkEnd {
        let lost = LinkEnd::Lost { logged_in: true };
        let config = self.shared.config.clone();
        let mut tick = tokio::time::interval(TICK);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Send(message)) => {
                        self.outbox.push_back(*message);
                        // Take whatever else is queued before flushing once.
                        let mut result = self.send_more(link).await;
                        while result.is_ok() {
                            match self.commands.try_recv() {
                                Ok(Command::Send(message)) => {
                                    self.outbox.push_back(*message);
                                    result = self.send_more(link).await;
                                }
                                Ok(Command::Logout(done)) => {
                                    logout(link).await;
                                    let _ = done.send(());
                                    return LinkEnd::Stop;
                                }
                                Ok(Command::KickClients(ids, done)) => {
                                    result = kick_clients(link, ids, done).await.map(|()| true);
                                }
                                Err(_) => break,
                            }
                        }
                        if result.is_err() || link.flush().await.is_err() {
                            return lost;
                        }
                    }
                    Some(Command::KickClients(ids, done)) => {
                        let sent = kick_clients(link, ids, done).await;
                        if sent.is_err() || link.flush().await.is_err() {
                            return lost;
                        }
                    }
                    Some(Command::Logout(done)) => {
                        logout(link).await;
                        let _ = done.send(());
                        return LinkEnd::Stop;
                    }
                    None => return LinkEnd::Stop,
                },
                applied = next_committed(&mut self.applying), if !self.applying.is_empty() => {
                    if let Err(e) = self.after_commit(link, applied).await {
                        tracing::warn!(error = %e, "applying a batch failed; reconnecting");
                        return lost;
                    }
                }
                frame = link.inbound.recv(), if self.applying.len() < MAX_APPLYING => {
                    let Some(Ok(first)) = frame else { return lost };
                    last_heard = Instant::now();
                    let mut frames = vec![first];
                    while frames.len() < MAX_FRAMES_PER_BATCH {
                        match link.inbound.try_recv() {
                            Ok(Ok(frame)) => frames.push(frame),
                            _ => break,
                        }
                    }
                    match self.process(link, frames).await {
                        Ok(None) => {}
                        Ok(Some(end)) => return end,
                        Err(e) => {
                            tracing::warn!(error = %e, "processing a batch failed; reconnecting");
                            return lost;
                        }
                    }
                }
                _ = tick.tick() => {
                    if last_heard.elapsed() > config.idle_timeout {
                        tracing::info!("server silent for too long; reconnecting");
                        return lost;
                    }
                    if link.oldest_pending().is_some_and(|at| at.elapsed() > config.request_timeout) {
                        tracing::info!("a request went unanswered; reconnecting");
                        return lost;
                    }
                    if self.housekeeping(link, &config).await.is_err() {
                        return lost;
                    }
                }
            }
        }
    }

    /// Heartbeat and gap repair.
    async fn housekeeping(
        &mut self,
        link: &mut Link,
        config: &crate::ClientConfig,
    ) -> Result<(), SdkError> {
        let mut wrote = false;
        if link.last_sent.elapsed() >= config.heartbeat_interval {
            link.request(Pending::Ping, request::Kind::Ping(Ping {}))
                .await?;
            wrote = true;
        }
        if !link.syncing_all {
            let due: Vec<_> = link
                .gaps
                .iter()
                .filter(|(session, (since, _))| {
                    since.elapsed() >= GAP_GRACE && !link.repairing.contains(*session)
                })
                .map(|(session, (_, cursor))| (session.clone(), *cursor))
                .collect();
            for (session, cursor) in due {
                link.gaps.remove(&session);
                tracing::debug!(session = %session.id, cursor, "repairing a gap");
                link.sync(vec![(session.clone(), cursor)], SyncScope::Repair(session))
                    .await?;
                wrote = true;
            }
        }
        if wrote {
            link.flush().await?;
        }
        Ok(())
    }

    /// Applies one burst of frames: acks and messages in one transaction,
    /// then events.
    async fn process(
        &mut self,
        link: &mut Link,
        frames: Vec<Frame>,
    ) -> Result<Option<LinkEnd>, SdkError> {
        let me = self.shared.account.clone();
        let mut acks = Vec::new();
        let mut received = Vec::new();
        let mut withheld = Vec::new();
        let mut end = None;
        let mut kicked = None;
        let mut sync_done = false;
        let mut follow_ups = Vec::new();
        for frame in frames {
            match frame.body {
                Some(frame::Body::Response(r)) => {
                    let Some((pending, _)) = link.pending.remove(&r.seq) else {
                        continue;
                    };
                    let ok = r.code == Code::Ok.as_u32();
                    match pending {
                        Pending::Send(message_id) => {
                            if !ok && send_is_retryable(r.code) {
                                // The server could not store it now: reconnect
                                // (with back-off) and resend the outbox.
                                tracing::info!(code = r.code, %message_id, "send will be retried after a reconnect");
                                end = Some(LinkEnd::Lost { logged_in: true });
                                continue;
                            }
                            self.forget_sent(&message_id);
                            let result = match r.kind {
                                Some(response::Kind::SendMessage(a)) if ok => {
                                    Ok((a.server_id, a.timestamp, a.seq))
                                }
                                _ if ok => Err(SdkError::server(
                                    Code::ServerError.as_u32(),
                                    "ack without ids",
                                )),
                                _ => Err(SdkError::server(r.code, r.message)),
                            };
                            acks.push(Ack { message_id, result });
                        }
                        Pending::Sync(scope) => {
                            let page = match r.kind {
                                Some(response::Kind::Sync(page)) if ok => page,
                                _ => {
                                    tracing::warn!(code = r.code, message = %r.message, "sync refused");
                                    return Ok(Some(LinkEnd::Lost { logged_in: true }));
                                }
                            };
                            for m in page.messages {
                                if m.withheld {
                                    withheld.push(withheld_place(&m, &me));
                                } else {
                                    received.push(from_wire(m, &me));
                                }
                            }
                            if page.has_more {
                                follow_ups.push(scope);
                            } else {
                                match scope {
                                    SyncScope::All(_) => match link.ranges_left.pop_front() {
                                        Some(next) => follow_ups.push(SyncScope::All(next)),
                                        None => sync_done = true,
                                    },
                                    SyncScope::Repair(session) => {
                                        link.repairing.remove(&session);
                                    }
                                }
                            }
                        }
                        Pending::KickClients(done) => {
                            let _ = done.send(if ok {
                                Ok(())
                            } else {
                                Err(SdkError::server(r.code, r.message))
                            });
                        }
                        Pending::Login | Pending::Ping | Pending::Logout => {}
                    }
                }
                Some(frame::Body::Push(p)) => match p.kind {
                    Some(push::Kind::Message(m)) => received.push(from_wire(m, &me)),
                    Some(push::Kind::Kicked(k)) => {
                        kicked = Some(Event::Kicked {
                            reason: k.reason,
                            message: k.message,
                        });
                        end = Some(LinkEnd::Stop);
                    }
                    Some(push::Kind::Closing(c)) => {
                        tracing::info!(code = c.code, reason = %c.reason, "server closed the connection");
                        end = Some(LinkEnd::Lost { logged_in: true });
                    }
                    Some(push::Kind::ClientsChanged(c)) => {
                        let change = if c.change == tidings_proto::clients_change::OFFLINE {
                            ClientsChange::Offline
                        } else {
                            ClientsChange::Online
                        };
                        let clients = c.clients.into_iter().map(login_client).collect();
                        self.shared.clients_changed(change, clients);
                    }
                    Some(push::Kind::Heartbeat(_)) | None => {}
                },
                _ => {}
            }
        }
        let nothing_to_store = acks.is_empty() && received.is_empty() && withheld.is_empty();
        if !nothing_to_store || !follow_ups.is_empty() || sync_done {
            let committed: Pin<Box<dyn Future<Output = _> + Send>> = if nothing_to_store {
                Box::pin(async { Ok(Applied::default()) })
            } else {
                Box::pin(
                    self.shared
                        .db
                        .run(move |db| ops::apply(db, acks, received, withheld)),
                )
            };
            self.applying.push_back(Applying {
                committed,
                follow_ups,
                sync_done,
            });
        }
        if end.is_some() {
            self.finish_applying(link).await?;
            if let Some(kicked) = kicked {
                self.shared.emit(kicked);
            }
        } else if self.send_more(link).await? {
            link.flush().await?;
        }
        Ok(end)
    }

    /// Drops an answered send from the outbox. Answers mostly come in send
    /// order, so the oldest is checked first: no scan of a long outbox per ack.
    fn forget_sent(&mut self, message_id: &str) {
        let at = if self
            .outbox
            .front()
            .is_some_and(|m| m.message_id == message_id)
        {
            Some(0)
        } else {
            self.outbox.iter().position(|m| m.message_id == message_id)
        };
        if let Some(at) = at {
            self.outbox.remove(at);
            if at < self.unsent_from {
                self.unsent_from -= 1;
            }
        }
    }

    /// Waits for every batch still committing and publishes it.
    async fn finish_applying(&mut self, link: &mut Link) -> Result<(), SdkError> {
        while !self.applying.is_empty() {
            let applied = next_committed(&mut self.applying).await;
            self.after_commit(link, applied).await?;
        }
        Ok(())
    }

    /// A batch committed: its events, then the sync pages that follow it.
    async fn after_commit(
        &mut self,
        link: &mut Link,
        (applying, applied): (Applying, Result<Applied, SdkError>),
    ) -> Result<(), SdkError> {
        self.publish(link, applied?);
        if !applying.follow_ups.is_empty() {
            for scope in applying.follow_ups {
                let range = match &scope {
                    SyncScope::All(range) => range.clone(),
                    SyncScope::Repair(session) => {
                        SessionRange::only(session.kind.as_u32(), &session.id)
                    }
                };
                let cursors = self
                    .shared
                    .db
                    .run(move |db| ops::cursors_in(db.sql()?, &range))
                    .await?;
                link.sync(cursors, scope).await?;
            }
            link.flush().await?;
        }
        if applying.sync_done {
            link.syncing_all = false;
            self.step(LoginStep::Synced);
        }
        Ok(())
    }

    fn publish(&self, link: &mut Link, applied: Applied) {
        for (message, error) in applied.completed {
            let outcome = match &error {
                None => Ok(message.clone()),
                Some(e) => Err(e.clone()),
            };
            let message = Arc::new(message);
            self.shared.emit(Event::SendComplete {
                message: message.clone(),
                error,
            });
            self.shared.resolve(&message.message_id, outcome);
        }
        if !applied.received.is_empty() {
            self.shared.emit(Event::Received(applied.received.into()));
        }
        // A gap keeps the time it was first seen; a conversation that is
        // whole again forgets its gap.
        let whole: Vec<_> = applied
            .sessions
            .iter()
            .map(|change| match change {
                SessionChange::Added(s) | SessionChange::Updated(s) => s.session.clone(),
            })
            .filter(|session| !applied.gaps.iter().any(|(gap, _)| gap == session))
            .collect();
        for session in whole {
            link.gaps.remove(&session);
        }
        for (session, cursor) in applied.gaps {
            link.gaps
                .entry(session)
                .or_insert((Instant::now(), cursor))
                .1 = cursor;
        }
        for change in applied.sessions {
            self.shared.emit_session_change(change);
        }
    }
}

/// The oldest batch, once committed.
async fn next_committed(
    applying: &mut VecDeque<Applying>,
) -> (Applying, Result<Applied, SdkError>) {
    let outcome = match applying.front_mut() {
        Some(front) => (&mut front.committed).await,
        None => std::future::pending().await,
    };
    let Some(front) = applying.pop_front() else {
        return std::future::pending().await;
    };
    (front, outcome)
}

async fn send_message(link: &mut Link, message: &LocalMessage) -> Result<(), SdkError> {
    let request = SendMessageRequest {
        message: Some(to_wire(message)),
    };
    link.request(
        Pending::Send(message.message_id.clone()),
        request::Kind::SendMessage(request),
    )
    .await?;
    Ok(())
}

async fn logout(link: &mut Link) {
    if link
        .request(Pending::Logout, request::Kind::Logout(LogoutRequest {}))
        .await
        .is_ok()
    {
        let _ = link.flush().await;
    }
    link.sink.close().await;
}

fn login_client(c: tidings_proto::LoginClient) -> LoginClient {
    LoginClient {
        connection_id: c.connection_id,
        client_type: c.client_type,
        device_id: c.device_id,
        login_time: c.login_time,
    }
}

/// A kick asked for while no connection is up.
fn not_connected(done: oneshot::Sender<Result<(), SdkError>>) {
    let _ = done.send(Err(SdkError::Connection(
        "not connected; kick other devices once logged in".into(),
    )));
}

async fn kick_clients(
    link: &mut Link,
    connection_ids: Vec<u64>,
    done: oneshot::Sender<Result<(), SdkError>>,
) -> Result<(), SdkError> {
    link.request(
        Pending::KickClients(done),
        request::Kind::KickClients(tidings_proto::KickClientsRequest { connection_ids }),
    )
    .await
    .map(|_| ())
}
