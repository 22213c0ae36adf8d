//! The security audit log: what it records, who may read it, and its filters and pages.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, jwt, spawn_app};

async fn audit(app: &TestApp, token: &str, query: &str) -> Value {
    let answer = app.get(&format!("/api/admin/audit{query}"), Some(&jwt(token))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

fn actions(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().into()).collect()
}

#[tokio::test]
async fn security_actions_are_recorded_with_actor_target_and_address() {
    let app = spawn_app().await;
    let (admin, admin_user) = app.register("root@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let member_id = member_user["_id"].as_str().unwrap();
    let wrong = app
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "member@example.com", "password": "not the password"}),
        )
        .await;
    wrong.assert_error(401, "auth.invalid_credentials");
    let login = app
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "member@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);

    let space = app.create_space(&admin, "Audited").await;
    let role = app
        .post(
            &format!("/api/spaces/{space}/attendees/userId/{member_id}"),
            Some(&jwt(&admin)),
            &json!({"role": "admin"}),
        )
        .await;
    assert!(role.status.is_success(), "{}", role.text);
    let demoted = app
        .post(
            &format!("/api/spaces/{space}/attendees/userId/{member_id}"),
            Some(&jwt(&admin)),
            &json!({"role": "member"}),
        )
        .await;
    assert!(demoted.status.is_success(), "{}", demoted.text);
    let chat = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(&member)),
            &json!({"content": {"bodyText": "x"}}),
        )
        .await;
    assert!(chat.status.is_success(), "{}", chat.text);
    let message_id =
        chat.body["_id"].as_str().or(chat.body["data"]["_id"].as_str()).unwrap().to_owned();
    let deleted = app.delete(&format!("/api/messages/{message_id}"), Some(&jwt(&admin))).await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    let removed = app
        .delete(&format!("/api/spaces/{space}/attendees/userId/{member_id}"), Some(&jwt(&admin)))
        .await;
    assert!(removed.status.is_success(), "{}", removed.text);
    let service_app =
        app.post("/api/admin/service-apps", Some(&jwt(&admin)), &json!({"name": "Bot"})).await;
    assert!(service_app.status.is_success(), "{}", service_app.text);

    let page = audit(&app, &admin, "").await;
    assert_eq!(
        actions(&page),
        [
            "admin.service_app.create",
            "space.member.remove",
            "message.delete",
            "space.member.role",
            "space.member.role",
            "auth.login",
            "auth.login.failed",
            "auth.register",
            "auth.register",
        ],
        "{page:#}"
    );
    let events = page["data"].as_array().unwrap();
    let admin_id = admin_user["_id"].as_str().unwrap();
    // Newest first: the removal names who removed whom, where, and from which address.
    let removal = &events[1];
    assert_eq!(removal["actor"]["_id"], admin_id);
    assert_eq!(removal["actor"]["username"], "root@example.com");
    assert_eq!(removal["target"], json!({"type": "user", "_id": member_id}));
    assert_eq!(removal["spaceId"], space);
    assert_eq!(removal["ip"], "127.0.0.1");
    assert_eq!(events[2]["details"]["ownMessage"], false);
    assert_eq!(events[3]["details"], json!({"role": "member", "previousRole": "admin"}));
    // Added as an admin: no role before.
    assert_eq!(events[4]["details"], json!({"role": "admin", "previousRole": null}));
    // A failed login names the account tried, without a user id or the password.
    assert_eq!(events[6]["actor"], json!({"_id": null, "username": "member@example.com"}));
    assert!(!page.to_string().contains("not the password"));

    // Filters: an action prefix, an actor, a target.
    assert_eq!(actions(&audit(&app, &admin, "?action=auth.").await).len(), 4);
    assert_eq!(actions(&audit(&app, &admin, "?action=auth.login").await), ["auth.login"]);
    let by_member = audit(&app, &admin, &format!("?actor={member_id}")).await;
    assert_eq!(actions(&by_member), ["auth.login", "auth.register"]);
    let about_member = audit(&app, &admin, &format!("?target={member_id}&action=space.")).await;
    assert_eq!(actions(&about_member).len(), 3);
}

#[tokio::test]
async fn only_server_admins_read_the_log_and_pages_continue_where_they_stopped() {
    let app = spawn_app().await;
    let (admin, _) = app.register("root@example.com").await;
    let (member, _) = app.register("member@example.com").await;
    for _ in 0..4 {
        let login = app
            .post(
                "/api/auth/login",
                None,
                &json!({"username": "member@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    }
    app.get("/api/admin/audit", Some(&jwt(&member))).await.assert_error(403, "permission.denied");
    app.get("/api/admin/audit", None).await.assert_error(401, "auth.required");
    let guest = app.anonymous("Visitor").await;
    app.get("/api/admin/audit", Some(&jwt(&guest))).await.assert_error(403, "permission.denied");
    app.get("/api/admin/audit?size=0", Some(&jwt(&admin)))
        .await
        .assert_error(400, "request.invalid");
    app.get("/api/admin/audit?size=1000", Some(&jwt(&admin)))
        .await
        .assert_error(400, "request.invalid");
    app.get("/api/admin/audit?before=nope", Some(&jwt(&admin)))
        .await
        .assert_error(400, "request.invalid");

    let mut seen = Vec::new();
    let mut next = "/api/admin/audit?action=auth.&size=2".to_owned();
    while !next.is_empty() {
        let page = app.get(&next, Some(&jwt(&admin))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for event in page.body["data"].as_array().unwrap() {
            seen.push(event["_id"].as_str().unwrap().to_owned());
        }
        next = page.body["nextPageUrl"].as_str().unwrap().to_owned();
        assert!(seen.len() <= 6, "paging does not end");
    }
    // Two registrations and four logins, each once.
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (6, 6));
}
