//! Registration, login, logout and anonymous guests.

use plaza_core::identity::RegistrationMode;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, claims_of, jwt, now_secs, spawn_app, spawn_app_with};

#[tokio::test]
async fn register_then_login_then_me_with_the_jwt() {
    let app = spawn_app().await;
    let (token, user) = app.register("Alice@Example.com").await;
    assert_eq!(user["username"], "Alice@Example.com");
    assert_eq!(user["displayname"], "Test User");
    assert_eq!(user["aType"], "user");

    let login = app
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(login.body["tokenType"], "jwt");
    let login_token = login.body["token"].as_str().unwrap();

    for token in [token.as_str(), login_token] {
        let me = app.get("/api/users/me", Some(&jwt(token))).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.body["_id"], user["_id"]);
        assert_eq!(me.body["_id"].as_str().unwrap().len(), 24);
        for field in [
            "username",
            "displayname",
            "picture_url",
            "picturefile",
            "aType",
            "type",
            "permissions",
            "timezone",
            "phone_numbers",
        ] {
            assert!(me.body.get(field).is_some(), "users/me lacks {field}: {}", me.text);
        }
        assert!(me.body["phone_numbers"].is_array());
    }
}

#[tokio::test]
async fn authorization_scheme_is_case_insensitive_and_quotes_are_tolerated() {
    let app = spawn_app().await;
    let (token, _) = app.register("bob@example.com").await;
    for header in [
        format!("jwt {token}"),
        format!("JWT {token}"),
        format!("\"jwt {token}\""),
        format!("Jwt \"{token}\""),
    ] {
        let me = app.get("/api/users/me", Some(&header)).await;
        assert_eq!(me.status, StatusCode::OK, "{header}: {}", me.text);
    }
}

#[tokio::test]
async fn the_first_registered_user_is_server_admin_and_the_second_is_not() {
    let app = spawn_app().await;
    let (_, first) = app.register("first@example.com").await;
    let (_, second) = app.register("second@example.com").await;
    assert_eq!(first["isServerAdmin"], true);
    assert!(first["permissions"].as_array().unwrap().contains(&json!("IT_ADMIN_PERMISSION_GROUP")));
    assert_eq!(second["isServerAdmin"], false);
    assert_eq!(second["permissions"], json!(["USERSELF_PERMISSION_GROUP"]));
}

#[tokio::test]
async fn usernames_are_unique_and_login_failures_do_not_say_which_part_was_wrong() {
    let app = spawn_app().await;
    app.register("carol@example.com").await;
    app.post(
        "/api/auth/register",
        None,
        &json!({"username": "CAROL@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(409, "user.username_taken");
    let wrong_password = app
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "carol@example.com", "password": "not the password"}),
        )
        .await;
    wrong_password.assert_error(401, "auth.invalid_credentials");
    let unknown_user = app
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    unknown_user.assert_error(401, "auth.invalid_credentials");
    assert_eq!(wrong_password.body["message"], unknown_user.body["message"]);
}

#[tokio::test]
async fn registration_validates_username_and_password() {
    let app = spawn_app().await;
    let not_email = app
        .post("/api/auth/register", None, &json!({"username": "carol", "password": PASSWORD}))
        .await;
    not_email.assert_error(400, "request.invalid");
    assert_eq!(not_email.body["fields"][0]["field"], "username");
    let short = app
        .post(
            "/api/auth/register",
            None,
            &json!({"username": "d@example.com", "password": "short"}),
        )
        .await;
    short.assert_error(400, "request.invalid");
    assert_eq!(short.body["fields"][0]["field"], "password");
}

#[tokio::test]
async fn closed_registration_refuses_everyone() {
    let app = spawn_app_with(|s| s.auth.registration = RegistrationMode::Closed).await;
    app.post(
        "/api/auth/register",
        None,
        &json!({"username": "e@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(403, "auth.registration_closed");
}

#[tokio::test]
async fn invite_registration_admits_only_invited_emails_once() {
    let app = spawn_app_with(|s| s.auth.registration = RegistrationMode::Invite).await;
    let body = json!({"username": "invited@example.com", "password": PASSWORD});
    app.post("/api/auth/register", None, &body).await.assert_error(403, "auth.invitation_required");

    // An admin created from the command line (here: through the same core call) invites.
    let admin = plaza_server::Services::build(&{
        let mut settings =
            plaza_server::Settings::load(None, Vec::new(), &Default::default()).unwrap();
        settings.server.data_dir = app.data_dir.clone();
        settings
    })
    .await
    .unwrap();
    admin
        .identity
        .admin_invite(plaza_core::identity::Actor::System, "Invited@Example.com")
        .await
        .unwrap();

    let registered = app.post("/api/auth/register", None, &body).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
    // The invitation is spent, and the answer does not reveal that the account exists.
    let again = json!({"username": "INVITED@example.com", "password": PASSWORD});
    app.post("/api/auth/register", None, &again)
        .await
        .assert_error(403, "auth.invitation_required");
}

#[tokio::test]
async fn logout_revokes_the_token_but_not_other_sessions() {
    let app = spawn_app().await;
    let (first, _) = app.register("frank@example.com").await;
    let second = app
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "frank@example.com", "password": PASSWORD}),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let logout = app.post("/api/auth/logout", Some(&jwt(&first)), &json!({})).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT, "{}", logout.text);
    app.get("/api/users/me", Some(&jwt(&first))).await.assert_error(401, "auth.invalid_token");
    assert_eq!(app.get("/api/users/me", Some(&jwt(&second))).await.status, StatusCode::OK);
    app.post("/api/auth/logout", None, &json!({})).await.assert_error(401, "auth.required");
}

#[tokio::test]
async fn anonymous_auth_accepts_json_form_and_empty_bodies_with_a_24_hour_token() {
    let app = spawn_app().await;
    let json_body = app
        .post("/api/anonymous/auth", None, &json!({"displayname": "Visitor", "username": "Anonymous", "picturefile": "https://pics.example/v.png"}))
        .await;
    let form_body = app
        .post_form(
            "/api/anonymous/auth",
            None,
            &[("displayname", "Form Visitor"), ("username", "")],
        )
        .await;
    let empty_body =
        app.send(app.request(reqwest::Method::POST, "/api/anonymous/auth", None)).await;
    for (answer, name) in
        [(&json_body, "Visitor"), (&form_body, "Form Visitor"), (&empty_body, "Guest")]
    {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let body = answer.body.as_object().unwrap();
        assert_eq!(body.keys().collect::<Vec<_>>(), vec!["token"], "a bare {{token}}");
        let token = answer.body["token"].as_str().unwrap();
        let claims = claims_of(token);
        let lifetime = claims["exp"].as_i64().unwrap() - now_secs();
        assert!((86_390..=86_400).contains(&lifetime), "exp is 24 h out, got {lifetime} s");
        let me = app.get("/api/users/me", Some(&jwt(token))).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.body["aType"], "anonymous");
        assert_eq!(me.body["displayname"], name);
        assert_eq!(me.body["permissions"], json!([]));
    }
    let me = app.get("/api/users/me", Some(&jwt(json_body.body["token"].as_str().unwrap()))).await;
    assert_eq!(me.body["picture_url"], "https://pics.example/v.png");
}

#[tokio::test]
async fn two_anonymous_guests_may_share_a_name() {
    let app = spawn_app().await;
    let a = app.post("/api/anonymous/auth", None, &json!({"username": "Anonymous"})).await;
    let b = app.post("/api/anonymous/auth", None, &json!({"username": "Anonymous"})).await;
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    assert_ne!(
        claims_of(a.body["token"].as_str().unwrap())["sub"],
        claims_of(b.body["token"].as_str().unwrap())["sub"]
    );
}
