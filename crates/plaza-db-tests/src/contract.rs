//! The contract every `Store` implementation must honour, one `async fn` per story.

use std::sync::Arc;

use plaza_db::{
    AuditQuery, AuditRecord, AuthCodeRecord, ClientKind, OAuthClientRecord, OAuthTokenRecord,
    ObjectId, Store, StoreError, Timestamp, TokenKind, UserKind, UserRecord, UserSettingsRecord,
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

// ---- spaces ----

use plaza_db::{
    InvitationRecord, ListingCursor, ListingFilter, ListingPage, MembershipRecord, MembershipState,
    Role, SpaceKind, SpaceRecord, SpaceStatus,
};

fn space(kind: SpaceKind, title: &str, creator: ObjectId) -> SpaceRecord {
    let now = Timestamp::now();
    SpaceRecord {
        id: ObjectId::new(),
        kind,
        title: title.to_owned(),
        description: String::new(),
        status: SpaceStatus::Active,
        settings: json!({"confId": "1234"}).as_object().cloned().expect("object"),
        restrict: vec!["deny_guest_access_history_msg".to_owned()],
        creator_id: creator,
        unique_key: None,
        created: now,
        modified: now,
    }
}

fn membership(
    space_id: ObjectId,
    user_id: ObjectId,
    role: Role,
    at: Timestamp,
) -> MembershipRecord {
    MembershipRecord {
        messages_last_read_time: None,
        ..MembershipRecord::joining(space_id, user_id, role, at)
    }
}

async fn registered(store: &Arc<dyn Store>, name: &str) -> anyhow::Result<UserRecord> {
    let u = user(UserKind::Registered, &format!("{name}@example.com"));
    let mut u = u;
    u.displayname = name.to_owned();
    store.insert_user(&u).await?;
    Ok(u)
}

fn all_kinds_filter() -> ListingFilter {
    ListingFilter {
        kinds: SpaceKind::ALL.to_vec(),
        statuses: SpaceStatus::ALL.to_vec(),
        pinned_only: false,
        include_deleted: false,
        after: None,
        by_last_message: false,
    }
}

pub async fn spaces_round_trip_and_unique_keys_make_get_or_create_safe(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bea = registered(&store, "bea").await?;
    let mut group = space(SpaceKind::Group, "Team", ann.id);
    let now = Timestamp::now();
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, now)).await?;
    assert_eq!(store.space_by_id(group.id).await?, Some(group.clone()));
    assert_eq!(store.space_by_id(ObjectId::new()).await?, None);

    group.title = "Renamed".to_owned();
    group.status = SpaceStatus::Archived;
    group.settings.insert("memberOnly".to_owned(), json!(true));
    group.restrict.clear();
    store.update_space(&group).await?;
    assert_eq!(store.space_by_id(group.id).await?, Some(group.clone()));
    let mut missing = group.clone();
    missing.id = ObjectId::new();
    assert!(matches!(store.update_space(&missing).await, Err(StoreError::NotFound)));

    let key = format!("direct:{}:{}", ann.id.min(bea.id), ann.id.max(bea.id));
    let mut direct = space(SpaceKind::Direct, "", ann.id);
    direct.unique_key = Some(key.clone());
    store.insert_space(&direct, &membership(direct.id, ann.id, Role::Member, now)).await?;
    let mut twin = space(SpaceKind::Direct, "", bea.id);
    twin.unique_key = Some(key.clone());
    match store.insert_space(&twin, &membership(twin.id, bea.id, Role::Member, now)).await {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, "space_unique_key"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The failed insert left nothing behind, membership included.
    assert_eq!(store.space_by_id(twin.id).await?, None);
    assert_eq!(store.membership(twin.id, bea.id).await?, None);
    assert_eq!(store.space_by_unique_key(&key).await?.map(|s| s.id), Some(direct.id));
    Ok(())
}

pub async fn members_are_listed_admins_first_searched_and_paged(store: Arc<dyn Store>) -> Outcome {
    let owner = registered(&store, "Zed Owner").await?;
    let group = space(SpaceKind::Group, "Team", owner.id);
    let t0 = Timestamp::now();
    store.insert_space(&group, &membership(group.id, owner.id, Role::Admin, t0)).await?;
    let guest = registered(&store, "Gus Guest").await?;
    let member = registered(&store, "Mia Member").await?;
    let gone = registered(&store, "Kim Kicked").await?;
    store.put_membership(&membership(group.id, guest.id, Role::Guest, t0.add_millis(1))).await?;
    store.put_membership(&membership(group.id, member.id, Role::Member, t0.add_millis(2))).await?;
    let mut kicked = membership(group.id, gone.id, Role::Member, t0.add_millis(3));
    kicked.state = MembershipState::Kicked;
    store.put_membership(&kicked).await?;

    let (all, total) = store.members(group.id, None, 0, 10).await?;
    assert_eq!(total, 3);
    let names: Vec<_> = all.iter().map(|(_, u)| u.displayname.as_str()).collect();
    assert_eq!(names, ["Zed Owner", "Mia Member", "Gus Guest"]);
    assert_eq!(all[2].0.role, Role::Guest);

    let (page, total) = store.members(group.id, None, 1, 1).await?;
    assert_eq!((page.len(), total), (1, 3));
    assert_eq!(page[0].1.id, member.id);

    let (found, total) = store.members(group.id, Some("MEMBER"), 0, 10).await?;
    assert_eq!((found.len(), total), (1, 1));
    let (by_email, _) = store.members(group.id, Some("gus guest@"), 0, 10).await?;
    assert_eq!(by_email.len(), 1);
    let (none, total) = store.members(group.id, Some("100%_"), 0, 10).await?;
    assert_eq!((none.len(), total), (0, 0), "LIKE wildcards in a search are literal");

    let updated = MembershipRecord { is_pinned: Some(true), unread_count: 4, ..all[1].0.clone() };
    store.put_membership(&updated).await?;
    assert_eq!(store.membership(group.id, member.id).await?, Some(updated));
    Ok(())
}

pub async fn the_last_admin_can_be_neither_demoted_nor_removed(store: Arc<dyn Store>) -> Outcome {
    use plaza_db::{MemberChange, MemberChangeOutcome};
    let first = registered(&store, "first").await?;
    let second = registered(&store, "second").await?;
    let group = space(SpaceKind::Group, "Team", first.id);
    let now = Timestamp::now();
    let demote = MemberChange::SetRole(Role::Member);
    let kick = MemberChange::Remove { state: MembershipState::Kicked, only_if: None };
    store.insert_space(&group, &membership(group.id, first.id, Role::Admin, now)).await?;
    let change = |user, change| store.change_member_keeping_an_admin(group.id, user, change, now);
    assert_eq!(change(first.id, demote).await?, MemberChangeOutcome::LastAdmin);
    assert_eq!(change(first.id, kick).await?, MemberChangeOutcome::LastAdmin);
    assert_eq!(
        change(first.id, MemberChange::SetRole(Role::Admin)).await?,
        MemberChangeOutcome::Done
    );
    assert!(matches!(change(ObjectId::new(), demote).await, Err(StoreError::NotFound)));

    // Two admins demote each other at once: exactly one wins.
    store.put_membership(&membership(group.id, second.id, Role::Admin, now)).await?;
    let (a, b) = tokio::join!(change(first.id, demote), change(second.id, demote));
    let wins = [a?, b?].iter().filter(|o| **o == MemberChangeOutcome::Done).count();
    assert_eq!(wins, 1);
    let (members, _) = store.members(group.id, None, 0, 10).await?;
    assert_eq!(members.iter().filter(|(m, _)| m.role == Role::Admin).count(), 1);

    // A removal conditioned on a role the member no longer has does nothing.
    let demoted = members
        .iter()
        .find(|(m, _)| m.role == Role::Member)
        .map(|(m, _)| m.user_id)
        .expect("one member");
    let guests_only =
        MemberChange::Remove { state: MembershipState::Kicked, only_if: Some(Role::Guest) };
    assert_eq!(change(demoted, guests_only).await?, MemberChangeOutcome::RoleChanged);
    assert_eq!(
        store.membership(group.id, demoted).await?.expect("kept").state,
        MembershipState::Active
    );
    // Leaving and kicking record different states.
    let leave = MemberChange::Remove { state: MembershipState::Left, only_if: Some(Role::Member) };
    assert_eq!(change(demoted, leave).await?, MemberChangeOutcome::Done);
    assert_eq!(
        store.membership(group.id, demoted).await?.expect("kept").state,
        MembershipState::Left
    );
    Ok(())
}

pub async fn a_members_own_writes_never_touch_role_or_state(store: Arc<dyn Store>) -> Outcome {
    use plaza_db::{MemberChange, MemberChangeOutcome};
    let owner = registered(&store, "boss").await?;
    let user = registered(&store, "user").await?;
    let group = space(SpaceKind::Group, "Team", owner.id);
    let now = Timestamp::now();
    store.insert_space(&group, &membership(group.id, owner.id, Role::Admin, now)).await?;
    store.put_membership(&membership(group.id, user.id, Role::Member, now)).await?;
    let stale = store.membership(group.id, user.id).await?.expect("member");

    // An admin promotes the user; the user's stale copy then writes its own view.
    let promote = MemberChange::SetRole(Role::Admin);
    assert_eq!(
        store.change_member_keeping_an_admin(group.id, user.id, promote, now).await?,
        MemberChangeOutcome::Done
    );
    let mut view = stale.clone();
    view.is_pinned = Some(true);
    view.unread_count = 0;
    view.hidden = true;
    assert!(store.update_member_view(&view).await?);
    let stored = store.membership(group.id, user.id).await?.expect("member");
    assert_eq!((stored.role, stored.is_pinned, stored.hidden), (Role::Admin, Some(true), true));

    // Once removed, their writes change nothing and say so.
    let kick = MemberChange::Remove { state: MembershipState::Kicked, only_if: None };
    store.change_member_keeping_an_admin(group.id, user.id, kick, now).await?;
    assert!(!store.update_member_view(&view).await?);
    assert_eq!(
        store.membership(group.id, user.id).await?.expect("kept").state,
        MembershipState::Kicked
    );

    // A removed member's entry no longer tracks the space's activity.
    let before = store.membership(group.id, user.id).await?.expect("kept").activity_at;
    store.touch_space_activity(group.id, now.add_millis(1_000)).await?;
    assert_eq!(store.membership(group.id, user.id).await?.expect("kept").activity_at, before);
    assert_eq!(
        store.membership(group.id, owner.id).await?.expect("owner").activity_at,
        now.add_millis(1_000)
    );
    // A space the user left is gone from their list, deleted entries included.
    let left = space(SpaceKind::Group, "Left", owner.id);
    store.insert_space(&left, &membership(left.id, owner.id, Role::Admin, now)).await?;
    store
        .put_membership(&MembershipRecord {
            state: MembershipState::Left,
            ..membership(left.id, user.id, Role::Member, now)
        })
        .await?;
    let everything = ListingFilter { include_deleted: true, ..all_kinds_filter() };
    let listed: Vec<_> = store
        .list_memberships(user.id, &everything, ListingPage::After(None), 50)
        .await?
        .iter()
        .map(|(s, _)| s.id)
        .collect();
    assert_eq!(listed, [group.id], "kicked shows as deleted; left does not show");
    Ok(())
}

pub async fn listings_page_by_cursor_both_ways_and_filter(store: Arc<dyn Store>) -> Outcome {
    let me = registered(&store, "me").await?;
    let other = registered(&store, "other").await?;
    let base = Timestamp::now();
    let mut ids = Vec::new();
    for i in 0..7 {
        let kind = if i == 6 { SpaceKind::Direct } else { SpaceKind::Group };
        let s = space(kind, &format!("space {i}"), other.id);
        let at = base.add_millis(i);
        let role = if i == 5 { Role::Admin } else { Role::Member };
        store.insert_space(&s, &membership(s.id, me.id, role, at)).await?;
        ids.push(s.id);
    }
    // Someone else's space never shows.
    let foreign = space(SpaceKind::Group, "not mine", other.id);
    store.insert_space(&foreign, &membership(foreign.id, other.id, Role::Admin, base)).await?;

    let filter = all_kinds_filter();
    let newest_first: Vec<ObjectId> = ids.iter().rev().copied().collect();
    let mut seen = Vec::new();
    let mut page = ListingPage::After(None);
    loop {
        let rows = store.list_memberships(me.id, &filter, page, 3).await?;
        let Some((last_space, last_membership)) = rows.last() else { break };
        page = ListingPage::After(Some(ListingCursor {
            time: last_membership.activity_at.millis(),
            id: last_space.id,
        }));
        seen.extend(rows.iter().map(|(s, _)| s.id));
    }
    assert_eq!(seen, newest_first);

    // Backwards from the 5th item gives the 3 before it, still newest first.
    let fifth = &store.list_memberships(me.id, &filter, ListingPage::Offset(4), 1).await?[0];
    let cursor = ListingCursor { time: fifth.1.activity_at.millis(), id: fifth.0.id };
    let before: Vec<ObjectId> = store
        .list_memberships(me.id, &filter, ListingPage::Before(cursor), 3)
        .await?
        .iter()
        .map(|(s, _)| s.id)
        .collect();
    assert_eq!(before, newest_first[1..4]);

    let groups_only = ListingFilter { kinds: vec![SpaceKind::Group], ..all_kinds_filter() };
    assert_eq!(
        store.list_memberships(me.id, &groups_only, ListingPage::After(None), 50).await?.len(),
        6
    );

    // Activity moves a space to the top.
    store.touch_space_activity(ids[0], base.add_millis(100)).await?;
    let top = &store.list_memberships(me.id, &filter, ListingPage::After(None), 1).await?[0];
    assert_eq!(top.0.id, ids[0]);
    let recent = ListingFilter { after: Some(base.add_millis(50)), ..all_kinds_filter() };
    let recent_ids: Vec<_> = store
        .list_memberships(me.id, &recent, ListingPage::After(None), 50)
        .await?
        .iter()
        .map(|(s, _)| s.id)
        .collect();
    assert_eq!(recent_ids, [ids[0]]);

    // Pinned, hidden, kicked and archived-but-not-admin.
    let mut pinned = store.membership(ids[1], me.id).await?.expect("member");
    pinned.is_pinned = Some(true);
    store.put_membership(&pinned).await?;
    let pinned_only = ListingFilter { pinned_only: true, ..all_kinds_filter() };
    let pinned_ids: Vec<_> = store
        .list_memberships(me.id, &pinned_only, ListingPage::After(None), 50)
        .await?
        .iter()
        .map(|(s, _)| s.id)
        .collect();
    assert_eq!(pinned_ids, [ids[1]]);

    let mut hidden = store.membership(ids[2], me.id).await?.expect("member");
    hidden.hidden = true;
    store.put_membership(&hidden).await?;
    let mut kicked = store.membership(ids[3], me.id).await?.expect("member");
    kicked.state = MembershipState::Kicked;
    store.put_membership(&kicked).await?;
    for archived in [ids[4], ids[5]] {
        let mut s = store.space_by_id(archived).await?.expect("space");
        s.status = SpaceStatus::Archived;
        store.update_space(&s).await?;
    }
    let visible: Vec<_> = store
        .list_memberships(me.id, &filter, ListingPage::After(None), 50)
        .await?
        .iter()
        .map(|(s, _)| s.id)
        .collect();
    // ids[5] is archived but I administer it; ids[4] is archived and I do not.
    assert_eq!(visible, [ids[0], ids[6], ids[5], ids[1]]);
    let everything = ListingFilter { include_deleted: true, ..all_kinds_filter() };
    assert_eq!(
        store.list_memberships(me.id, &everything, ListingPage::After(None), 50).await?.len(),
        7
    );
    let archived_only = ListingFilter {
        statuses: vec![SpaceStatus::Archived],
        include_deleted: true,
        ..all_kinds_filter()
    };
    assert_eq!(
        store.list_memberships(me.id, &archived_only, ListingPage::After(None), 50).await?.len(),
        2
    );
    Ok(())
}

pub async fn member_previews_are_capped_per_space(store: Arc<dyn Store>) -> Outcome {
    let owner = registered(&store, "owner").await?;
    let now = Timestamp::now();
    let big = space(SpaceKind::Group, "big", owner.id);
    let small = space(SpaceKind::Group, "small", owner.id);
    store.insert_space(&big, &membership(big.id, owner.id, Role::Admin, now)).await?;
    store.insert_space(&small, &membership(small.id, owner.id, Role::Admin, now)).await?;
    for i in 0..5 {
        let u = registered(&store, &format!("m{i}")).await?;
        store
            .put_membership(&membership(big.id, u.id, Role::Member, now.add_millis(i + 1)))
            .await?;
    }
    let previews = store.member_previews(&[big.id, small.id], 3).await?;
    assert_eq!(previews.iter().filter(|(m, _)| m.space_id == big.id).count(), 3);
    assert_eq!(previews.iter().filter(|(m, _)| m.space_id == small.id).count(), 1);
    assert!(previews.iter().any(|(m, u)| m.space_id == big.id && u.id == owner.id), "admins first");
    assert!(store.member_previews(&[], 3).await?.is_empty());
    Ok(())
}

pub async fn colleagues_and_direct_partners_come_from_shared_spaces(
    store: Arc<dyn Store>,
) -> Outcome {
    let me = registered(&store, "Me").await?;
    let ally = registered(&store, "Ally").await?;
    let pal = registered(&store, "Pal").await?;
    let stranger = registered(&store, "Stranger").await?;
    let now = Timestamp::now();
    let team = space(SpaceKind::Group, "team", me.id);
    store.insert_space(&team, &membership(team.id, me.id, Role::Admin, now)).await?;
    store.put_membership(&membership(team.id, ally.id, Role::Member, now)).await?;
    let mut direct = space(SpaceKind::Direct, "", me.id);
    direct.unique_key = Some("direct:test".to_owned());
    store.insert_space(&direct, &membership(direct.id, me.id, Role::Member, now)).await?;
    store.put_membership(&membership(direct.id, pal.id, Role::Member, now)).await?;
    let elsewhere = space(SpaceKind::Group, "elsewhere", stranger.id);
    store
        .insert_space(&elsewhere, &membership(elsewhere.id, stranger.id, Role::Admin, now))
        .await?;

    let names =
        |users: Vec<UserRecord>| users.into_iter().map(|u| u.displayname).collect::<Vec<_>>();
    assert_eq!(names(store.colleagues(me.id, None, 0, 10).await?), ["Ally", "Pal"]);
    assert_eq!(names(store.colleagues(me.id, Some("al"), 0, 10).await?), ["Ally", "Pal"]);
    assert_eq!(names(store.colleagues(me.id, Some("ally"), 0, 10).await?), ["Ally"]);
    assert_eq!(names(store.colleagues(me.id, None, 1, 10).await?), ["Pal"]);
    assert_eq!(names(store.direct_partners(me.id, None, 0, 10).await?), ["Pal"]);
    assert!(store.direct_partners(stranger.id, None, 0, 10).await?.is_empty());
    Ok(())
}

pub async fn invitations_are_accepted_once(store: Arc<dyn Store>) -> Outcome {
    let owner = registered(&store, "host").await?;
    let guest = registered(&store, "visitor").await?;
    let now = Timestamp::now();
    let team = space(SpaceKind::Group, "team", owner.id);
    store.insert_space(&team, &membership(team.id, owner.id, Role::Admin, now)).await?;
    let invitation = InvitationRecord {
        id: ObjectId::new(),
        space_id: team.id,
        invitee_type: "email".to_owned(),
        invitee: "visitor@example.com".to_owned(),
        role: Role::Guest,
        invited_by: owner.id,
        created: now,
        accepted_by: None,
        accepted_at: None,
    };
    store.insert_invitation(&invitation).await?;
    assert_eq!(store.invitation(invitation.id).await?, Some(invitation.clone()));
    assert!(store.accept_invitation(invitation.id, guest.id, now).await?);
    assert!(!store.accept_invitation(invitation.id, guest.id, now).await?);
    let accepted = store.invitation(invitation.id).await?.expect("kept");
    assert_eq!(accepted.accepted_by, Some(guest.id));
    assert_eq!(store.invitation(ObjectId::new()).await?, None);
    Ok(())
}

// ---- messages ----

use plaza_db::{MessageCategory, MessageOrder, MessageQuery, MessageRecord, MessageScope, Thread};

fn message(
    space_id: ObjectId,
    sender: ObjectId,
    category: MessageCategory,
    text: &str,
    at: Timestamp,
) -> MessageRecord {
    MessageRecord {
        id: ObjectId::new(),
        space_id,
        category,
        sender_id: sender,
        content: json!({"bodyText": text}).as_object().cloned().expect("object"),
        parent_id: None,
        chat_count: 0,
        deleted: false,
        created: at,
        modified: at,
    }
}

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

// ---- files ----

use plaza_db::{FileRecord, FileState};

fn pending_file(owner: ObjectId, key: &str, length: i64, expires: Timestamp) -> FileRecord {
    FileRecord {
        key: key.to_owned(),
        owner_id: owner,
        space_id: None,
        name: Some("photo.png".into()),
        content_type: "image/png".into(),
        content_length: length,
        state: FileState::Pending,
        thumbnail_key: None,
        created: Timestamp::now(),
        expires_at: Some(expires),
    }
}

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

use plaza_db::MeetingRecord;

fn meeting(space_id: ObjectId, at: Timestamp) -> MeetingRecord {
    MeetingRecord {
        id: ObjectId::new(),
        space_id,
        state: json!({"attendees": []}),
        version: 1,
        started: at,
        ended: None,
        due_at: None,
    }
}

fn meeting_summary(meeting: &MeetingRecord, starter: ObjectId) -> MessageRecord {
    MessageRecord {
        id: meeting.id,
        content: json!({"meetingStatus": "active"}).as_object().cloned().expect("object"),
        ..message(meeting.space_id, starter, MessageCategory::Meeting, "", meeting.started)
    }
}

pub async fn one_active_meeting_per_space_saved_by_compare_and_swap(
    store: Arc<dyn Store>,
) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let group = space(SpaceKind::Group, "Standup", ann.id);
    let t0 = Timestamp::now();
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    store.put_membership(&membership(group.id, bob.id, Role::Member, t0)).await?;

    let first = meeting(group.id, t0);
    store.start_meeting(&first, &meeting_summary(&first, ann.id)).await?;
    assert_eq!(store.active_meeting(group.id).await?, Some(first.clone()));
    assert_eq!(store.meeting(first.id).await?, Some(first.clone()));
    let record = store.message(first.id).await?.expect("history record");
    assert_eq!(record.category, MessageCategory::Meeting);
    assert_eq!(
        store.membership(group.id, bob.id).await?.expect("bob").unread_count,
        1,
        "a meeting is news to the others"
    );

    // A second start while one runs fails and writes no history.
    let rival = meeting(group.id, t0.add_millis(1));
    match store.start_meeting(&rival, &meeting_summary(&rival, bob.id)).await {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, "meeting_active_key"),
        other => anyhow::bail!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.message(rival.id).await?, None);

    // Saves are compare-and-swap on the version read.
    let summary = json!({"meetingStatus": "active", "attendees": [1]});
    let summary = summary.as_object().cloned().expect("object");
    let mut next = first.clone();
    next.version = 2;
    next.state = json!({"attendees": [1]});
    next.due_at = Some(t0.add_millis(50));
    assert!(store.save_meeting(&next, &summary, t0.add_millis(5)).await?);
    assert!(!store.save_meeting(&next, &summary, t0.add_millis(6)).await?, "version 2 is taken");
    assert_eq!(store.meeting(first.id).await?, Some(next.clone()));
    let record = store.message(first.id).await?.expect("history record");
    assert_eq!((record.content, record.modified), (summary.clone(), t0.add_millis(5)));

    // Due meetings are found once their time comes.
    assert!(store.due_meetings(t0.add_millis(49), 10).await?.is_empty());
    assert_eq!(store.due_meetings(t0.add_millis(50), 10).await?, vec![next.clone()]);

    // Ending frees the space for the next meeting.
    let mut ended = next.clone();
    ended.version = 3;
    ended.ended = Some(t0.add_millis(60));
    ended.due_at = None;
    assert!(store.save_meeting(&ended, &summary, t0.add_millis(60)).await?);
    assert_eq!(store.active_meeting(group.id).await?, None);
    assert!(store.due_meetings(t0.add_millis(100), 10).await?.is_empty());
    let second = meeting(group.id, t0.add_millis(70));
    store.start_meeting(&second, &meeting_summary(&second, bob.id)).await?;

    // History: newest first, paged by id, counted, and cut for late joiners.
    let (page, total) = store.meetings(group.id, None, None, 1).await?;
    assert_eq!((page.iter().map(|m| m.id).collect::<Vec<_>>(), total), (vec![second.id], 2));
    let (page, _) = store.meetings(group.id, None, Some(second.id), 10).await?;
    assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), vec![first.id]);
    let (page, total) = store.meetings(group.id, Some(t0.add_millis(1)), None, 10).await?;
    assert_eq!((page.len(), total), (1, 1));

    // Meeting records sit in the history beside the messages.
    let mut query = MessageQuery::in_space(group.id, None, 10);
    query.categories = vec![MessageCategory::Meeting];
    let found = store.query_messages(&query).await?;
    assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), vec![second.id, first.id]);
    Ok(())
}

pub async fn running_meetings_and_dead_nodes_are_found(store: Arc<dyn Store>) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let t0 = Timestamp::now();
    let mut running = Vec::new();
    for title in ["one", "two", "three"] {
        let room = space(SpaceKind::Group, title, ann.id);
        store.insert_space(&room, &membership(room.id, ann.id, Role::Admin, t0)).await?;
        let started = meeting(room.id, t0);
        store.start_meeting(&started, &meeting_summary(&started, ann.id)).await?;
        running.push(started);
    }
    let mut ended = running.remove(1);
    ended.version = 2;
    ended.ended = Some(t0.add_millis(1));
    let summary = serde_json::Map::new();
    assert!(store.save_meeting(&ended, &summary, t0.add_millis(1)).await?);
    let first = store.active_meetings(None, 1).await?;
    let rest = store.active_meetings(first.last().map(|m| m.id), 10).await?;
    let ids: Vec<ObjectId> = first.iter().chain(rest.iter()).map(|m| m.id).collect();
    let mut want: Vec<ObjectId> = running.iter().map(|m| m.id).collect();
    want.sort();
    assert_eq!(ids, want, "running ones, paged in id order");

    store.beat_node("node-a", t0).await?;
    store.beat_node("node-b", t0).await?;
    store.beat_node("node-a", t0.add_millis(100)).await?;
    assert_eq!(store.take_dead_nodes(t0.add_millis(50)).await?, vec!["node-b".to_owned()]);
    assert!(store.take_dead_nodes(t0.add_millis(50)).await?.is_empty(), "each dead node once");
    assert_eq!(store.take_dead_nodes(t0.add_millis(101)).await?, vec!["node-a".to_owned()]);
    Ok(())
}

pub async fn shared_rate_limits_and_ringing_calls_hold_across_callers(
    store: Arc<dyn Store>,
) -> Outcome {
    // One action per 1 000 µs, bursts of 3, all at the same instant.
    let now = 1_700_000_000_000_000;
    for _ in 0..3 {
        assert_eq!(store.take_rate("sends:ann", now, 1000, 3).await?, None);
    }
    assert_eq!(store.take_rate("sends:ann", now, 1000, 3).await?, Some(1000), "over the burst");
    assert_eq!(store.take_rate("sends:bob", now, 1000, 3).await?, None, "keys are apart");
    assert_eq!(store.take_rate("sends:ann", now + 1000, 1000, 3).await?, None, "one more later");
    let purged_before =
        store.purge_expired_credentials(Timestamp::from_millis(now / 1000 + 10)).await?;
    assert!(purged_before >= 2, "spent limits are purged");

    let t0 = Timestamp::now();
    store.ring_call("call-1", t0.add_millis(1000)).await?;
    assert!(store.answer_call("call-1", t0).await?);
    assert!(!store.answer_call("call-1", t0).await?, "answered once");
    store.ring_call("call-2", t0.add_millis(10)).await?;
    assert!(!store.answer_call("call-2", t0.add_millis(11)).await?, "rang out");
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

pub async fn audit_events_filter_page_newest_first_and_purge(store: Arc<dyn Store>) -> Outcome {
    let actor = ObjectId::new();
    let space = ObjectId::new();
    let t0 = Timestamp::now();
    let mut ids = Vec::new();
    for (n, action) in
        ["auth.login", "auth.login.failed", "space.member.role", "space_x.other", "auth.logout"]
            .into_iter()
            .enumerate()
    {
        let event = AuditRecord {
            id: ObjectId::new(),
            at: t0.add_millis(i64::try_from(n)? * 10),
            actor_id: (n != 1).then_some(actor),
            actor_name: Some("ann@example.com".to_owned()),
            action: action.to_owned(),
            target_kind: Some("user".to_owned()),
            target_id: Some(format!("target-{}", n % 2)),
            space_id: (n == 2).then_some(space),
            client_ip: Some("2001:db8::1".to_owned()),
            details: json!({"n": n}),
        };
        store.insert_audit_event(&event).await?;
        ids.push(event);
    }
    let query = |action: Option<&str>| AuditQuery {
        action: action.map(str::to_owned),
        limit: 10,
        ..AuditQuery::default()
    };
    let all = store.audit_events(&query(None)).await?;
    let newest_first: Vec<AuditRecord> = ids.iter().rev().cloned().collect();
    assert_eq!(all, newest_first, "round trip, newest first");
    let names = |events: Vec<AuditRecord>| events.into_iter().map(|e| e.action).collect::<Vec<_>>();
    assert_eq!(
        names(store.audit_events(&query(Some("auth."))).await?),
        ["auth.logout", "auth.login.failed", "auth.login"],
        "a prefix ending in a dot"
    );
    assert_eq!(names(store.audit_events(&query(Some("auth.login"))).await?), ["auth.login"]);
    // An underscore in the prefix is matched as itself.
    assert_eq!(names(store.audit_events(&query(Some("space_x."))).await?), ["space_x.other"]);
    let by_actor = AuditQuery { actor_id: Some(actor), ..query(None) };
    assert_eq!(store.audit_events(&by_actor).await?.len(), 4);
    let by_target = AuditQuery { target_id: Some("target-1".to_owned()), ..query(None) };
    assert_eq!(
        names(store.audit_events(&by_target).await?),
        ["space_x.other", "auth.login.failed"]
    );
    let by_space = AuditQuery { space_id: Some(space), ..query(None) };
    assert_eq!(names(store.audit_events(&by_space).await?), ["space.member.role"]);
    let page = AuditQuery { before: Some(ids[3].id), limit: 2, ..query(None) };
    assert_eq!(names(store.audit_events(&page).await?), ["space.member.role", "auth.login.failed"]);
    assert_eq!(store.purge_audit_events(t0.add_millis(15)).await?, 2);
    assert_eq!(store.audit_events(&query(None)).await?.len(), 3, "the older two are gone");
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

/// A space and one user's membership in it come back from one read, as the two separate
/// reads would answer them.
pub async fn a_space_is_read_with_one_users_membership(store: Arc<dyn Store>) -> Outcome {
    let ann = registered(&store, "ann").await?;
    let bob = registered(&store, "bob").await?;
    let t0 = Timestamp::now();
    let group = space(SpaceKind::Group, "Together", ann.id);
    store.insert_space(&group, &membership(group.id, ann.id, Role::Admin, t0)).await?;
    let chat = message(group.id, ann.id, MessageCategory::Chat, "hi", t0.add_millis(1));
    store.insert_message(&chat, false).await?;

    let (found, ann_view) =
        store.space_with_membership(group.id, ann.id).await?.expect("the space exists");
    assert_eq!(Some(found), store.space_by_id(group.id).await?);
    assert_eq!(ann_view, store.membership(group.id, ann.id).await?);
    assert!(ann_view.is_some());
    let (_, bob_view) = store.space_with_membership(group.id, bob.id).await?.expect("exists");
    assert_eq!(bob_view, None, "an outsider has no membership");
    assert!(store.space_with_membership(ObjectId::new(), ann.id).await?.is_none());
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
