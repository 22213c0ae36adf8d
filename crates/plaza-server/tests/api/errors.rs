//! Bad input gets a clear 4xx in Plaza's shape, never a 500; real failures are opaque.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{jwt, spawn_app};

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields_are_400_in_our_shape() {
    let app = spawn_app().await;
    let raw = |body: &'static str| {
        app.client
            .post(app.url("/api/auth/register"))
            .header("content-type", "application/json")
            .body(body)
    };
    let malformed = app.send(raw("{\"username\": ")).await;
    malformed.assert_error(400, "request.malformed");
    let wrong_type = app.send(raw("{\"username\": 42, \"password\": \"password123\"}")).await;
    wrong_type.assert_error(400, "request.malformed");
    assert!(wrong_type.body["message"].as_str().unwrap().contains("invalid type"));
    let unknown = app
        .send(raw("{\"username\": \"a@b.c\", \"password\": \"password123\", \"admin\": true}"))
        .await;
    unknown.assert_error(400, "request.malformed");
    assert!(unknown.body["message"].as_str().unwrap().contains("admin"));
    let missing = app.send(raw("{\"username\": \"a@b.c\"}")).await;
    missing.assert_error(400, "request.malformed");
    let not_json =
        app.send(app.client.post(app.url("/api/auth/login")).form(&[("username", "a@b.c")])).await;
    not_json.assert_error(415, "request.unsupported_media_type");
}

#[tokio::test]
async fn json_labelled_as_a_form_is_still_read_as_json() {
    let app = spawn_app().await;
    let answer = app
        .send(
            app.client
                .post(app.url("/api/auth/register"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("{\"username\": \"curl@example.com\", \"password\": \"password123\"}"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
}

#[tokio::test]
async fn an_oversized_body_is_413_in_our_shape() {
    let app = spawn_app().await;
    let huge =
        format!("{{\"username\": \"{}\", \"password\": \"x\"}}", "a".repeat(2 * 1024 * 1024));
    let answer = app
        .send(
            app.client
                .post(app.url("/api/auth/register"))
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    answer.assert_error(413, "request.too_large");
    let (token, _) = app.register("quinn@example.com").await;
    let settings = json!({"tourFeatures": vec!["x".repeat(200); 20_000]});
    app.post("/api/users/me/settings", Some(&jwt(&token)), &settings)
        .await
        .assert_error(413, "request.too_large");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_our_shape() {
    let app = spawn_app().await;
    app.get("/api/no/such/thing", None).await.assert_error(404, "route.not_found");
    app.send(app.request(Method::DELETE, "/api/users/me", None))
        .await
        .assert_error(405, "route.method_not_allowed");
}

#[tokio::test]
async fn no_bad_input_reaches_a_500() {
    let app = spawn_app().await;
    let (token, _) = app.register("rita@example.com").await;
    let auth = jwt(&token);
    let bodies = [
        "",
        "null",
        "[]",
        "\"text\"",
        "{",
        "{}",
        "{\"username\": null}",
        "{\"username\": [\"x\"]}",
        "{\"password\": {\"a\": 1}}",
        "\u{0}\u{1}",
        "{\"username\": \"\u{202e}@x\", \"password\": \"12345678\"}",
        "{\"username\": \"a@b\", \"password\": \"12345678\", \"displayname\": \"\\u0000\"}",
    ];
    let paths = [
        (Method::POST, "/api/auth/register"),
        (Method::POST, "/api/auth/login"),
        (Method::POST, "/api/anonymous/auth"),
        (Method::POST, "/api/users/me/settings"),
        (Method::POST, "/api/admin/users"),
        (Method::POST, "/oauth2/access_token"),
        (Method::POST, "/oauth2/revoke_token"),
        (Method::GET, "/oauth2/authorize?client_id=%ZZ&redirect_uri=::"),
        (Method::POST, "/oauth2/authorize"),
    ];
    for (method, path) in paths {
        for body in bodies {
            for content_type in
                ["application/json", "application/x-www-form-urlencoded", "text/plain"]
            {
                let answer = app
                    .send(
                        app.request(method.clone(), path, Some(&auth))
                            .header("content-type", content_type)
                            .body(body.to_owned()),
                    )
                    .await;
                assert!(
                    answer.status.as_u16() < 500,
                    "{method} {path} with {content_type} {body:?} gave {}: {}",
                    answer.status,
                    answer.text
                );
                if !answer.status.is_success()
                    && !answer.status.is_redirection()
                    && !answer.text.starts_with("<!doctype")
                {
                    assert!(
                        answer.body["code"].is_string(),
                        "{method} {path} {body:?}: {}",
                        answer.text
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_broken_database_gives_an_opaque_500_with_a_request_id() {
    let app = spawn_app().await;
    let (token, _) = app.register("sam@example.com").await;
    // Break the schema under the running server.
    let url = format!("sqlite://{}", app.data_dir.join("plaza.db").display());
    let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE user_settings").execute(&mut connection).await.unwrap();
    let answer = app.get("/api/users/me/settings", Some(&jwt(&token))).await;
    answer.assert_error(500, "internal");
    assert_eq!(answer.body["message"], "internal server error");
    assert!(
        !answer.text.to_lowercase().contains("user_settings") && !answer.text.contains("sqlite")
    );
    assert!(answer.headers.get("x-request-id").is_some());
    // The rest of the server still works.
    assert_eq!(app.get("/api/users/me", Some(&jwt(&token))).await.status, StatusCode::OK);
}

#[tokio::test]
async fn nul_characters_are_refused_everywhere_with_a_400() {
    let app = spawn_app().await;
    let raw_json = |path: &str, body: &'static str| {
        app.client.post(app.url(path)).header("content-type", "application/json").body(body)
    };
    for (path, body) in [
        ("/api/auth/register", "{\"username\": \"a\\u0000@b.c\", \"password\": \"password123\"}"),
        ("/api/auth/login", "{\"username\": \"a\\u0000@b.c\", \"password\": \"password123\"}"),
        ("/api/anonymous/auth", "{\"displayname\": \"x\\u0000\"}"),
    ] {
        app.send(raw_json(path, body)).await.assert_error(400, "request.invalid");
    }
    let form = app.post_form("/api/anonymous/auth", None, &[("picturefile", "x\u{0}")]).await;
    form.assert_error(400, "request.invalid");
    let token = app
        .post_form(
            "/oauth2/access_token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", "a\u{0}")],
        )
        .await;
    token.assert_error(400, "request.invalid");
    app.get("/oauth2/authorize?client_id=a%00", None).await.assert_error(400, "request.invalid");
    // "%00" in JSON text is just text.
    let fine = app.post("/api/anonymous/auth", None, &json!({"displayname": "100%00 sure"})).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text);
}

#[tokio::test]
async fn undecodable_path_segments_answer_in_our_shape() {
    let app = spawn_app().await;
    let (token, _) = app.register("path@example.com").await;
    app.post("/api/users/me/settings/%FF", Some(&jwt(&token)), &json!({}))
        .await
        .assert_error(400, "request.malformed");
    app.post("/api/admin/users/%FF/disable", Some(&jwt(&token)), &json!({}))
        .await
        .assert_error(400, "request.malformed");
}

#[tokio::test]
async fn picture_urls_must_be_web_urls_or_local_paths() {
    let app = spawn_app().await;
    let script =
        app.post("/api/anonymous/auth", None, &json!({"picturefile": "javascript:alert(1)"})).await;
    script.assert_error(400, "request.invalid");
    for ok in ["https://pics.example/a.png", "/norevimages/noimage.jpg"] {
        let answer = app.post("/api/anonymous/auth", None, &json!({"picturefile": ok})).await;
        assert_eq!(answer.status, StatusCode::OK, "{ok}: {}", answer.text);
    }
}
