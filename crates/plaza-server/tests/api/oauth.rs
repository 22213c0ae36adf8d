//! Plaza as an OAuth2 provider: code + PKCE, refresh, password, client credentials, revoke.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Answer, PASSWORD, TestApp, jwt, spawn_app};

const REDIRECT: &str = "https://app.example/callback";

/// Registers the server admin and a web app; returns (admin token, client id, secret).
async fn admin_and_client(app: &TestApp, public: bool) -> (String, String, Option<String>) {
    let (admin, _) = app.register("admin@example.com").await;
    let created = app
        .post(
            "/api/admin/oauth-clients",
            Some(&jwt(&admin)),
            &json!({"name": "Web app", "redirectUris": [REDIRECT], "public": public}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let client_id = created.body["data"]["clientId"].as_str().unwrap().to_owned();
    let secret = created.body["data"]["clientSecret"].as_str().map(str::to_owned);
    assert_eq!(secret.is_none(), public);
    (admin, client_id, secret)
}

fn pkce_pair() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Asks for a code as the user holding `token`; returns the redirect's query pairs.
async fn authorize(
    app: &TestApp,
    token: &str,
    client_id: &str,
    challenge: Option<&str>,
) -> Vec<(String, String)> {
    let mut path = format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=spaces&state=xyz",
        urlencode(REDIRECT)
    );
    if let Some(challenge) = challenge {
        path.push_str(&format!("&code_challenge={challenge}&code_challenge_method=S256"));
    }
    let answer = app.get(&path, Some(&jwt(token))).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.text);
    redirect_query(&answer)
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn redirect_query(answer: &Answer) -> Vec<(String, String)> {
    let location = answer.headers.get("location").expect("a redirect").to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The password grant as the server admin, with `password`.
async fn password_grant(app: &TestApp, client_id: &str, secret: &str, password: &str) -> Answer {
    let form = [
        ("grant_type", "password"),
        ("username", "admin@example.com"),
        ("password", password),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    token(app, &form).await
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> Answer {
    app.post_form("/oauth2/access_token", None, form).await
}

#[tokio::test]
async fn authorization_code_with_pkce_end_to_end() {
    let app = spawn_app().await;
    let (_, client_id, secret) = admin_and_client(&app, false).await;
    let secret = secret.unwrap();
    let (user_token, user) = app.register("user@example.com").await;

    let (verifier, challenge) = pkce_pair();
    let pairs = authorize(&app, &user_token, &client_id, Some(&challenge)).await;
    assert_eq!(param(&pairs, "state"), Some("xyz"));
    let code = param(&pairs, "code").expect("a code").to_owned();

    // A wrong verifier is refused, and burns the code.
    let (wrong_verifier, _) = pkce_pair();
    let refused = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("code_verifier", &wrong_verifier),
        ],
    )
    .await;
    refused.assert_error(400, "oauth.invalid_grant");
    assert_eq!(refused.body["error"], "invalid_grant");
    let burnt = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    burnt.assert_error(400, "oauth.invalid_grant");

    // A fresh code with the right verifier works, once.
    let code = param(&authorize(&app, &user_token, &client_id, Some(&challenge)).await, "code")
        .unwrap()
        .to_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", &client_id),
        ("client_secret", &secret),
        ("code_verifier", &verifier),
    ];
    let granted = token(&app, &form).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    assert_eq!(granted.headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(granted.body["token_type"], "bearer");
    assert_eq!(granted.body["scope"], "spaces");
    assert!(granted.body["expires_in"].as_i64().unwrap() > 0);
    token(&app, &form).await.assert_error(400, "oauth.invalid_grant");

    let access = granted.body["access_token"].as_str().unwrap();
    let me = app.get("/api/users/me", Some(&format!("bearer {access}"))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["_id"], user["_id"]);
    let me = app.get("/api/users/me", Some(&format!("Bearer {access}"))).await;
    assert_eq!(me.status, StatusCode::OK);

    // Refresh rotates: the new pair works, the old refresh token and access token die.
    let refresh = granted.body["refresh_token"].as_str().unwrap();
    let refreshed = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    app.get("/api/users/me", Some(&format!("bearer {access}")))
        .await
        .assert_error(401, "auth.invalid_token");
    let new_access = refreshed.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/users/me", Some(&format!("bearer {new_access}"))).await.status,
        StatusCode::OK
    );

    // Revocation (RFC 7009), with HTTP Basic client authentication this time.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let revoked = app
        .send(
            app.request(
                reqwest::Method::POST,
                "/oauth2/revoke_token",
                Some(&format!("Basic {basic}")),
            )
            .form(&[("token", new_access.as_str())]),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    app.get("/api/users/me", Some(&format!("bearer {new_access}")))
        .await
        .assert_error(401, "auth.invalid_token");

    // A rotated refresh token is good once (what a second use does to the family is
    // `a_reused_refresh_token_revokes_its_whole_family`).
    token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await
    .assert_error(400, "oauth.invalid_grant");
}

#[tokio::test]
async fn public_clients_must_use_pkce_and_need_no_secret() {
    let app = spawn_app().await;
    let (admin, client_id, _) = admin_and_client(&app, true).await;
    let pairs = authorize(&app, &admin, &client_id, None).await;
    assert_eq!(param(&pairs, "error"), Some("invalid_request"));
    assert_eq!(param(&pairs, "state"), Some("xyz"));
    assert_eq!(param(&pairs, "code"), None);

    let (verifier, challenge) = pkce_pair();
    let code = param(&authorize(&app, &admin, &client_id, Some(&challenge)).await, "code")
        .unwrap()
        .to_owned();
    let granted = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
}

#[tokio::test]
async fn authorize_errors_that_cannot_be_redirected_are_shown_not_redirected() {
    let app = spawn_app().await;
    let (admin, client_id, _) = admin_and_client(&app, false).await;
    let unknown_client =
        app.get("/oauth2/authorize?response_type=code&client_id=nope", Some(&jwt(&admin))).await;
    unknown_client.assert_error(401, "oauth.invalid_client");
    let foreign_redirect = app
        .get(&format!("/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fevil.example%2F"), Some(&jwt(&admin)))
        .await;
    foreign_redirect.assert_error(400, "oauth.invalid_request");
    assert!(foreign_redirect.headers.get("location").is_none());
}

#[tokio::test]
async fn browsers_sign_in_on_the_authorize_page() {
    let app = spawn_app().await;
    let (_, client_id, _) = admin_and_client(&app, false).await;
    let (_, challenge) = pkce_pair();
    let query = format!(
        "response_type=code&client_id={client_id}&redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        urlencode(REDIRECT)
    );
    let page = app.get(&format!("/oauth2/authorize?{query}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("<form")
            && page.text.contains("Web app")
            && page.text.contains(&challenge)
    );

    let mut form: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    form.push(("username".into(), "admin@example.com".into()));
    form.push(("password".into(), "wrong password".into()));
    let wrong =
        app.send(app.request(reqwest::Method::POST, "/oauth2/authorize", None).form(&form)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("<form") && wrong.text.contains("role=\"alert\""));

    form.pop();
    form.push(("password".into(), PASSWORD.into()));
    let signed_in =
        app.send(app.request(reqwest::Method::POST, "/oauth2/authorize", None).form(&form)).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text);
    let pairs = redirect_query(&signed_in);
    assert!(param(&pairs, "code").is_some());
    assert_eq!(param(&pairs, "state"), Some("s1"));
}

#[tokio::test]
async fn password_grant_for_confidential_clients() {
    let app = spawn_app().await;
    let (_, client_id, secret) = admin_and_client(&app, false).await;
    let secret = secret.unwrap();
    let granted = password_grant(&app, &client_id, &secret, PASSWORD).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    let wrong = password_grant(&app, &client_id, &secret, "nope nope").await;
    wrong.assert_error(400, "oauth.invalid_grant");
    let bad_secret = password_grant(&app, &client_id, "guess", PASSWORD).await;
    bad_secret.assert_error(401, "oauth.invalid_client");
    assert_eq!(bad_secret.body["error"], "invalid_client");
    token(&app, &[("grant_type", "magic"), ("client_id", &client_id), ("client_secret", &secret)])
        .await
        .assert_error(400, "oauth.unsupported_grant_type");
}

async fn service_app(app: &TestApp, admin: &str) -> (String, String) {
    let created =
        app.post("/api/admin/service-apps", Some(&jwt(admin)), &json!({"name": "Chat bot"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let data: &Value = &created.body["data"];
    (
        data["clientId"].as_str().unwrap().to_owned(),
        data["clientSecret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn client_credentials_give_a_service_app_token_until_the_app_is_revoked() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let (client_id, secret) = service_app(&app, &admin).await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let granted = app
        .send(
            app.request(
                reqwest::Method::POST,
                "/oauth2/access_token",
                Some(&format!("Basic {basic}")),
            )
            .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    assert_eq!(granted.body["token_type"], "service_app");
    assert!(granted.body.get("refresh_token").is_none());
    let token = granted.body["access_token"].as_str().unwrap().to_owned();

    let me = app.get("/api/users/me", Some(&format!("service_app {token}"))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["aType"], "service");
    assert_eq!(me.body["displayname"], "Chat bot");
    // Spaces sockets send every JWT as tokenType=jwt, so the jwt scheme takes it too.
    assert_eq!(app.get("/api/users/me", Some(&jwt(&token))).await.status, StatusCode::OK);

    // A user OAuth client may not use client_credentials; a service app may not log in.
    let (_, web_client, web_secret) = {
        let created = app
            .post(
                "/api/admin/oauth-clients",
                Some(&jwt(&admin)),
                &json!({"name": "Web", "redirectUris": [REDIRECT]}),
            )
            .await;
        (
            (),
            created.body["data"]["clientId"].as_str().unwrap().to_owned(),
            created.body["data"]["clientSecret"].as_str().unwrap().to_owned(),
        )
    };
    token_for(&app, &web_client, &web_secret).await.assert_error(400, "oauth.unauthorized_client");

    let revoke = app
        .send(app.request(
            reqwest::Method::DELETE,
            &format!("/api/admin/service-apps/{client_id}"),
            Some(&jwt(&admin)),
        ))
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{}", revoke.text);
    app.get("/api/users/me", Some(&format!("service_app {token}")))
        .await
        .assert_error(401, "auth.invalid_token");
    token_for(&app, &client_id, &secret).await.assert_error(401, "oauth.invalid_client");
}

async fn token_for(app: &TestApp, client_id: &str, secret: &str) -> Answer {
    token(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await
}

#[tokio::test]
async fn logging_out_with_a_bearer_token_revokes_its_grant() {
    let app = spawn_app().await;
    let (_, client_id, secret) = admin_and_client(&app, false).await;
    let secret = secret.unwrap();
    let granted = password_grant(&app, &client_id, &secret, PASSWORD).await;
    let access = format!("bearer {}", granted.body["access_token"].as_str().unwrap());
    let logout = app.post("/api/auth/logout", Some(&access), &json!({})).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    app.get("/api/users/me", Some(&access)).await.assert_error(401, "auth.invalid_token");
    let refresh = granted.body["refresh_token"].as_str().unwrap();
    token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await
    .assert_error(400, "oauth.invalid_grant");
}

#[tokio::test]
async fn an_apps_bearer_token_carries_neither_admin_power_nor_consent() {
    let app = spawn_app().await;
    let (_, client_id, secret) = admin_and_client(&app, false).await;
    let secret = secret.unwrap();
    let granted = password_grant(&app, &client_id, &secret, PASSWORD).await;
    let bearer = format!("bearer {}", granted.body["access_token"].as_str().unwrap());
    // The admin's token, held by an app: no admin endpoints...
    app.get("/api/admin/users", Some(&bearer)).await.assert_error(403, "permission.denied");
    let escalate =
        json!({"username": "evil@example.com", "password": PASSWORD, "serverAdmin": true});
    app.post("/api/admin/users", Some(&bearer), &escalate)
        .await
        .assert_error(403, "permission.denied");
    // ...and no new grants for other clients.
    let path = format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}",
        urlencode(REDIRECT)
    );
    app.get(&path, Some(&bearer)).await.assert_error(403, "permission.denied");
    // It still works for ordinary API calls.
    assert_eq!(app.get("/api/users/me", Some(&bearer)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn scopes_are_checked() {
    let app = spawn_app().await;
    let (admin, client_id, secret) = admin_and_client(&app, false).await;
    let secret = secret.unwrap();
    let unknown = token(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "admin@example.com"),
            ("password", PASSWORD),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", "spaces admin"),
        ],
    )
    .await;
    unknown.assert_error(400, "oauth.invalid_scope");
    assert_eq!(unknown.body["error"], "invalid_scope");
    let path = format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=everything&state=q",
        urlencode(REDIRECT)
    );
    let answer = app.get(&path, Some(&jwt(&admin))).await;
    assert_eq!(param(&redirect_query(&answer), "error"), Some("invalid_scope"));
    // A token without the spaces scope cannot use the Spaces API.
    let profile_only = token(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "admin@example.com"),
            ("password", PASSWORD),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", "email profile"),
        ],
    )
    .await;
    assert_eq!(profile_only.status, StatusCode::OK, "{}", profile_only.text);
    let bearer = format!("bearer {}", profile_only.body["access_token"].as_str().unwrap());
    app.get("/api/users/me", Some(&bearer)).await.assert_error(403, "permission.denied");
}

#[tokio::test]
async fn a_refresh_token_is_redeemed_once_even_under_concurrency() {
    let app = spawn_app().await;
    let (_, client_id, secret) = admin_and_client(&app, false).await;
    let secret = secret.unwrap();
    let granted = password_grant(&app, &client_id, &secret, PASSWORD).await;
    let refresh = granted.body["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let statuses =
        app.concurrently(8, || app.client.post(app.url("/oauth2/access_token")).form(&form)).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_redirect_uri_given_at_authorize_is_required_to_redeem_the_code() {
    let app = spawn_app().await;
    let (admin, client_id, _) = admin_and_client(&app, true).await;
    let (verifier, challenge) = pkce_pair();
    let code = param(&authorize(&app, &admin, &client_id, Some(&challenge)).await, "code")
        .unwrap()
        .to_owned();
    let without = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client_id),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    without.assert_error(400, "oauth.invalid_grant");
}

#[tokio::test]
async fn public_clients_may_send_basic_auth_with_an_empty_secret_and_bad_clients_get_a_basic_challenge()
 {
    let app = spawn_app().await;
    let (admin, client_id, _) = admin_and_client(&app, true).await;
    let (verifier, challenge) = pkce_pair();
    let code = param(&authorize(&app, &admin, &client_id, Some(&challenge)).await, "code")
        .unwrap()
        .to_owned();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:"));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
    ];
    let granted = app
        .send(
            app.request(
                reqwest::Method::POST,
                "/oauth2/access_token",
                Some(&format!("Basic {basic}")),
            )
            .form(&form),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    let bad = token(
        &app,
        &[("grant_type", "client_credentials"), ("client_id", "nope"), ("client_secret", "x")],
    )
    .await;
    bad.assert_error(401, "oauth.invalid_client");
    assert!(bad.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let app = spawn_app().await;
    let (_, client_id, secret) = admin_and_client(&app, false).await;
    let secret = secret.unwrap();
    let first = password_grant(&app, &client_id, &secret, PASSWORD).await;
    let refresh = |token: &str| {
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token.to_owned()),
            ("client_id", client_id.clone()),
            ("client_secret", secret.clone()),
        ];
        let app = &app;
        async move { app.client.post(app.url("/oauth2/access_token")).form(&form).send().await.unwrap() }
    };
    let stolen = first.body["refresh_token"].as_str().unwrap().to_owned();
    // The rightful client rotates once and uses its new access token.
    let rotated: Value = refresh(&stolen).await.json().await.unwrap();
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("bearer {access}");
    assert_eq!(app.get("/api/users/me", Some(&bearer)).await.status, StatusCode::OK);
    // Someone replays the old refresh token: refused, and the family dies with it.
    let replayed = refresh(&stolen).await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    app.get("/api/users/me", Some(&bearer)).await.assert_error(401, "auth.invalid_token");
    let newest = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh(newest).await.status(),
        StatusCode::BAD_REQUEST,
        "the rotated refresh token too"
    );
}
