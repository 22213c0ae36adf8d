//! Attempts to get around the space rules, each one found by review and kept here so
//! it stays closed.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{jwt, spawn_app};

#[tokio::test]
async fn a_used_invitation_grants_nothing_again_and_removed_users_stay_out() {
    let app = spawn_app().await;
    let (alice, _) = app.register("alice@example.com").await;
    let id = app.create_space(&alice, "Guarded").await;
    let invite = |email: &str, role: &str| json!({"invitees": [{"inviteeType": "email", "invitee": email, "role": role}]});
    let answer = app
        .post(
            &format!("/api/spaces/{id}/invite"),
            Some(&jwt(&alice)),
            &invite("carol@example.com", "admin"),
        )
        .await;
    let link = answer.body["data"][0]["joinUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    let (carol, carol_user) = app.register("carol@example.com").await;
    assert_eq!(app.get(&link, Some(&jwt(&carol))).await.body["topic"]["role"], "admin");

    // Demoted, carol tries her old link again: still a guest.
    let carol_path =
        format!("/api/spaces/{id}/attendees/userId/{}", carol_user["_id"].as_str().unwrap());
    app.post(&carol_path, Some(&jwt(&alice)), &json!({"role": "guest"})).await;
    let again = app.get(&link, Some(&jwt(&carol))).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["topic"]["role"], "guest");
    app.post(&format!("/api/spaces/{id}"), Some(&jwt(&carol)), &json!({"title": "mine"}))
        .await
        .assert_error(403, "permission.denied");

    // Kicked, bob cannot come back through his own invitation.
    let answer = app
        .post(
            &format!("/api/spaces/{id}/invite"),
            Some(&jwt(&alice)),
            &invite("bob@example.com", "member"),
        )
        .await;
    let bob_link = answer.body["data"][0]["joinUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    let (bob, bob_user) = app.register("bob@example.com").await;
    app.get(&bob_link, Some(&jwt(&bob))).await;
    app.delete(
        &format!("/api/spaces/{id}/attendees/userId/{}", bob_user["_id"].as_str().unwrap()),
        Some(&jwt(&alice)),
    )
    .await;
    app.get(&bob_link, Some(&jwt(&bob))).await.assert_error(403, "permission.denied");
}

#[tokio::test]
async fn only_admins_bring_back_removed_users_and_leaving_is_not_being_removed() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let (dave, dave_user) = app.register("dave@example.com").await;
    let id = app.create_space(&admin, "Doors").await;
    for user in [&member_user, &dave_user] {
        app.post(
            &format!("/api/spaces/{id}/attendees/userId/{}", user["_id"].as_str().unwrap()),
            Some(&jwt(&admin)),
            &json!({"role": "member"}),
        )
        .await;
    }
    let dave_path =
        format!("/api/spaces/{id}/attendees/userId/{}", dave_user["_id"].as_str().unwrap());
    app.delete(&dave_path, Some(&jwt(&admin))).await;
    let reinvite = json!({"invitees": [{"inviteeType": "userId", "invitee": dave_user["_id"], "role": "guest"}]});
    app.post(&format!("/api/spaces/{id}/invite"), Some(&jwt(&member)), &reinvite)
        .await
        .assert_error(403, "permission.denied");
    app.get(&format!("/api/spaces/{id}/members"), Some(&jwt(&dave)))
        .await
        .assert_error(403, "permission.denied");
    let back = app.post(&format!("/api/spaces/{id}/invite"), Some(&jwt(&admin)), &reinvite).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);

    // The member leaves on their own and may rejoin by link, as a guest.
    let member_path =
        format!("/api/spaces/{id}/attendees/userId/{}", member_user["_id"].as_str().unwrap());
    assert_eq!(app.delete(&member_path, Some(&jwt(&member))).await.status, StatusCode::OK);
    let listed = app.get("/api/users/me/spaces?includedeleted=true", Some(&jwt(&member))).await;
    assert!(
        listed.body["data"].as_array().unwrap().is_empty(),
        "a space you left is gone from your list"
    );
    let rejoined = app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&member))).await;
    assert_eq!(rejoined.status, StatusCode::OK, "{}", rejoined.text);
    assert_eq!(rejoined.body["topic"]["role"], "guest");
}

#[tokio::test]
async fn an_invitation_link_in_a_guests_hands_is_only_a_link() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let id = app.create_space(&admin, "Private").await;
    app.post(
        &format!("/api/spaces/{id}"),
        Some(&jwt(&admin)),
        &json!({"settings": {"memberOnly": true}}),
    )
    .await;
    let answer = app
        .post(
            &format!("/api/spaces/{id}/invite"),
            Some(&jwt(&admin)),
            &json!({"invitees": [{"inviteeType": "email", "invitee": "eve@example.com"}]}),
        )
        .await;
    let link = answer.body["data"][0]["joinUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    let guest = app.anonymous("Snoop").await;
    app.get(&link, Some(&jwt(&guest))).await.assert_error(403, "topic.member_only");
    let (eve, _) = app.register("eve@example.com").await;
    let accepted = app.get(&link, Some(&jwt(&eve))).await;
    assert_eq!(accepted.status, StatusCode::OK, "the invitee is not locked out: {}", accepted.text);
    assert_eq!(accepted.body["topic"]["role"], "member");
}

#[tokio::test]
async fn the_pin_is_only_shown_to_admins_and_members() {
    let app = spawn_app().await;
    let (host, _) = app.register("host@example.com").await;
    let room = app.get("/api/users/meetingroom/host@example.com", Some(&jwt(&host))).await;
    let id = room.body["data"]["_id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/spaces/{id}"),
        Some(&jwt(&host)),
        &json!({"settings": {"confPin": "s3cret42"}}),
    )
    .await;
    let mine = app.get(&format!("/api/spaces/{id}"), Some(&jwt(&host))).await;
    assert_eq!(mine.body["settings"]["confPin"], "s3cret42");

    let (eve, _) = app.register("eve@example.com").await;
    let looked_up = app.get("/api/users/meetingroom/host@example.com", Some(&jwt(&eve))).await;
    assert_eq!(looked_up.status, StatusCode::OK);
    assert!(looked_up.body["data"]["settings"].get("confPin").is_none(), "{}", looked_up.text);
    assert_eq!(looked_up.body["data"]["members"], json!([]));
    let guest = app.anonymous("Guest").await;
    let joined = app.get_with_pin(&format!("/api/spaces/{id}/join"), &guest, "s3cret42").await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    assert!(joined.body["topic"]["settings"].get("confPin").is_none());
}

#[tokio::test]
async fn a_members_own_writes_do_not_undo_a_kick() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let id = app.create_space(&admin, "Race").await;
    let bob_path =
        format!("/api/spaces/{id}/attendees/userId/{}", bob_user["_id"].as_str().unwrap());
    for _ in 0..5 {
        app.post(&bob_path, Some(&jwt(&admin)), &json!({"role": "member"})).await;
        let spam: Vec<_> = (0..8)
            .map(|_| {
                let request = app
                    .client
                    .post(app.url(&format!("/api/users/me/spaces/{id}/markread")))
                    .header("authorization", jwt(&bob))
                    .json(&json!({}));
                tokio::spawn(async move { request.send().await.map(|r| r.status()) })
            })
            .collect();
        assert_eq!(app.delete(&bob_path, Some(&jwt(&admin))).await.status, StatusCode::OK);
        for request in spam {
            let status = request.await.unwrap().unwrap();
            assert!(status == StatusCode::OK || status == StatusCode::NOT_FOUND, "{status}");
        }
        app.get(&format!("/api/spaces/{id}/members"), Some(&jwt(&bob)))
            .await
            .assert_error(403, "permission.denied");
    }
}

#[tokio::test]
async fn racing_removals_answer_404_not_500() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let (_, bob_user) = app.register("bob@example.com").await;
    let id = app.create_space(&admin, "Twice").await;
    let bob_path =
        format!("/api/spaces/{id}/attendees/userId/{}", bob_user["_id"].as_str().unwrap());
    app.post(&bob_path, Some(&jwt(&admin)), &json!({"role": "member"})).await;
    let statuses = app
        .concurrently(6, || {
            app.client.delete(app.url(&bob_path)).header("authorization", jwt(&admin))
        })
        .await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn colleague_pages_skip_nobody_and_huge_pagerefs_are_harmless() {
    let app = spawn_app().await;
    let (me, _) = app.register("me@example.com").await;
    let id = app.create_space(&me, "Crowd").await;
    for i in 0..13 {
        let guest = app.anonymous(&format!("G{i}")).await;
        app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&guest))).await;
        let (user, _) = app.register(&format!("p{i:02}@example.com")).await;
        app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&user))).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/users/me/colleagues?size=5".to_owned();
    while !path.is_empty() {
        let page = app.get(&path, Some(&jwt(&me))).await;
        seen.extend(
            page.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        path = page.body["nextPageUrl"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen.len(), 13, "{seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 13);

    for pageref in ["9223372036854775807", "-9223372036854775808"] {
        let answer = app
            .get(&format!("/api/users/me/spaces?size=1&pageref={pageref}"), Some(&jwt(&me)))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
}
