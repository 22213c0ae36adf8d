//! The contract every `Store` implementation must honour, one `async fn` per story.

use std::sync::Arc;

use plaza_db::{
    AuthCodeRecord, ClientKind, OAuthClientRecord, OAuthTokenRecord, ObjectId, Store, StoreError,
    Timestamp, TokenKind, UserKind, UserRecord, UserSettingsRecord,
};
use serde_json::json;

/// A test's result: any error fails it with its message.
pub type Outcome = anyhow::Result<()>;

fn user(kind: UserKind, username: &str) -> UserRecord {
    let now = Timestamp::now();
    UserRecord {
        id: ObjectId::new(),
        kind,
        username: username.to_owned(),
        displayname: format!("{username} display"),
        password_hash: (kind == UserKind::Registered).then(|| "$argon2id$stub".to_owned()),
        picture_url: None,
        timezone: Some("Europe/Paris".to_owned()),
        phone_numbers: json!([{"value": "+33100000000", "primary": true}]),
        is_server_admin: false,
        disabled: false,
        created: now,
        modified: now,
        expires_at: (kind == UserKind::Anonymous).then(|| now.add_millis(86_400_000)),
    }
}

fn client(kind: ClientKind, service_user: Option<ObjectId>) -> OAuthClientRecord {
    OAuthClientRecord {
        client_id: format!("client-{}", ObjectId::new()),
        kind,
        name: "Test app".to_owned(),
        secret_hash: Some("ab".repeat(32)),
        redirect_uris: vec!["https://app.example/callback".to_owned()],
        service_user_id: service_user,
        created_by: None,
        created: Timestamp::now(),
        revoked: false,
    }
}

fn token(client_id: &str, user_id: ObjectId, kind: TokenKind, grant: ObjectId) -> OAuthTokenRecord {
    OAuthTokenRecord {
        token_hash: format!("hash-{}", ObjectId::new()),
        kind,
        client_id: client_id.to_owned(),
        user_id,
        scope: "spaces".to_owned(),
        expires_at: Timestamp::now().add_millis(3_600_000),
        grant_id: grant,
    }
}

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

pub async fn listing_users_pages_in_id_order_without_guests(store: Arc<dyn Store>) -> Outcome {
    let mut registered = Vec::new();
    for i in 0..5 {
        let u = user(UserKind::Registered, &format!("user{i}@example.com"));
        store.insert_user(&u).await?;
        registered.push(u.id);
    }
    let bot = user(UserKind::Service, "bot@service.local");
    store.insert_user(&bot).await?;
    registered.push(bot.id);
    store.insert_user(&user(UserKind::Anonymous, "guest")).await?;
    registered.sort();

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
