//! Server administration over REST: only server admins, and every action takes effect.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, jwt, spawn_app};

#[tokio::test]
async fn only_server_admins_may_administer() {
    let app = spawn_app().await;
    app.register("admin@example.com").await;
    let (member, _) = app.register("member@example.com").await;
    let guest = app.post("/api/anonymous/auth", None, &json!({})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [member.as_str(), guest.as_str()] {
        let auth = jwt(token);
        app.get("/api/admin/users", Some(&auth)).await.assert_error(403, "permission.denied");
        app.post("/api/admin/service-apps", Some(&auth), &json!({"name": "x"}))
            .await
            .assert_error(403, "permission.denied");
        app.post(
            "/api/admin/oauth-clients",
            Some(&auth),
            &json!({"name": "x", "redirectUris": ["https://a.example/"]}),
        )
        .await
        .assert_error(403, "permission.denied");
        app.post("/api/admin/invitations", Some(&auth), &json!({"email": "x@example.com"}))
            .await
            .assert_error(403, "permission.denied");
    }
    app.get("/api/admin/users", None).await.assert_error(401, "auth.required");
}

#[tokio::test]
async fn admins_create_list_and_page_through_users() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let auth = jwt(&admin);
    for i in 0..4 {
        let created = app
            .post(
                "/api/admin/users",
                Some(&auth),
                &json!({"username": format!("u{i}@example.com"), "password": PASSWORD}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    app.post("/api/anonymous/auth", None, &json!({})).await;
    let mut seen = Vec::new();
    let mut path = "/api/admin/users?size=2".to_owned();
    while !path.is_empty() {
        let page = app.get(&path, Some(&auth)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for user in page.body["data"].as_array().unwrap() {
            seen.push(user["username"].as_str().unwrap().to_owned());
        }
        path = page.body["nextPageUrl"].as_str().unwrap().to_owned();
    }
    assert_eq!(
        seen,
        [
            "admin@example.com",
            "u0@example.com",
            "u1@example.com",
            "u2@example.com",
            "u3@example.com"
        ]
    );
    let created_admin = app
        .post(
            "/api/admin/users",
            Some(&auth),
            &json!({"username": "boss@example.com", "password": PASSWORD, "serverAdmin": true}),
        )
        .await;
    assert_eq!(created_admin.body["data"]["isServerAdmin"], true);
    app.get("/api/admin/users?after=not-an-id", Some(&auth))
        .await
        .assert_error(400, "request.invalid");
}

#[tokio::test]
async fn a_disabled_account_is_locked_out_at_once_and_can_be_enabled_again() {
    let app = spawn_app().await;
    let (admin, admin_user) = app.register("admin@example.com").await;
    let (token, user) = app.register("victim@example.com").await;
    let auth = jwt(&admin);
    let disabled = app
        .post(
            &format!("/api/admin/users/{}/disable", user["_id"].as_str().unwrap()),
            Some(&auth),
            &json!({}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(disabled.body["data"]["disabled"], true);
    app.get("/api/users/me", Some(&jwt(&token))).await.assert_error(403, "auth.account_disabled");
    app.post(
        "/api/auth/login",
        None,
        &json!({"username": "victim@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(403, "auth.account_disabled");
    let enabled =
        app.post("/api/admin/users/victim@example.com/enable", Some(&auth), &json!({})).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text);
    assert_eq!(app.get("/api/users/me", Some(&jwt(&token))).await.status, StatusCode::OK);

    let own = format!("/api/admin/users/{}/disable", admin_user["_id"].as_str().unwrap());
    app.post(&own, Some(&auth), &json!({})).await.assert_error(403, "permission.denied");
    app.post("/api/admin/users/nobody@example.com/disable", Some(&auth), &json!({}))
        .await
        .assert_error(404, "user.not_found");
}

#[tokio::test]
async fn clients_are_listed_without_secrets_and_revoked_by_id() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let auth = jwt(&admin);
    let web = app
        .post(
            "/api/admin/oauth-clients",
            Some(&auth),
            &json!({"name": "Web", "redirectUris": ["https://a.example/cb"]}),
        )
        .await;
    let bot = app.post("/api/admin/service-apps", Some(&auth), &json!({"name": "Bot"})).await;
    assert!(
        web.body["data"]["clientSecret"].is_string()
            && bot.body["data"]["clientSecret"].is_string()
    );
    let clients = app.get("/api/admin/oauth-clients", Some(&auth)).await;
    let apps = app.get("/api/admin/service-apps", Some(&auth)).await;
    assert_eq!(clients.body["total"], 1);
    assert_eq!(apps.body["total"], 1);
    assert!(!clients.text.contains("clientSecret") && !apps.text.contains("clientSecret"));
    assert!(!clients.text.contains("secret_hash"));

    let bad = app
        .post(
            "/api/admin/oauth-clients",
            Some(&auth),
            &json!({"name": "Web", "redirectUris": ["not a url"]}),
        )
        .await;
    bad.assert_error(400, "request.invalid");
    let missing =
        app.send(app.request(Method::DELETE, "/api/admin/oauth-clients/nope", Some(&auth))).await;
    missing.assert_error(404, "oauth.client_not_found");
}
