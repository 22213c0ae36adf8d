//! Getting into a space: reading it (or its preview) before joining, joining by link
//! (with the PIN where one is needed), invitations by user id and by e-mail.

use super::*;

impl SpaceService {
    /// Validates invitees and the caller's right to invite each with their role.
    pub(super) async fn resolve_invitees(
        &self,
        principal: &Principal,
        space: &SpaceRecord,
        caller_role: Option<Role>,
        invitees: &[Invitee],
    ) -> CoreResult<Vec<(Invitee, Role, Option<UserRecord>)>> {
        let caller =
            Party { role: caller_role, anonymous: principal.user.kind == UserKind::Anonymous };
        let mut targets = Vec::with_capacity(invitees.len());
        for (i, invitee) in invitees.iter().enumerate() {
            let role = parse_role(invitee.role.as_deref(), Role::Member).map_err(|_| {
                CoreError::invalid(format!("invitees[{i}].role"), "must be admin, member or guest")
            })?;
            if !allowed(space.kind, caller, Action::Invite(role)) {
                return Err(deny("you may not invite people with this role to this space"));
            }
            match invitee.invitee_type.to_ascii_lowercase().as_str() {
                "userid" | "user" => {
                    let user = self.user(invitee.invitee.trim()).await.map_err(|_| {
                        CoreError::invalid(
                            format!("invitees[{i}].invitee"),
                            "is not a known user id",
                        )
                    })?;
                    let role = if user.kind == UserKind::Anonymous { Role::Guest } else { role };
                    targets.push((invitee.clone(), role, Some(user)));
                }
                "email" => {
                    let email = crate::identity::validate_email(
                        &format!("invitees[{i}].invitee"),
                        &invitee.invitee,
                    )?;
                    targets.push((
                        Invitee { invitee: email.to_lowercase(), ..invitee.clone() },
                        role,
                        None,
                    ));
                }
                _ => {
                    return Err(CoreError::invalid(
                        format!("invitees[{i}].inviteeType"),
                        "must be email or userId",
                    ));
                }
            }
        }
        Ok(targets)
    }

    /// Puts `user_id` in the space with `role`: a newcomer or someone who left or was
    /// removed comes in with it; an active member keeps the higher of their role and
    /// `role` (an invitation never demotes), the change made under the space's lock.
    async fn admit(
        &self,
        space: &SpaceRecord,
        user_id: ObjectId,
        role: Role,
        existing: Option<MembershipRecord>,
    ) -> CoreResult<MembershipRecord> {
        let now = Timestamp::now();
        let membership = match existing {
            Some(active) if active.state == MembershipState::Active => {
                if role >= active.role {
                    return Ok(active);
                }
                match self
                    .store
                    .change_member_keeping_an_admin(
                        space.id,
                        user_id,
                        MemberChange::SetRole(role),
                        now,
                    )
                    .await
                {
                    Ok(_) => MembershipRecord { role, modified: now, ..active },
                    Err(StoreError::NotFound) => {
                        // Removed meanwhile: they come back with the new role.
                        let fresh = MembershipRecord::joining(space.id, user_id, role, now);
                        self.store.put_membership(&fresh).await?;
                        fresh
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            Some(gone) => {
                let back = gone.readmitted(role, now);
                self.store.put_membership(&back).await?;
                back
            }
            None => {
                let fresh = MembershipRecord::joining(space.id, user_id, role, now);
                self.store.put_membership(&fresh).await?;
                fresh
            }
        };
        // A member joining or changing role is "recent activity" for everyone; joins are
        // coalesced (see `JoinActivity`).
        if self.joins.should_record(space.id, now) {
            self.store.touch_space_activity(space.id, now).await?;
        }
        Ok(membership)
    }

    pub(super) async fn apply_invitees(
        &self,
        principal: &Principal,
        space: &SpaceRecord,
        inviter: Party,
        targets: Vec<(Invitee, Role, Option<UserRecord>)>,
    ) -> CoreResult<Vec<InviteOutcome>> {
        // `None` holds an email invitation's place until its mail is tried, so the
        // answer keeps the invitees' order.
        let mut outcomes: Vec<Option<InviteOutcome>> = Vec::with_capacity(targets.len());
        let (mut pending, mut mails) = (Vec::new(), Vec::new());
        for (invitee, role, user) in targets {
            let now = Timestamp::now();
            match user {
                Some(user) => {
                    let existing = self.store.membership(space.id, user.id).await?;
                    if existing.as_ref().is_some_and(|m| m.state == MembershipState::Kicked)
                        && !allowed(space.kind, inviter, Action::ReadmitRemoved)
                    {
                        return Err(deny("only admins may bring back someone who was removed"));
                    }
                    let membership = self.admit(space, user.id, role, existing).await?;
                    outcomes.push(Some(InviteOutcome::Added { user, role: membership.role }));
                }
                None => {
                    let invitation = InvitationRecord {
                        id: ObjectId::new(),
                        space_id: space.id,
                        invitee_type: "email".to_owned(),
                        invitee: invitee.invitee,
                        role,
                        invited_by: principal.user_id(),
                        created: now,
                        accepted_by: None,
                        accepted_at: None,
                    };
                    self.store.insert_invitation(&invitation).await?;
                    mails.push(crate::mail::invitation(
                        self.postman.site(),
                        &invitation.invitee,
                        &space.title,
                        &principal.user.displayname,
                        invitation.role.as_str(),
                        &invitation.id.to_string(),
                    ));
                    pending.push(invitation);
                    outcomes.push(None);
                }
            }
        }
        // Every invitation is stored before any mail is tried: a mail that fails leaves
        // its invitation, and the answer says to share the link by hand. The mails go
        // together, so a slow mail server costs one time limit, not one per invitee.
        let statuses =
            futures_util::future::join_all(mails.iter().map(|mail| self.postman.deliver(mail)))
                .await;
        let mut mailed = pending
            .into_iter()
            .zip(statuses)
            .map(|(invitation, mail)| InviteOutcome::Pending { invitation, mail });
        Ok(outcomes.into_iter().filter_map(|outcome| outcome.or_else(|| mailed.next())).collect())
    }

    /// `POST /api/spaces/{id}/invite`.
    pub async fn invite(
        &self,
        principal: &Principal,
        space_id: &str,
        invitees: &[Invitee],
    ) -> CoreResult<Vec<InviteOutcome>> {
        let space = self.space(space_id).await?;
        if invitees.is_empty() || invitees.len() > MAX_INVITEES {
            return Err(CoreError::invalid(
                "invitees",
                format!("needs 1 to {MAX_INVITEES} invitees"),
            ));
        }
        if space.status == SpaceStatus::Archived {
            return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
        }
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let inviter = party(principal, mine.as_ref());
        let targets = self.resolve_invitees(principal, &space, inviter.role, invitees).await?;
        self.apply_invitees(principal, &space, inviter, targets).await
    }

    /// `GET /api/spaces/{id}`: members see it; others who could join it (with the PIN
    /// where one is needed) see its preview, without joining: a view with no members and
    /// no membership of theirs, which the transports show as title, type and status only
    /// (who is in a space is for those in it, as `/members` says).
    pub async fn get(
        &self,
        principal: &Principal,
        space_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<SpaceView> {
        let space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if party(principal, mine.as_ref()).role.is_none() {
            self.pins.attempt(&self.audit, principal, &space, pin).await?;
            check_can_join(&space, mine.as_ref(), pin)?;
            return Ok(SpaceView { space, members: Vec::new(), me: None });
        }
        self.view(space, mine).await
    }

    /// `GET /api/spaces/{id}/join`: members refresh; anyone else who may join becomes a
    /// guest (their `joinTime` bounds the history they can read).
    pub async fn join(
        &self,
        principal: &Principal,
        space_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<SpaceView> {
        let (space, membership) = self.enter(principal, space_id, pin).await?;
        self.view(space, Some(membership)).await
    }

    /// Joins as [`SpaceService::join`] does, without the member preview of a space view:
    /// a socket subscribing to a space needs only the space and its membership, and
    /// reading the preview costs a sort over the space's members each time.
    pub async fn enter(
        &self,
        principal: &Principal,
        space_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<(SpaceRecord, MembershipRecord)> {
        let id: ObjectId = space_id.parse().map_err(|_| not_found())?;
        let (space, mine) =
            live_space_with_membership(self.store.as_ref(), id, principal.user_id()).await?;
        let now = Timestamp::now();
        if let Some(active) = mine.as_ref().filter(|m| m.state == MembershipState::Active) {
            // Written a little later, in a batch with other visits (a reconnect storm
            // would otherwise be one write per socket).
            self.visits.record(space.id, principal.user_id());
            return Ok((space, MembershipRecord { last_access: now, ..active.clone() }));
        }
        self.pins.attempt(&self.audit, principal, &space, pin).await?;
        check_can_join(&space, mine.as_ref(), pin)?;
        let membership = self.admit(&space, principal.user_id(), Role::Guest, mine).await?;
        Ok((space, membership))
    }

    /// `GET /api/spaces/invites/{inviteId}/join`: the invited email's owner joins with
    /// the invited role; an anonymous guest with the link joins as a guest.
    pub async fn accept_invitation(
        &self,
        principal: &Principal,
        invitation_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<SpaceView> {
        let missing = || CoreError::new(ErrorCode::InvitationNotFound, "no such invitation");
        let id: ObjectId = invitation_id.parse().map_err(|_| missing())?;
        let invitation = self.store.invitation(id).await?.ok_or_else(missing)?;
        let space_id = invitation.space_id.to_string();
        let space = self.space(&space_id).await?;
        // A link in a guest's hands is a link to the space: it joins them as a guest on
        // the usual terms (PIN, memberOnly) and leaves the invitation for its invitee.
        if principal.user.kind == UserKind::Anonymous {
            return self.join(principal, &space_id, pin).await;
        }
        if !principal.user.username.eq_ignore_ascii_case(&invitation.invitee) {
            return Err(deny("this invitation is for another email address"));
        }
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if mine.as_ref().is_some_and(|m| m.state == MembershipState::Kicked) {
            return Err(deny("you were removed from this space"));
        }
        match invitation.accepted_by {
            // Used once, by them: it grants nothing again (a demoted admin cannot get
            // their role back with it); they are in, or may join like anyone.
            Some(by) if by == principal.user_id() => {
                return self.join(principal, &space_id, pin).await;
            }
            Some(_) => {
                return Err(CoreError::new(
                    ErrorCode::InvitationAccepted,
                    "this invitation was already used",
                ));
            }
            None => {}
        }
        if space.status == SpaceStatus::Archived {
            return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
        }
        if invitation.role == Role::Guest {
            self.pins.attempt(&self.audit, principal, &space, pin).await?;
            check_pin(&space, pin)?;
        }
        let now = Timestamp::now();
        if !self.store.accept_invitation(id, principal.user_id(), now).await? {
            return Err(CoreError::new(
                ErrorCode::InvitationAccepted,
                "this invitation was already used",
            ));
        }
        let membership = self.admit(&space, principal.user_id(), invitation.role, mine).await?;
        let membership = MembershipRecord { last_access: now, ..membership };
        self.store.update_member_view(&membership).await?;
        self.view(space, Some(membership)).await
    }
}
