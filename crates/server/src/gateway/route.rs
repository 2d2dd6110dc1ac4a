//! Where each request that is not the session's own or a send goes: one
//! line per area (and per kind for areas whose service has several entry
//! points). The caller has checked the login.

use tidings_proto::{
    message_request, request, response, session_request, MessageRequest, SessionRequest,
};

use crate::metrics::Metrics;
use crate::services::messages::Revoker;
use crate::services::Session;
use crate::state::ServerState;
use crate::ServiceError;

pub(super) async fn call(
    state: &ServerState,
    session: &Session,
    area: request::Area,
) -> Result<Option<response::Area>, ServiceError> {
    let services = &state.services;
    match area {
        request::Area::Session(SessionRequest {
            kind: Some(session_request::Kind::KickClients(kick)),
        }) => services
            .auth
            .kick_clients(session, &kick)
            .await
            .map(|()| None),
        request::Area::Messages(MessageRequest {
            kind: Some(message_request::Kind::Sync(sync)),
        }) => {
            Metrics::inc(&state.metrics.syncs_total);
            let page = services.messages.sync(session, &sync).await?;
            Ok(Some(page.into()))
        }
        request::Area::Messages(MessageRequest {
            kind: Some(message_request::Kind::History(history)),
        }) => {
            let page = services
                .messages
                .history(&session.app_key, &session.accid, &history)
                .await?;
            Ok(Some(page.into()))
        }
        request::Area::Messages(MessageRequest {
            kind: Some(message_request::Kind::Receipt(receipt)),
        }) => services
            .receipts
            .send(session, &receipt)
            .await
            .map(|()| None),
        request::Area::Messages(MessageRequest {
            kind: Some(message_request::Kind::Revoke(revoke)),
        }) => services
            .messages
            .revoke(
                &session.app_key,
                &session.accid,
                Revoker::Account(&session.accid),
                &revoke,
            )
            .await
            .map(|()| None),
        request::Area::Event(request) => services.events.handle(session, request).await.map(Some),
        request::Area::User(request) => services.users.handle(session, request).await.map(Some),
        request::Area::Relation(request) => services.relations.handle(session, request).await,
        request::Area::Notification(request) => {
            services.notifications.handle(session, request).await
        }
        // A login, ping, logout or send is the connection's own business;
        // here only an area without a kind can remain.
        _ => Err(ServiceError::bad_parameter("request has no kind")),
    }
}
