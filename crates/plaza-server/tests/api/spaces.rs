//! Spaces over REST: create, read, update, delete, join, PINs, members, invitations,
//! roles, direct and personal spaces, and each user's state.

use plaza_core::events::DomainEvent;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{jwt, spawn_app, spawn_app_recording};

#[tokio::test]
async fn creating_a_space_makes_the_creator_admin_and_answers_the_topic_id() {
    let app = spawn_app().await;
    let (token, user) = app.register("owner@example.com").await;
    let answer = app
        .post("/api/spaces/invite", Some(&jwt(&token)), &json!({"topic": {"id": null, "title": "Design", "description": "UI work", "type": "group"}, "invitees": [], "informChannel": "server"}))
        .await;
    // 200, not 201: the Spaces clients check for 200.
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let id = answer.body["data"][0]["topicId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24);

    let space = app.get(&format!("/api/spaces/{id}"), Some(&jwt(&token))).await;
    assert_eq!(space.status, StatusCode::OK, "{}", space.text);
    assert_eq!(space.body["_id"], id.as_str(), "a bare object");
    assert_eq!(space.body["title"], "Design");
    assert_eq!(space.body["type"], "group");
    assert_eq!(space.body["status"], 0);
    assert_eq!(space.body["cid"], user["_id"]);
    assert_eq!(space.body["role"], "admin");
    assert_eq!(space.body["members"][0]["member"], user["_id"]);
    assert_eq!(space.body["members"][0]["memberType"], "userId");
    assert!(space.body["settings"]["confId"].as_str().is_some_and(|c| c.len() == 9));
    // The older /topics spelling reaches the same space.
    assert_eq!(
        app.get(&format!("/api/topics/{id}"), Some(&jwt(&token))).await.body["_id"],
        id.as_str()
    );
}

#[tokio::test]
async fn anonymous_users_cannot_create_spaces_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let guest = app.anonymous("Guest").await;
    app.post("/api/spaces/invite", Some(&jwt(&guest)), &json!({"topic": {"title": "Mine"}}))
        .await
        .assert_error(403, "permission.denied");
    let (token, _) = app.register("owner@example.com").await;
    let auth = jwt(&token);
    app.post("/api/spaces/invite", Some(&auth), &json!({"topic": {"title": "  "}}))
        .await
        .assert_error(400, "request.invalid");
    app.post("/api/spaces/invite", Some(&auth), &json!({"topic": {"title": "x".repeat(300)}}))
        .await
        .assert_error(400, "request.invalid");
    app.post(
        "/api/spaces/invite",
        Some(&auth),
        &json!({"topic": {"title": "d", "type": "direct"}}),
    )
    .await
    .assert_error(400, "request.invalid");
    app.post(
        "/api/spaces/invite",
        Some(&auth),
        &json!({"topic": {"title": "t"}, "invitees": [{"inviteeType": "phone", "invitee": "1"}]}),
    )
    .await
    .assert_error(400, "request.invalid");
    app.post("/api/spaces/invite", Some(&auth), &json!({"topic": {"title": "t"}, "invitees": [{"inviteeType": "userId", "invitee": "000000000000000000000000"}]}))
        .await
        .assert_error(400, "request.invalid");
    app.get("/api/spaces/000000000000000000000000", Some(&auth))
        .await
        .assert_error(404, "topic.not_found");
    app.get("/api/spaces/not-an-id", Some(&auth)).await.assert_error(404, "topic.not_found");
}

#[tokio::test]
async fn joining_makes_guests_with_a_join_time_and_honours_pins() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Open room").await;
    let (visitor, _) = app.register("visitor@example.com").await;

    // Without a PIN anyone signed in may look and join.
    assert_eq!(
        app.get(&format!("/api/spaces/{id}"), Some(&jwt(&visitor))).await.status,
        StatusCode::OK
    );
    let joined = app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&visitor))).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    assert_eq!(joined.body["topic"]["role"], "guest");
    assert!(
        joined.body["topic"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "guest" && m["joinTime"].is_string())
    );

    // A PIN: non-members need it, members do not.
    let pinned = app
        .post(
            &format!("/api/spaces/{id}"),
            Some(&jwt(&owner)),
            &json!({"settings": {"confPin": "4321"}}),
        )
        .await;
    assert_eq!(pinned.status, StatusCode::OK, "{}", pinned.text);
    let anonymous = app.anonymous("Anon").await;
    let path = format!("/api/spaces/{id}/join");
    app.get(&path, Some(&jwt(&anonymous))).await.assert_error(403, "topic.password_required");
    app.get_with_pin(&path, &anonymous, "0000").await.assert_error(403, "topic.password_invalid");
    app.get(&format!("/api/spaces/{id}"), Some(&jwt(&anonymous)))
        .await
        .assert_error(403, "topic.password_required");
    let with_pin = app.get_with_pin(&path, &anonymous, "4321").await;
    assert_eq!(with_pin.status, StatusCode::OK, "{}", with_pin.text);
    assert_eq!(with_pin.body["topic"]["role"], "guest");
    assert_eq!(
        app.get(&path, Some(&jwt(&visitor))).await.status,
        StatusCode::OK,
        "members need no PIN"
    );

    // memberOnly shuts the door on people without an invitation.
    app.post(
        &format!("/api/spaces/{id}"),
        Some(&jwt(&owner)),
        &json!({"settings": {"memberOnly": true, "confPin": null}}),
    )
    .await;
    let (late, _) = app.register("late@example.com").await;
    app.get(&path, Some(&jwt(&late))).await.assert_error(403, "topic.member_only");
}

#[tokio::test]
async fn admins_update_and_archive_and_changes_are_announced() {
    let (app, events) = spawn_app_recording().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let id = app.create_space(&owner, "Old title").await;
    app.post(
        &format!("/api/spaces/{id}/attendees/userId/{}", member_user["_id"].as_str().unwrap()),
        Some(&jwt(&owner)),
        &json!({"role": "member"}),
    )
    .await;
    let path = format!("/api/spaces/{id}");

    app.post(&path, Some(&jwt(&member)), &json!({"title": "Hijack"}))
        .await
        .assert_error(403, "permission.denied");
    let renamed = app
        .post(
            &path,
            Some(&jwt(&owner)),
            &json!({"title": "New title", "description": "d", "restrict": []}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["title"], "New title");
    assert_eq!(renamed.body["restrict"], json!([]));
    app.post(&path, Some(&jwt(&owner)), &json!({"settings": {"memberOnly": "yes"}}))
        .await
        .assert_error(400, "request.invalid");
    app.post(&path, Some(&jwt(&owner)), &json!({"settings": {"confId": "1"}}))
        .await
        .assert_error(400, "request.invalid");
    app.post(&path, Some(&jwt(&owner)), &json!({"bogus": 1}))
        .await
        .assert_error(400, "request.malformed");
    app.post(&path, Some(&jwt(&owner)), &json!({"status": 7}))
        .await
        .assert_error(400, "request.invalid");

    let archived = app.post(&path, Some(&jwt(&owner)), &json!({"status": 1})).await;
    assert_eq!(archived.body["status"], 1);
    app.post(&path, Some(&jwt(&owner)), &json!({"title": "While archived"}))
        .await
        .assert_error(403, "topic.archived");
    let (outsider, _) = app.register("outsider@example.com").await;
    app.get(&format!("{path}/join"), Some(&jwt(&outsider)))
        .await
        .assert_error(403, "topic.archived");
    let restored =
        app.post(&path, Some(&jwt(&owner)), &json!({"status": 0, "title": "Back"})).await;
    assert_eq!(
        (restored.body["status"].as_i64(), restored.body["title"].as_str()),
        (Some(0), Some("Back"))
    );

    let updates: Vec<_> = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            DomainEvent::SpaceUpdated { space, .. } => Some((space.title, space.status.code())),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates,
        [("New title".to_owned(), 0), ("New title".to_owned(), 1), ("Back".to_owned(), 0)]
    );
}

#[tokio::test]
async fn deleting_a_space_hides_it_but_lists_it_as_deleted() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Doomed").await;
    let deleted = app.delete(&format!("/api/spaces/{id}"), Some(&jwt(&owner))).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(deleted.body["status"], 2);
    app.get(&format!("/api/spaces/{id}"), Some(&jwt(&owner)))
        .await
        .assert_error(404, "topic.not_found");
    let listed = app
        .get("/api/users/me/spaces?topicstatus=all&includedeleted=true", Some(&jwt(&owner)))
        .await;
    let entry = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["_id"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(entry["status"], 2);
    assert!(entry.get("title").is_none(), "deleted entries are trimmed: {entry}");
    assert!(
        app.get("/api/users/me/spaces", Some(&jwt(&owner))).await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn members_are_paged_and_searched() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Crowd").await;
    for i in 0..5 {
        let (token, _) = app.register(&format!("person{i}@example.com")).await;
        app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&token))).await;
    }
    let first = app.get(&format!("/api/spaces/{id}/members?size=4"), Some(&jwt(&owner))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["total"], 6);
    assert_eq!(first.body["data"].as_array().unwrap().len(), 4);
    assert_eq!(first.body["data"][0]["role"], "admin");
    let next = first.body["nextPageUrl"].as_str().unwrap();
    assert_eq!(next, format!("/api/spaces/{id}/members?page=1&size=4"));
    let second = app.get(next, Some(&jwt(&owner))).await;
    assert_eq!(second.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(second.body["nextPageUrl"], "");
    let found =
        app.get(&format!("/api/spaces/{id}/members?search=PERSON3"), Some(&jwt(&owner))).await;
    assert_eq!(found.body["total"], 1);
    let (stranger, _) = app.register("stranger@example.com").await;
    app.get(&format!("/api/spaces/{id}/members"), Some(&jwt(&stranger)))
        .await
        .assert_error(403, "permission.denied");
    app.get(&format!("/api/spaces/{id}/members?size=0"), Some(&jwt(&owner)))
        .await
        .assert_error(400, "request.invalid");
}

#[tokio::test]
async fn email_invitations_are_accepted_by_link_with_their_role() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Invites").await;
    let invited = app
        .post(&format!("/api/spaces/{id}/invite"), Some(&jwt(&owner)), &json!({"invitees": [{"inviteeType": "email", "invitee": "New.Person@Example.com", "role": "member"}], "informChannel": "client"}))
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.text);
    let entry = &invited.body["data"][0];
    assert_eq!(entry["status"], "pending");
    assert!(entry["html"].as_str().unwrap().contains("/#/invite/"));
    let link = entry["joinUrl"].as_str().unwrap().trim_start_matches(&app.base).to_owned();

    let (other, _) = app.register("other@example.com").await;
    app.get(&link, Some(&jwt(&other))).await.assert_error(403, "permission.denied");
    let (person, _) = app.register("new.person@example.com").await;
    let accepted = app.get(&link, Some(&jwt(&person))).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    assert_eq!(accepted.body["topic"]["role"], "member");
    assert_eq!(
        app.get(&link, Some(&jwt(&person))).await.status,
        StatusCode::OK,
        "accepting again is harmless"
    );
    // In a guest's hands the link only joins them as a guest, like any link.
    let guest = app.anonymous("Link holder").await;
    let joined = app.get(&link, Some(&jwt(&guest))).await;
    assert_eq!(joined.body["topic"]["role"], "guest", "{}", joined.text);
    let (other_person, _) = app.register("someone.else@example.com").await;
    app.get(&link, Some(&jwt(&other_person))).await.assert_error(403, "permission.denied");
    app.get("/api/spaces/invites/000000000000000000000000/join", Some(&jwt(&person)))
        .await
        .assert_error(404, "invitation.not_found");
}

#[tokio::test]
async fn roles_change_but_a_space_always_keeps_an_admin() {
    let app = spawn_app().await;
    let (owner, owner_user) = app.register("owner@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let id = app.create_space(&owner, "Roles").await;
    let owner_id = owner_user["_id"].as_str().unwrap();
    let member_id = member_user["_id"].as_str().unwrap();
    let attendee = |user: &str| format!("/api/spaces/{id}/attendees/userId/{user}");

    // Adding a non-member by setting their role.
    let added =
        app.post(&attendee(member_id), Some(&jwt(&owner)), &json!({"role": "member"})).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(
        added.body,
        json!({"attendee": member_id, "attendeeType": "userId", "role": "member"})
    );
    app.post(&attendee(owner_id), Some(&jwt(&member)), &json!({"role": "guest"}))
        .await
        .assert_error(403, "permission.denied");
    app.post(&attendee(owner_id), Some(&jwt(&owner)), &json!({"role": "member"}))
        .await
        .assert_error(409, "topic.last_admin");
    app.delete(&attendee(owner_id), Some(&jwt(&owner))).await.assert_error(409, "topic.last_admin");
    app.post(&attendee(member_id), Some(&jwt(&owner)), &json!({"role": "boss"}))
        .await
        .assert_error(400, "request.invalid");

    // With a second admin, the first may step down.
    app.post(&attendee(member_id), Some(&jwt(&owner)), &json!({"role": "admin"})).await;
    let stepped =
        app.post(&attendee(owner_id), Some(&jwt(&owner)), &json!({"role": "member"})).await;
    assert_eq!(stepped.body["role"], "member");
    let anonymous = app.anonymous("Anon").await;
    let anon_id = app.user_id(&anonymous).await;
    app.post(
        &format!("/api/spaces/{id}/attendees/anonymousId/{anon_id}"),
        Some(&jwt(&member)),
        &json!({"role": "member"}),
    )
    .await
    .assert_error(400, "request.invalid");
}

#[tokio::test]
async fn who_may_remove_whom() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let (other, other_user) = app.register("other@example.com").await;
    let id = app.create_space(&owner, "Kicks").await;
    for user in [&member_user, &other_user] {
        app.post(
            &format!("/api/spaces/{id}/attendees/userId/{}", user["_id"].as_str().unwrap()),
            Some(&jwt(&owner)),
            &json!({"role": "member"}),
        )
        .await;
    }
    let guest = app.anonymous("Guest").await;
    app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&guest))).await;
    let guest_id = app.user_id(&guest).await;

    let path = |kind: &str, user: &str| format!("/api/spaces/{id}/attendees/{kind}/{user}");
    app.delete(&path("userId", other_user["_id"].as_str().unwrap()), Some(&jwt(&member)))
        .await
        .assert_error(403, "permission.denied");
    let kicked = app.delete(&path("anonymousId", &guest_id), Some(&jwt(&member))).await;
    assert_eq!(kicked.status, StatusCode::OK, "{}", kicked.text);
    assert_eq!(kicked.body["attendeeType"], "anonymousId");
    // A kicked guest can no longer read the space nor rejoin by link.
    app.get(&format!("/api/spaces/{id}/members"), Some(&jwt(&guest)))
        .await
        .assert_error(403, "permission.denied");
    app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&guest)))
        .await
        .assert_error(403, "permission.denied");
    // Anyone may leave; admins may remove anyone.
    assert_eq!(
        app.delete(&path("userId", other_user["_id"].as_str().unwrap()), Some(&jwt(&other)))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&path("userId", member_user["_id"].as_str().unwrap()), Some(&jwt(&owner)))
            .await
            .status,
        StatusCode::OK
    );
    app.delete(&path("userId", member_user["_id"].as_str().unwrap()), Some(&jwt(&owner)))
        .await
        .assert_error(404, "topic.member_not_found");
}

#[tokio::test]
async fn direct_spaces_are_got_or_created_once_and_locked_down() {
    let app = spawn_app().await;
    let (alice, alice_user) = app.register("alice@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let alice_id = alice_user["_id"].as_str().unwrap();
    let bob_id = bob_user["_id"].as_str().unwrap();

    // Both ask at once: one space.
    let (to_bob, to_alice) = (
        format!("/api/spaces/direct/user/{bob_id}"),
        format!("/api/spaces/direct/user/{alice_id}"),
    );
    let (alice_auth, bob_auth) = (jwt(&alice), jwt(&bob));
    let (a, b) =
        tokio::join!(app.get(&to_bob, Some(&alice_auth)), app.get(&to_alice, Some(&bob_auth)));
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "{} {}", a.text, b.text);
    let id = a.body["data"][0]["_id"].as_str().unwrap().to_owned();
    assert_eq!(b.body["data"][0]["_id"], id.as_str());
    let again = app.get(&format!("/api/topics/direct/user/{bob_id}"), Some(&jwt(&alice))).await;
    assert_eq!(again.body["data"][0]["_id"], id.as_str());
    let space = &again.body["data"][0];
    assert_eq!(space["type"], "direct");
    let members = space["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|m| m["role"] == "member"));

    let (carol, carol_user) = app.register("carol@example.com").await;
    app.post(
        &format!("/api/spaces/{id}/invite"),
        Some(&jwt(&alice)),
        &json!({"invitees": [{"inviteeType": "userId", "invitee": carol_user["_id"]}]}),
    )
    .await
    .assert_error(403, "permission.denied");
    app.delete(&format!("/api/spaces/{id}/attendees/userId/{bob_id}"), Some(&jwt(&alice)))
        .await
        .assert_error(403, "permission.denied");
    app.post(&format!("/api/spaces/{id}"), Some(&jwt(&alice)), &json!({"status": 1}))
        .await
        .assert_error(403, "permission.denied");
    app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&carol)))
        .await
        .assert_error(403, "permission.denied");
    app.get(&format!("/api/spaces/direct/user/{alice_id}"), Some(&jwt(&alice)))
        .await
        .assert_error(400, "request.invalid");
    app.get("/api/spaces/direct/user/000000000000000000000000", Some(&jwt(&alice)))
        .await
        .assert_error(404, "user.not_found");
    app.get(&format!("/api/spaces/direct/robot/{bob_id}"), Some(&jwt(&alice)))
        .await
        .assert_error(400, "request.invalid");

    // With an anonymous guest, only after sharing a space.
    let guest = app.anonymous("Guest").await;
    let guest_id = app.user_id(&guest).await;
    app.get(&format!("/api/spaces/direct/anonymous/{guest_id}"), Some(&jwt(&alice)))
        .await
        .assert_error(403, "permission.denied");
    let room = app.create_space(&alice, "Lobby").await;
    app.get(&format!("/api/spaces/{room}/join"), Some(&jwt(&guest))).await;
    let with_guest =
        app.get(&format!("/api/spaces/direct/anonymous/{guest_id}"), Some(&jwt(&alice))).await;
    assert_eq!(with_guest.status, StatusCode::OK, "{}", with_guest.text);
}

#[tokio::test]
async fn every_user_has_one_personal_room_that_admits_guests_only() {
    let app = spawn_app().await;
    let (owner, owner_user) = app.register("host@example.com").await;
    let (visitor, visitor_user) = app.register("visitor@example.com").await;
    let room = app.get("/api/users/meetingroom/HOST@example.com", Some(&jwt(&visitor))).await;
    assert_eq!(room.status, StatusCode::OK, "{}", room.text);
    let id = room.body["data"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(room.body["data"]["type"], "personal");
    assert_eq!(room.body["data"]["preview"], true, "the visitor is not in it yet");
    let again = app.get("/api/users/meetingroom/host@example.com", Some(&jwt(&owner))).await;
    assert_eq!(again.body["data"]["_id"], id.as_str());
    assert_eq!(again.body["data"]["role"], "admin");
    assert_eq!(again.body["data"]["cid"], owner_user["_id"]);
    let invite = |role: &str| json!({"invitees": [{"inviteeType": "userId", "invitee": visitor_user["_id"], "role": role}]});
    app.post(&format!("/api/spaces/{id}/invite"), Some(&jwt(&owner)), &invite("member"))
        .await
        .assert_error(403, "permission.denied");
    let guest =
        app.post(&format!("/api/spaces/{id}/invite"), Some(&jwt(&owner)), &invite("guest")).await;
    assert_eq!(guest.body["data"][0]["role"], "guest");
    app.delete(&format!("/api/spaces/{id}"), Some(&jwt(&owner)))
        .await
        .assert_error(403, "permission.denied");
    app.get("/api/users/meetingroom/nobody@example.com", Some(&jwt(&owner)))
        .await
        .assert_error(404, "user.not_found");
}

#[tokio::test]
async fn per_user_state_markread_hide_unhide_and_preferences() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Mine").await;
    let auth = jwt(&owner);
    let read =
        app.post(&format!("/api/users/me/spaces/{id}/markread"), Some(&auth), &json!({})).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["data"]["unreadMessagesCount"], 0);
    assert!(read.body["data"]["messagesLastReadTime"].is_string());

    let pinned = app
        .post(
            &format!("/api/users/me/topics/{id}/preference"),
            Some(&auth),
            &json!({"isPinned": true}),
        )
        .await;
    assert_eq!(pinned.body["data"], json!({"topicId": id, "isPinned": true, "notification": null}));
    let muted = app
        .post(
            &format!("/api/users/me/topics/{id}/preference"),
            Some(&auth),
            &json!({"notification": false}),
        )
        .await;
    assert_eq!(muted.body["data"]["isPinned"], true, "absent fields are left alone");
    let cleared = app
        .post(
            &format!("/api/users/me/topics/{id}/preference"),
            Some(&auth),
            &json!({"isPinned": null}),
        )
        .await;
    assert_eq!(cleared.body["data"]["isPinned"], json!(null));
    app.post(
        &format!("/api/users/me/topics/{id}/preference"),
        Some(&auth),
        &json!({"isPinned": "yes"}),
    )
    .await
    .assert_error(400, "request.malformed");

    let hidden =
        app.post(&format!("/api/users/me/spaces/{id}/hide"), Some(&auth), &json!({})).await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.text);
    assert_eq!(hidden.body["status"], 4);
    assert_eq!(hidden.body["targetType"], "topic");
    assert!(
        app.get("/api/users/me/spaces", Some(&auth)).await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let shown =
        app.post(&format!("/api/users/me/topics/{id}/unhide"), Some(&auth), &json!({})).await;
    assert_eq!(shown.body["status"], 0);
    assert_eq!(
        app.get("/api/users/me/spaces", Some(&auth)).await.body["data"].as_array().unwrap().len(),
        1
    );
    let (stranger, _) = app.register("stranger@example.com").await;
    app.post(&format!("/api/users/me/spaces/{id}/markread"), Some(&jwt(&stranger)), &json!({}))
        .await
        .assert_error(404, "topic.member_not_found");
}

#[tokio::test]
async fn colleagues_and_people_with_direct_spaces() {
    let app = spawn_app().await;
    let (me, me_user) = app.register("me@example.com").await;
    let (ann, ann_user) = app.register("ann@example.com").await;
    let (_, bob_user) = app.register("bob@example.com").await;
    let id = app.create_space(&me, "Team").await;
    app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&ann))).await;
    app.get(
        &format!("/api/spaces/direct/user/{}", bob_user["_id"].as_str().unwrap()),
        Some(&jwt(&me)),
    )
    .await;
    let names = |answer: &crate::helpers::Answer| {
        answer.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let colleagues = app.get("/api/users/me/colleagues", Some(&jwt(&me))).await;
    assert_eq!(names(&colleagues), ["ann@example.com", "bob@example.com"]);
    let by_id = app
        .get(
            &format!("/api/users/{}/colleagues?search=^ann", me_user["_id"].as_str().unwrap()),
            Some(&jwt(&me)),
        )
        .await;
    assert_eq!(names(&by_id), ["ann@example.com"]);
    let paged = app.get("/api/users/me/colleagues?size=1", Some(&jwt(&me))).await;
    assert_eq!(paged.body["nextPageUrl"], "/api/users/me/colleagues?page=1&size=1");
    let dms = app.get("/api/users/me/people/withdm", Some(&jwt(&me))).await;
    assert_eq!(names(&dms), ["bob@example.com"]);
    app.get(
        &format!("/api/users/{}/colleagues", ann_user["_id"].as_str().unwrap()),
        Some(&jwt(&me)),
    )
    .await
    .assert_error(403, "permission.denied");
}
