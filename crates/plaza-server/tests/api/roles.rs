//! The role table of CONTRACT §4, checked through the real server: every action REST
//! offers, for an admin, a member, a guest, an anonymous guest, a non-member, and a
//! service app (as a member and as a non-member). Each attempt runs on a fresh space.

use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt, spawn_app};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Admin,
    Member,
    Guest,
    Anonymous,
    NonMember,
    ServiceAppMember,
    ServiceAppNonMember,
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Read,
    InviteGuest,
    InviteMember,
    InviteAdmin,
    ChangeRole,
    RemoveGuest,
    RemoveMember,
    Update,
    Archive,
    Delete,
}

/// CONTRACT §4: who may do what in a group space.
fn expected(who: Who, act: Act) -> bool {
    use Act::*;
    use Who::*;
    match who {
        Admin => true,
        Member | ServiceAppMember => matches!(act, Read | InviteGuest | RemoveGuest),
        Guest | Anonymous => matches!(act, Read),
        NonMember | ServiceAppNonMember => false,
    }
}

struct Cast {
    owner: String,
    member: String,
    guest: String,
    anonymous: String,
    outsider: String,
    service: String,
    service_id: String,
    /// Registered users to use as invitees and targets.
    spare: Vec<String>,
}

async fn cast(app: &TestApp) -> Cast {
    let (owner, _) = app.register("owner@example.com").await;
    let (member, _) = app.register("member@example.com").await;
    let (guest, _) = app.register("guest@example.com").await;
    let (outsider, _) = app.register("outsider@example.com").await;
    let anonymous = app.anonymous("Anon").await;
    let created =
        app.post("/api/admin/service-apps", Some(&jwt(&owner)), &json!({"name": "Bot"})).await;
    let (client_id, secret) = (
        created.body["data"]["clientId"].as_str().unwrap(),
        created.body["data"]["clientSecret"].as_str().unwrap(),
    );
    let granted = app
        .post_form(
            "/oauth2/access_token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ],
        )
        .await;
    let service = format!("service_app {}", granted.body["access_token"].as_str().unwrap());
    let service_id =
        app.get("/api/users/me", Some(&service)).await.body["_id"].as_str().unwrap().to_owned();
    let mut spare = Vec::new();
    for i in 0..2 {
        let (_, user) = app.register(&format!("spare{i}@example.com")).await;
        spare.push(user["_id"].as_str().unwrap().to_owned());
    }
    Cast { owner, member, guest, anonymous, outsider, service, service_id, spare }
}

/// A fresh space with everyone in their place, plus a spare guest and member to act on.
async fn stage(app: &TestApp, cast: &Cast) -> (String, String, String) {
    let id = app.create_space(&cast.owner, "Stage").await;
    let member_id = app.user_id(&cast.member).await;
    let admin = jwt(&cast.owner);
    for (user, role) in [
        (member_id.as_str(), "member"),
        (cast.service_id.as_str(), "member"),
        (cast.spare[1].as_str(), "member"),
    ] {
        app.post(
            &format!("/api/spaces/{id}/attendees/userId/{user}"),
            Some(&admin),
            &json!({"role": role}),
        )
        .await;
    }
    for token in [&cast.guest, &cast.anonymous] {
        app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(token))).await;
    }
    let target_guest = app.anonymous("Target").await;
    app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&target_guest))).await;
    let target_guest_id = app.user_id(&target_guest).await;
    (id, target_guest_id, cast.spare[1].clone())
}

async fn attempt(app: &TestApp, cast: &Cast, who: Who, act: Act) -> (u16, Value) {
    let (id, target_guest, target_member) = stage(app, cast).await;
    let auth = match who {
        Who::Admin => jwt(&cast.owner),
        Who::Member => jwt(&cast.member),
        Who::Guest => jwt(&cast.guest),
        Who::Anonymous => jwt(&cast.anonymous),
        Who::NonMember => jwt(&cast.outsider),
        Who::ServiceAppMember | Who::ServiceAppNonMember => cast.service.clone(),
    };
    if who == Who::ServiceAppNonMember {
        app.delete(
            &format!("/api/spaces/{id}/attendees/userId/{}", cast.service_id),
            Some(&jwt(&cast.owner)),
        )
        .await;
    }
    let invite = |role: &str| json!({"invitees": [{"inviteeType": "userId", "invitee": cast.spare[0], "role": role}]});
    let answer = match act {
        Act::Read => app.get(&format!("/api/spaces/{id}/members"), Some(&auth)).await,
        Act::InviteGuest => {
            app.post(&format!("/api/spaces/{id}/invite"), Some(&auth), &invite("guest")).await
        }
        Act::InviteMember => {
            app.post(&format!("/api/spaces/{id}/invite"), Some(&auth), &invite("member")).await
        }
        Act::InviteAdmin => {
            app.post(&format!("/api/spaces/{id}/invite"), Some(&auth), &invite("admin")).await
        }
        Act::ChangeRole => {
            app.post(
                &format!("/api/spaces/{id}/attendees/userId/{target_member}"),
                Some(&auth),
                &json!({"role": "admin"}),
            )
            .await
        }
        Act::RemoveGuest => {
            app.delete(
                &format!("/api/spaces/{id}/attendees/anonymousId/{target_guest}"),
                Some(&auth),
            )
            .await
        }
        Act::RemoveMember => {
            app.delete(&format!("/api/spaces/{id}/attendees/userId/{target_member}"), Some(&auth))
                .await
        }
        Act::Update => {
            app.post(&format!("/api/spaces/{id}"), Some(&auth), &json!({"description": "changed"}))
                .await
        }
        Act::Archive => {
            app.post(&format!("/api/spaces/{id}"), Some(&auth), &json!({"status": 1})).await
        }
        Act::Delete => app.delete(&format!("/api/spaces/{id}"), Some(&auth)).await,
    };
    (answer.status.as_u16(), answer.body)
}

#[tokio::test]
async fn every_action_for_every_kind_of_party_follows_the_role_table() {
    let app = spawn_app().await;
    let cast = cast(&app).await;
    let parties = [
        Who::Admin,
        Who::Member,
        Who::Guest,
        Who::Anonymous,
        Who::NonMember,
        Who::ServiceAppMember,
        Who::ServiceAppNonMember,
    ];
    let actions = [
        Act::Read,
        Act::InviteGuest,
        Act::InviteMember,
        Act::InviteAdmin,
        Act::ChangeRole,
        Act::RemoveGuest,
        Act::RemoveMember,
        Act::Update,
        Act::Archive,
        Act::Delete,
    ];
    let mut wrong = Vec::new();
    for who in parties {
        for act in actions {
            let (status, body) = attempt(&app, &cast, who, act).await;
            let allowed = (200..300).contains(&status);
            if allowed != expected(who, act) {
                wrong.push(format!("{who:?} {act:?}: got {status} {body}"));
            } else if !allowed && (status != 403 || body["code"] != "permission.denied") {
                wrong.push(format!(
                    "{who:?} {act:?}: denied with {status} {body} instead of 403 permission.denied"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "role table violations:\n{}", wrong.join("\n"));
}
