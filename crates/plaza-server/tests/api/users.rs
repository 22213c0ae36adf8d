//! The current user's settings, and the unauthenticated discovery endpoints.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{jwt, spawn_app, spawn_app_with};

#[tokio::test]
async fn settings_start_from_defaults_and_change_only_the_fields_sent() {
    let app = spawn_app().await;
    let (token, _) = app.register("nina@example.com").await;
    let auth = jwt(&token);
    let first = app.get("/api/users/me/settings", Some(&auth)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let settings = &first.body["data"][0];
    let id = settings["_id"].as_str().unwrap().to_owned();
    assert_eq!(settings["muteaudio"], false);
    assert_eq!(settings["autoAcceptInvite"], "relation");

    let updated = app
        .post(
            &format!("/api/users/me/settings/{id}"),
            Some(&auth),
            &json!({"muteaudio": true, "tourFeatures": ["chat"], "mNotif": "direct"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let again = app.get("/api/users/me/settings", Some(&auth)).await;
    let settings = &again.body["data"][0];
    assert_eq!(settings["_id"], id.as_str());
    assert_eq!(settings["muteaudio"], true);
    assert_eq!(settings["mutevideo"], false);
    assert_eq!(settings["tourFeatures"], json!(["chat"]));
    assert_eq!(settings["mNotif"], "direct");
}

#[tokio::test]
async fn settings_refuse_unknown_fields_wrong_types_and_other_ids_without_changing_anything() {
    let app = spawn_app().await;
    let (token, _) = app.register("olga@example.com").await;
    let auth = jwt(&token);
    let id = app.get("/api/users/me/settings", Some(&auth)).await.body["data"][0]["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/users/me/settings/{id}");
    let unknown =
        app.post(&path, Some(&auth), &json!({"muteaudio": true, "muteAudio": true})).await;
    unknown.assert_error(400, "request.invalid");
    assert_eq!(unknown.body["fields"][0]["field"], "muteAudio");
    app.post(&path, Some(&auth), &json!({"muteaudio": "yes"}))
        .await
        .assert_error(400, "request.invalid");
    app.post(&path, Some(&auth), &json!({"mNotif": "sometimes"}))
        .await
        .assert_error(400, "request.invalid");
    app.post(&path, Some(&auth), &json!({"companyPolicy": {}}))
        .await
        .assert_error(400, "request.invalid");
    app.post(&path, Some(&auth), &json!([1, 2])).await.assert_error(400, "request.malformed");
    app.post(
        "/api/users/me/settings/000000000000000000000000",
        Some(&auth),
        &json!({"muteaudio": true}),
    )
    .await
    .assert_error(404, "settings.not_found");
    let after = app.get("/api/users/me/settings", Some(&auth)).await;
    assert_eq!(after.body["data"][0]["muteaudio"], false, "a refused update changes nothing");
}

#[tokio::test]
async fn anonymous_guests_have_settings_too() {
    let app = spawn_app().await;
    let token = app.post("/api/anonymous/auth", None, &json!({})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let updated =
        app.post("/api/users/me/settings", Some(&jwt(&token)), &json!({"mutevideo": true})).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["data"]["mutevideo"], true);
}

#[tokio::test]
async fn discovery_and_probes_need_no_token() {
    let app = spawn_app().await;
    let config = app.get("/api/service-configurations", None).await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["spaces"]["server_url"], app.base.as_str());
    assert_eq!(config.body["spaces"]["socketio_server_url"], app.base.as_str());
    assert_eq!(app.get("/health", None).await.body["status"], "ok");
    assert_eq!(app.get("/ready", None).await.body["status"], "ready");
    let picture = app.get("/norevimages/noimage.jpg", None).await;
    assert_eq!(picture.status, StatusCode::OK);
    assert_eq!(picture.headers["content-type"], "image/svg+xml");

    let (token, _) = app.register("pia@example.com").await;
    let me = app.get("/api/users/me", Some(&jwt(&token))).await;
    assert_eq!(me.body["picture_url"], format!("{}/norevimages/noimage.jpg", app.base));
}

#[tokio::test]
async fn a_configured_public_url_is_what_clients_are_told() {
    let app =
        spawn_app_with(|s| s.server.public_url = Some("https://plaza.example.com/".into())).await;
    let config = app.get("/api/service-configurations", None).await;
    assert_eq!(config.body["spaces"]["server_url"], "https://plaza.example.com");
}

#[tokio::test]
async fn cors_preflight_allows_the_spaces_headers_from_any_origin_by_default() {
    let app = spawn_app().await;
    let preflight = app
        .send(
            app.client
                .request(Method::OPTIONS, app.url("/api/users/me"))
                .header("origin", "https://web.example")
                .header("access-control-request-method", "GET")
                .header(
                    "access-control-request-headers",
                    "authorization,spaces-x-space-password,accept-version,content-type",
                ),
        )
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(preflight.headers["access-control-allow-origin"], "*");
    let allowed =
        preflight.headers["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    for header in ["authorization", "content-type", "accept-version", "spaces-x-space-password"] {
        assert!(allowed.contains(header), "{header} not in {allowed}");
    }
}

#[tokio::test]
async fn a_cors_allow_list_admits_only_listed_origins() {
    let app = spawn_app_with(|s| s.server.cors_origins = vec!["https://ok.example".into()]).await;
    let ask = |origin: &'static str| {
        app.client.request(Method::GET, app.url("/health")).header("origin", origin)
    };
    let ok = app.send(ask("https://ok.example")).await;
    assert_eq!(ok.headers["access-control-allow-origin"], "https://ok.example");
    let other = app.send(ask("https://evil.example")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_keeps_the_callers() {
    let app = spawn_app().await;
    let fresh = app.get("/health", None).await;
    assert_eq!(fresh.headers["x-request-id"].to_str().unwrap().len(), 36);
    let echoed =
        app.send(app.client.get(app.url("/nope")).header("x-request-id", "trace-123")).await;
    assert_eq!(echoed.headers["x-request-id"], "trace-123");
}

#[tokio::test]
async fn graceful_shutdown_stops_the_server_and_frees_the_port() {
    let app = spawn_app().await;
    let address = app.base.trim_start_matches("http://").to_owned();
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
    tokio::time::timeout(std::time::Duration::from_secs(10), app.stop())
        .await
        .expect("stops in time")
        .expect("clean stop");
    assert!(tokio::net::TcpStream::connect(&address).await.is_err(), "nothing listens any more");
}
