//! A bridge-style mirror: prints everything that happens in one space to standard
//! output, one JSON object a line, surviving lost connections (each reconnect is a
//! line too). Pipe it into another system.
//!
//! ```sh
//! PLAZA_SERVER=http://127.0.0.1:8080 PLAZA_TOKEN=… PLAZA_SPACE=… \
//!     cargo run -p plaza-client --example bridge
//! ```

use plaza_client::live::{LiveClient, LiveEvent};
use plaza_client::realtime::Credentials;
use serde_json::json;

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let space = env("PLAZA_SPACE")?;
    let mut live =
        LiveClient::connect(&env("PLAZA_SERVER")?, Credentials::jwt(env("PLAZA_TOKEN")?)).await?;
    live.subscribe(&space).await?;
    while let Some(event) = live.next().await {
        let line = match event {
            LiveEvent::MessageSent(message) => json!({"kind": "message", "message": *message}),
            LiveEvent::PresenceEvent(presence) => {
                json!({"kind": "presence", "category": presence.category, "from": presence.sender.map(|s| s.displayname)})
            }
            LiveEvent::MediaSessionEvent(media) => {
                json!({"kind": "media", "category": media.category, "meeting": media.meeting_id})
            }
            LiveEvent::SpaceUpdated(update) => json!({"kind": "space", "update": update}),
            LiveEvent::Reconnected => json!({"kind": "reconnected"}),
            LiveEvent::Unsubscribed { .. } => {
                println!("{}", json!({"kind": "removed"}));
                break;
            }
            _ => continue,
        };
        println!("{line}");
    }
    Ok(())
}
