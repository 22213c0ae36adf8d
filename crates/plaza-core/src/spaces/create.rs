//! Making and changing spaces: group spaces, their settings and status, direct spaces
//! between two people, and each user's personal meeting room.

use super::*;

/// Settings a new group or personal space starts with (the shape clients read).
fn default_settings() -> Map<String, Value> {
    let conf_id: u32 = rand::thread_rng().gen_range(100_000_000..1_000_000_000);
    let value = json!({
        "confId": conf_id.to_string(),
        "mdSrv": "mpaas",
        "mdOpts": [],
        "mdProviders": ["mpaas"],
        "mdLic": ["video", "audio"],
        "memberOnly": false,
        "allowPasswordInURL": false,
        "passwordRequired": {"allGuests": false},
        "autoStart": false,
        "hideAutoStartPrompt": false,
        "mpaasSettings": {
            "eventConference": {"enable": false},
            "mixerMode": "OPTIMIZED_PROCESSED",
            "maxResolution": "720P",
        },
    });
    value.as_object().cloned().unwrap_or_default()
}

/// Checks the settings keys Plaza acts on; other keys are kept as clients sent them.
fn validate_settings(settings: &Map<String, Value>) -> CoreResult<()> {
    for (key, value) in settings {
        let ok = match key.as_str() {
            "confPin" => {
                value.is_null()
                    || value.as_str().is_some_and(|pin| {
                        pin.len() <= 32 && pin.chars().all(|c| c.is_ascii_alphanumeric())
                    })
            }
            "memberOnly" | "allowPasswordInURL" | "autoStart" | "hideAutoStartPrompt" => {
                value.is_boolean()
            }
            "passwordRequired" => value
                .as_object()
                .is_some_and(|o| o.iter().all(|(k, v)| k == "allGuests" && v.is_boolean())),
            "confId" => false,
            _ => true,
        };
        if !ok {
            let message = match key.as_str() {
                "confPin" => "must be up to 32 letters or digits, or null",
                "passwordRequired" => "must be {\"allGuests\": true|false}",
                "confId" => "is assigned by the server",
                _ => "must be true or false",
            };
            return Err(CoreError::invalid(format!("settings.{key}"), message));
        }
    }
    if Value::Object(settings.clone()).to_string().len() > MAX_SETTINGS_BYTES {
        return Err(CoreError::invalid(
            "settings",
            format!("must be at most {MAX_SETTINGS_BYTES} bytes"),
        ));
    }
    Ok(())
}

impl SpaceService {
    /// `POST /api/spaces/invite`: creates a group space (the caller is its admin) and
    /// invites people to it.
    pub async fn create(
        &self,
        principal: &Principal,
        title: &str,
        description: Option<&str>,
        invitees: &[Invitee],
    ) -> CoreResult<(SpaceView, Vec<InviteOutcome>)> {
        if principal.user.kind == UserKind::Anonymous {
            return Err(deny("anonymous users cannot create spaces"));
        }
        if invitees.len() > MAX_INVITEES {
            return Err(CoreError::invalid(
                "invitees",
                format!("at most {MAX_INVITEES} at a time"),
            ));
        }
        let now = Timestamp::now();
        let space = SpaceRecord {
            id: ObjectId::new(),
            kind: SpaceKind::Group,
            title: check_text("topic.title", title, MAX_TITLE, true)?,
            description: check_text(
                "topic.description",
                description.unwrap_or_default(),
                MAX_DESCRIPTION,
                false,
            )?,
            status: SpaceStatus::Active,
            settings: default_settings(),
            restrict: vec![GUEST_HISTORY_CUT.to_owned()],
            creator_id: principal.user_id(),
            unique_key: None,
            created: now,
            modified: now,
        };
        let me = MembershipRecord::joining(space.id, principal.user_id(), Role::Admin, now);
        // Check every invitee before anything is written.
        let targets = self.resolve_invitees(principal, &space, Some(Role::Admin), invitees).await?;
        self.store.insert_space(&space, &me).await?;
        // The creator is the new space's admin.
        let creator = Party { role: Some(Role::Admin), anonymous: false };
        let outcomes = self.apply_invitees(principal, &space, creator, targets).await?;
        Ok((self.view(space, Some(me)).await?, outcomes))
    }

    /// `POST /api/spaces/{id}`: admins change title, description, settings, restrict
    /// and archive state. Title and status changes announce `topic.updated`.
    pub async fn update(
        &self,
        principal: &Principal,
        space_id: &str,
        update: SpaceUpdate,
    ) -> CoreResult<SpaceView> {
        let mut space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let me = party(principal, mine.as_ref());
        if !allowed(space.kind, me, Action::UpdateSpace) {
            return Err(deny("only admins of this space may change it"));
        }
        let archiving = match update.status {
            None => None,
            Some(0) => Some(SpaceStatus::Active),
            Some(1) => Some(SpaceStatus::Archived),
            Some(_) => {
                return Err(CoreError::invalid("status", "must be 0 (active) or 1 (archived)"));
            }
        };
        if archiving.is_some_and(|s| s != space.status)
            && !allowed(space.kind, me, Action::ArchiveSpace)
        {
            return Err(deny("this space cannot be archived"));
        }
        let changes_content = update.title.is_some()
            || update.description.is_some()
            || update.settings.is_some()
            || update.restrict.is_some()
            || update.msg_retention.is_some();
        if space.status == SpaceStatus::Archived
            && archiving != Some(SpaceStatus::Active)
            && changes_content
        {
            return Err(CoreError::new(
                ErrorCode::TopicArchived,
                "unarchive the space before changing it",
            ));
        }
        let pin_before = required_pin(&space).map(str::to_owned);
        let status_before = space.status;
        let mut announce = false;
        if let Some(title) = &update.title {
            let title = check_text("title", title, MAX_TITLE, true)?;
            announce |= title != space.title;
            space.title = title;
        }
        if let Some(description) = &update.description {
            space.description = check_text("description", description, MAX_DESCRIPTION, false)?;
        }
        if let Some(settings) = &update.settings {
            validate_settings(settings)?;
            for (key, value) in settings {
                space.settings.insert(key.clone(), value.clone());
            }
            // The size bound holds for the whole object, not just each change.
            if Value::Object(space.settings.clone()).to_string().len() > MAX_SETTINGS_BYTES {
                return Err(CoreError::invalid(
                    "settings",
                    format!("would grow past {MAX_SETTINGS_BYTES} bytes"),
                ));
            }
        }
        if let Some(retention) = update.msg_retention {
            if !retention.is_object() {
                return Err(CoreError::invalid("msgRetention", "must be an object"));
            }
            space.settings.insert("msgRetention".to_owned(), retention);
        }
        if let Some(restrict) = update.restrict {
            if restrict.len() > 32 || restrict.iter().any(|r| r.is_empty() || r.len() > 64) {
                return Err(CoreError::invalid("restrict", "must be at most 32 short names"));
            }
            space.restrict = restrict;
        }
        if let Some(status) = archiving {
            announce |= status != space.status;
            space.status = status;
        }
        let now = Timestamp::now();
        space.modified = now;
        self.store.update_space(&space).await?;
        if space.status != status_before {
            let action = if space.status == SpaceStatus::Archived {
                "space.archive"
            } else {
                "space.unarchive"
            };
            self.audit
                .record(
                    AuditEntry::new(principal, action).target("space", space.id).space(space.id),
                )
                .await;
        }
        let pin_after = required_pin(&space);
        if pin_before.as_deref() != pin_after {
            self.audit
                .record(
                    AuditEntry::new(principal, "space.pin.change")
                        .target("space", space.id)
                        .space(space.id)
                        .detail("pinRequired", pin_after.is_some()),
                )
                .await;
        }
        if announce {
            self.store.touch_space_activity(space.id, now).await?;
            self.events.publish(DomainEvent::SpaceUpdated {
                space: space.clone(),
                by: principal.user_id(),
            });
        }
        self.view(space, mine).await
    }

    /// `DELETE /api/spaces/{id}`: admins only; the space stays listed as deleted.
    pub async fn delete(&self, principal: &Principal, space_id: &str) -> CoreResult<SpaceRecord> {
        let mut space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if !allowed(space.kind, party(principal, mine.as_ref()), Action::DeleteSpace) {
            return Err(deny("only admins of this space may delete it"));
        }
        let now = Timestamp::now();
        space.status = SpaceStatus::Deleted;
        space.modified = now;
        self.store.update_space(&space).await?;
        self.store.touch_space_activity(space.id, now).await?;
        self.events
            .publish(DomainEvent::SpaceUpdated { space: space.clone(), by: principal.user_id() });
        self.audit
            .record(
                AuditEntry::new(principal, "space.delete")
                    .target("space", space.id)
                    .space(space.id)
                    .detail("title", space.title.clone()),
            )
            .await;
        Ok(space)
    }

    /// `GET /api/spaces/direct/{userType}/{userId}`: the direct space of the caller and
    /// that user, created on first use. With an anonymous party, the two must share a
    /// space.
    pub async fn direct(
        &self,
        principal: &Principal,
        user_type: &str,
        user_id: &str,
    ) -> CoreResult<SpaceView> {
        let kind = parse_user_type(user_type)?;
        let other = self.user(user_id).await?;
        if (other.kind == UserKind::Anonymous) != (kind == UserKind::Anonymous) {
            return Err(CoreError::new(ErrorCode::UserNotFound, "no such user of this type"));
        }
        if other.id == principal.user_id() {
            return Err(CoreError::invalid("userId", "a direct space needs another user"));
        }
        if other.disabled || other.expires_at.is_some_and(|end| end <= Timestamp::now()) {
            return Err(CoreError::new(
                ErrorCode::UserNotFound,
                "this user is no longer available",
            ));
        }
        let (low, high) = (principal.user_id().min(other.id), principal.user_id().max(other.id));
        let key = format!("direct:{low}:{high}");
        let space = match self.store.space_by_unique_key(&key).await? {
            Some(space) => space,
            None => {
                if principal.user.kind == UserKind::Anonymous || other.kind == UserKind::Anonymous {
                    let shared =
                        self.store.colleagues(principal.user_id(), None, 0, u32::MAX).await?;
                    let shares = shared.iter().any(|u| u.id == other.id)
                        || (other.kind == UserKind::Anonymous
                            && self.share_a_space(principal.user_id(), other.id).await?);
                    if !shares {
                        return Err(deny("a direct space with a guest needs a space you share"));
                    }
                }
                let now = Timestamp::now();
                let space = SpaceRecord {
                    id: ObjectId::new(),
                    kind: SpaceKind::Direct,
                    title: String::new(),
                    description: String::new(),
                    status: SpaceStatus::Active,
                    settings: Map::new(),
                    restrict: Vec::new(),
                    creator_id: principal.user_id(),
                    unique_key: Some(key.clone()),
                    created: now,
                    modified: now,
                };
                let mine =
                    MembershipRecord::joining(space.id, principal.user_id(), Role::Member, now);
                match self.store.insert_space(&space, &mine).await {
                    Ok(()) => space,
                    // Someone created it at the same moment: use theirs.
                    Err(StoreError::Conflict { .. }) => {
                        self.store.space_by_unique_key(&key).await?.ok_or_else(not_found)?
                    }
                    Err(other) => return Err(other.into()),
                }
            }
        };
        // Both parties are always members (this also repairs a half-finished create).
        let now = Timestamp::now();
        for user in [principal.user_id(), other.id] {
            if self.store.membership(space.id, user).await?.is_none() {
                self.store
                    .put_membership(&MembershipRecord::joining(space.id, user, Role::Member, now))
                    .await?;
            }
        }
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        self.view(space, mine).await
    }

    async fn share_a_space(&self, a: ObjectId, b: ObjectId) -> CoreResult<bool> {
        // Guests are not "colleagues" (that list is registered users only), so check
        // the guest's memberships directly.
        let filter = plaza_db::ListingFilter {
            kinds: vec![SpaceKind::Group, SpaceKind::Personal],
            statuses: vec![SpaceStatus::Active],
            pinned_only: false,
            include_deleted: false,
            after: None,
            by_last_message: false,
        };
        let theirs = self
            .store
            .list_memberships(b, &filter, plaza_db::ListingPage::After(None), 500)
            .await?;
        for (space, _) in theirs {
            if self
                .store
                .membership(space.id, a)
                .await?
                .is_some_and(|m| m.state == MembershipState::Active)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `GET /api/users/meetingroom/{email}`: a registered user's personal meeting room,
    /// created on first use (the owner is its admin). Looking people up by address is
    /// for registered users: its answer tells whether the address has an account, which
    /// a free anonymous token must not learn (guests join a room by its link instead).
    pub async fn personal_room(&self, principal: &Principal, email: &str) -> CoreResult<SpaceView> {
        if principal.user.kind != UserKind::Registered {
            return Err(deny("looking people up by e-mail address needs an account"));
        }
        let owner = self
            .store
            .user_by_username(email.trim())
            .await?
            .filter(|u| u.kind == UserKind::Registered && !u.disabled)
            .ok_or_else(|| CoreError::new(ErrorCode::UserNotFound, "no user with this email"))?;
        let key = format!("personal:{}", owner.id);
        let space = match self.store.space_by_unique_key(&key).await? {
            Some(space) => space,
            None => {
                let now = Timestamp::now();
                let space = SpaceRecord {
                    id: ObjectId::new(),
                    kind: SpaceKind::Personal,
                    title: format!("{}'s meeting room", owner.displayname),
                    description: String::new(),
                    status: SpaceStatus::Active,
                    settings: default_settings(),
                    restrict: vec![GUEST_HISTORY_CUT.to_owned()],
                    creator_id: owner.id,
                    unique_key: Some(key.clone()),
                    created: now,
                    modified: now,
                };
                let admin = MembershipRecord::joining(space.id, owner.id, Role::Admin, now);
                match self.store.insert_space(&space, &admin).await {
                    Ok(()) => space,
                    Err(StoreError::Conflict { .. }) => {
                        self.store.space_by_unique_key(&key).await?.ok_or_else(not_found)?
                    }
                    Err(other) => return Err(other.into()),
                }
            }
        };
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let mut view = self.view(space, mine).await?;
        // Someone looking a room up to join it learns the room, not who is in it.
        if party(principal, view.me.as_ref()).role.is_none() {
            view.members.clear();
        }
        Ok(view)
    }
}
