//! The member list, role changes and removals, each under the space's lock so that a
//! space never loses its last admin.

use super::*;

impl SpaceService {
    /// `GET /api/spaces/{id}/members`: for anyone who can read the space.
    pub async fn members(
        &self,
        principal: &Principal,
        space_id: &str,
        search: Option<&str>,
        page: u32,
        size: u32,
    ) -> CoreResult<(Vec<(MembershipRecord, UserRecord)>, u64)> {
        let space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if !allowed(space.kind, party(principal, mine.as_ref()), Action::ReadMessages) {
            return Err(deny("only members may list the members of this space"));
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > 128) {
            return Err(CoreError::invalid("search", "must be at most 128 characters"));
        }
        let offset =
            page.checked_mul(size).ok_or_else(|| CoreError::invalid("page", "is too large"))?;
        Ok(self.store.members(space.id, search, offset, size).await?)
    }

    /// `POST /api/spaces/{id}/attendees/{type}/{userId}`: admins set a role, adding the
    /// user when they are not a member yet; the last admin stays an admin.
    pub async fn set_role(
        &self,
        principal: &Principal,
        space_id: &str,
        attendee_type: &str,
        user_id: &str,
        role: &str,
    ) -> CoreResult<(UserRecord, Role)> {
        let space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if !allowed(space.kind, party(principal, mine.as_ref()), Action::ChangeRole) {
            return Err(deny("only admins of this space may change roles"));
        }
        let kind = parse_user_type(attendee_type)?;
        let role = parse_role(Some(role), Role::Member)?;
        let target = self.user(user_id).await?;
        if (target.kind == UserKind::Anonymous || kind == UserKind::Anonymous)
            && role != Role::Guest
        {
            return Err(CoreError::invalid("role", "anonymous users can only be guests"));
        }
        let now = Timestamp::now();
        let existing = self.store.membership(space.id, target.id).await?;
        let previous = existing
            .as_ref()
            .filter(|m| m.state == MembershipState::Active)
            .map(|m| m.role.as_str());
        match existing {
            Some(m) if m.state == MembershipState::Active => {
                let change = MemberChange::SetRole(role);
                match self
                    .store
                    .change_member_keeping_an_admin(space.id, target.id, change, now)
                    .await
                {
                    Ok(MemberChangeOutcome::Done) => {}
                    Ok(_) => return Err(last_admin()),
                    Err(StoreError::NotFound) => return Err(member_not_found()),
                    Err(other) => return Err(other.into()),
                }
            }
            // An admin may add anyone, or bring back someone who left or was removed.
            other => {
                let membership = match other {
                    Some(m) => MembershipRecord { role, ..m.readmitted(role, now) },
                    None => MembershipRecord::joining(space.id, target.id, role, now),
                };
                self.store.put_membership(&membership).await?;
            }
        }
        self.store.touch_space_activity(space.id, now).await?;
        self.audit
            .record(
                AuditEntry::new(principal, "space.member.role")
                    .target("user", target.id)
                    .space(space.id)
                    .detail("role", role.as_str())
                    .detail("previousRole", previous),
            )
            .await;
        Ok((target, role))
    }

    /// `DELETE /api/spaces/{id}/attendees/{type}/{userId}`: admins remove anyone but
    /// the last admin, members remove guests, and anyone may leave.
    pub async fn remove(
        &self,
        principal: &Principal,
        space_id: &str,
        attendee_type: &str,
        user_id: &str,
    ) -> CoreResult<UserRecord> {
        let space = self.space(space_id).await?;
        parse_user_type(attendee_type)?;
        let target = self.user(user_id).await?;
        let theirs = self
            .store
            .membership(space.id, target.id)
            .await?
            .filter(|m| m.state == MembershipState::Active)
            .ok_or_else(member_not_found)?;
        let leaving = target.id == principal.user_id();
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let me = party(principal, mine.as_ref());
        let permitted = if space.kind == SpaceKind::Direct {
            false
        } else if leaving {
            me.role.is_some()
        } else {
            allowed(space.kind, me, Action::Remove(theirs.role))
        };
        if !permitted {
            return Err(deny("you may not remove this party from this space"));
        }
        // Leaving is not being removed: a user who left may come back by link.
        let change = if leaving {
            MemberChange::Remove { state: MembershipState::Left, only_if: None }
        } else {
            // Checked again under the space's lock: the target may be promoted meanwhile,
            // which matters to whoever may not remove every role.
            let removes_any = allowed(space.kind, me, Action::Remove(Role::Admin));
            let only_if = (!removes_any).then_some(theirs.role);
            MemberChange::Remove { state: MembershipState::Kicked, only_if }
        };
        let now = Timestamp::now();
        match self.store.change_member_keeping_an_admin(space.id, target.id, change, now).await {
            Ok(MemberChangeOutcome::Done) => {}
            Ok(MemberChangeOutcome::LastAdmin) => return Err(last_admin()),
            Ok(MemberChangeOutcome::RoleChanged) => {
                return Err(deny("this party's role changed; try again"));
            }
            Err(StoreError::NotFound) => return Err(member_not_found()),
            Err(other) => return Err(other.into()),
        }
        self.store.touch_space_activity(space.id, now).await?;
        self.events.publish(DomainEvent::MemberRemoved {
            space_id: space.id,
            user_id: target.id,
            by: principal.user_id(),
        });
        if !leaving {
            self.audit
                .record(
                    AuditEntry::new(principal, "space.member.remove")
                        .target("user", target.id)
                        .space(space.id)
                        .detail("role", theirs.role.as_str()),
                )
                .await;
        }
        Ok(target)
    }
}
