//! A small bot: in every space its service app belongs to, it answers `!ping` with
//! `pong` and `!time` with the server time of the message.
//!
//! ```sh
//! plaza admin service-app create --name "Ping bot"        # prints clientId and clientSecret
//! PLAZA_SERVER=http://127.0.0.1:8080 PLAZA_CLIENT_ID=… PLAZA_CLIENT_SECRET=… \
//!     cargo run -p plaza-client --example bot
//! ```
//! Invite the app's account to a space (its user id is printed at start) and say `!ping`.

use futures_util::TryStreamExt;
use plaza_client::live::{LiveClient, LiveEvent};
use plaza_client::realtime::Credentials;
use plaza_client::rest::Plaza;

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = env("PLAZA_SERVER")?;
    let anonymous = Plaza::new(&server)?;
    let token =
        anonymous.service_app_token(&env("PLAZA_CLIENT_ID")?, &env("PLAZA_CLIENT_SECRET")?).await?;
    let plaza = anonymous.with_service_app(&token);
    let me = plaza.me().await?;
    println!("bot {} ({}) is up", me.displayname, me.id);

    // Service-app tokens are JWTs: the socket takes them as such.
    let mut live = LiveClient::connect(&server, Credentials::jwt(&token)).await?;
    let spaces: Vec<_> = plaza.spaces().try_collect().await?;
    for space in &spaces {
        live.subscribe(&space.id).await?;
    }
    println!("listening in {} spaces", spaces.len());
    while let Some(event) = live.next().await {
        let LiveEvent::MessageSent(message) = event else { continue };
        if message.sender.id == me.id || message.deleted {
            continue;
        }
        let answer = match message.content.body_text.trim() {
            "!ping" => "pong".to_owned(),
            "!time" => format!("that message was stored at {}", message.created),
            _ => continue,
        };
        if let Err(error) = plaza.send_chat(&message.space_id, &answer).await {
            eprintln!("could not answer in {}: {error}", message.space_id);
        }
    }
    Ok(())
}
