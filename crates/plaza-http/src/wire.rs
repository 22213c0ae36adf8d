//! JSON shapes of the REST API (the Spaces wire format).

use plaza_core::events::MediaEvent;
use plaza_core::identity::IssuedToken;
use plaza_core::meetings::MeetingView;
use plaza_core::{OAuthClientRecord, UserKind, UserRecord, UserSettingsRecord};
use serde_json::{Map, Value, json};

/// Where default profile pictures live, as on the hosted Spaces service.
pub const DEFAULT_PICTURE_PATH: &str = "/norevimages/noimage.jpg";

/// The permission groups Spaces clients look for in `permissions`.
fn permissions(user: &UserRecord) -> Vec<&'static str> {
    match user.kind {
        UserKind::Anonymous => Vec::new(),
        UserKind::Registered if user.is_server_admin => {
            vec!["USERSELF_PERMISSION_GROUP", "IT_ADMIN_PERMISSION_GROUP"]
        }
        UserKind::Registered | UserKind::Service => vec!["USERSELF_PERMISSION_GROUP"],
    }
}

/// A user as `GET /api/users/me` shows it (a bare object).
pub fn user(user: &UserRecord, base_url: &str) -> Value {
    let picture =
        user.picture_url.clone().unwrap_or_else(|| format!("{base_url}{DEFAULT_PICTURE_PATH}"));
    json!({
        "_id": user.id,
        "username": user.username,
        "displayname": user.displayname,
        "picture_url": picture,
        "picturefile": picture,
        "aType": user.kind.as_str(),
        "type": user.kind.as_str(),
        "permissions": permissions(user),
        "timezone": user.timezone,
        "phone_numbers": user.phone_numbers,
        "created": user.created,
        "lastupdatetime": user.modified,
        "isServerAdmin": user.is_server_admin,
        "disabled": user.disabled,
    })
}

/// The answer to register and login: `{token, tokenType, user}`.
pub fn issued_token(issued: &IssuedToken, base_url: &str) -> Value {
    json!({
        "token": issued.token,
        "tokenType": "jwt",
        "expires": issued.expires_at,
        "user": user(&issued.user, base_url),
    })
}

/// A settings record as clients read it: the preferences plus `_id`.
pub fn settings(record: &UserSettingsRecord) -> Value {
    let mut object = record.settings.clone();
    object.insert("_id".to_owned(), json!(record.id));
    object.insert("modified".to_owned(), json!(record.modified));
    Value::Object(object)
}

/// An OAuth client or service app as admins see it (never its secret hash).
pub fn client(client: &OAuthClientRecord, secret: Option<&str>) -> Value {
    let mut value = json!({
        "clientId": client.client_id,
        "kind": client.kind.as_str(),
        "name": client.name,
        "public": client.secret_hash.is_none(),
        "redirectUris": client.redirect_uris,
        "serviceUserId": client.service_user_id,
        "created": client.created,
        "revoked": client.revoked,
    });
    if let Some(secret) = secret {
        value["clientSecret"] = json!(secret);
    }
    value
}

use plaza_core::spaces::{InviteOutcome, ListedSpace, SpaceView};
use plaza_core::{MembershipRecord, MembershipState, SpaceKind, SpaceRecord, SpaceStatus};

/// One entry of a space's `members`.
pub fn member(membership: &MembershipRecord, user: &UserRecord, base_url: &str) -> Value {
    let picture =
        user.picture_url.clone().unwrap_or_else(|| format!("{base_url}{DEFAULT_PICTURE_PATH}"));
    json!({
        "member": user.id,
        "memberType": if user.kind == UserKind::Anonymous { "anonymousId" } else { "userId" },
        "role": membership.role.as_str(),
        "joinTime": membership.join_time,
        "username": user.username,
        "displayname": user.displayname,
        "picture_url": picture,
        "phone_numbers": user.phone_numbers,
    })
}

/// A space object (§7.2 of the catalog), with the members given.
pub fn space(
    space: &SpaceRecord,
    members: &[(MembershipRecord, UserRecord)],
    base_url: &str,
) -> Value {
    let mut value = json!({
        "_id": space.id,
        "cid": space.creator_id,
        "title": space.title,
        "description": space.description,
        "type": space.kind.as_str(),
        "status": space.status.code(),
        "settings": space.settings,
        "restrict": space.restrict,
        "members": members.iter().map(|(m, u)| member(m, u, base_url)).collect::<Vec<_>>(),
        "created": space.created,
        "modified": space.modified,
    });
    if let Some(retention) = space.settings.get("msgRetention") {
        value["msgRetention"] = retention.clone();
    }
    value
}

pub fn space_view(view: &SpaceView, base_url: &str) -> Value {
    if !view.me.as_ref().is_some_and(|m| m.state == MembershipState::Active) {
        return space_preview(&view.space);
    }
    let mut value = space(&view.space, &view.members, base_url);
    hide_pin_unless_insider(&mut value, view.me.as_ref());
    if let Some(me) = view.me.as_ref().filter(|m| m.state == MembershipState::Active) {
        overlay(&mut value, me);
    }
    value
}

/// What someone outside a space who could join it sees of it: enough to decide to join
/// (title, type, status), nothing of who is in it or how it is set up.
pub fn space_preview(space: &SpaceRecord) -> Value {
    json!({
        "_id": space.id,
        "title": space.title,
        "type": space.kind.as_str(),
        "status": space.status.code(),
        "members": [],
        "settings": {},
        "preview": true,
    })
}

/// The PIN (`settings.confPin`) is for admins and members, who hand it to guests;
/// guests and outsiders never read it back.
fn hide_pin_unless_insider(value: &mut Value, me: Option<&MembershipRecord>) {
    let insider = me.is_some_and(|m| {
        m.state == MembershipState::Active
            && matches!(m.role, plaza_core::Role::Admin | plaza_core::Role::Member)
    });
    if !insider && let Some(settings) = value.get_mut("settings").and_then(Value::as_object_mut) {
        settings.remove("confPin");
    }
}

/// The caller's per-user fields on a space object.
fn overlay(value: &mut Value, membership: &MembershipRecord) {
    value["role"] = json!(membership.role.as_str());
    value["isPinned"] = json!(membership.is_pinned);
    value["notification"] = json!(membership.notification);
    value["unreadMessagesCount"] = json!(membership.unread_count);
    value["messagesLastReadTime"] = json!(membership.messages_last_read_time);
    value["lastAccess"] = json!(membership.last_access);
    value["lastUpdateTime"] = json!(membership.activity_at);
}

/// A listing entry: the space with the caller's overlay; deleted spaces and spaces the
/// caller was removed from are trimmed to what the Spaces listing shows for them.
pub fn listed_space(item: &ListedSpace, base_url: &str) -> Value {
    let removed = item.membership.state == MembershipState::Kicked;
    if removed || item.space.status == SpaceStatus::Deleted {
        return json!({
            "_id": item.space.id,
            "status": SpaceStatus::Deleted.code(),
            "lastAccess": item.membership.last_access,
            "lastUpdateTime": item.membership.activity_at,
            "modified": item.space.modified.max(item.membership.modified),
        });
    }
    let mut value = space(&item.space, &item.members, base_url);
    hide_pin_unless_insider(&mut value, Some(&item.membership));
    overlay(&mut value, &item.membership);
    if item.space.kind == SpaceKind::Direct {
        value["lastMessage"] = match &item.last_message {
            Some((message, sender)) => json!({
                "_id": message.id,
                "category": message.category.as_str(),
                "content": {
                    "bodyText": message.content.get("bodyText").cloned().unwrap_or(Value::Null),
                    "description": message.content.get("description").cloned().unwrap_or(Value::Null),
                    "created": message.created,
                    "modified": message.modified,
                    "sender": self::sender(sender, base_url),
                },
            }),
            None => Value::Null,
        };
    }
    value
}

/// A membership record as the hide and unhide endpoints answer it.
pub fn membership_record(space: &SpaceRecord, membership: &MembershipRecord) -> Value {
    let status = if membership.hidden { 4 } else { space.status.code() };
    json!({
        "_id": format!("{}:{}", space.id, membership.user_id),
        "status": status,
        "unread": membership.unread_count,
        "targetId": space.id,
        "targetType": "topic",
        "userId": membership.user_id,
        "userType": "user",
        "lastAccess": membership.last_access,
        "role": membership.role.as_str(),
        "title": space.title,
        "type": space.kind.as_str(),
        "messagesLastReadTime": membership.messages_last_read_time,
        "isPinned": membership.is_pinned,
        "notification": membership.notification,
    })
}

/// One entry of an invite answer.
pub fn invite_outcome(
    space_id: plaza_core::ObjectId,
    outcome: &InviteOutcome,
    base_url: &str,
    with_html: bool,
) -> Value {
    match outcome {
        InviteOutcome::Added { user, role } => json!({
            "topicId": space_id,
            "inviteeType": "userId",
            "invitee": user.id,
            "role": role.as_str(),
            "status": "added",
        }),
        InviteOutcome::Pending { invitation, mail } => {
            let link = format!("{base_url}/api/spaces/invites/{}/join", invitation.id);
            // The page a person opens (the mail's link); `joinUrl` stays the API call
            // that Spaces clients make.
            let web = format!("{base_url}/#/invite/{}", invitation.id);
            let mut value = json!({
                "topicId": space_id,
                "inviteId": invitation.id,
                "inviteeType": "email",
                "invitee": invitation.invitee,
                "role": invitation.role.as_str(),
                "status": "pending",
                "joinUrl": link,
                "webUrl": web,
                "mailSent": mail.sent(),
            });
            if let Some(problem) = mail.problem() {
                value["mailError"] = json!(problem);
            }
            if with_html {
                value["html"] = json!(format!("<a href=\"{web}\">Join the space</a>"));
            }
            value
        }
    }
}

use plaza_core::messages::MessageView;

/// A message sender as Spaces clients read it.
pub fn sender(user: &UserRecord, base_url: &str) -> Value {
    let picture =
        user.picture_url.clone().unwrap_or_else(|| format!("{base_url}{DEFAULT_PICTURE_PATH}"));
    json!({
        "_id": user.id,
        "type": user.kind.as_str(),
        "username": user.username,
        "displayname": user.displayname,
        "picture_url": picture,
    })
}

/// A message as `MESSAGE_SENT` and the REST API carry it, with `topicTitle` and
/// `topicType` (clients read them). A deleted message carries `deleted: true` and no
/// content.
/// A message's content with a `path` (and `thumbnailPath`) on each native attachment:
/// stable URLs that answer an authorised `GET` with a redirect to the file.
fn content_with_paths(content: &serde_json::Map<String, Value>, base_url: &str) -> Value {
    let mut content = content.clone();
    if let Some(Value::Array(items)) = content.get_mut("data") {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            if item.get("provider").and_then(Value::as_str).unwrap_or("native") != "native" {
                continue;
            }
            for (key, path) in [("fileId", "path"), ("thumbnailFile", "thumbnailPath")] {
                if let Some(file) = item.get(key).and_then(Value::as_str).filter(|f| !f.is_empty())
                {
                    let url = format!("{base_url}/api/files/{file}");
                    item.insert(path.to_owned(), json!(url));
                }
            }
        }
    }
    Value::Object(content)
}

pub fn message(view: &MessageView, base_url: &str) -> Value {
    let message = &view.message;
    let (sender, content) = match &view.sender {
        Some(user) => (sender(user, base_url), content_with_paths(&message.content, base_url)),
        None => (space_server(&view.space), with_default_pictures(&message.content, base_url)),
    };
    json!({
        "_id": message.id,
        "category": message.category.as_str(),
        "topicId": message.space_id,
        "topicTitle": view.space.title,
        "topicType": view.space.kind.as_str(),
        "sender": sender,
        "content": content,
        "parentMsg": message.parent_id.map(|id| json!({"_id": id})),
        "chatCount": message.chat_count,
        "deleted": message.deleted,
        "created": message.created,
        "modified": message.modified,
    })
}

/// The sender of the server's own events and records in a space (seed 002).
pub fn space_server(space: &SpaceRecord) -> Value {
    json!({
        "_id": space.id,
        "type": "spaceserver",
        "username": "spaceserver",
        "displayname": space.title,
        "picture_url": Value::Null,
    })
}

/// Meeting content with the default picture for people who have none (attendees,
/// the attendee an event is about, and who started each recording).
fn with_default_pictures(content: &Map<String, Value>, base_url: &str) -> Value {
    let mut content = content.clone();
    let fill = |person: &mut Value| {
        if let Some(person) = person.as_object_mut()
            && person.get("picture_url").is_none_or(Value::is_null)
        {
            person.insert("picture_url".into(), json!(format!("{base_url}{DEFAULT_PICTURE_PATH}")));
        }
    };
    if let Some(Value::Array(attendees)) = content.get_mut("attendees") {
        attendees.iter_mut().for_each(fill);
    }
    if let Some(attendee) = content.get_mut("attendee") {
        fill(attendee);
    }
    if let Some(Value::Array(recordings)) = content.get_mut("recordings") {
        for recording in recordings {
            if let Some(by) = recording.get_mut("startedBy") {
                fill(by);
            }
        }
    }
    Value::Object(content)
}

/// A meeting object (`/activemeeting`, `/meetings`): the message envelope with the
/// meeting's fields in `content` (catalog §7.4, §7.6).
pub fn meeting(view: &MeetingView, base_url: &str) -> Value {
    json!({
        "_id": view.id,
        "category": "meeting",
        "topicId": view.space.id,
        "topicTitle": view.space.title,
        "topicType": view.space.kind.as_str(),
        "sender": space_server(&view.space),
        "content": with_default_pictures(&view.content, base_url),
        "created": view.created,
        "modified": view.modified,
    })
}

/// One `MEDIA_SESSION_RESPONSE` (seed 002): `loopback` is the origin's own copy.
pub fn media_event(event: &MediaEvent, base_url: &str, loopback: bool) -> Value {
    let mut payload = event.extra.clone();
    let sender = match &event.sender {
        Some(user) => sender(user, base_url),
        None => space_server(&event.space),
    };
    let fields = json!({
        "_id": event.id,
        "messageId": event.meeting_id,
        "topicId": event.space.id,
        "topicTitle": event.space.title,
        "topicType": event.space.kind.as_str(),
        "category": event.category,
        "sender": sender,
        "content": with_default_pictures(&event.content, base_url),
        "modified": event.at,
    });
    if let Value::Object(fields) = fields {
        payload.extend(fields);
    }
    payload.entry("created").or_insert_with(|| json!(event.at));
    if loopback && let Some(metadata) = &event.loopback {
        payload.insert("loopbackMetadata".into(), metadata.clone());
    }
    Value::Object(payload)
}
