//! The whole server on PostgreSQL (runs when PLAZA_TEST_PG_URL is set, as in CI).

use plaza_db_tests::TestDatabase;
use plaza_server::settings::SecretUrl;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, jwt, spawn_app_with};

#[tokio::test]
async fn identity_works_end_to_end_on_postgres() {
    let Some(database) = TestDatabase::postgres().await.expect("create database") else {
        eprintln!("PLAZA_TEST_PG_URL is not set: PostgreSQL server test skipped");
        return;
    };
    let url = database.url.clone();
    let app = spawn_app_with(|s| s.database.url = Some(SecretUrl(url))).await;
    let (token, user) = app.register("pg@example.com").await;
    assert_eq!(user["isServerAdmin"], true);
    let login = app
        .post("/api/auth/login", None, &json!({"username": "PG@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(app.get("/api/users/me", Some(&jwt(&token))).await.body["_id"], user["_id"]);
    let settings =
        app.post("/api/users/me/settings", Some(&jwt(&token)), &json!({"muteaudio": true})).await;
    assert_eq!(settings.body["data"]["muteaudio"], true);
    app.post("/api/auth/logout", Some(&jwt(&token)), &json!({})).await;
    app.get("/api/users/me", Some(&jwt(&token))).await.assert_error(401, "auth.invalid_token");
    app.stop().await.unwrap();
    database.remove().await.unwrap();
}

/// A TCP relay between the server and PostgreSQL that the test can cut and restore,
/// which is what a database restart looks like from the server.
struct Relay {
    port: u16,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn start(target: std::net::SocketAddr, port: u16) -> Relay {
        let listener =
            tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind relay");
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut accepting = stopped.clone();
            loop {
                let (mut inbound, _) = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => return },
                    _ = accepting.wait_for(|s| *s) => return,
                };
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = stopped.wait_for(|s| *s) => {}
                    }
                });
            }
        });
        Relay { port, stop }
    }

    fn cut(&self) {
        let _ = self.stop.send(true);
    }
}

#[tokio::test]
async fn a_database_outage_fails_requests_cleanly_and_heals_by_itself() {
    let Some(database) = TestDatabase::postgres().await.expect("create database") else {
        eprintln!("PLAZA_TEST_PG_URL is not set: PostgreSQL outage test skipped");
        return;
    };
    let mut url = url::Url::parse(&database.url).unwrap();
    let target =
        tokio::net::lookup_host((url.host_str().unwrap().to_owned(), url.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
    let relay = Relay::start(target, 0).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.port)).unwrap();
    let through_relay = url.to_string();
    let app = spawn_app_with(|s| s.database.url = Some(SecretUrl(through_relay))).await;
    let (token, _) = app.register("outage@example.com").await;
    assert_eq!(app.get("/api/users/me", Some(&jwt(&token))).await.status, StatusCode::OK);

    // The database goes away: requests fail with 503 and a code, in bounded time.
    relay.cut();
    let started = std::time::Instant::now();
    app.get("/api/users/me", Some(&jwt(&token))).await.assert_error(503, "service.unavailable");
    app.get("/ready", None).await.assert_error(503, "service.unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());

    // It comes back on the same address: the server reconnects by itself.
    let _back = Relay::start(target, relay.port).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if app.get("/api/users/me", Some(&jwt(&token))).await.status == StatusCode::OK {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not reconnect");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.stop().await.unwrap();
    database.remove().await.unwrap();
}
