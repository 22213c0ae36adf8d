//! Messages: unread counts, history pages, queries, catch-up and group-committed sends.

use super::*;

/// Unread counts follow each member's read position in the space's message sequence:
/// a send writes only the sender's membership, however many members the space has.
pub async fn unread_counts_follow_read_positions_not_per_member_writes(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let cat = registered(&store, "cat").await?;
    let group = space(SpaceKind::Group, "Counters", ann.id);
    let t0 = Timestamp::now();
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    store.put_membership(&membership(group.id, bob.id, Role::Member, t0)).await?;
    let unread = |user| {
        let store = store.clone();
        async move {
            Ok::<_, StoreError>(
                store.membership(group.id, user).await?.expect("member").unread_count,
            )
        }
    };

    for n in 1..=3 {
        let sent = message(group.id, ann.id, MessageCategory::Chat, "hi", t0.add_millis(n));
        store.insert_message(&sent, false).await?;
    }
    assert_eq!((unread(ann.id).await?, unread(bob.id).await?), (0, 3));

    // Bob reads, then answers: his own message is not unread to him.
    let mut bob_view = store.membership(group.id, bob.id).await?.expect("bob");
    bob_view.unread_count = 0;
    assert!(store.update_member_view(&bob_view).await?);
    let answer = message(group.id, bob.id, MessageCategory::Chat, "yo", t0.add_millis(4));
    store.insert_message(&answer, false).await?;
    assert_eq!((unread(ann.id).await?, unread(bob.id).await?), (1, 0));

    // A member who joins later starts with nothing unread but sees the last message time.
    store.put_membership(&membership(group.id, cat.id, Role::Member, t0.add_millis(5))).await?;
    let cat_view = store.membership(group.id, cat.id).await?.expect("cat");
    assert_eq!(cat_view.unread_count, 0);
    assert_eq!(cat_view.last_message_at, Some(t0.add_millis(4)));

    // Setting a count keeps it, whatever the sequence holds; later sends add to it.
    let mut ann_view = store.membership(group.id, ann.id).await?.expect("ann");
    ann_view.unread_count = 2;
    assert!(store.update_member_view(&ann_view).await?);
    assert_eq!(unread(ann.id).await?, 2);
    let more = message(group.id, cat.id, MessageCategory::Chat, "hello", t0.add_millis(6));
    store.insert_message(&more, false).await?;
    assert_eq!((unread(ann.id).await?, unread(bob.id).await?, unread(cat.id).await?), (3, 1, 0));
    Ok(())
}

pub async fn messages_count_unread_comments_and_change_with_concurrency_control(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let group = space(SpaceKind::Group, "Talk", ann.id);
    let t0 = Timestamp::now();
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    store.put_membership(&membership(group.id, bob.id, Role::Member, t0)).await?;

    let post = message(group.id, ann.id, MessageCategory::Idea, "Plan", t0.add_millis(1));
    store.insert_message(&post, false).await?;
    let mut comment = message(group.id, bob.id, MessageCategory::Chat, "+1", t0.add_millis(2));
    comment.parent_id = Some(post.id);
    store.insert_message(&comment, false).await?;
    assert_eq!(store.message(post.id).await?.expect("post").chat_count, 1);
    assert_eq!(store.message(comment.id).await?, Some(comment.clone()));
    let ann_view = store.membership(group.id, ann.id).await?.expect("ann");
    let bob_view = store.membership(group.id, bob.id).await?.expect("bob");
    assert_eq!(
        (ann_view.unread_count, bob_view.unread_count),
        (1, 1),
        "senders do not count their own"
    );
    assert_eq!(bob_view.last_message_at, Some(t0.add_millis(2)));
    assert_eq!(bob_view.activity_at, t0, "group messages are not listing activity");

    // Optimistic concurrency: only the writer who saw the current version wins.
    let mut edited = comment.clone();
    edited.content.insert("bodyText".into(), json!("+2"));
    edited.modified = t0.add_millis(10);
    assert!(store.update_message(&edited, comment.modified).await?);
    let mut stale = comment.clone();
    stale.modified = t0.add_millis(11);
    assert!(!store.update_message(&stale, comment.modified).await?);
    assert_eq!(store.message(comment.id).await?.expect("kept").content["bodyText"], "+2");

    assert!(store.delete_message(comment.id, t0.add_millis(20)).await?);
    assert!(!store.delete_message(comment.id, t0.add_millis(21)).await?);
    let gone = store.message(comment.id).await?.expect("kept as deleted");
    assert!(gone.deleted && gone.content.is_empty());
    assert_eq!(store.message(post.id).await?.expect("post").chat_count, 0);
    assert!(
        !store.update_message(&edited, edited.modified).await?,
        "deleted messages cannot be edited"
    );

    // A message in a direct space is activity for the listing.
    let mut direct = space(SpaceKind::Direct, "", ann.id);
    direct.unique_key = Some("direct:contract".into());
    store.insert_space(&direct, &membership(direct.id, ann.id, Role::Member, t0)).await?;
    store
        .insert_message(
            &message(direct.id, ann.id, MessageCategory::Chat, "hi", t0.add_millis(30)),
            true,
        )
        .await?;
    assert_eq!(
        store.membership(direct.id, ann.id).await?.expect("ann").activity_at,
        t0.add_millis(30)
    );
    Ok(())
}

pub async fn message_history_pages_newest_first_and_catches_up_oldest_first(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let group = space(SpaceKind::Group, "History", ann.id);
    let t0 = Timestamp::now();
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    let mut written = Vec::new();
    for i in 0..7 {
        let category = if i == 3 { MessageCategory::Task } else { MessageCategory::Chat };
        let m = message(group.id, ann.id, category, &format!("m{i}"), t0.add_millis(i));
        store.insert_message(&m, false).await?;
        written.push(m);
    }
    let ids = |page: &[MessageRecord]| page.iter().map(|m| m.id).collect::<Vec<_>>();
    let page1 = store.query_messages(&MessageQuery::in_space(group.id, None, 3)).await?;
    assert_eq!(ids(&page1), written.iter().rev().take(3).map(|m| m.id).collect::<Vec<_>>());
    let last = page1.last().expect("three");
    let page2 = store
        .query_messages(&MessageQuery {
            before: Some((last.created, last.id)),
            ..MessageQuery::in_space(group.id, None, 3)
        })
        .await?;
    assert_eq!(ids(&page2), [written[3].id, written[2].id, written[1].id]);
    let chats = MessageQuery {
        categories: vec![MessageCategory::Chat],
        ..MessageQuery::in_space(group.id, None, 50)
    };
    assert_eq!(store.query_messages(&chats).await?.len(), 6);
    let since =
        store.query_messages(&MessageQuery::in_space(group.id, Some(t0.add_millis(5)), 50)).await?;
    assert_eq!(since.len(), 2, "a guest sees only what came after joining");
    store.delete_message(written[6].id, t0.add_millis(50)).await?;
    assert_eq!(store.query_messages(&MessageQuery::in_space(group.id, None, 50)).await?.len(), 6);
    let with_deleted =
        MessageQuery { include_deleted: true, ..MessageQuery::in_space(group.id, None, 50) };
    assert_eq!(store.query_messages(&with_deleted).await?.len(), 7);

    // Catch-up: the nearest messages after a position, oldest first.
    let anchor = &written[4];
    let catch_up = |since: Option<Timestamp>| MessageQuery {
        after: Some((anchor.created, anchor.id)),
        newest_first: false,
        include_deleted: true,
        thread: Thread::Any,
        ..MessageQuery::in_space(group.id, since, 50)
    };
    let after = store.query_messages(&catch_up(None)).await?;
    assert_eq!(ids(&after), [written[5].id, written[6].id]);
    assert!(after[1].deleted, "catch-up reports deletions");
    assert_eq!(store.query_messages(&catch_up(Some(t0.add_millis(6)))).await?.len(), 1);
    let nearest_two = MessageQuery { limit: 2, newest_first: false, ..catch_up(None) };
    let nearest_two =
        MessageQuery { after: Some((written[1].created, written[1].id)), ..nearest_two };
    assert_eq!(ids(&store.query_messages(&nearest_two).await?), [written[2].id, written[3].id]);
    Ok(())
}

pub async fn message_queries_filter_by_text_files_threads_tasks_and_membership(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let t0 = Timestamp::now();
    let group = space(SpaceKind::Group, "Work", ann.id);
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    store.put_membership(&membership(group.id, bob.id, Role::Guest, t0.add_millis(5))).await?;
    let other = space(SpaceKind::Group, "Elsewhere", ann.id);
    store.insert_space(&other, &membership(other.id, ann.id, Role::Admin, t0)).await?;

    let at = |ms| t0.add_millis(ms);
    let mut early = message(group.id, ann.id, MessageCategory::Chat, "Early 100% bird", at(1));
    early.content.insert("data".into(), json!([{"fileId": "k1"}]));
    store.insert_message(&early, false).await?;
    let mut post = message(group.id, ann.id, MessageCategory::Idea, "Roadmap", at(6));
    post.content.insert("description".into(), json!("Ship the WIDGET"));
    store.insert_message(&post, false).await?;
    let mut task = message(group.id, ann.id, MessageCategory::Task, "Fix it", at(7));
    task.content.insert("status".into(), json!("pending"));
    task.content.insert("assignees".into(), json!([{"_id": bob.id.to_string()}]));
    store.insert_message(&task, false).await?;
    let mut on_post = message(group.id, bob.id, MessageCategory::Chat, "nice_one", at(8));
    on_post.parent_id = Some(post.id);
    store.insert_message(&on_post, false).await?;
    let mut on_task = message(group.id, ann.id, MessageCategory::Chat, "on it", at(9));
    on_task.parent_id = Some(task.id);
    store.insert_message(&on_task, false).await?;
    let elsewhere = message(other.id, ann.id, MessageCategory::Task, "Other task", at(10));
    store.insert_message(&elsewhere, false).await?;

    let run = |query: MessageQuery| {
        let store = store.clone();
        async move {
            store.query_messages(&query).await.map(|p| p.iter().map(|m| m.id).collect::<Vec<_>>())
        }
    };
    let base =
        || MessageQuery { thread: Thread::Any, ..MessageQuery::in_space(group.id, None, 50) };
    let search = |text: &str| MessageQuery { search: Some(text.to_owned()), ..base() };
    assert_eq!(run(search("widget")).await?, [post.id], "descriptions count, any case");
    assert_eq!(run(search("100%")).await?, [early.id], "LIKE wildcards are literal");
    assert_eq!(run(search("y_1")).await?, Vec::<ObjectId>::new());
    assert_eq!(run(search("nice_")).await?, [on_post.id]);
    assert_eq!(run(MessageQuery { files_only: true, ..base() }).await?, [early.id]);
    let on = |category| MessageQuery { thread: Thread::CommentsOnCategory(category), ..base() };
    assert_eq!(run(on(MessageCategory::Idea)).await?, [on_post.id]);
    assert_eq!(run(on(MessageCategory::Task)).await?, [on_task.id]);
    assert_eq!(
        run(MessageQuery { thread: Thread::CommentsOn(task.id), ..base() }).await?,
        [on_task.id]
    );
    assert_eq!(run(MessageQuery { sender: Some(bob.id), ..base() }).await?, [on_post.id]);

    // Across the user's spaces: guests see only what came after they joined.
    let mine = |user: ObjectId| MessageQuery {
        scope: MessageScope::MemberOf(user),
        categories: vec![MessageCategory::Task],
        ..base()
    };
    assert_eq!(run(mine(ann.id)).await?, [elsewhere.id, task.id]);
    assert_eq!(run(mine(bob.id)).await?, [task.id]);
    let assigned = |user: ObjectId, status: &str| MessageQuery {
        assignee: Some(user),
        task_status: Some(status.to_owned()),
        ..mine(user)
    };
    assert_eq!(run(assigned(bob.id, "pending")).await?, [task.id]);
    assert_eq!(run(assigned(bob.id, "completed")).await?, Vec::<ObjectId>::new());
    let all_of_bob = MessageQuery { categories: MessageCategory::ALL.to_vec(), ..mine(bob.id) };
    assert_eq!(
        run(all_of_bob.clone()).await?,
        [on_task.id, on_post.id, task.id, post.id],
        "the guest's cut hides the early chat"
    );

    // An edit re-indexes: reassigned and completed, the task leaves bob's pending list.
    let mut done = task.clone();
    done.content.insert("status".into(), json!("completed"));
    done.content.insert("assignees".into(), json!([{"_id": ann.id.to_string()}]));
    done.modified = at(20);
    assert!(store.update_message(&done, task.modified).await?);
    assert_eq!(run(assigned(bob.id, "pending")).await?, Vec::<ObjectId>::new());
    assert_eq!(run(assigned(ann.id, "completed")).await?, [task.id]);

    // Ordered by last change: the edited task comes last.
    let changed = MessageQuery {
        order: MessageOrder::Modified,
        newest_first: false,
        after: Some((at(6), "000000000000000000000000".parse()?)),
        ..base()
    };
    assert_eq!(run(changed).await?, [post.id, on_post.id, on_task.id, task.id]);

    // Deleted messages are not found by text and lose their assignees; kicked members
    // and deleted spaces read nothing.
    assert!(store.delete_message(post.id, at(30)).await?);
    assert_eq!(run(search("widget")).await?, Vec::<ObjectId>::new());
    assert!(store.delete_message(done.id, at(31)).await?);
    assert_eq!(
        run(MessageQuery { include_deleted: true, ..assigned(ann.id, "completed") }).await?,
        Vec::<ObjectId>::new()
    );
    let mut kicked = store.membership(group.id, bob.id).await?.expect("bob");
    kicked.state = MembershipState::Kicked;
    store.put_membership(&kicked).await?;
    assert_eq!(run(all_of_bob).await?, Vec::<ObjectId>::new());
    let mut gone = other.clone();
    gone.status = SpaceStatus::Deleted;
    store.update_space(&gone).await?;
    assert_eq!(run(mine(ann.id)).await?, Vec::<ObjectId>::new());
    Ok(())
}

pub async fn catch_up_follows_the_order_messages_were_stored_in(store: Arc<dyn Store>) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let group = space(SpaceKind::Group, "Order", ann.id);
    let t0 = Timestamp::now();
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    // Created in one order, stored in another (two concurrent sends).
    let stored_first = message(group.id, ann.id, MessageCategory::Chat, "late", t0.add_millis(20));
    let stored_second =
        message(group.id, ann.id, MessageCategory::Chat, "early", t0.add_millis(10));
    let stored_third = message(group.id, ann.id, MessageCategory::Chat, "next", t0.add_millis(30));
    for m in [&stored_first, &stored_second, &stored_third] {
        store.insert_message(m, false).await?;
    }
    let after = |anchor: &MessageRecord| MessageQuery {
        thread: Thread::Any,
        order: MessageOrder::Stored,
        after: Some((anchor.created, anchor.id)),
        newest_first: false,
        ..MessageQuery::in_space(group.id, None, 10)
    };
    let texts = |found: Vec<MessageRecord>| {
        found
            .iter()
            .map(|m| m.content["bodyText"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    // After "late" come "early" (created before it, stored after) and "next".
    assert_eq!(texts(store.query_messages(&after(&stored_first)).await?), ["early", "next"]);
    assert_eq!(texts(store.query_messages(&after(&stored_second)).await?), ["next"]);
    assert!(store.query_messages(&after(&stored_third)).await?.is_empty());
    Ok(())
}

/// Concurrent sends all land, each numbered once in its space's storage order, with the
/// counts they imply; a send that cannot be stored fails alone. (SQLite writes concurrent
/// sends as one batch; this is the story that batch must tell.)
pub async fn concurrent_sends_land_together_and_fail_alone(store: Arc<dyn Store>) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let t0 = Timestamp::now();
    let mut spaces = Vec::new();
    for title in ["One", "Two", "Three"] {
        let group = space(SpaceKind::Group, title, ann.id);
        store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
        store.put_membership(&membership(group.id, bob.id, Role::Member, t0)).await?;
        spaces.push(group.id);
    }
    let post = message(spaces[0], ann.id, MessageCategory::Idea, "Plan", t0);
    store.insert_message(&post, false).await?;

    let mut sends = tokio::task::JoinSet::new();
    let mut expected: Vec<Vec<ObjectId>> = vec![vec![post.id], Vec::new(), Vec::new()];
    for n in 0..60i64 {
        let index = (n % 3) as usize;
        let sender = if n % 2 == 0 { ann.id } else { bob.id };
        let mut sent = message(
            spaces[index],
            sender,
            MessageCategory::Chat,
            &format!("m{n}"),
            t0.add_millis(n + 1),
        );
        if n % 10 == 0 && index == 0 {
            sent.parent_id = Some(post.id);
        }
        expected[index].push(sent.id);
        let store = store.clone();
        sends.spawn(async move { store.insert_message(&sent, false).await });
    }
    while let Some(outcome) = sends.join_next().await {
        outcome.expect("send task")?;
    }
    // Then one for a space that does not exist and one reusing an id, among good ones.
    let missing = message(ObjectId::new(), ann.id, MessageCategory::Chat, "lost", t0);
    let duplicate = MessageRecord {
        id: post.id,
        ..message(spaces[1], ann.id, MessageCategory::Chat, "dup", t0)
    };
    let (for_missing, for_duplicate) = (store.clone(), store.clone());
    for n in 0..2 {
        let good =
            message(spaces[2], ann.id, MessageCategory::Chat, "more", t0.add_millis(100 + n));
        expected[2].push(good.id);
        let store = store.clone();
        sends.spawn(async move { store.insert_message(&good, false).await });
    }
    let lost = tokio::spawn(async move { for_missing.insert_message(&missing, false).await });
    let clash = tokio::spawn(async move { for_duplicate.insert_message(&duplicate, false).await });
    while let Some(outcome) = sends.join_next().await {
        outcome.expect("send task")?;
    }
    assert!(matches!(lost.await.expect("task"), Err(StoreError::NotFound)));
    assert!(matches!(clash.await.expect("task"), Err(StoreError::Conflict { .. })));

    for (index, space_id) in spaces.iter().enumerate() {
        let stored = MessageQuery {
            thread: Thread::Any,
            order: MessageOrder::Stored,
            newest_first: false,
            ..MessageQuery::in_space(*space_id, None, 100)
        };
        let found = store.query_messages(&stored).await?;
        let mut ids: Vec<ObjectId> = found.iter().map(|m| m.id).collect();
        ids.sort();
        let mut want = expected[index].clone();
        want.sort();
        assert_eq!(ids, want, "every send of space {index} is stored once");
        // Numbers are unique: catching up after the tenth yields exactly the rest.
        let tenth = &found[9];
        let rest = MessageQuery { after: Some((tenth.created, tenth.id)), ..stored };
        let later: Vec<ObjectId> =
            store.query_messages(&rest).await?.iter().map(|m| m.id).collect();
        assert_eq!(later, found[10..].iter().map(|m| m.id).collect::<Vec<_>>());
    }
    let unread = |space_id, user| {
        let store = store.clone();
        async move {
            Ok::<_, StoreError>(
                store.membership(space_id, user).await?.expect("member").unread_count,
            )
        }
    };
    for (index, space_id) in spaces.iter().enumerate() {
        let bob_expects = [11, 10, 12][index];
        assert_eq!(unread(*space_id, ann.id).await?, 10, "ann's unread in space {index}");
        assert_eq!(unread(*space_id, bob.id).await?, bob_expects, "bob's unread in space {index}");
    }
    assert_eq!(store.message(post.id).await?.expect("post").chat_count, 2);
    Ok(())
}
