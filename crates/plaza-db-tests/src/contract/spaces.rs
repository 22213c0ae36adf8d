//! Spaces, unique keys, members and their roles, listings, previews and invitations.

use super::*;

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

    // Visits move an active member's last access on, never back, and never a removed one's.
    let later = now.add_millis(5_000);
    store.touch_members(&[(group.id, owner.id), (group.id, user.id)], later).await?;
    store.touch_members(&[(group.id, owner.id)], now.add_millis(2_000)).await?;
    assert_eq!(store.membership(group.id, owner.id).await?.expect("owner").last_access, later);
    assert_eq!(
        store.membership(group.id, user.id).await?.expect("kept").last_access,
        stale.last_access
    );
    store.touch_members(&[], later).await?;

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
