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
