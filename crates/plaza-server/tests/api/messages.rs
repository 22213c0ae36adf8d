//! Messages over REST: chats, posts and tasks, comments, edits, deletes, history, and
//! what guests may read.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{jwt, spawn_app};

#[tokio::test]
async fn chats_posts_tasks_and_comments_are_created_and_read_back() {
    let app = spawn_app().await;
    let (owner, owner_user) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Work").await;
    let auth = jwt(&owner);
    let chat = app
        .post(
            &format!("/api/spaces/{id}/chats"),
            Some(&auth),
            &json!({"content": {"bodyText": "<p>hi</p>"}}),
        )
        .await;
    assert_eq!(chat.status, StatusCode::CREATED, "{}", chat.text);
    let chat = &chat.body["data"];
    assert_eq!(
        (chat["category"].as_str(), chat["topicId"].as_str()),
        (Some("chat"), Some(id.as_str()))
    );
    assert_eq!(chat["sender"]["_id"], owner_user["_id"]);
    assert_eq!(chat["content"]["bodyText"], "<p>hi</p>", "bodies are stored as given");

    let post = app
        .post(
            &format!("/api/spaces/{id}/ideas"),
            Some(&auth),
            &json!({"content": {"bodyText": "Plan", "description": "Details"}}),
        )
        .await;
    let post_id = post.body["data"]["_id"].as_str().unwrap().to_owned();
    let task = app
        .post(&format!("/api/topics/{id}/tasks"), Some(&auth), &json!({"content": {"bodyText": "Ship it"}, "assignees": [owner_user["_id"]], "dueDate": "2026-12-24T10:00:00.000Z", "status": 0}))
        .await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text);
    assert_eq!(task.body["data"]["content"]["assignees"], json!([{"_id": owner_user["_id"]}]));
    assert_eq!(task.body["data"]["content"]["status"], "pending");

    for text in ["first", "second"] {
        let comment = app
            .post(
                &format!("/api/spaces/{id}/chats"),
                Some(&auth),
                &json!({"content": {"bodyText": text}, "parentMsg": {"_id": post_id}}),
            )
            .await;
        assert_eq!(comment.status, StatusCode::CREATED, "{}", comment.text);
    }
    let comments = app.get(&format!("/api/ideas/{post_id}/messages"), Some(&auth)).await;
    assert_eq!(comments.body["chatCount"], 2);
    assert_eq!(comments.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(app.get(&format!("/api/spaces/{id}/ideas"), Some(&auth)).await.body["total"], 1);
    assert_eq!(app.get(&format!("/api/spaces/{id}/tasks"), Some(&auth)).await.body["total"], 1);
    let history = app.get(&format!("/api/spaces/{id}/messages/query?size=2"), Some(&auth)).await;
    assert_eq!(
        history.body["data"].as_array().unwrap().len(),
        2,
        "comments are not top-level history"
    );
    assert_eq!(history.body["data"][0]["category"], "task", "newest first");
    let next = history.body["nextPageUrl"].as_str().unwrap();
    let older = app.get(next, Some(&auth)).await;
    assert_eq!(older.body["data"][0]["category"], "chat");

    app.post(
        &format!("/api/spaces/{id}/chats"),
        Some(&auth),
        &json!({"content": {"bodyText": "  "}}),
    )
    .await
    .assert_error(400, "request.invalid");
    app.post(
        &format!("/api/spaces/{id}/tasks"),
        Some(&auth),
        &json!({"content": {"bodyText": "x", "dueDate": "someday"}}),
    )
    .await
    .assert_error(400, "request.invalid");
    let huge = json!({"content": {"bodyText": "x".repeat(70_000)}});
    app.post(&format!("/api/spaces/{id}/chats"), Some(&auth), &huge)
        .await
        .assert_error(413, "message.too_large");
    app.post(
        &format!("/api/spaces/{id}/chats"),
        Some(&auth),
        &json!({"content": {"bodyText": "c"}, "parentMsg": {"_id": chat["_id"]}}),
    )
    .await
    .assert_error(400, "request.invalid");
}

#[tokio::test]
async fn edits_detect_concurrent_changes_and_deletes_announce_themselves() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Edits").await;
    let auth = jwt(&owner);
    let created = app
        .post(
            &format!("/api/spaces/{id}/chats"),
            Some(&auth),
            &json!({"content": {"bodyText": "v1"}}),
        )
        .await;
    let message = created.body["data"].clone();
    let path = format!("/api/messages/{}", message["_id"].as_str().unwrap());
    let edited = app
        .post(
            &path,
            Some(&auth),
            &json!({"content": {"bodyText": "v2"}, "modified": message["modified"]}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(edited.body["data"]["content"]["bodyText"], "v2");
    // A second writer who read v1 is told the message changed (400, as in Spaces).
    let stale = app
        .post(
            &path,
            Some(&auth),
            &json!({"content": {"bodyText": "v2b"}, "modified": message["modified"]}),
        )
        .await;
    stale.assert_error(400, "message.modified_concurrently");
    let deleted = app.delete(&path, Some(&auth)).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["data"]["deleted"], true);
    assert_eq!(deleted.body["data"]["content"], json!({}));
    app.get(&path, Some(&auth)).await.assert_error(404, "message.not_found");
    app.delete(&path, Some(&auth)).await.assert_error(404, "message.not_found");
}

#[tokio::test]
async fn who_may_write_edit_and_delete_what() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let id = app.create_space(&owner, "Rules").await;
    app.post(
        &format!("/api/spaces/{id}/attendees/userId/{}", member_user["_id"].as_str().unwrap()),
        Some(&jwt(&owner)),
        &json!({"role": "member"}),
    )
    .await;
    let guest = app.anonymous("Guest").await;
    app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&guest))).await;

    // Guests chat but do not post.
    let guest_chat = app
        .post(
            &format!("/api/spaces/{id}/chats"),
            Some(&jwt(&guest)),
            &json!({"content": {"bodyText": "hello"}}),
        )
        .await;
    assert_eq!(guest_chat.status, StatusCode::CREATED);
    app.post(
        &format!("/api/spaces/{id}/ideas"),
        Some(&jwt(&guest)),
        &json!({"content": {"bodyText": "idea"}}),
    )
    .await
    .assert_error(403, "permission.denied");
    // Members edit their own messages only; admins edit anyone's.
    let member_chat = app
        .post(
            &format!("/api/spaces/{id}/chats"),
            Some(&jwt(&member)),
            &json!({"content": {"bodyText": "mine"}}),
        )
        .await;
    let member_path =
        format!("/api/messages/{}", member_chat.body["data"]["_id"].as_str().unwrap());
    let guest_path = format!("/api/messages/{}", guest_chat.body["data"]["_id"].as_str().unwrap());
    app.post(&guest_path, Some(&jwt(&member)), &json!({"content": {"bodyText": "hijack"}}))
        .await
        .assert_error(403, "permission.denied");
    assert_eq!(
        app.post(
            &member_path,
            Some(&jwt(&member)),
            &json!({"content": {"bodyText": "mine, edited"}})
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(app.delete(&guest_path, Some(&jwt(&owner))).await.status, StatusCode::OK);
    // Outsiders see nothing.
    let (stranger, _) = app.register("stranger@example.com").await;
    app.get(&member_path, Some(&jwt(&stranger))).await.assert_error(404, "message.not_found");
    app.post(
        &format!("/api/spaces/{id}/chats"),
        Some(&jwt(&stranger)),
        &json!({"content": {"bodyText": "hi"}}),
    )
    .await
    .assert_error(403, "permission.denied");
    // Someone who could join by link reads what a guest joining now would: nothing.
    let before_joining =
        app.get(&format!("/api/spaces/{id}/messages/query"), Some(&jwt(&stranger))).await;
    assert_eq!(before_joining.status, StatusCode::OK, "{}", before_joining.text);
    assert_eq!(before_joining.body["data"], json!([]));
    // Direct spaces hold chat only.
    let direct = app
        .get(
            &format!("/api/spaces/direct/user/{}", member_user["_id"].as_str().unwrap()),
            Some(&jwt(&owner)),
        )
        .await;
    let direct_id = direct.body["data"][0]["_id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/spaces/{direct_id}/tasks"),
        Some(&jwt(&owner)),
        &json!({"content": {"bodyText": "t"}}),
    )
    .await
    .assert_error(403, "permission.denied");
}

#[tokio::test]
async fn guests_read_only_what_came_after_they_joined_and_unread_counts_follow() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "History").await;
    let before = app
        .post(
            &format!("/api/spaces/{id}/chats"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": "before"}}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let guest = app.anonymous("Late").await;
    app.get(&format!("/api/spaces/{id}/join"), Some(&jwt(&guest))).await;
    app.post(
        &format!("/api/spaces/{id}/chats"),
        Some(&jwt(&owner)),
        &json!({"content": {"bodyText": "after"}}),
    )
    .await;
    let seen = app.get(&format!("/api/spaces/{id}/messages/query"), Some(&jwt(&guest))).await;
    let texts: Vec<_> = seen.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["bodyText"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["after"]);
    let old = format!("/api/messages/{}", before.body["data"]["_id"].as_str().unwrap());
    app.get(&old, Some(&jwt(&guest))).await.assert_error(404, "message.not_found");

    let listed = app.get("/api/users/me/spaces", Some(&jwt(&guest))).await;
    assert_eq!(listed.body["data"][0]["unreadMessagesCount"], 1);
    app.post(&format!("/api/users/me/spaces/{id}/markread"), Some(&jwt(&guest)), &json!({})).await;
    let listed = app.get("/api/users/me/spaces", Some(&jwt(&guest))).await;
    assert_eq!(listed.body["data"][0]["unreadMessagesCount"], 0);
}

#[tokio::test]
async fn direct_spaces_in_the_listing_carry_their_last_message() {
    let app = spawn_app().await;
    let (alice, _) = app.register("alice@example.com").await;
    let (_, bob_user) = app.register("bob@example.com").await;
    let direct = app
        .get(
            &format!("/api/spaces/direct/user/{}", bob_user["_id"].as_str().unwrap()),
            Some(&jwt(&alice)),
        )
        .await;
    let id = direct.body["data"][0]["_id"].as_str().unwrap().to_owned();
    let listed = app.get("/api/users/me/spaces?topictype=direct", Some(&jwt(&alice))).await;
    assert_eq!(listed.body["data"][0]["lastMessage"], json!(null));
    for text in ["first", "latest"] {
        app.post(
            &format!("/api/spaces/{id}/chats"),
            Some(&jwt(&alice)),
            &json!({"content": {"bodyText": text}}),
        )
        .await;
    }
    let listed = app.get("/api/users/me/spaces?topictype=direct", Some(&jwt(&alice))).await;
    let last = &listed.body["data"][0]["lastMessage"];
    assert_eq!(last["content"]["bodyText"], "latest");
    assert_eq!(last["content"]["sender"]["username"], "alice@example.com");
}

#[tokio::test]
async fn bulk_deletes_report_on_every_id() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let id = app.create_space(&owner, "Bulk").await;
    app.post(
        &format!("/api/spaces/{id}/attendees/userId/{}", member_user["_id"].as_str().unwrap()),
        Some(&jwt(&owner)),
        &json!({"role": "member"}),
    )
    .await;
    let mine = app
        .post(
            &format!("/api/spaces/{id}/chats"),
            Some(&jwt(&member)),
            &json!({"content": {"bodyText": "mine"}}),
        )
        .await;
    let theirs = app
        .post(
            &format!("/api/spaces/{id}/chats"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": "theirs"}}),
        )
        .await;
    let mine = mine.body["data"]["_id"].as_str().unwrap().to_owned();
    let theirs = theirs.body["data"]["_id"].as_str().unwrap().to_owned();
    let ids = json!({"messageIds": [mine, theirs, "000000000000000000000000", "junk"]});
    let report = app.post("/api/messages/deletemessages", Some(&jwt(&member)), &ids).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["deletedMessages"], json!([mine]));
    let refused = &report.body["noPermittedMessages"];
    assert_eq!(refused.as_array().map(Vec::len), Some(1), "{}", report.text);
    assert_eq!(refused[0]["messageId"], json!(theirs));
    assert!(refused[0]["reason"]["code"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(report.body["notFoundMmessages"], json!(["000000000000000000000000", "junk"]));
    assert_eq!(report.body["notDeletedMessages"], json!([]));
    let too_many: Vec<String> = (0..101).map(|_| "000000000000000000000000".to_owned()).collect();
    app.post("/api/messages/deletemessages", Some(&jwt(&owner)), &json!({"messageIds": too_many}))
        .await
        .assert_error(400, "request.invalid");
    app.post("/api/messages/deletemessages", Some(&jwt(&owner)), &json!({"messageIds": []}))
        .await
        .assert_error(400, "request.invalid");
}

/// The `bodyText`s of a page, in order.
fn texts(answer: &crate::helpers::Answer) -> Vec<String> {
    answer.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {}", answer.text))
        .iter()
        .map(|m| m["content"]["bodyText"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn the_message_query_filters_and_pages_both_ways() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let id = app.create_space(&owner, "Query").await;
    let auth = jwt(&owner);
    let send = |kind: &'static str, body: serde_json::Value| {
        let app = &app;
        let auth = auth.clone();
        let path = format!("/api/spaces/{id}/{kind}");
        async move {
            let answer = app.post(&path, Some(&auth), &body).await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
            answer.body["data"]["_id"].as_str().unwrap().to_owned()
        }
    };
    let attached = crate::files::upload(&app, &owner, "text/plain", b"notes".to_vec()).await;
    for i in 1..=5 {
        send("chats", json!({"content": {"bodyText": format!("chat {i}")}})).await;
        // Distinct milliseconds, so that the time queries below have clear edges.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let post =
        send("ideas", json!({"content": {"bodyText": "Roadmap", "description": "the 50% PLAN"}}))
            .await;
    let task =
        send("tasks", json!({"content": {"bodyText": "Fix"}, "assignees": [], "status": 0})).await;
    send("chats", json!({"content": {"bodyText": "on post"}, "parentMsg": {"_id": post}})).await;
    send("chats", json!({"content": {"bodyText": "on task"}, "parentMsg": {"_id": task}})).await;
    send(
        "chats",
        json!({"content": {"bodyText": "", "data": [{"fileId": attached, "name": "a.txt"}]}}),
    )
    .await;

    let query = |params: &str| {
        let (app, auth, path) = (&app, &auth, format!("/api/spaces/{id}/messages/query?{params}"));
        async move { app.get(&path, Some(auth)).await }
    };
    assert_eq!(texts(&query("searchstring=50%25%20plan").await), ["Roadmap"]);
    assert_eq!(texts(&query("parentmsg_category=idea").await), ["on post"]);
    assert_eq!(texts(&query("parentmsg_category=task").await), ["on task"]);
    assert_eq!(texts(&query("file_only=y").await), [""]);
    assert_eq!(texts(&query("category=idea,task").await), ["Fix", "Roadmap"]);
    assert_eq!(texts(&query("chatmsg_only=yes&size=2").await), ["", "chat 5"]);
    query("parentmsg_category=poll").await.assert_error(400, "request.invalid");
    query("file_only=perhaps").await.assert_error(400, "request.invalid");
    query(&format!("searchstring={}", "x".repeat(201))).await.assert_error(400, "request.invalid");

    // Paging back with nextPageUrl, then forward again with previousPageUrl; the
    // filters ride along.
    let first = query("category=chat&size=2&pageref=7").await;
    assert_eq!(texts(&first), ["", "chat 5"]);
    assert_eq!(first.body["previousPageUrl"], "", "nothing is newer than the newest page");
    let next = first.body["nextPageUrl"].as_str().unwrap().to_owned();
    assert!(next.contains("category=chat") && next.contains("pageref=7"), "{next}");
    let second = app.get(&next, Some(&auth)).await;
    assert_eq!(texts(&second), ["chat 4", "chat 3"]);
    let third = app.get(second.body["nextPageUrl"].as_str().unwrap(), Some(&auth)).await;
    assert_eq!(texts(&third), ["chat 2", "chat 1"]);
    assert_eq!(third.body["nextPageUrl"], "", "nothing is older than the first message");
    let back = app.get(third.body["previousPageUrl"].as_str().unwrap(), Some(&auth)).await;
    assert_eq!(texts(&back), ["chat 4", "chat 3"], "the page just newer, newest first");

    // By time: before and after a reference time.
    let all = query("category=chat&size=50").await;
    let created = |text: &str| {
        all.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["content"]["bodyText"] == text)
            .map(|m| m["created"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let before =
        query(&format!("category=chat&direction=before&refTime={}", created("chat 2"))).await;
    assert_eq!(texts(&before), ["chat 1"]);
    let after = query(&format!("category=chat&size=1&refTime={}", created("chat 4"))).await;
    assert_eq!(texts(&after), ["chat 5"], "after is the default direction with refTime");
    query("refTime=yesterday").await.assert_error(400, "request.invalid");
    query("nextRefObjId=000000000000000000000000").await.assert_error(400, "request.invalid");
}

#[tokio::test]
async fn my_posts_tasks_and_changed_messages_span_my_spaces() {
    let app = spawn_app().await;
    let (ann, _) = app.register("ann@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let bob_id = bob_user["_id"].as_str().unwrap().to_owned();
    let work = app.create_space(&ann, "Work").await;
    let home = app.create_space(&ann, "Home").await;
    let secret = app.create_space(&ann, "Secret").await;
    for space in [&work, &home] {
        app.post(
            &format!("/api/spaces/{space}/attendees/userId/{bob_id}"),
            Some(&jwt(&ann)),
            &json!({"role": "member"}),
        )
        .await;
    }
    let create = |space: &str, kind: &str, token: &str, body: serde_json::Value| {
        let (app, path, token) = (&app, format!("/api/spaces/{space}/{kind}"), jwt(token));
        async move {
            let answer = app.post(&path, Some(&token), &body).await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
            answer.body["data"].clone()
        }
    };
    create(&work, "ideas", &bob, json!({"content": {"bodyText": "Bob's idea"}})).await;
    create(&home, "ideas", &ann, json!({"content": {"bodyText": "Ann's idea"}})).await;
    let for_bob = json!({"content": {"bodyText": "Bob fixes"}, "assignees": [bob_id], "status": 0});
    let task = create(&work, "tasks", &ann, for_bob).await;
    create(
        &home,
        "tasks",
        &ann,
        json!({"content": {"bodyText": "Bob done", "status": "completed"}, "assignees": [bob_id]}),
    )
    .await;
    create(
        &secret,
        "tasks",
        &ann,
        json!({"content": {"bodyText": "Not Bob's"}, "assignees": [bob_id]}),
    )
    .await;

    let bob_auth = jwt(&bob);
    assert_eq!(texts(&app.get("/api/users/me/ideas", Some(&bob_auth)).await), ["Bob's idea"]);
    let tasks = app.get("/api/users/me/tasks", Some(&bob_auth)).await;
    assert_eq!(texts(&tasks), ["Bob done", "Bob fixes"], "only spaces Bob is in");
    let pending = app.get("/api/users/me/tasks?status=pending", Some(&bob_auth)).await;
    assert_eq!(texts(&pending), ["Bob fixes"]);
    assert_eq!(pending.body["data"][0]["topicId"], work.as_str());
    let completed = app.get("/api/users/me/tasks?status=1", Some(&bob_auth)).await;
    assert_eq!(texts(&completed), ["Bob done"]);
    app.get("/api/users/me/tasks?status=later", Some(&bob_auth))
        .await
        .assert_error(400, "request.invalid");

    // Completing the task moves it between the lists.
    let task_id = task["_id"].as_str().unwrap();
    let done = app
        .post(
            &format!("/api/messages/{task_id}"),
            Some(&jwt(&ann)),
            &json!({"content": {"status": "completed"}}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(
        texts(&app.get("/api/users/me/tasks?status=pending", Some(&bob_auth)).await).is_empty()
    );

    // Changes across named spaces, oldest change first, paged by token; the edited
    // task comes last, spaces Bob cannot read are reported, not read.
    let list = format!("{work},{home},{secret}");
    let changed =
        app.get(&format!("/api/users/me/messages?spacelist={list}&size=2"), Some(&bob_auth)).await;
    assert_eq!(texts(&changed), ["Bob's idea", "Ann's idea"]);
    assert_eq!(changed.body["skippedSpaces"], json!([secret]));
    let rest = app.get(changed.body["nextPageUrl"].as_str().unwrap(), Some(&bob_auth)).await;
    assert_eq!(texts(&rest), ["Bob done", "Bob fixes"]);
    let since = app
        .get(
            &format!(
                "/api/users/me/messages?spacelist={work}&after={}",
                done.body["data"]["modified"].as_str().unwrap()
            ),
            Some(&bob_auth),
        )
        .await;
    assert!(texts(&since).is_empty(), "nothing changed after the last edit");
    app.get("/api/users/me/messages", Some(&bob_auth)).await.assert_error(400, "request.invalid");
    let sixteen = vec![work.clone(); 16].join(",");
    app.get(&format!("/api/users/me/messages?spacelist={sixteen}"), Some(&bob_auth))
        .await
        .assert_error(400, "request.invalid");
    app.get("/api/users/me/messages?spacelist=nope", Some(&bob_auth))
        .await
        .assert_error(400, "request.invalid");
}

#[tokio::test]
async fn an_assignee_may_complete_a_task_but_not_rewrite_it() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (doer, doer_user) = app.register("doer@example.com").await;
    let (bystander, bystander_user) = app.register("bystander@example.com").await;
    let space = app.create_space(&owner, "Work").await;
    for user in [&doer_user, &bystander_user] {
        let added = app
            .post(
                &format!("/api/spaces/{space}/attendees/userId/{}", user["_id"].as_str().unwrap()),
                Some(&jwt(&owner)),
                &json!({"role": "member"}),
            )
            .await;
        assert!(added.status.is_success(), "{}", added.text);
    }
    let task = app
        .post(
            &format!("/api/spaces/{space}/tasks"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": "Ship", "description": "Ship it", "status": "pending", "assignees": [doer_user["_id"]]}}),
        )
        .await;
    assert!(task.status.is_success(), "{}", task.text);
    let id = task.body["_id"].as_str().or(task.body["data"]["_id"].as_str()).unwrap().to_owned();
    let path = format!("/api/messages/{id}");

    let done =
        app.post(&path, Some(&jwt(&doer)), &json!({"content": {"status": "completed"}})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let stored = app.get(&path, Some(&jwt(&owner))).await;
    assert_eq!(stored.body["data"]["content"]["status"], "completed", "{}", stored.text);
    assert_eq!(stored.body["data"]["content"]["description"], "Ship it");
    // Only the status: anything else is still the author's (or an admin's) to change.
    app.post(
        &path,
        Some(&jwt(&doer)),
        &json!({"content": {"status": "pending", "description": "mine now"}}),
    )
    .await
    .assert_error(403, "permission.denied");
    app.post(&path, Some(&jwt(&bystander)), &json!({"content": {"status": "pending"}}))
        .await
        .assert_error(403, "permission.denied");
    app.delete(&path, Some(&jwt(&doer))).await.assert_error(403, "permission.denied");
}
