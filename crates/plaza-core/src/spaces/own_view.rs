//! Each user's own view of their spaces: read markers, hiding, pinning, and the people
//! they share spaces with.

use super::*;

impl SpaceService {
    /// The caller's active membership; removed and departed users have none.
    async fn my_membership(
        &self,
        principal: &Principal,
        space_id: &str,
    ) -> CoreResult<(SpaceRecord, MembershipRecord)> {
        let id: ObjectId = space_id.parse().map_err(|_| not_found())?;
        let space = self.store.space_by_id(id).await?.ok_or_else(not_found)?;
        let membership = self
            .store
            .membership(space.id, principal.user_id())
            .await?
            .filter(|m| m.state == MembershipState::Active)
            .ok_or_else(|| {
                CoreError::new(ErrorCode::TopicMemberNotFound, "you are not in this space")
            })?;
        Ok((space, membership))
    }

    /// Stores the caller's own view of a space (never their role or state).
    async fn save_view(&self, membership: &MembershipRecord) -> CoreResult<()> {
        if self.store.update_member_view(membership).await? {
            Ok(())
        } else {
            Err(CoreError::new(ErrorCode::TopicMemberNotFound, "you are not in this space"))
        }
    }

    /// `POST /api/users/me/spaces/{id}/markread`.
    pub async fn mark_read(
        &self,
        principal: &Principal,
        space_id: &str,
    ) -> CoreResult<MembershipRecord> {
        let (_, membership) = self.my_membership(principal, space_id).await?;
        let now = Timestamp::now();
        let membership = MembershipRecord {
            unread_count: 0,
            messages_last_read_time: Some(now),
            last_access: now,
            modified: now,
            ..membership
        };
        self.save_view(&membership).await?;
        Ok(membership)
    }

    /// `POST /api/users/me/spaces/{id}/hide` and `.../unhide`: only the caller's list
    /// changes.
    pub async fn set_hidden(
        &self,
        principal: &Principal,
        space_id: &str,
        hidden: bool,
    ) -> CoreResult<(SpaceRecord, MembershipRecord)> {
        let (space, membership) = self.my_membership(principal, space_id).await?;
        let membership = MembershipRecord { hidden, modified: Timestamp::now(), ..membership };
        self.save_view(&membership).await?;
        Ok((space, membership))
    }

    /// `POST /api/users/me/topics/{id}/preference`: pin and notification choices.
    pub async fn set_preference(
        &self,
        principal: &Principal,
        space_id: &str,
        preference: Preference,
    ) -> CoreResult<MembershipRecord> {
        let (_, mut membership) = self.my_membership(principal, space_id).await?;
        if let Some(pinned) = preference.is_pinned {
            membership.is_pinned = pinned;
        }
        if let Some(notification) = preference.notification {
            membership.notification = notification;
        }
        membership.modified = Timestamp::now();
        self.save_view(&membership).await?;
        Ok(membership)
    }

    /// `GET /api/users/{id|me}/colleagues` and `.../people/withdm`: for the caller only.
    /// Answers up to `size + 1` people from `page * size` on: the extra one tells the
    /// caller a next page exists.
    pub async fn people(
        &self,
        principal: &Principal,
        user: &str,
        direct_only: bool,
        search: Option<&str>,
        page: u32,
        size: u32,
    ) -> CoreResult<Vec<UserRecord>> {
        if user != "me" && user != principal.user_id().to_string() {
            return Err(deny("you can only list your own colleagues"));
        }
        let search = search
            .map(|s| s.trim().trim_start_matches('^').trim_end_matches('$'))
            .filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > 128) {
            return Err(CoreError::invalid("search", "must be at most 128 characters"));
        }
        let offset =
            page.checked_mul(size).ok_or_else(|| CoreError::invalid("page", "is too large"))?;
        let limit = size.saturating_add(1);
        let people = if direct_only {
            self.store.direct_partners(principal.user_id(), search, offset, limit).await?
        } else {
            self.store.colleagues(principal.user_id(), search, offset, limit).await?
        };
        Ok(people)
    }
}
