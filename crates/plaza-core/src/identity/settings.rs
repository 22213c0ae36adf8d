//! Per-user client settings (`/api/users/me/settings`): a typed bag of preferences.

use plaza_db::{ObjectId, Timestamp, UserSettingsRecord};
use serde_json::{Map, Value, json};

use super::{IdentityService, Principal};
use crate::{CoreError, CoreResult, ErrorCode};

/// What one settings field accepts.
enum Kind {
    Bool,
    /// A short string (or null).
    Text,
    OneOf(&'static [&'static str]),
    TextList,
}

/// The settings clients may change, as the Spaces docs list them. Anything else is
/// refused, so a typo is an error rather than silently stored junk.
const FIELDS: &[(&str, Kind)] = &[
    ("muteaudio", Kind::Bool),
    ("mutevideo", Kind::Bool),
    ("disableAutoJoin", Kind::Bool),
    ("disablePreviewWhenJoin", Kind::Bool),
    ("disableNoiseReductionOnJoin", Kind::Bool),
    ("autoHideWebTutorial", Kind::Bool),
    ("showFeatureTipsOnStartUp", Kind::Bool),
    ("eula_version_agreed", Kind::Text),
    ("toc_version_agreed", Kind::Text),
    ("autoAcceptInvite", Kind::OneOf(&["relation", "none"])),
    ("mNotif", Kind::OneOf(&["none", "direct", "all"])),
    ("dNotif", Kind::OneOf(&["none", "direct", "all"])),
    ("mANotif", Kind::Text),
    ("dANotif", Kind::Text),
    ("tourFeatures", Kind::TextList),
    // Plaza's own: the email digest of missed mentions and direct messages.
    ("emailDigest", Kind::Bool),
];

const MAX_TEXT: usize = 256;
const MAX_LIST: usize = 100;

fn defaults() -> Map<String, Value> {
    let value = json!({
        "muteaudio": false,
        "mutevideo": false,
        "disableAutoJoin": false,
        "disablePreviewWhenJoin": false,
        "disableNoiseReductionOnJoin": false,
        "autoHideWebTutorial": false,
        "showFeatureTipsOnStartUp": true,
        "eula_version_agreed": null,
        "toc_version_agreed": null,
        "autoAcceptInvite": "relation",
        "mNotif": "all",
        "dNotif": "all",
        "mANotif": "vibes",
        "dANotif": "vibes",
        "tourFeatures": [],
        "emailDigest": true,
        "companyPolicy": {"user": {"denyFeatures": {"attachment": false}}},
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn check(field: &str, kind: &Kind, value: &Value) -> CoreResult<()> {
    let ok = match (kind, value) {
        (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Text, Value::Null) => true,
        (Kind::Text, Value::String(s)) => s.chars().count() <= MAX_TEXT,
        // Version numbers arrive as numbers from some clients.
        (Kind::Text, Value::Number(_)) => true,
        (Kind::OneOf(allowed), Value::String(s)) => allowed.contains(&s.as_str()),
        (Kind::TextList, Value::Array(items)) => {
            items.len() <= MAX_LIST
                && items.iter().all(|i| i.as_str().is_some_and(|s| s.chars().count() <= MAX_TEXT))
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let expected = match kind {
        Kind::Bool => "true or false".to_owned(),
        Kind::Text => format!("a string of at most {MAX_TEXT} characters, or null"),
        Kind::OneOf(allowed) => format!("one of {}", allowed.join(", ")),
        Kind::TextList => format!("a list of at most {MAX_LIST} strings"),
    };
    Err(CoreError::invalid(field, format!("must be {expected}")))
}

impl IdentityService {
    /// `GET /api/users/me/settings`: the caller's settings, created with defaults on
    /// first read.
    pub async fn settings(&self, principal: &Principal) -> CoreResult<UserSettingsRecord> {
        self.settings_of(principal.user_id()).await
    }

    pub(crate) async fn settings_of(&self, user_id: ObjectId) -> CoreResult<UserSettingsRecord> {
        if let Some(existing) = self.store.user_settings(user_id).await? {
            return Ok(existing);
        }
        let record = UserSettingsRecord {
            id: ObjectId::new(),
            user_id,
            settings: defaults(),
            modified: Timestamp::now(),
        };
        self.store.put_user_settings(&record).await?;
        Ok(record)
    }

    /// `POST /api/users/me/settings/{settingsId}`: changes only the fields sent.
    /// Unknown fields, wrong types and the server-owned `companyPolicy` are refused
    /// before anything is stored.
    pub async fn update_settings(
        &self,
        principal: &Principal,
        settings_id: Option<&str>,
        changes: Map<String, Value>,
    ) -> CoreResult<UserSettingsRecord> {
        let mut record = self.settings(principal).await?;
        if let Some(requested) = settings_id
            && requested != record.id.to_string()
        {
            return Err(CoreError::new(ErrorCode::SettingsNotFound, "no settings with this id"));
        }
        for (field, value) in &changes {
            if field == "_id" {
                if value.as_str() != Some(record.id.to_string().as_str()) {
                    return Err(CoreError::invalid("_id", "cannot be changed"));
                }
                continue;
            }
            if field == "companyPolicy" {
                return Err(CoreError::invalid(field.as_str(), "is set by the server"));
            }
            let Some((_, kind)) = FIELDS.iter().find(|(name, _)| name == field) else {
                return Err(CoreError::invalid(field.as_str(), "is not a known setting"));
            };
            check(field, kind, value)?;
        }
        for (field, value) in changes {
            if field != "_id" {
                record.settings.insert(field, value);
            }
        }
        record.modified = Timestamp::now();
        self.store.put_user_settings(&record).await?;
        Ok(record)
    }
}
