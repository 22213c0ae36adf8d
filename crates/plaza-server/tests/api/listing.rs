//! `GET /api/users/me/spaces`: every parameter of seed 003, and their combinations with
//! paging.

use std::collections::HashSet;

use plaza_core::{ObjectId, Timestamp};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Answer, TestApp, jwt, spawn_app};

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|s| s["_id"].as_str().expect("_id").to_owned())
        .collect()
}

/// Inserts `count` group spaces titled `{prefix} {i}` with `user_id` as admin, straight
/// into the server's SQLite file (creating thousands over REST would only slow the
/// test). Activity times increase with `i`.
async fn seed(app: &TestApp, user_id: &str, prefix: &str, count: usize) -> Vec<String> {
    let url = format!("sqlite://{}", app.data_dir.join("plaza.db").display());
    let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let base = Timestamp::now().millis() - 10 * count as i64;
    let mut created = Vec::with_capacity(count);
    let mut tx = sqlx::Connection::begin(&mut connection).await.unwrap();
    for chunk in (0..count).collect::<Vec<_>>().chunks(400) {
        let rows: Vec<(String, String, i64)> = chunk
            .iter()
            .map(|&i| (ObjectId::new().to_string(), format!("{prefix} {i}"), base + i as i64))
            .collect();
        let mut spaces = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO space (space_id, kind, title, description, status, settings, restrict_list, creator_id, created, modified) ",
        );
        spaces.push_values(&rows, |mut row, (id, title, at)| {
            row.push_bind(id)
                .push_bind("group")
                .push_bind(title)
                .push_bind("")
                .push_bind(0i64)
                .push_bind("{}")
                .push_bind("[]")
                .push_bind(user_id)
                .push_bind(at)
                .push_bind(at);
        });
        spaces.build().execute(&mut *tx).await.unwrap();
        let mut members = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO membership (space_id, user_id, role, state, join_time, hidden, last_access, activity_at, modified) ",
        );
        members.push_values(&rows, |mut row, (id, _, at)| {
            row.push_bind(id)
                .push_bind(user_id)
                .push_bind("admin")
                .push_bind("active")
                .push_bind(at)
                .push_bind(false)
                .push_bind(at)
                .push_bind(at)
                .push_bind(at);
        });
        members.build().execute(&mut *tx).await.unwrap();
        created.extend(rows.into_iter().map(|(id, ..)| id));
    }
    tx.commit().await.unwrap();
    created
}

/// Follows `nextPageUrl` from `first` to the end; returns every id in order.
async fn walk(app: &TestApp, token: &str, first: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = first.to_owned();
    while !path.is_empty() {
        let page = app.get(&path, Some(&jwt(token))).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        seen.extend(ids(&page));
        path = page.body["nextPageUrl"].as_str().unwrap().to_owned();
    }
    seen
}

#[tokio::test]
async fn cursor_paging_over_10_000_spaces_returns_each_once_while_spaces_are_created() {
    let app = spawn_app().await;
    let (token, user) = app.register("busy@example.com").await;
    let seeded = seed(&app, user["_id"].as_str().unwrap(), "seeded", 10_000).await;

    // Meanwhile, new spaces keep arriving at the top of the list.
    let writer = {
        let client = app.client.clone();
        let url = app.url("/api/spaces/invite");
        let auth = jwt(&token);
        tokio::spawn(async move {
            for i in 0..60 {
                let body = json!({"topic": {"title": format!("fresh {i}")}});
                let answer = client
                    .post(&url)
                    .header("authorization", &auth)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), StatusCode::OK);
            }
        })
    };
    let seen = walk(&app, &token, "/api/users/me/spaces?size=50").await;
    writer.await.unwrap();

    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no space appears twice");
    let seen_set: HashSet<&String> = unique;
    assert!(seeded.iter().all(|id| seen_set.contains(id)), "every seeded space appears");
    // Newest first: the seeded ones come in reverse creation order.
    let order: Vec<&String> = seen.iter().filter(|id| seeded.contains(id)).collect();
    let expected: Vec<&String> = seeded.iter().rev().collect();
    assert_eq!(order, expected);
}

#[tokio::test]
async fn spaces_are_ordered_by_recent_activity() {
    let app = spawn_app().await;
    let (token, _) = app.register("owner@example.com").await;
    let a = app.create_space(&token, "A").await;
    let b = app.create_space(&token, "B").await;
    let c = app.create_space(&token, "C").await;
    let auth = jwt(&token);
    let list = async || app.get("/api/users/me/spaces", Some(&auth)).await;
    assert_eq!(ids(&list().await), [c.clone(), b.clone(), a.clone()]);
    // A title change is activity...
    app.post(&format!("/api/spaces/{a}"), Some(&jwt(&token)), &json!({"title": "A renamed"})).await;
    assert_eq!(ids(&list().await), [a.clone(), c.clone(), b.clone()]);
    // ...and so is someone joining.
    let guest = app.anonymous("Guest").await;
    app.get(&format!("/api/spaces/{b}/join"), Some(&jwt(&guest))).await;
    assert_eq!(ids(&list().await), [b.clone(), a.clone(), c.clone()]);
    // A description change is not.
    app.post(&format!("/api/spaces/{c}"), Some(&jwt(&token)), &json!({"description": "quiet"}))
        .await;
    assert_eq!(ids(&list().await), [b, a, c]);

    let entry = &list().await.body["data"][0];
    for field in [
        "role",
        "isPinned",
        "notification",
        "unreadMessagesCount",
        "messagesLastReadTime",
        "lastAccess",
        "lastUpdateTime",
        "members",
        "settings",
        "type",
        "status",
        "title",
    ] {
        assert!(entry.get(field).is_some(), "listing entries carry {field}: {entry}");
    }
    assert_eq!(entry["role"], "admin");
}

#[tokio::test]
async fn size_defaults_to_10_and_is_capped_at_50() {
    let app = spawn_app().await;
    let (token, user) = app.register("owner@example.com").await;
    seed(&app, user["_id"].as_str().unwrap(), "s", 60).await;
    assert_eq!(ids(&app.get("/api/users/me/spaces", Some(&jwt(&token))).await).len(), 10);
    assert_eq!(ids(&app.get("/api/users/me/spaces?size=100", Some(&jwt(&token))).await).len(), 50);
    assert_eq!(ids(&app.get("/api/users/me/topics?size=3", Some(&jwt(&token))).await).len(), 3);
    for bad in ["size=0", "size=-1", "size=lots"] {
        app.get(&format!("/api/users/me/spaces?{bad}"), Some(&jwt(&token)))
            .await
            .assert_error(400, "request.invalid");
    }
}

#[tokio::test]
async fn page_mode_reports_from_and_to_and_refuses_mixing_with_tokens() {
    let app = spawn_app().await;
    let (token, user) = app.register("owner@example.com").await;
    let seeded = seed(&app, user["_id"].as_str().unwrap(), "s", 12).await;
    let newest: Vec<String> = seeded.iter().rev().cloned().collect();
    let page =
        app.get("/api/users/me/spaces?page=1&size=5&topictype=all", Some(&jwt(&token))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(ids(&page), newest[5..10]);
    assert_eq!((page.body["from"].as_u64(), page.body["to"].as_u64()), (Some(5), Some(9)));
    let next = page.body["nextPageUrl"].as_str().unwrap();
    assert!(
        next.starts_with("/api/users/me/spaces?")
            && next.contains("page=2")
            && next.contains("size=5")
            && next.contains("topictype=all"),
        "{next}"
    );
    assert!(page.body["previousPageUrl"].as_str().unwrap().contains("page=0"));
    let last = app.get(next, Some(&jwt(&token))).await;
    assert_eq!(ids(&last), newest[10..12]);
    assert_eq!(last.body["nextPageUrl"], "");
    let first = app.get("/api/users/me/spaces?page=0&size=5", Some(&jwt(&token))).await;
    assert_eq!(first.body["previousPageUrl"], "");
    for mixed in ["page=1&pageToken=abc", "page=1&after=5", "page=1&pageref=2"] {
        app.get(&format!("/api/users/me/spaces?{mixed}"), Some(&jwt(&token)))
            .await
            .assert_error(400, "request.invalid");
    }
    let beyond = app.get("/api/users/me/spaces?page=99&size=5", Some(&jwt(&token))).await;
    assert!(ids(&beyond).is_empty() && beyond.body.get("from").is_none());
}

#[tokio::test]
async fn page_tokens_go_forward_and_back_and_pageref_counts() {
    let app = spawn_app().await;
    let (token, user) = app.register("owner@example.com").await;
    let seeded = seed(&app, user["_id"].as_str().unwrap(), "s", 12).await;
    let newest: Vec<String> = seeded.iter().rev().cloned().collect();
    let first = app.get("/api/users/me/spaces?size=5&pageref=1", Some(&jwt(&token))).await;
    assert_eq!(ids(&first), newest[..5]);
    assert_eq!(first.body["previousPageUrl"], "");
    let next = first.body["nextPageUrl"].as_str().unwrap().to_owned();
    assert!(next.contains("pageToken=") && next.contains("pageref=2"), "{next}");
    let second = app.get(&next, Some(&jwt(&token))).await;
    assert_eq!(ids(&second), newest[5..10]);
    let back = second.body["previousPageUrl"].as_str().unwrap().to_owned();
    assert!(back.contains("pageref=1"), "{back}");
    assert_eq!(ids(&app.get(&back, Some(&jwt(&token))).await), newest[..5]);
    let third = app.get(second.body["nextPageUrl"].as_str().unwrap(), Some(&jwt(&token))).await;
    assert_eq!(ids(&third), newest[10..]);
    assert_eq!(third.body["nextPageUrl"], "");
    app.get("/api/users/me/spaces?pageToken=forged", Some(&jwt(&token)))
        .await
        .assert_error(400, "request.invalid");
    app.get("/api/users/me/spaces?pageref=x", Some(&jwt(&token)))
        .await
        .assert_error(400, "request.invalid");
}

#[tokio::test]
async fn after_search_and_search_with_paging() {
    let app = spawn_app().await;
    let (token, user) = app.register("owner@example.com").await;
    let user_id = user["_id"].as_str().unwrap();
    let mut alpha = seed(&app, user_id, "Alpha", 9).await;
    seed(&app, user_id, "Beta", 9).await;
    let cutoff = Timestamp::now().millis();
    let late = app.create_space(&token, "Gamma late").await;
    let since = app.get(&format!("/api/users/me/spaces?after={cutoff}"), Some(&jwt(&token))).await;
    assert_eq!(ids(&since), std::slice::from_ref(&late));
    app.get("/api/users/me/spaces?after=yesterday", Some(&jwt(&token)))
        .await
        .assert_error(400, "request.invalid");

    let search = |q: &str| {
        format!(
            "/api/users/me/spaces?size=50&search={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        )
    };
    assert_eq!(
        ids(&app.get(&search("^gamma"), Some(&jwt(&token))).await),
        std::slice::from_ref(&late)
    );
    assert_eq!(
        ids(&app.get(&search("late$"), Some(&jwt(&token))).await),
        std::slice::from_ref(&late)
    );
    assert!(ids(&app.get(&search("^late"), Some(&jwt(&token))).await).is_empty());
    assert_eq!(
        ids(&app.get(&search("ALPHA"), Some(&jwt(&token))).await).len(),
        9,
        "case-insensitive contains"
    );
    app.get(&search("(unclosed"), Some(&jwt(&token))).await.assert_error(400, "request.invalid");
    app.get(&search("a{1000}{1000}"), Some(&jwt(&token)))
        .await
        .assert_error(400, "request.invalid");
    let started = std::time::Instant::now();
    let nasty = app.get(&search("(a+)+$"), Some(&jwt(&token))).await;
    assert_eq!(nasty.status, StatusCode::OK);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "a backtracking-prone pattern is harmless"
    );

    // A search pages with tokens like any listing, and finds each match once.
    alpha.reverse();
    let walked = walk(&app, &token, "/api/users/me/spaces?size=4&search=alpha").await;
    assert_eq!(walked, alpha);
}

#[tokio::test]
async fn status_type_pinned_and_deleted_filters() {
    let app = spawn_app().await;
    let (token, user) = app.register("owner@example.com").await;
    let auth = jwt(&token);
    let (friend, friend_user) = app.register("friend@example.com").await;
    let group = app.create_space(&token, "Group").await;
    let archived = app.create_space(&token, "Old").await;
    app.post(&format!("/api/spaces/{archived}"), Some(&auth), &json!({"status": 1})).await;
    let direct = app
        .get(
            &format!("/api/spaces/direct/user/{}", friend_user["_id"].as_str().unwrap()),
            Some(&auth),
        )
        .await
        .body["data"][0]["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let personal =
        app.get("/api/users/meetingroom/owner@example.com", Some(&auth)).await.body["data"]["_id"]
            .as_str()
            .unwrap()
            .to_owned();
    let kicked_from = app.create_space(&friend, "Friend's").await;
    app.get(&format!("/api/spaces/{kicked_from}/join"), Some(&auth)).await;
    app.delete(
        &format!("/api/spaces/{kicked_from}/attendees/userId/{}", user["_id"].as_str().unwrap()),
        Some(&jwt(&friend)),
    )
    .await;

    let list =
        async |query: &str| app.get(&format!("/api/users/me/spaces?{query}"), Some(&auth)).await;
    let set = |answer: Answer| ids(&answer).into_iter().collect::<HashSet<_>>();
    let of = |items: &[&String]| items.iter().map(|s| (*s).clone()).collect::<HashSet<_>>();
    assert_eq!(set(list("").await), of(&[&group]));
    assert_eq!(
        set(list("topicstatus=1").await),
        of(&[&archived]),
        "admins see their archived spaces"
    );
    assert_eq!(set(list("topicstatus=all").await), of(&[&group, &archived]));
    assert_eq!(set(list("topictype=direct").await), of(&[&direct]));
    assert_eq!(set(list("topictype=personal").await), of(&[&personal]));
    assert_eq!(set(list("topictype=all").await), of(&[&group, &direct]));
    assert_eq!(set(list("topictype=group,personal").await), of(&[&group, &personal]));
    assert_eq!(
        set(list("topictype=all,personal&topicstatus=all").await),
        of(&[&group, &direct, &personal, &archived])
    );
    let deleted = list("includedeleted=true").await;
    assert_eq!(set(list("includedeleted=true").await), of(&[&group, &kicked_from]));
    let trimmed = deleted.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["_id"] == kicked_from.as_str())
        .unwrap()
        .clone();
    assert_eq!(trimmed["status"], 2);
    app.post(
        &format!("/api/users/me/topics/{group}/preference"),
        Some(&auth),
        &json!({"isPinned": true}),
    )
    .await;
    app.post(
        &format!("/api/users/me/topics/{direct}/preference"),
        Some(&auth),
        &json!({"isPinned": true}),
    )
    .await;
    assert_eq!(set(list("filtertype=pinned&topictype=all").await), of(&[&group, &direct]));
    let direct_entry = list("topictype=direct").await.body["data"][0].clone();
    assert!(
        direct_entry.get("lastMessage").is_some(),
        "direct spaces carry lastMessage: {direct_entry}"
    );
    assert_eq!(
        set(list("sortBy=lastMessage.modified&topictype=all").await),
        of(&[&group, &direct])
    );
    for bad in [
        "topicstatus=5",
        "topictype=secret",
        "filtertype=starred",
        "includedeleted=maybe",
        "sortBy=title",
    ] {
        list(bad).await.assert_error(400, "request.invalid");
    }
}
