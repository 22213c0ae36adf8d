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
        | Action::MeetingControl => role == Role::Admin,
        Action::Invite(invited) | Action::Remove(invited) => match role {
            Role::Admin => true,
            Role::Member => invited == Role::Guest,
            Role::Guest => false,
        },
    }
}
