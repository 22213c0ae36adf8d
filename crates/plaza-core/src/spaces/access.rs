//! The role table of CONTRACT §4, as one pure function.

use plaza_db::{Role, SpaceKind};

/// Something a party may try to do in a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadMessages,
    SendChat,
    CreatePostOrTask,
    /// Edit or delete a message written by someone else.
    EditOthersMessage,
    /// Edit or delete one's own chat message.
    EditOwnChat,
    /// Edit or delete one's own post or task.
    EditOwnPostOrTask,
    /// Invite someone with this role.
    Invite(Role),
    ChangeRole,
    /// Remove a party holding this role (the store keeps the last admin).
    Remove(Role),
    /// Bring back someone who was removed (by inviting or adding them again).
    ReadmitRemoved,
    UpdateSpace,
    ArchiveSpace,
    DeleteSpace,
    MeetingControl,
}

/// Who is acting: their role in the space (`None` for non-members) and whether they
/// are an anonymous guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party {
    pub role: Option<Role>,
    pub anonymous: bool,
}

/// Whether `party` may do `action` in a space of `kind`.
pub fn allowed(kind: SpaceKind, party: Party, action: Action) -> bool {
    let Some(role) = party.role else { return false };
    // Anonymous users are always guests, whatever a row says.
    let role = if party.anonymous { Role::Guest } else { role };
    if kind == SpaceKind::Direct {
        // Two members, chat only, nothing to administer.
        return matches!(action, Action::ReadMessages | Action::SendChat | Action::EditOwnChat);
    }
    if kind == SpaceKind::Personal {
        match action {
            // The owner's room: guests only, and the room itself is permanent.
            Action::Invite(invited) => return role == Role::Admin && invited == Role::Guest,
            Action::ChangeRole | Action::ArchiveSpace | Action::DeleteSpace => return false,
            _ => {}
        }
    }
    match action {
        Action::ReadMessages | Action::SendChat | Action::EditOwnChat => true,
        Action::CreatePostOrTask | Action::EditOwnPostOrTask => role != Role::Guest,
        Action::EditOthersMessage
        | Action::ChangeRole
        | Action::UpdateSpace
        | Action::ArchiveSpace
        | Action::DeleteSpace
        | Action::MeetingControl
        | Action::ReadmitRemoved => role == Role::Admin,
        Action::Invite(invited) | Action::Remove(invited) => match role {
            Role::Admin => true,
            Role::Member => invited == Role::Guest,
            Role::Guest => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: Party = Party { role: Some(Role::Admin), anonymous: false };
    const MEMBER: Party = Party { role: Some(Role::Member), anonymous: false };
    const GUEST: Party = Party { role: Some(Role::Guest), anonymous: false };
    const ANONYMOUS: Party = Party { role: Some(Role::Guest), anonymous: true };
    const OUTSIDER: Party = Party { role: None, anonymous: false };
    /// A row claiming an anonymous user is admin must still act as a guest.
    const FORGED: Party = Party { role: Some(Role::Admin), anonymous: true };

    /// CONTRACT §4, row by row: (action, admin, member, guest, anonymous guest).
    const GROUP_TABLE: &[(Action, bool, bool, bool, bool)] = &[
        (Action::ReadMessages, true, true, true, true),
        (Action::SendChat, true, true, true, true),
        (Action::CreatePostOrTask, true, true, false, false),
        (Action::EditOthersMessage, true, false, false, false),
        (Action::EditOwnChat, true, true, true, true),
        (Action::EditOwnPostOrTask, true, true, false, false),
        (Action::Invite(Role::Admin), true, false, false, false),
        (Action::Invite(Role::Member), true, false, false, false),
        (Action::Invite(Role::Guest), true, true, false, false),
        (Action::ChangeRole, true, false, false, false),
        (Action::Remove(Role::Admin), true, false, false, false),
        (Action::Remove(Role::Member), true, false, false, false),
        (Action::Remove(Role::Guest), true, true, false, false),
        (Action::ReadmitRemoved, true, false, false, false),
        (Action::UpdateSpace, true, false, false, false),
        (Action::ArchiveSpace, true, false, false, false),
        (Action::DeleteSpace, true, false, false, false),
        (Action::MeetingControl, true, false, false, false),
    ];

    #[test]
    fn group_spaces_follow_the_contract_table() {
        for &(action, admin, member, guest, anonymous) in GROUP_TABLE {
            for (party, expected, who) in [
                (ADMIN, admin, "admin"),
                (MEMBER, member, "member"),
                (GUEST, guest, "guest"),
                (ANONYMOUS, anonymous, "anonymous"),
                (OUTSIDER, false, "non-member"),
                (FORGED, anonymous, "anonymous with a forged admin row"),
            ] {
                assert_eq!(allowed(SpaceKind::Group, party, action), expected, "{who} {action:?}");
            }
        }
    }

    #[test]
    fn direct_spaces_are_chat_only_and_administered_by_nobody() {
        for &(action, ..) in GROUP_TABLE {
            let expected =
                matches!(action, Action::ReadMessages | Action::SendChat | Action::EditOwnChat);
            assert_eq!(allowed(SpaceKind::Direct, MEMBER, action), expected, "{action:?}");
            assert_eq!(allowed(SpaceKind::Direct, ADMIN, action), expected, "{action:?}");
        }
    }

    #[test]
    fn personal_rooms_admit_guests_only_and_are_permanent() {
        assert!(allowed(SpaceKind::Personal, ADMIN, Action::Invite(Role::Guest)));
        assert!(!allowed(SpaceKind::Personal, ADMIN, Action::Invite(Role::Member)));
        assert!(!allowed(SpaceKind::Personal, ADMIN, Action::Invite(Role::Admin)));
        assert!(!allowed(SpaceKind::Personal, ADMIN, Action::ChangeRole));
        assert!(!allowed(SpaceKind::Personal, ADMIN, Action::DeleteSpace));
        assert!(!allowed(SpaceKind::Personal, ADMIN, Action::ArchiveSpace));
        assert!(allowed(SpaceKind::Personal, ADMIN, Action::UpdateSpace));
        assert!(allowed(SpaceKind::Personal, ADMIN, Action::MeetingControl));
        assert!(allowed(SpaceKind::Personal, GUEST, Action::SendChat));
    }
}
