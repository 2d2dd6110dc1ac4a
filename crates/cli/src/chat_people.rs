//! `tidings chat`'s commands for people: profiles, friends, the blacklist
//! and system notifications, and the lines their events print.

use tidings_sdk::{Client, Event, SystemNotification, UserInfoUpdate};

pub const HELP: &str = "\
  /profile [account]  my profile, or another account's
  /nick <name>        change my nickname
  /friends            my friends
  /add <account> [message]  ask to be friends
  /accept <account>   accept a friend request
  /reject <account>   reject a friend request
  /unfriend <account> end a friendship
  /block <account>    refuse an account's messages (/unblock to undo)
  /notifications      my system notifications";

/// The line an event of the people area prints, if any.
pub fn event_line(event: &Event) -> Option<String> {
    match event {
        Event::SystemNotification(n) => Some(format!("· {}", notification_line(n))),
        Event::FriendsChanged { changed, removed } => {
            let mut lines: Vec<String> = changed
                .iter()
                .map(|f| format!("· {} is your friend", f.account))
                .collect();
            lines.extend(
                removed
                    .iter()
                    .map(|who| format!("· {who} is no longer your friend")),
            );
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        Event::ListChanged {
            account,
            relation: 1,
            on,
        } => Some(if *on {
            format!("· {account} is blocked: their messages are refused")
        } else {
            format!("· {account} is no longer blocked")
        }),
        _ => None,
    }
}

fn notification_line(n: &SystemNotification) -> String {
    let operation = serde_json::from_str::<serde_json::Value>(&n.attach)
        .ok()
        .and_then(|v| v["vt"].as_u64());
    let said = if n.postscript.is_empty() {
        String::new()
    } else {
        format!(": \"{}\"", n.postscript)
    };
    let status = match n.status {
        0 => "",
        1 => " (accepted)",
        2 => " (rejected)",
        3 => " (ignored)",
        4 => " (expired)",
        _ => " (handled)",
    };
    match (n.kind, operation) {
        (5, Some(1)) => format!("{} added you as a friend{said}", n.from),
        (5, Some(2)) if n.status == 0 => format!(
            "friend request from {}{said} (/accept {} or /reject {})",
            n.from, n.from, n.from
        ),
        (5, Some(2)) => format!("friend request from {}{said}{status}", n.from),
        (5, Some(3)) => format!("{} accepted your friend request{said}", n.from),
        (5, Some(4)) => format!("{} rejected your friend request{said}", n.from),
        (kind, _) => format!("notification {kind} from {}{said}{status}", n.from),
    }
}

/// Runs a people command; `None` when `command` is not one.
pub async fn run(client: &Client, command: &str, args: &[&str]) -> Option<anyhow::Result<()>> {
    let first = args.first().copied();
    let needs = |what: &str| anyhow::anyhow!("{command} needs {what}");
    Some(match command {
        "/profile" => profile(client, first).await,
        "/nick" if args.is_empty() => Err(needs("a name")),
        "/nick" => nick(client, &args.join(" ")).await,
        "/friends" => friends(client).await,
        "/add" | "/accept" | "/reject" => match first {
            None => Err(needs("an account")),
            Some(who) => {
                let operation = match command {
                    "/add" => 2,
                    "/accept" => 3,
                    _ => 4,
                };
                let message = args[1..].join(" ");
                client
                    .relation()
                    .request_friend(who, operation, &message)
                    .await
                    .map(|()| match operation {
                        2 => println!("· friend request sent to {who}"),
                        3 => println!("· {who} is your friend"),
                        _ => println!("· rejected {who}'s request"),
                    })
                    .map_err(Into::into)
            }
        },
        "/unfriend" => match first {
            None => Err(needs("an account")),
            Some(who) => client
                .relation()
                .delete_friend(who)
                .await
                .map(|()| println!("· {who} is no longer your friend"))
                .map_err(Into::into),
        },
        "/block" | "/unblock" => match first {
            None => Err(needs("an account")),
            Some(who) => client
                .relation()
                .set_blacklisted(who, command == "/block")
                .await
                .map(|()| println!("· {command} {who}: done"))
                .map_err(Into::into),
        },
        "/notifications" => notifications(client).await,
        _ => return None,
    })
}

async fn profile(client: &Client, who: Option<&str>) -> anyhow::Result<()> {
    let profile = match who {
        None => match client.user().my_info().await? {
            Some(mine) => Some(mine),
            None => {
                let me = client.login().current_account().unwrap_or_default();
                client.user().fetch_user_infos(&[&me]).await?.pop()
            }
        },
        Some(who) => client.user().fetch_user_infos(&[who]).await?.pop(),
    };
    let Some(p) = profile else {
        anyhow::bail!("no account {}", who.unwrap_or("?"));
    };
    let gender = ["", " ♂", " ♀"]
        .get(p.gender as usize)
        .copied()
        .unwrap_or("");
    println!("{} ({}){gender}", p.nick, p.account);
    for (label, value) in [
        ("sign", &p.sign),
        ("avatar", &p.avatar),
        ("email", &p.email),
        ("birth", &p.birth),
        ("mobile", &p.mobile),
        ("ext", &p.ext),
    ] {
        if !value.is_empty() {
            println!("  {label:<7}{value}");
        }
    }
    Ok(())
}

async fn nick(client: &Client, name: &str) -> anyhow::Result<()> {
    let update = UserInfoUpdate {
        nick: Some(name.to_owned()),
        ..UserInfoUpdate::default()
    };
    let mine = client.user().update_my_info(update).await?;
    println!("· you are now {}", mine.nick);
    Ok(())
}

async fn friends(client: &Client) -> anyhow::Result<()> {
    let friends = client.relation().my_friends().await?;
    if friends.is_empty() {
        println!("(no friends yet: /add <account>)");
    }
    for f in friends {
        match f.alias.as_str() {
            "" => println!("  {}", f.account),
            alias => println!("  {} ({alias})", f.account),
        }
    }
    Ok(())
}

async fn notifications(client: &Client) -> anyhow::Result<()> {
    let list = client.system_notification().fetch(20, None).await?;
    if list.is_empty() {
        println!("(no notifications)");
    }
    for n in &list {
        let unread = if n.read { " " } else { "*" };
        println!(
            "{unread} {} {}",
            crate::chat::clock(n.time),
            notification_line(n)
        );
    }
    if list.iter().any(|n| !n.read) {
        client.system_notification().mark_all_read().await?;
    }
    Ok(())
}
