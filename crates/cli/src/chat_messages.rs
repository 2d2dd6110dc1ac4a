//! `tidings chat`'s commands for what the server keeps of a conversation:
//! cloud history, read receipts, revoke and local deletes, and the lines
//! their events print.

use tidings_sdk::{Client, CloudHistoryQuery, Event, LocalMessage, SessionId};

use crate::chat::clock;

pub const HELP: &str = "\
  /cloud <peer> [n]   the last n messages with peer from the server (default 20)
  /seen <peer>        tell peer I read their messages
  /revoke <peer>      take back my last message to peer
  /clear <peer>       delete my messages with peer on this device";

/// The line an event of these commands prints, if any.
pub fn event_line(event: &Event) -> Option<String> {
    match event {
        Event::MessageReceipt {
            session, timestamp, ..
        } => Some(format!(
            "· {} read your messages up to {}",
            session.id,
            clock(*timestamp)
        )),
        Event::MessageRevoked(r) => {
            let who = if r.revoked_by.is_empty() {
                "the app"
            } else {
                r.revoked_by.as_str()
            };
            let what = r.original.as_ref().map_or("", |m| m.text.as_str());
            Some(format!("· {who} revoked a message: {what}"))
        }
        _ => None,
    }
}

pub async fn run(client: &Client, command: &str, args: &[&str]) -> Option<anyhow::Result<()>> {
    let Some(&peer) = args.first() else {
        return matches!(command, "/cloud" | "/seen" | "/revoke" | "/clear")
            .then(|| Err(anyhow::anyhow!("{command} needs a peer")));
    };
    let session = SessionId::p2p(peer);
    Some(match command {
        "/cloud" => cloud(client, session, args.get(1).copied()).await,
        "/seen" => seen(client, &session).await,
        "/revoke" => revoke(client, &session).await,
        "/clear" => client
            .chat()
            .clear_history(&session, true)
            .await
            .map(|()| println!("· {peer}: messages deleted on this device"))
            .map_err(Into::into),
        _ => return None,
    })
}

async fn cloud(client: &Client, session: SessionId, count: Option<&str>) -> anyhow::Result<()> {
    let limit = match count.map(str::parse::<u32>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => anyhow::bail!("/cloud <peer> [n]: n is a number from 1 to 100"),
    };
    let page = client
        .chat()
        .fetch_history(CloudHistoryQuery::newest(session, limit))
        .await?;
    for m in page.messages.iter().rev() {
        println!("{}", history_line(m));
    }
    if page.messages.is_empty() {
        println!("· nothing on the server");
    }
    Ok(())
}

fn history_line(m: &LocalMessage) -> String {
    let text = if m.message_type == tidings_sdk::message_type::NOTIFICATION {
        "(revoked)"
    } else {
        m.text.as_str()
    };
    format!("[{}] {}: {text}", clock(m.timestamp), m.from)
}

/// The newest message of the session that `pick` accepts, from local history.
async fn newest(
    client: &Client,
    session: &SessionId,
    pick: impl Fn(&LocalMessage) -> bool,
) -> anyhow::Result<Option<LocalMessage>> {
    let page = client.chat().history(session, None, 100).await?;
    Ok(page.into_iter().rev().find(|m| pick(m)))
}

async fn seen(client: &Client, session: &SessionId) -> anyhow::Result<()> {
    let theirs = |m: &LocalMessage| !m.is_outgoing && m.seq > 0;
    let Some(last) = newest(client, session, theirs).await? else {
        anyhow::bail!("nothing from {} to mark seen", session.id);
    };
    client.chat().send_receipt(&last.message_id).await?;
    println!(
        "· {} knows you read up to {}",
        session.id,
        clock(last.timestamp)
    );
    Ok(())
}

async fn revoke(client: &Client, session: &SessionId) -> anyhow::Result<()> {
    let mine = |m: &LocalMessage| {
        m.is_outgoing && m.seq > 0 && m.message_type != tidings_sdk::message_type::NOTIFICATION
    };
    let Some(last) = newest(client, session, mine).await? else {
        anyhow::bail!("no message of yours to {} to revoke", session.id);
    };
    client.chat().revoke(&last.message_id, "").await?;
    println!("· revoked: {}", last.text);
    Ok(())
}
