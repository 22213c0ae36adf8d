//! Uploads, quotas, file readability through messages, and shared secrets.

use super::*;

pub async fn files_complete_once_count_toward_quota_and_expire(store: Arc<dyn Store>) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let t0 = Timestamp::now();
    let later = t0.add_millis(60_000);
    store.insert_file(&pending_file(ann.id, "k-photo", 100, later)).await?;
    store.insert_file(&pending_file(ann.id, "k-stale", 40, t0.add_millis(-1))).await?;
    assert_eq!(store.file_bytes_of(ann.id, t0).await?, 100, "expired uploads do not count");

    let thumbnail = FileRecord {
        state: FileState::Ready,
        expires_at: None,
        content_length: 7,
        ..pending_file(ann.id, "k-thumb", 7, later)
    };
    assert!(store.complete_file("k-photo", t0, Some(&thumbnail)).await?);
    assert!(!store.complete_file("k-photo", t0, None).await?, "completes once");
    assert!(!store.complete_file("k-stale", t0, None).await?, "an expired URL stores nothing");
    let photo = store.file("k-photo").await?.expect("stored");
    assert_eq!((photo.state, photo.thumbnail_key.as_deref()), (FileState::Ready, Some("k-thumb")));
    assert_eq!(photo.expires_at, None);
    assert_eq!(store.file("k-thumb").await?.expect("thumbnail").state, FileState::Ready);
    assert_eq!(store.file_bytes_of(ann.id, t0).await?, 107);
    store.name_file("k-photo", "renamed.png").await?;
    assert_eq!(store.file("k-photo").await?.expect("kept").name.as_deref(), Some("photo.png"));
    let mut unnamed = pending_file(ann.id, "k-unnamed", 1, later);
    unnamed.name = None;
    store.insert_file(&unnamed).await?;
    store.name_file("k-unnamed", "given.txt").await?;
    assert_eq!(store.file("k-unnamed").await?.expect("kept").name.as_deref(), Some("given.txt"));

    let expired = store.take_expired_files(t0, 10).await?;
    assert_eq!(expired.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["k-stale"]);
    assert!(store.file("k-stale").await?.is_none());
    assert!(store.take_expired_files(t0, 10).await?.is_empty());
    assert!(store.file("nope").await?.is_none());
    Ok(())
}

pub async fn files_are_readable_through_live_messages_only(store: Arc<dyn Store>) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let eve = registered(&store, "eve").await?;
    let t0 = Timestamp::now();
    let group = space(SpaceKind::Group, "Files", ann.id);
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    store.put_membership(&membership(group.id, bob.id, Role::Member, t0)).await?;
    store.put_membership(&membership(group.id, eve.id, Role::Guest, t0.add_millis(10))).await?;

    let mut chat = message(group.id, ann.id, MessageCategory::Chat, "see", t0.add_millis(5));
    chat.content.insert("data".into(), json!([{"fileId": "k1", "thumbnailFile": "k1-thumb"}]));
    assert_eq!(chat.file_keys(), ["k1", "k1-thumb"]);
    store.insert_message(&chat, false).await?;
    assert!(store.file_readable_through_message("k1", bob.id).await?);
    assert!(store.file_readable_through_message("k1-thumb", bob.id).await?);
    assert!(
        !store.file_readable_through_message("k1", eve.id).await?,
        "a guest who joined later cannot see the message, nor its files"
    );
    let outsider = registered(&store, "zed").await?;
    assert!(!store.file_readable_through_message("k1", outsider.id).await?);

    // The guest cut holds only while the space's restrict asks for it, in the queries
    // that join memberships themselves too.
    let members_view = |user| MessageQuery::new(MessageScope::MemberOf(user), 10);
    assert!(store.query_messages(&members_view(eve.id)).await?.is_empty());
    let mut open = group.clone();
    open.restrict.clear();
    store.update_space(&open).await?;
    assert!(store.file_readable_through_message("k1", eve.id).await?);
    let seen = store.query_messages(&members_view(eve.id)).await?;
    assert_eq!(seen.iter().map(|m| m.id).collect::<Vec<_>>(), [chat.id]);
    store.update_space(&group).await?;
    assert!(!store.file_readable_through_message("k1", eve.id).await?);
    assert!(store.query_messages(&members_view(eve.id)).await?.is_empty());

    // An edit that drops the attachment drops access; a deletion too.
    let mut edited = chat.clone();
    edited.content.insert("data".into(), json!([{"fileId": "k2"}]));
    edited.modified = t0.add_millis(20);
    assert!(store.update_message(&edited, chat.modified).await?);
    assert!(!store.file_readable_through_message("k1", bob.id).await?);
    assert!(store.file_readable_through_message("k2", bob.id).await?);
    assert!(store.delete_message(chat.id, t0.add_millis(30)).await?);
    assert!(!store.file_readable_through_message("k2", bob.id).await?);
    Ok(())
}

pub async fn secrets_are_created_once_and_shared(store: Arc<dyn Store>) -> Outcome {
    let at = Timestamp::now();
    let first = store.secret("file-urls", "alpha", at).await?;
    assert_eq!(first, "alpha");
    assert_eq!(store.secret("file-urls", "beta", at).await?, "alpha", "the first one stays");
    assert_eq!(store.secret("other", "gamma", at).await?, "gamma");
    Ok(())
}
