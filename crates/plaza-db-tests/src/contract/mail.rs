//! Password resets and digest items: one pending reset per user, each token and each
//! item taken once.

use super::*;
use plaza_db::{DigestItemRecord, MessageCategory, PasswordResetRecord, Role, SpaceKind};

pub async fn password_resets_keep_the_newest_per_user_and_are_taken_once(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let now = Timestamp::now();
    let reset = |hash: &str, user: &UserRecord| PasswordResetRecord {
        token_hash: hash.to_owned(),
        user_id: user.id,
        created: now,
        expires_at: now.add_millis(60_000),
    };
    store.replace_password_reset(&reset("a1", &ann)).await?;
    store.replace_password_reset(&reset("b1", &bob)).await?;
    store.replace_password_reset(&reset("a2", &ann)).await?;
    assert_eq!(store.take_password_reset("a1").await?, None, "superseded by a2");
    assert_eq!(store.take_password_reset("a2").await?, Some(reset("a2", &ann)));
    assert_eq!(store.take_password_reset("a2").await?, None, "taken once");
    assert_eq!(store.take_password_reset("b1").await?, Some(reset("b1", &bob)), "bob's stays");
    // Racing takers: exactly one wins.
    store.replace_password_reset(&reset("a3", &ann)).await?;
    let takers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take_password_reset("a3").await })
    });
    let mut won = 0;
    for taker in takers {
        won += usize::from(taker.await??.is_some());
    }
    assert_eq!(won, 1);
    // A new password refuses what was issued before it.
    assert_eq!(store.user_by_id(ann.id).await?.expect("ann exists").credentials_after, None);
    let before = Timestamp::now();
    store.set_password_hash(ann.id, "$argon2id$new").await?;
    let changed = store.user_by_id(ann.id).await?.expect("ann exists");
    assert_eq!(changed.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(changed.credentials_after.is_some_and(|at| at >= before), "{changed:?}");
    assert!(matches!(
        store.set_password_hash(ObjectId::new(), "x").await,
        Err(StoreError::NotFound)
    ));
    Ok(())
}

pub async fn digest_items_are_listed_when_due_and_taken_once_oldest_first(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let cat = registered(&store, "cat").await?;
    let t0 = Timestamp::now();
    let group = space(SpaceKind::Group, "g", ann.id);
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    let mut messages = Vec::new();
    for n in 0..3 {
        let m = message(group.id, ann.id, MessageCategory::Chat, "hi", t0.add_millis(n * 1000));
        store.insert_message(&m, false).await?;
        messages.push(m);
    }
    let item = |user: &UserRecord, m: &MessageRecord| DigestItemRecord {
        user_id: user.id,
        message_id: m.id,
        space_id: group.id,
        created: m.created,
    };
    let (m0, m1, m2) = (&messages[0], &messages[1], &messages[2]);
    store.add_digest_items(&[item(&bob, m2), item(&bob, m0), item(&cat, m1)]).await?;
    // Adding one again keeps one.
    store.add_digest_items(&[item(&bob, m0)]).await?;
    store.add_digest_items(&[]).await?;

    assert!(store.users_with_digest_items(t0.add_millis(-1), 10).await?.is_empty());
    let mut due = store.users_with_digest_items(t0, 10).await?;
    due.sort();
    assert_eq!(due, vec![bob.id], "only bob has an item as old as t0");
    let mut all = store.users_with_digest_items(t0.add_millis(5000), 10).await?;
    all.sort();
    let mut expected = vec![bob.id, cat.id];
    expected.sort();
    assert_eq!(all, expected);
    assert_eq!(store.users_with_digest_items(t0.add_millis(5000), 1).await?.len(), 1, "limit");

    assert_eq!(store.take_digest_items(bob.id, t0).await?, vec![item(&bob, m0)], "due only");
    assert_eq!(store.take_digest_items(bob.id, t0.add_millis(5000)).await?, vec![item(&bob, m2)]);
    assert!(store.take_digest_items(bob.id, t0.add_millis(5000)).await?.is_empty(), "taken once");
    assert_eq!(store.take_digest_items(cat.id, t0.add_millis(5000)).await?, vec![item(&cat, m1)]);
    assert!(store.users_with_digest_items(t0.add_millis(5000), 10).await?.is_empty());
    Ok(())
}
