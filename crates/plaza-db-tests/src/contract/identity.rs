//! Accounts, settings, invitations to register, revoked tokens, OAuth clients, codes and tokens.

use super::*;

pub async fn ping_answers(store: Arc<dyn Store>) -> Outcome {
    store.ping().await?;
    Ok(())
}

pub async fn users_round_trip_by_id_and_username(store: Arc<dyn Store>) -> Outcome {
    let alice = user(UserKind::Registered, "Alice@Example.com");
    store.insert_user(&alice).await?;
    assert_eq!(store.user_by_id(alice.id).await?, Some(alice.clone()));
    assert_eq!(store.user_by_username("alice@example.COM").await?, Some(alice.clone()));
    assert_eq!(store.user_by_id(ObjectId::new()).await?, None);
    assert_eq!(store.user_by_username("nobody@example.com").await?, None);

    let guest = user(UserKind::Anonymous, "Anonymous");
    store.insert_user(&guest).await?;
    assert_eq!(store.user_by_id(guest.id).await?, Some(guest.clone()));
    // Anonymous guests are not found by name: the name is not theirs alone.
    assert_eq!(store.user_by_username("Anonymous").await?, None);
    Ok(())
}

pub async fn usernames_are_unique_case_insensitively_except_for_guests(
    store: Arc<dyn Store>,
) -> Outcome {
    store.insert_user(&user(UserKind::Registered, "bob@example.com")).await?;
    let clash = store.insert_user(&user(UserKind::Registered, "BOB@example.com")).await;
    match clash {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, "user_username_key"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let service_clash = store.insert_user(&user(UserKind::Service, "bob@example.com")).await;
    assert!(matches!(service_clash, Err(StoreError::Conflict { .. })));
    store.insert_user(&user(UserKind::Anonymous, "Anonymous")).await?;
    store.insert_user(&user(UserKind::Anonymous, "Anonymous")).await?;
    let same_id = user(UserKind::Anonymous, "x");
    store.insert_user(&same_id).await?;
    assert!(matches!(store.insert_user(&same_id).await, Err(StoreError::Conflict { .. })));
    Ok(())
}

pub async fn listing_users_pages_in_creation_order_without_guests(
    store: Arc<dyn Store>,
) -> Outcome {
    let mut registered = Vec::new();
    let t0 = Timestamp::now();
    // Made in one order, with ids (random after their second) in any other; two share
    // a millisecond, so the id breaks their tie.
    for (i, at) in [5, 1, 3, 3, 9].into_iter().enumerate() {
        let mut u = user(UserKind::Registered, &format!("user{i}@example.com"));
        u.created = t0.add_millis(at);
        store.insert_user(&u).await?;
        registered.push((u.created, u.id));
    }
    let mut bot = user(UserKind::Service, "bot@service.local");
    bot.created = t0.add_millis(7);
    store.insert_user(&bot).await?;
    registered.push((bot.created, bot.id));
    store.insert_user(&user(UserKind::Anonymous, "guest")).await?;
    registered.sort();
    let registered: Vec<ObjectId> = registered.into_iter().map(|(_, id)| id).collect();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_users(after, 4).await?;
        assert!(page.len() <= 4);
        if page.is_empty() {
            break;
        }
        after = page.last().map(|u| u.id);
        seen.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(seen, registered);
    Ok(())
}

pub async fn flags_update_and_missing_users_are_not_found(store: Arc<dyn Store>) -> Outcome {
    let carol = user(UserKind::Registered, "carol@example.com");
    store.insert_user(&carol).await?;
    store.set_user_disabled(carol.id, true).await?;
    store.set_server_admin(carol.id, true).await?;
    let stored = store.user_by_id(carol.id).await?.expect("carol is stored");
    assert!(stored.disabled && stored.is_server_admin);
    store.set_user_disabled(carol.id, false).await?;
    assert!(!store.user_by_id(carol.id).await?.expect("stored").disabled);

    let missing = ObjectId::new();
    assert!(matches!(store.set_user_disabled(missing, true).await, Err(StoreError::NotFound)));
    assert!(matches!(store.set_server_admin(missing, true).await, Err(StoreError::NotFound)));
    Ok(())
}

pub async fn first_admin_is_claimed_exactly_once_under_races(store: Arc<dyn Store>) -> Outcome {
    let mut racers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        racers.push(tokio::spawn(async move { store.claim_first_admin().await }));
    }
    let mut winners = 0;
    for racer in racers {
        if racer.await?? {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert!(!store.claim_first_admin().await?);
    Ok(())
}

pub async fn settings_are_created_then_replaced(store: Arc<dyn Store>) -> Outcome {
    let erin = user(UserKind::Registered, "erin@example.com");
    store.insert_user(&erin).await?;
    assert_eq!(store.user_settings(erin.id).await?, None);
    let mut record = UserSettingsRecord {
        id: ObjectId::new(),
        user_id: erin.id,
        settings: json!({"muteaudio": true, "tourFeatures": ["a", "b"], "mNotif": "all"})
            .as_object()
            .cloned()
            .expect("an object"),
        modified: Timestamp::now(),
    };
    store.put_user_settings(&record).await?;
    assert_eq!(store.user_settings(erin.id).await?, Some(record.clone()));
    record.settings.insert("muteaudio".to_owned(), json!(false));
    record.modified = record.modified.add_millis(5);
    store.put_user_settings(&record).await?;
    assert_eq!(store.user_settings(erin.id).await?, Some(record));
    Ok(())
}

pub async fn registration_invites_are_taken_once(store: Arc<dyn Store>) -> Outcome {
    let now = Timestamp::now();
    store.insert_registration_invite("Frank@Example.com", None, now).await?;
    // Inviting twice is harmless.
    store.insert_registration_invite("frank@example.com", Some(ObjectId::new()), now).await?;
    assert!(store.take_registration_invite("FRANK@example.com").await?);
    assert!(!store.take_registration_invite("frank@example.com").await?);
    Ok(())
}

pub async fn revoked_jwts_are_remembered_until_they_expire(store: Arc<dyn Store>) -> Outcome {
    let now = Timestamp::now();
    store.revoke_jwt("jti-live", now.add_millis(60_000)).await?;
    store.revoke_jwt("jti-live", now.add_millis(60_000)).await?;
    store.revoke_jwt("jti-old", now.add_millis(-1)).await?;
    assert!(store.is_jwt_revoked("jti-live").await?);
    assert!(store.is_jwt_revoked("jti-old").await?);
    assert!(!store.is_jwt_revoked("jti-other").await?);
    assert_eq!(store.purge_expired_credentials(now).await?, 1);
    assert!(store.is_jwt_revoked("jti-live").await?);
    assert!(!store.is_jwt_revoked("jti-old").await?);
    Ok(())
}

pub async fn oauth_clients_round_trip_and_revoke_with_their_tokens(
    store: Arc<dyn Store>,
) -> Outcome {
    let owner = user(UserKind::Registered, "gina@example.com");
    let service = user(UserKind::Service, "bot@service.local");
    store.insert_user(&owner).await?;
    store.insert_user(&service).await?;
    let mut web = client(ClientKind::OAuth, None);
    web.created_by = Some(owner.id);
    let bot = client(ClientKind::ServiceApp, Some(service.id));
    store.insert_oauth_client(&web).await?;
    store.insert_oauth_client(&bot).await?;
    match store.insert_oauth_client(&web).await {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, "oauth_client_pkey"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.oauth_client(&web.client_id).await?, Some(web.clone()));
    assert_eq!(store.oauth_client("nope").await?, None);
    let listed = store.list_oauth_clients().await?;
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&web) && listed.contains(&bot));

    let grant = ObjectId::new();
    let access = token(&web.client_id, owner.id, TokenKind::Access, grant);
    store.insert_oauth_token(&access).await?;
    store
        .insert_auth_code(&AuthCodeRecord {
            code_hash: "code-of-web".to_owned(),
            client_id: web.client_id.clone(),
            user_id: owner.id,
            redirect_uri: web.redirect_uris[0].clone(),
            scope: "spaces".to_owned(),
            code_challenge: None,
            code_challenge_method: None,
            expires_at: Timestamp::now().add_millis(60_000),
        })
        .await?;
    store.revoke_oauth_client(&web.client_id).await?;
    assert!(store.oauth_client(&web.client_id).await?.expect("kept").revoked);
    assert_eq!(store.oauth_token(&access.token_hash).await?, None);
    assert_eq!(store.take_auth_code("code-of-web").await?, None);
    assert!(matches!(store.revoke_oauth_client("nope").await, Err(StoreError::NotFound)));
    Ok(())
}

pub async fn auth_codes_are_redeemed_once(store: Arc<dyn Store>) -> Outcome {
    let owner = user(UserKind::Registered, "hank@example.com");
    store.insert_user(&owner).await?;
    let web = client(ClientKind::OAuth, None);
    store.insert_oauth_client(&web).await?;
    let code = AuthCodeRecord {
        code_hash: "c0de".to_owned(),
        client_id: web.client_id.clone(),
        user_id: owner.id,
        redirect_uri: "https://app.example/callback".to_owned(),
        scope: "spaces".to_owned(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        code_challenge_method: Some("S256".to_owned()),
        expires_at: Timestamp::now().add_millis(60_000),
    };
    store.insert_auth_code(&code).await?;
    assert_eq!(store.take_auth_code("c0de").await?, Some(code));
    assert_eq!(store.take_auth_code("c0de").await?, None);
    Ok(())
}

pub async fn oauth_tokens_are_found_and_revoked_by_grant(store: Arc<dyn Store>) -> Outcome {
    let owner = user(UserKind::Registered, "ivy@example.com");
    store.insert_user(&owner).await?;
    let web = client(ClientKind::OAuth, None);
    store.insert_oauth_client(&web).await?;
    let grant = ObjectId::new();
    let access = token(&web.client_id, owner.id, TokenKind::Access, grant);
    let refresh = token(&web.client_id, owner.id, TokenKind::Refresh, grant);
    let other = token(&web.client_id, owner.id, TokenKind::Access, ObjectId::new());
    for t in [&access, &refresh, &other] {
        store.insert_oauth_token(t).await?;
    }
    assert_eq!(store.oauth_token(&refresh.token_hash).await?, Some(refresh.clone()));
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            let hash = other.token_hash.clone();
            tokio::spawn(async move { store.take_oauth_token(&hash).await })
        })
        .collect();
    let mut taken = 0;
    for racer in racers {
        if racer.await??.is_some() {
            taken += 1;
        }
    }
    assert_eq!(taken, 1, "a token is taken exactly once");
    store.insert_oauth_token(&other).await?;
    assert_eq!(store.revoke_oauth_grant(grant).await?, 2);
    assert_eq!(store.oauth_token(&access.token_hash).await?, None);
    assert_eq!(store.oauth_token(&refresh.token_hash).await?, None);
    assert_eq!(store.oauth_token(&other.token_hash).await?, Some(other));

    let mut stale = token(&web.client_id, owner.id, TokenKind::Access, ObjectId::new());
    stale.expires_at = Timestamp::now().add_millis(-1);
    store.insert_oauth_token(&stale).await?;
    assert_eq!(store.purge_expired_credentials(Timestamp::now()).await?, 1);
    assert_eq!(store.oauth_token(&stale.token_hash).await?, None);
    Ok(())
}

pub async fn redeemed_refresh_tokens_are_remembered_until_they_expire(
    store: Arc<dyn Store>,
) -> Outcome {
    let grant = ObjectId::new();
    let t0 = Timestamp::now();
    assert_eq!(store.used_refresh_grant("hash-1").await?, None);
    store.remember_used_refresh("hash-1", grant, t0.add_millis(100)).await?;
    store.remember_used_refresh("hash-1", ObjectId::new(), t0.add_millis(100)).await?;
    assert_eq!(store.used_refresh_grant("hash-1").await?, Some(grant), "the first record stays");
    store.purge_expired_credentials(t0.add_millis(101)).await?;
    assert_eq!(store.used_refresh_grant("hash-1").await?, None, "forgotten once expired");
    Ok(())
}

/// Statistics count a user's active memberships of live spaces, the messages they sent
/// that are not deleted (meeting records aside), and the meetings of those spaces.
pub async fn user_statistics_count_spaces_live_messages_and_meetings(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    assert_eq!(store.user_statistics(ann.id).await?, plaza_db::UserStatistics::default());
    let t0 = Timestamp::now();
    let group = space(SpaceKind::Group, "Team", ann.id);
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    store.put_membership(&membership(group.id, bob.id, Role::Member, t0)).await?;
    let mut gone = space(SpaceKind::Group, "Gone", ann.id);
    store.insert_space(&gone, &membership(gone.id, ann.id, Role::Admin, t0)).await?;
    gone.status = SpaceStatus::Deleted;
    store.update_space(&gone).await?;
    let left = space(SpaceKind::Group, "Left", bob.id);
    store.insert_space(&left, &membership(left.id, bob.id, Role::Admin, t0)).await?;
    store
        .put_membership(&MembershipRecord {
            state: MembershipState::Left,
            ..membership(left.id, ann.id, Role::Member, t0)
        })
        .await?;

    let kept = message(group.id, ann.id, MessageCategory::Chat, "one", t0);
    let task = message(group.id, ann.id, MessageCategory::Task, "two", t0.add_millis(1));
    let deleted = message(group.id, ann.id, MessageCategory::Chat, "three", t0.add_millis(2));
    let theirs = message(group.id, bob.id, MessageCategory::Chat, "bob's", t0.add_millis(3));
    for m in [&kept, &task, &deleted, &theirs] {
        store.insert_message(m, false).await?;
    }
    assert!(store.delete_message(deleted.id, t0.add_millis(4)).await?);
    let held = meeting(group.id, t0.add_millis(5));
    store.start_meeting(&held, &meeting_summary(&held, ann.id)).await?;
    let elsewhere = meeting(left.id, t0.add_millis(6));
    store.start_meeting(&elsewhere, &meeting_summary(&elsewhere, bob.id)).await?;

    let counts = store.user_statistics(ann.id).await?;
    assert_eq!(counts, plaza_db::UserStatistics { spaces: 1, messages: 2, meetings: 1 });
    let counts = store.user_statistics(bob.id).await?;
    assert_eq!(counts, plaza_db::UserStatistics { spaces: 2, messages: 1, meetings: 2 });
    Ok(())
}
