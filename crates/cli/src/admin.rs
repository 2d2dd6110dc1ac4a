//! `tidings admin`: apps, accounts and bans against a running server.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tidings_server::AdminSecrets;
use tidings_testkit::ServerApi;

#[derive(Args)]
pub struct AdminArgs {
    /// The server's HTTP address (http://host:port, or host:port).
    #[arg(
        long,
        global = true,
        env = "TIDINGS_SERVER",
        default_value = "http://127.0.0.1:9430"
    )]
    server: String,
    /// The server's data directory, to read the admin token and default app keys from.
    #[arg(
        long,
        global = true,
        env = "TIDINGS_DATA_DIR",
        default_value = "tidings-data"
    )]
    data_dir: PathBuf,
    /// Admin token (default: from the data directory).
    #[arg(long, global = true, env = "TIDINGS_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// AppKey for account commands (default: the data directory's default app).
    #[arg(long, global = true, env = "TIDINGS_APP_KEY")]
    app_key: Option<String>,
    /// AppSecret for account commands.
    #[arg(long, global = true, env = "TIDINGS_APP_SECRET")]
    app_secret: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an app (tenant); prints its AppKey and AppSecret.
    CreateApp {
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Create an account; prints its token.
    CreateAccount {
        #[arg(long)]
        accid: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Token to set (default: a random one).
        #[arg(long)]
        token: Option<String>,
    },
    /// Ban an account: its devices are kicked and logins answer 422.
    Block {
        #[arg(long)]
        accid: String,
    },
    /// Lift a ban.
    Unblock {
        #[arg(long)]
        accid: String,
    },
    /// Copy everything from an embedded SQLite store into PostgreSQL and verify
    /// the counts (stop the server first).
    Migrate {
        /// sqlite:<path to tidings.db>
        #[arg(long)]
        from: String,
        /// postgres://user@host:port/db (an empty database)
        #[arg(long)]
        to: String,
    },
}

fn secrets(dir: &std::path::Path) -> anyhow::Result<AdminSecrets> {
    let path = dir.join("secrets.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (pass --data-dir, or the keys as flags)",
            path.display()
        )
    })?;
    Ok(serde_json::from_str(&text)?)
}

fn check(answer: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    if answer["code"] != 200 {
        bail!(
            "server answered {}: {}",
            answer["code"],
            answer["desc"].as_str().unwrap_or("")
        );
    }
    Ok(answer)
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    if let AdminCommand::Migrate { from, to } = &args.command {
        return crate::migrate::run(from, to).await;
    }
    let (app_key, app_secret) = match (&args.app_key, &args.app_secret) {
        (Some(k), Some(s)) => (k.clone(), s.clone()),
        (Some(_), None) | (None, Some(_)) => {
            bail!("give both --app-key and --app-secret, or neither")
        }
        _ => match secrets(&args.data_dir) {
            Ok(s) => (s.default_app_key, s.default_app_secret),
            Err(e) if matches!(args.command, AdminCommand::CreateApp { .. }) => {
                let _ = e;
                (String::new(), String::new())
            }
            Err(e) => return Err(e),
        },
    };
    let server = if args.server.contains("://") {
        args.server.trim_end_matches('/').to_owned()
    } else {
        format!("http://{}", args.server)
    };
    let api = ServerApi::new(&server, &app_key, &app_secret);
    match args.command {
        AdminCommand::CreateApp { name } => {
            let token = match args.admin_token {
                Some(t) => t,
                None => secrets(&args.data_dir)?.admin_token,
            };
            let answer = check(
                api.admin_post(&token, "/admin/app/create", &[("name", &name)])
                    .await?,
            )?;
            println!(
                "AppKey     {}",
                answer["info"]["appKey"].as_str().unwrap_or("")
            );
            println!(
                "AppSecret  {}",
                answer["info"]["appSecret"].as_str().unwrap_or("")
            );
        }
        AdminCommand::CreateAccount { accid, name, token } => {
            let mut form = vec![("accid", accid.as_str()), ("name", name.as_str())];
            if let Some(token) = &token {
                form.push(("token", token));
            }
            let answer = check(api.post("/nimserver/user/create.action", &form).await?)?;
            println!("accid  {}", answer["info"]["accid"].as_str().unwrap_or(""));
            println!("token  {}", answer["info"]["token"].as_str().unwrap_or(""));
        }
        AdminCommand::Block { accid } => {
            check(
                api.post("/nimserver/user/block.action", &[("accid", &accid)])
                    .await?,
            )?;
            println!("{accid} is banned");
        }
        AdminCommand::Migrate { .. } => {}
        AdminCommand::Unblock { accid } => {
            check(
                api.post("/nimserver/user/unblock.action", &[("accid", &accid)])
                    .await?,
            )?;
            println!("{accid} is no longer banned");
        }
    }
    Ok(())
}
