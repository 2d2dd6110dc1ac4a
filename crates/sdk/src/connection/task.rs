//! The connection task's loop: connect, log in, serve, reconnect.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidings_proto::{
    frame, message_push, notification_push, push, session_push, special_relation, Code, Frame,
    GetProfiles, ListNotifications, ListRelations, LoginRequest, LogoutRequest, MessagePush,
    NotificationPush, Ping, SendMessageRequest, SessionPush, SessionRange,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::backoff;
use super::convert::{
    friend_info, from_wire, logged_event, system_notification, to_wire, user_info, withheld_place,
};
use super::link::{Link, Pending, Reload, ReloadPart, SyncScope};
use super::transport;
use super::{CallReply, Command, Shared};
use crate::local_store::ops::NetworkBatch;
use crate::local_store::{events, ops, users, Ack, Applied, SessionChange};
use crate::types::{ClientsChange, CustomNotification, LocalMessage, LoginClient};
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
/// Profiles asked for per request by a reload (the server's most).
const PROFILES_PER_RELOAD: usize = 150;
/// Accounts or notifications per page of a reload (the server's most).
const LIST_PAGE: u32 = 1000;

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
    /// The event log's next page is asked for after the commit.
    events_follow_up: bool,
    /// The event sync ends with this batch.
    events_done: bool,
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
                    Some(Command::Call(_, reply)) => not_connected(reply),
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
            let seq = link.request(Pending::Login, login).await?;
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
                    Ok(Some(frame::Body::Push(push))) if push.closing().is_some() => {
                        let closing = push.into_closing().unwrap_or_default();
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

    /// Starts the sync of every conversation and of the event log, and
    /// resends the outbox.
    async fn after_login(&mut self, link: &mut Link) -> Result<(), SdkError> {
        self.step(LoginStep::Syncing);
        let (cursors, event_cursor) = self
            .shared
            .db
            .run(|db| Ok((ops::cursors(db.sql()?)?, events::cursor(db.sql()?)?)))
            .await?;
        link.first_sync = true;
        link.roaming = cursors.is_empty() && event_cursor == 0;
        link.sync_all(cursors).await?;
        link.sync_events(event_cursor).await?;
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
                                Ok(Command::Call(area, reply)) => {
                                    result = link.request(Pending::Call(reply), *area).await.map(|_| true);
                                }
                                Err(_) => break,
                            }
                        }
                        if result.is_err() || link.flush().await.is_err() {
                            return lost;
                        }
                    }
                    Some(Command::Call(area, reply)) => {
                        let sent = link.request(Pending::Call(reply), *area).await;
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
            link.request(Pending::Ping, Ping {}).await?;
            wrote = true;
        }
        if !link.syncing_events
            && link
                .event_gap
                .is_some_and(|since| since.elapsed() >= GAP_GRACE)
        {
            link.event_gap = None;
            let cursor = self
                .shared
                .db
                .run(|db| Ok(events::cursor(db.sql()?)?))
                .await?;
            tracing::debug!(cursor, "repairing a hole in the event log");
            link.sync_events(cursor).await?;
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

    /// Applies one burst of frames: acks, messages and account events in
    /// one transaction, then what follows from them.
    async fn process(
        &mut self,
        link: &mut Link,
        frames: Vec<Frame>,
    ) -> Result<Option<LinkEnd>, SdkError> {
        let me = self.shared.account.clone();
        let mut batch = NetworkBatch::default();
        let mut end = None;
        let mut kicked = None;
        let mut sync_done = false;
        let mut follow_ups = Vec::new();
        let mut events_follow_up = false;
        let mut events_done = false;
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
                            let result = if ok {
                                match r.into_sent() {
                                    Some(a) => Ok((a.server_id, a.timestamp, a.seq)),
                                    None => Err(SdkError::server(
                                        Code::ServerError.as_u32(),
                                        "ack without ids",
                                    )),
                                }
                            } else {
                                Err(SdkError::server(r.code, r.message))
                            };
                            batch.acks.push(Ack { message_id, result });
                        }
                        Pending::Sync(scope) => {
                            let (code, message) = (r.code, r.message.clone());
                            let Some(page) = r.into_sync_page().filter(|_| ok) else {
                                tracing::warn!(code, %message, "sync refused");
                                return Ok(Some(LinkEnd::Lost { logged_in: true }));
                            };
                            for floor in page.floors {
                                let session = crate::SessionId {
                                    kind: crate::SessionType::from_u32(floor.session_type)
                                        .unwrap_or(crate::SessionType::P2P),
                                    id: floor.session_id,
                                };
                                batch.floors.push((session, floor.seq));
                            }
                            for m in page.messages {
                                if m.withheld {
                                    batch.withheld.push(withheld_place(&m, &me));
                                } else {
                                    batch.received.push(from_wire(m, &me));
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
                        Pending::EventSync => {
                            let (code, message) = (r.code, r.message.clone());
                            if !ok && code == Code::BadParameter.as_u32() {
                                // The cursor is ahead of the log (the server's
                                // store was restored, say): start over.
                                tracing::warn!(%message, "event cursor refused; reloading");
                                self.reload(link, None).await?;
                                continue;
                            }
                            let Some(page) = r.into_event_page().filter(|_| ok) else {
                                tracing::warn!(code, %message, "event sync refused");
                                return Ok(Some(LinkEnd::Lost { logged_in: true }));
                            };
                            if page.reload {
                                self.reload(link, Some(page.head)).await?;
                                continue;
                            }
                            batch
                                .events
                                .events
                                .extend(page.events.into_iter().map(logged_event));
                            if page.has_more {
                                events_follow_up = true;
                            } else {
                                events_done = true;
                            }
                        }
                        Pending::Reload(part) => {
                            if !ok {
                                tracing::warn!(code = r.code, message = %r.message, "reload refused");
                                return Ok(Some(LinkEnd::Lost { logged_in: true }));
                            }
                            let Some(reload) = link.reload.as_mut() else {
                                continue;
                            };
                            // The next page of the same list, if any.
                            let mut next: Option<tidings_proto::request::Area> = None;
                            match part {
                                ReloadPart::Profiles => {
                                    let found = r.into_profiles().unwrap_or_default();
                                    reload
                                        .got
                                        .profiles
                                        .extend(found.profiles.into_iter().map(user_info));
                                }
                                ReloadPart::Relations(relation) => {
                                    let page = r.into_relations().unwrap_or_default();
                                    let last = match relation {
                                        0 => page.friends.last().map(|f| f.accid.clone()),
                                        1 => page.blacklist.last().cloned(),
                                        _ => page.muted.last().cloned(),
                                    };
                                    reload
                                        .got
                                        .friends
                                        .get_or_insert_with(Vec::new)
                                        .extend(page.friends.into_iter().map(friend_info));
                                    reload.blacklist.extend(page.blacklist);
                                    reload.muted.extend(page.muted);
                                    if let (true, Some(after)) = (page.has_more, last) {
                                        next = Some(
                                            ListRelations {
                                                relation,
                                                after,
                                                limit: LIST_PAGE,
                                            }
                                            .into(),
                                        );
                                    }
                                }
                                ReloadPart::Notifications => {
                                    let page = r.into_notifications().unwrap_or_default();
                                    let last = page.notifications.last().map(|n| n.id);
                                    reload
                                        .got
                                        .notifications
                                        .get_or_insert_with(Vec::new)
                                        .extend(
                                            page.notifications.into_iter().map(system_notification),
                                        );
                                    if let (true, Some(before)) = (page.has_more, last) {
                                        next = Some(
                                            ListNotifications {
                                                limit: LIST_PAGE,
                                                before,
                                            }
                                            .into(),
                                        );
                                    }
                                }
                            }
                            if let Some(next) = next {
                                link.request(Pending::Reload(part), next).await?;
                                link.flush().await?;
                                continue;
                            }
                            reload.waiting -= 1;
                            if reload.waiting == 0 {
                                if let Some(mut done) = link.reload.take() {
                                    done.got.lists = Some(vec![
                                        (special_relation::BLACKLIST, done.blacklist),
                                        (special_relation::MUTE, done.muted),
                                    ]);
                                    done.got.friends.get_or_insert_with(Vec::new);
                                    done.got.notifications.get_or_insert_with(Vec::new);
                                    batch.events.reloaded = done.got;
                                    batch.events.reloaded_to = Some(done.head);
                                    events_follow_up = true;
                                }
                            }
                        }
                        Pending::Call(reply) => {
                            let _ = reply.send(if ok {
                                Ok(r.area)
                            } else {
                                Err(SdkError::server(r.code, r.message))
                            });
                        }
                        Pending::Login | Pending::Ping | Pending::Logout => {}
                    }
                }
                Some(frame::Body::Push(p)) => match p.area {
                    Some(push::Area::Messages(MessagePush {
                        kind: Some(message_push::Kind::Message(m)),
                    })) => batch.received.push(from_wire(m, &me)),
                    Some(push::Area::Notification(NotificationPush {
                        kind: Some(notification_push::Kind::Custom(c)),
                    })) => {
                        let custom = CustomNotification {
                            from: c.from,
                            content: c.content,
                            push_content: c.push_content,
                            time: c.time,
                        };
                        self.shared.emit(Event::CustomNotification(custom.into()));
                    }
                    Some(push::Area::Event(event)) => {
                        if let Some(tidings_proto::event_push::Kind::Event(e)) = event.kind {
                            batch.events.events.push(logged_event(e));
                        }
                    }
                    Some(push::Area::Session(SessionPush { kind: Some(kind) })) => match kind {
                        session_push::Kind::Kicked(k) => {
                            kicked = Some(Event::Kicked {
                                reason: k.reason,
                                message: k.message,
                            });
                            end = Some(LinkEnd::Stop);
                        }
                        session_push::Kind::Closing(c) => {
                            tracing::info!(code = c.code, reason = %c.reason, "server closed the connection");
                            end = Some(LinkEnd::Lost { logged_in: true });
                        }
                        session_push::Kind::ClientsChanged(c) => {
                            let change = if c.change == tidings_proto::clients_change::OFFLINE {
                                ClientsChange::Offline
                            } else {
                                ClientsChange::Online
                            };
                            let clients = c.clients.into_iter().map(login_client).collect();
                            self.shared.clients_changed(change, clients);
                        }
                        session_push::Kind::Heartbeat(_) => {}
                    },
                    _ => {}
                },
                _ => {}
            }
        }
        let nothing_to_store = batch.is_empty();
        let follows = !follow_ups.is_empty() || sync_done || events_follow_up || events_done;
        if !nothing_to_store || follows {
            let committed: Pin<Box<dyn Future<Output = _> + Send>> = if nothing_to_store {
                Box::pin(async { Ok(Applied::default()) })
            } else {
                Box::pin(self.shared.db.run(move |db| ops::apply_network(db, batch)))
            };
            self.applying.push_back(Applying {
                committed,
                follow_ups,
                sync_done,
                events_follow_up,
                events_done,
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

    /// The events this device missed were trimmed from the log (or its
    /// cursor is ahead of it): it fetches again each area the log keeps
    /// current (the profiles it holds, its relations, its notifications)
    /// and then takes the log from `head` (from the start when not known).
    async fn reload(&mut self, link: &mut Link, head: Option<u64>) -> Result<(), SdkError> {
        let me = self.shared.account.clone();
        let held = self
            .shared
            .db
            .run(|db| Ok(users::accounts(db.sql()?)?))
            .await?;
        let mut accounts: Vec<String> = held.into_iter().filter(|a| *a != me).collect();
        accounts.insert(0, me);
        let head = head.unwrap_or(0);
        let pages: Vec<Vec<String>> = accounts
            .chunks(PROFILES_PER_RELOAD)
            .map(<[String]>::to_vec)
            .collect();
        tracing::info!(
            head,
            profiles = accounts.len(),
            "reloading what the event log keeps current"
        );
        link.reload = Some(Reload {
            head,
            waiting: pages.len() + 4,
            ..Reload::default()
        });
        for accids in pages {
            link.request(
                Pending::Reload(ReloadPart::Profiles),
                GetProfiles { accids },
            )
            .await?;
        }
        for relation in [0, special_relation::BLACKLIST, special_relation::MUTE] {
            let list = ListRelations {
                relation,
                after: String::new(),
                limit: LIST_PAGE,
            };
            link.request(Pending::Reload(ReloadPart::Relations(relation)), list)
                .await?;
        }
        let list = ListNotifications {
            limit: LIST_PAGE,
            before: 0,
        };
        link.request(Pending::Reload(ReloadPart::Notifications), list)
            .await?;
        link.flush().await
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
        if applying.events_follow_up {
            let cursor = self
                .shared
                .db
                .run(|db| Ok(events::cursor(db.sql()?)?))
                .await?;
            link.sync_events(cursor).await?;
            link.flush().await?;
        }
        if applying.sync_done {
            link.syncing_all = false;
        }
        if applying.events_done {
            link.syncing_events = false;
        }
        // "Synced" once both the messages and the events are in.
        if link.first_sync && !link.syncing_all && !link.syncing_events {
            link.first_sync = false;
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
                SessionChange::Added(s) | SessionChange::Updated(s) | SessionChange::Removed(s) => {
                    s.session.clone()
                }
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
        let events = applied.events;
        if events.gap.is_some() && link.event_gap.is_none() {
            link.event_gap = Some(Instant::now());
        }
        self.shared.emit_account_changes(events);
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
    link.request(Pending::Send(message.message_id.clone()), request)
        .await?;
    Ok(())
}

async fn logout(link: &mut Link) {
    if link
        .request(Pending::Logout, LogoutRequest {})
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

/// A call made while no connection is up.
fn not_connected(reply: CallReply) {
    let _ = reply.send(Err(SdkError::Connection(
        "not connected; try again once logged in".into(),
    )));
}
