//! Prometheus metrics at `/metrics`: counters that move with real traffic, behind the
//! configured token only.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, jwt, spawn_app, spawn_app_with};

/// The value of the series `name{labels}` in a scrape (0 when absent).
fn value(scrape: &str, name: &str, labels: &str) -> f64 {
    let series =
        if labels.is_empty() { format!("{name} ") } else { format!("{name}{{{labels}}} ") };
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0.0, |v| v.trim().parse().unwrap_or(0.0))
}

async fn scrape(app: &TestApp, token: &str) -> String {
    let answer = app.get("/metrics", Some(&format!("Bearer {token}"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.text
}

#[tokio::test]
async fn counters_move_with_real_traffic() {
    let app = spawn_app_with(|settings| settings.metrics.token.0 = "scrape-me".into()).await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Counted").await;
    let before = scrape(&app, "scrape-me").await;
    let me = |s: &str| {
        value(s, "plaza_http_requests_total", r#"method="GET",route="/api/users/me",status="200""#)
    };
    for _ in 0..3 {
        assert_eq!(app.get("/api/users/me", Some(&jwt(&owner))).await.status, StatusCode::OK);
    }
    app.get("/api/users/me", None).await.assert_error(401, "auth.required");
    let chat = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": "rest"}}),
        )
        .await;
    assert!(chat.status.is_success(), "{}", chat.text);
    let credentials = plaza_client::realtime::Credentials::jwt(&owner);
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let mut socket =
            plaza_client::RealtimeClient::connect(&app.base, "/chat", &credentials).await.unwrap();
        socket.subscribe(&space, None).unwrap();
        socket.wait_for("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
        sockets.push(socket);
    }
    for n in 0..2 {
        sockets[0].send_chat(&space, &format!("socket {n}"), Some(json!(n))).unwrap();
    }
    for _ in 0..2 {
        sockets[0].wait_for("MESSAGE_SENT", Duration::from_secs(10)).await.unwrap();
    }
    let uploaded = vec![b'x'; 1234];
    crate::files::upload(&app, &owner, "text/plain", uploaded.clone()).await;
    let after = scrape(&app, "scrape-me").await;
    assert_eq!(me(&after) - me(&before), 3.0, "{after}");
    let out = |s: &str| value(s, "plaza_socket_events_out_total", r#"event="MESSAGE_SENT""#);
    assert_eq!(out(&after) - out(&before), 3.0, "one broadcast per message: {after}");
    // Process-wide (other tests' servers count too): at least the copies sent here, the
    // two subscription answers and the three MESSAGE_SENT copies.
    let delivered = |s: &str| value(s, "plaza_socket_deliveries_total", "");
    assert!(delivered(&after) - delivered(&before) >= 5.0, "{after}");
    assert!(after.contains("plaza_socket_queue_drops_total"), "{after}");
    assert_eq!(value(&after, "plaza_upload_bytes_total", "") as usize, uploaded.len(), "{after}");
    let pool = value(&after, "plaza_db_connections", r#"state="busy""#)
        + value(&after, "plaza_db_connections", r#"state="idle""#);
    assert!(pool >= 1.0, "database connections are shown: {after}");
    dashboard_uses_only(&after);
    let refused = |s: &str| {
        value(s, "plaza_http_requests_total", r#"method="GET",route="/api/users/me",status="401""#)
    };
    assert_eq!(refused(&after) - refused(&before), 1.0);
    assert_eq!(value(&after, "plaza_sockets_open", r#"eio="4""#), 2.0, "{after}");
    assert_eq!(value(&after, "plaza_socket_events_in_total", r#"event="SEND_MESSAGE""#), 2.0);
    assert_eq!(value(&after, "plaza_socket_events_in_total", r#"event="SUBSCRIBE_CHANNEL""#), 2.0);
    assert_eq!(value(&after, "plaza_messages_persisted_total", r#"transport="socket""#), 2.0);
    assert_eq!(value(&after, "plaza_messages_persisted_total", r#"transport="rest""#), 1.0);
    assert!(after.contains("plaza_http_request_duration_seconds_bucket"), "latency histograms");
    // Closed sockets leave the gauge.
    for socket in sockets {
        socket.close().await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while value(&scrape(&app, "scrape-me").await, "plaza_sockets_open", r#"eio="4""#) != 0.0 {
        assert!(std::time::Instant::now() < deadline, "the gauge goes back to 0");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn scrapes_need_the_token_and_metrics_are_off_without_one() {
    let app = spawn_app_with(|settings| settings.metrics.token.0 = "scrape-me".into()).await;
    app.get("/metrics", None).await.assert_error(401, "auth.required");
    app.get("/metrics", Some("Bearer wrong")).await.assert_error(401, "auth.required");
    let (user, _) = app.register("user@example.com").await;
    app.get("/metrics", Some(&jwt(&user))).await.assert_error(401, "auth.required");
    let off = spawn_app().await;
    off.get("/metrics", Some("Bearer scrape-me")).await.assert_error(404, "route.not_found");
}

/// `metrics.listen` serves the scrape on an address of its own, without a token, while
/// the API's port still keeps `/metrics` closed.
#[tokio::test]
async fn a_metrics_address_of_its_own_serves_the_scrape() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = spawn_app_with(|settings| settings.metrics.listen = Some(address)).await;
    assert_eq!(app.get("/api/users/me", None).await.status, StatusCode::UNAUTHORIZED);
    let scrape = reqwest::get(format!("http://{address}/metrics")).await.unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let text = scrape.text().await.unwrap();
    let refused = value(
        &text,
        "plaza_http_requests_total",
        r#"method="GET",route="/api/users/me",status="401""#,
    );
    assert_eq!(refused, 1.0, "{text}");
    app.get("/metrics", None).await.assert_error(404, "route.not_found");
}

/// The Grafana dashboard in docs/ names only series that `exported` (a scrape after
/// traffic that gave every family a series) has.
fn dashboard_uses_only(exported: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the dashboard")).unwrap();
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (at, _) in expr.match_indices("plaza_") {
                let name: String = expr[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.push(name);
            }
        }
    }
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        let family = name.trim_end_matches("_bucket").trim_end_matches("_total");
        assert!(
            exported.contains(&format!("# TYPE {family} ")),
            "the dashboard names {name}, which /metrics does not export"
        );
    }
}
