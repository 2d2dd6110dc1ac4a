use tidings_sdk::{Client, ClientConfig, Event, ServerAddress, SessionId};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let app_key = std::env::var("APP_KEY")?;
    let token = std::env::var("ALICE_TOKEN")?;
    let server = std::env::var("TIDINGS_SERVER").unwrap_or("http://127.0.0.1:9430".into());

    // The SDK asks the HTTP address for the gateways and logs in over TCP.
    let config = ClientConfig::new(&app_key, ServerAddress::parse(&server)?, "./alice-data");
    let client = Client::new(config)?;
    let mut events = client.events(); // subscribe before logging in to miss nothing

    client.login().login("alice", &token).await?;

    // Returns once the server has durably stored the message.
    let sent = client.chat().send_text(SessionId::p2p("bob"), "hi").await?;
    println!(
        "sent {} as #{} of the conversation",
        sent.message_id, sent.seq
    );

    // Wait for bob's answer, print it and leave.
    while let Ok(event) = events.recv().await {
        match event {
            Event::Received(messages) => {
                for m in messages.iter() {
                    println!("{}: {}", m.from, m.text);
                }
                break;
            }
            Event::Kicked { reason, message } => anyhow::bail!("kicked ({reason}): {message}"),
            _ => {}
        }
    }
    client.login().logout().await?;
    Ok(())
}
