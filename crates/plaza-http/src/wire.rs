//! JSON shapes of the REST API (the Spaces wire format).

use plaza_core::identity::IssuedToken;
use plaza_core::{OAuthClientRecord, UserKind, UserRecord, UserSettingsRecord};
use serde_json::{Value, json};

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
