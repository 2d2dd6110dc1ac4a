//! `tidings chat`: a terminal client on the SDK. Lines are sent to the
//! current peer; commands start with `/`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tidings_sdk::{
    Client, ClientConfig, ClientsChange, Event, LocalMessage, LoginStep, ServerAddress, SessionId,
};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Args)]
pub struct ChatArgs {
    #[arg(long, env = "TIDINGS_APP_KEY")]
    app_key: String,
    #[arg(long)]
    account: String,
    #[arg(long, env = "TIDINGS_TOKEN")]
    token: String,
    /// The server: its HTTP address (http://host:port; the client finds
    /// the gateways there), or a gateway itself (host:port for TCP,
    /// ws://host:port/ws).
    #[arg(long, env = "TIDINGS_SERVER", default_value = "http://127.0.0.1:9430")]
    server: String,
    /// Where the local database lives.
    #[arg(long, env = "TIDINGS_CHAT_DATA_DIR", default_value = "tidings-chat")]
    data_dir: PathBuf,
    /// Start talking to this peer.
    #[arg(long)]
    to: Option<String>,
    /// Which kind of device this is: a new login kicks the account's
    /// devices of the same group (phones: android, ios; desktops: pc,
    /// web, mac), and the other group stays.
    #[arg(long, value_enum, default_value_t = DeviceKind::Pc)]
    client_type: DeviceKind,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DeviceKind {
    Android,
    Ios,
    Pc,
    Web,
    Mac,
}

impl DeviceKind {
    fn client_type(self) -> u32 {
        use tidings_sdk::client_type::*;
        match self {
            DeviceKind::Android => ANDROID,
            DeviceKind::Ios => IOS,
            DeviceKind::Pc => PC,
            DeviceKind::Web => WEB,
            DeviceKind::Mac => MACOS,
        }
    }
}

const HELP: &str = "\
  <text>              send to the current peer
  @peer <text>        send to peer (and make it current)
  /to <peer>          change the current peer
  /sessions           recent sessions with unread counts
  /history [peer] [n] the last n messages with peer (default: current, 20)
  /read [peer]        mark a session read
  /delete <peer>      remove a session from the recent list
  /devices            my other devices online
  /kick <n>           log out device n of /devices
  /help               this list
  /quit               log out and leave";

pub(crate) fn clock(ms: i64) -> String {
    let secs = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

fn line(m: &LocalMessage) -> String {
    let arrow = if m.is_outgoing {
        format!("me → {}", m.session.id)
    } else {
        format!("{} → me", m.from)
    };
    let body = match m.message_type {
        0 | 10 => m.text.clone(),
        100 => format!("[custom] {}", m.attachment),
        other => format!("[type {other}]"),
    };
    let state = match m.delivery {
        tidings_sdk::DeliveryState::Sending => " (sending)",
        tidings_sdk::DeliveryState::Failed => " (failed)",
        tidings_sdk::DeliveryState::Delivered => "",
    };
    format!("[{}] {arrow}: {body}{state}", clock(m.timestamp))
}

pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let server = ServerAddress::parse(&args.server)?;
    let mut config = ClientConfig::new(&args.app_key, server, &args.data_dir);
    config.client_type = args.client_type.client_type();
    let client = Client::new(config)?;
    let mut events = client.events();
    client
        .login()
        .login(&args.account, &args.token)
        .await
        .context("login")?;
    println!("logged in as {}. /help lists commands.", args.account);

    let kicked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let kicked_flag = kicked.clone();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                Event::Received(messages) => {
                    for m in messages.iter() {
                        println!("{}", line(m));
                    }
                }
                Event::SendComplete {
                    message,
                    error: Some(e),
                } => println!("! not sent ({}): {}", refusal(&e), message.text),
                Event::LoginStep(LoginStep::Disconnected) => {
                    println!("! disconnected; reconnecting")
                }
                Event::LoginStep(LoginStep::Synced) => println!("· synced"),
                Event::LoginFailed(e) => println!("! login refused: {e}"),
                Event::Kicked { reason, message } => {
                    kicked_flag.store(true, std::sync::atomic::Ordering::Relaxed);
                    println!("! kicked ({reason}): {message}; this device is logged out");
                }
                ref other if area_line(other).is_some() => {
                    if let Some(line) = area_line(other) {
                        println!("{line}");
                    }
                }
                Event::LoginClientsChanged { change, clients } => {
                    let what = match change {
                        ClientsChange::Online => "online",
                        ClientsChange::Offline => "offline",
                    };
                    for c in clients {
                        println!("· my {} is {what}", client_kind(c.client_type));
                    }
                }
                _ => {}
            }
        }
    });

    let mut peer = args.to;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(input) = lines.next_line().await? {
        let input = input.trim();
        if input.is_empty() {
            continue;
        }
        let mut words = input.split_whitespace();
        let command = words.next().unwrap_or("");
        if kicked.load(std::sync::atomic::Ordering::Relaxed)
            && !matches!(command, "/quit" | "/exit" | "/help")
        {
            println!("! this device was kicked and is logged out: nothing is sent; /quit, then start tidings chat again to log in");
            continue;
        }
        let result = match command {
            "/quit" | "/exit" => break,
            "/help" => {
                println!(
                    "{HELP}\n{}\n{}",
                    crate::chat_messages::HELP,
                    crate::chat_people::HELP
                );
                Ok(())
            }
            "/to" => {
                peer = words.next().map(str::to_owned);
                println!("talking to {}", peer.as_deref().unwrap_or("nobody"));
                Ok(())
            }
            "/sessions" => sessions(&client).await,
            "/devices" => {
                devices(&client);
                Ok(())
            }
            "/kick" => kick(&client, words.next()).await,
            "/history" => match history_args(words.collect(), peer.as_deref()) {
                Ok((who, n)) => history(&client, &who, n).await,
                Err(e) => Err(e),
            },
            "/read" => match words.next().map(str::to_owned).or_else(|| peer.clone()) {
                Some(who) => client
                    .conversation()
                    .mark_all_messages_read(&SessionId::p2p(&who))
                    .await
                    .map(|()| println!("· {who}: marked read"))
                    .map_err(Into::into),
                None => Err(anyhow::anyhow!("/read needs a peer")),
            },
            "/delete" => match words.next() {
                Some(who) => client
                    .conversation()
                    .delete_recent_session(&SessionId::p2p(who))
                    .await
                    .map(|_| println!("· {who}: removed from the recent sessions"))
                    .map_err(Into::into),
                None => Err(anyhow::anyhow!("/delete needs a peer")),
            },
            word if word.starts_with('@') && word.len() > 1 => {
                peer = Some(word[1..].to_owned());
                let text = input[word.len()..].trim();
                send(&client, peer.as_deref(), text).await
            }
            word if word.starts_with('/') => {
                let args: Vec<&str> = words.collect();
                let found = match crate::chat_messages::run(&client, word, &args).await {
                    Some(result) => Some(result),
                    None => crate::chat_people::run(&client, word, &args).await,
                };
                found.unwrap_or_else(|| {
                    Err(anyhow::anyhow!("unknown command {word}; /help lists them"))
                })
            }
            _ => send(&client, peer.as_deref(), input).await,
        };
        if let Err(e) = result {
            println!("! {e}");
        }
    }
    client.login().logout().await?;
    Ok(())
}

/// The line an event of another area's commands prints, if any.
fn area_line(event: &Event) -> Option<String> {
    crate::chat_people::event_line(event).or_else(|| crate::chat_messages::event_line(event))
}

/// Why the server (or the SDK) refused a send, as `code: reason`.
fn refusal(e: &tidings_sdk::SdkError) -> String {
    match e {
        tidings_sdk::SdkError::Server { code, message } => format!("{code}: {message}"),
        other => format!("{}: {other}", other.code()),
    }
}

const MAX_HISTORY: u32 = 100;

/// `/history [peer] [n]`: the peer (default: the current one) and how
/// many messages (default 20, at most 100).
fn history_args(words: Vec<&str>, current: Option<&str>) -> anyhow::Result<(String, u32)> {
    let usage = || anyhow::anyhow!("/history [peer] [n]: n is a number from 1 to {MAX_HISTORY}");
    let count = |word: &str| match word.parse::<u32>() {
        Ok(n) if (1..=MAX_HISTORY).contains(&n) => Ok(n),
        _ => Err(usage()),
    };
    let (who, n) = match words.as_slice() {
        [] => (None, 20),
        [one] if one.parse::<i64>().is_ok() => (None, count(one)?),
        [who] => (Some(*who), 20),
        [who, n] => (Some(*who), count(n)?),
        _ => return Err(usage()),
    };
    let who = who
        .or(current)
        .ok_or_else(|| anyhow::anyhow!("/history needs a peer: /history <peer> [n]"))?;
    Ok((who.to_owned(), n))
}

async fn send(client: &Client, peer: Option<&str>, text: &str) -> anyhow::Result<()> {
    let peer = peer.ok_or_else(|| anyhow::anyhow!("no peer: use /to <peer> or @peer <text>"))?;
    if text.is_empty() {
        return Ok(());
    }
    let outgoing = tidings_sdk::OutgoingMessage::text(SessionId::p2p(peer), text);
    // Returns once stored locally; the ack (or refusal) arrives as an event.
    client.chat().enqueue(outgoing).await?;
    Ok(())
}

fn client_kind(client_type: u32) -> &'static str {
    match client_type {
        1 => "Android phone",
        2 => "iPhone",
        4 => "PC",
        8 => "Windows phone",
        16 => "web client",
        32 => "server login",
        64 => "Mac",
        _ => "device",
    }
}

fn devices(client: &Client) {
    let others = client.login().current_login_clients();
    if others.is_empty() {
        println!("no other device online");
    }
    for (n, c) in others.iter().enumerate() {
        println!(
            "{:>3}  {:<14} since {}",
            n + 1,
            client_kind(c.client_type),
            clock(c.login_time)
        );
    }
}

async fn kick(client: &Client, which: Option<&str>) -> anyhow::Result<()> {
    let others = client.login().current_login_clients();
    let device = which
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| others.get(i))
        .ok_or_else(|| anyhow::anyhow!("/kick <n>: n is a number from /devices"))?;
    client
        .login()
        .kick_other_clients(std::slice::from_ref(device))
        .await?;
    Ok(())
}

async fn sessions(client: &Client) -> anyhow::Result<()> {
    let all = client.conversation().all_recent_sessions().await?;
    if all.is_empty() {
        println!("no sessions yet");
    }
    for s in all {
        let last = s.last_message.as_ref().map(line).unwrap_or_default();
        println!(
            "{:>12}  unread {:>3}  {}",
            s.session.id, s.unread_count, last
        );
    }
    println!(
        "total unread: {}",
        client.conversation().total_unread_count().await?
    );
    Ok(())
}

async fn history(client: &Client, peer: &str, n: u32) -> anyhow::Result<()> {
    let messages = client
        .chat()
        .history(&SessionId::p2p(peer), None, n)
        .await?;
    if messages.is_empty() {
        println!("· no messages with {peer} on this device");
    }
    for m in messages {
        println!("{}", line(&m));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::history_args;

    #[test]
    fn history_takes_a_peer_and_a_count_and_refuses_a_bad_count() {
        let ok = |words: Vec<&str>, current| history_args(words, current).ok();
        assert_eq!(ok(vec![], Some("bob")), Some(("bob".into(), 20)));
        assert_eq!(ok(vec!["5"], Some("bob")), Some(("bob".into(), 5)));
        assert_eq!(ok(vec!["carol"], Some("bob")), Some(("carol".into(), 20)));
        assert_eq!(ok(vec!["carol", "7"], None), Some(("carol".into(), 7)));
        for bad in [
            vec!["carol", "x"],
            vec!["carol", "0"],
            vec!["carol", "101"],
            vec!["-3"],
        ] {
            assert!(history_args(bad.clone(), Some("bob")).is_err(), "{bad:?}");
        }
        assert!(history_args(vec![], None).is_err());
    }
}
