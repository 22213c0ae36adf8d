//! The contract every `Store` implementation must honour, one `async fn` per story,
//! in one file per entity. The fixtures below are shared by all of them.

mod audit;
mod files;
mod identity;
mod mail;
mod meetings;
mod messages;
mod spaces;

pub use audit::*;
pub use files::*;
pub use identity::*;
pub use mail::*;
pub use meetings::*;
pub use messages::*;
pub use spaces::*;

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
        credentials_after: None,
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
