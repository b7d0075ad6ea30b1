//! Who an application may act for (Graph's application access policy) and
//! who users are (a directory of names), for app-only callers.

use crate::ids::UserId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Graph's message when no policy lets an application act for a user.
pub const NO_POLICY_MESSAGE: &str = "No Application Access Policy found for this app.";

/// What one application may do: act for every user of the tenant, or for these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AppGrant {
    /// Every user (a policy granted globally).
    Global,
    /// These users' object ids.
    Users(BTreeSet<UserId>),
}

/// Application access policies by application id (the token's `azp` or
/// `appid`): without a grant, an application acts for no one.
///
/// ```
/// use meeting_core::access::AppAccessPolicy;
///
/// let mut policy = AppAccessPolicy::default();
/// policy.grant_spec("11111111-2222-3333-4444-555555555555=*")?;
/// policy.grant_spec("66666666-7777-8888-9999-000000000000=d4a060b5-a8fc-450c-837b-750b2c280000")?;
/// assert!(policy.allows("11111111-2222-3333-4444-555555555555", &"anyone".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AppAccessPolicy {
    grants: BTreeMap<String, AppGrant>,
}

/// Read through [`AppAccessPolicy::grant`], so that application ids from a
/// file or the admin API compare like those from flags.
impl<'de> Deserialize<'de> for AppAccessPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let grants = BTreeMap::<String, AppGrant>::deserialize(deserializer)?;
        let mut policy = AppAccessPolicy::default();
        for (app, grant) in grants {
            policy.grant(app, grant);
        }
        Ok(policy)
    }
}

impl AppAccessPolicy {
    /// Grants `app` access to `users` (added to what it has), or to everyone.
    pub fn grant(&mut self, app: impl Into<String>, grant: AppGrant) {
        let app = app.into().to_ascii_lowercase();
        match (self.grants.get_mut(&app), grant) {
            (Some(AppGrant::Users(had)), AppGrant::Users(more)) => had.extend(more),
            (Some(AppGrant::Global), _) => {}
            (_, grant) => {
                self.grants.insert(app, grant);
            }
        }
    }

    /// Reads `APP_ID=OID[,OID…]` or `APP_ID=*`, as `meetingd
    /// --app-access-policy` takes it, and grants it.
    pub fn grant_spec(&mut self, spec: &str) -> Result<(), String> {
        let (app, users) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected APP_ID=OID[,OID…] or APP_ID=*"))?;
        let app = app.trim();
        if app.is_empty() {
            return Err(format!("{spec:?}: the application id is empty"));
        }
        let grant = if users.trim() == "*" {
            AppGrant::Global
        } else {
            let users = users
                .split(',')
                .map(|user| UserId::new(user.trim()).map_err(|e| format!("{spec:?}: {e}")))
                .collect::<Result<BTreeSet<_>, _>>()?;
            AppGrant::Users(users)
        };
        self.grant(app, grant);
        Ok(())
    }

    /// Whether `app` may act for `user`. An empty `app` (a token naming no
    /// application) is granted nothing.
    pub fn allows(&self, app: &str, user: &UserId) -> bool {
        if app.is_empty() {
            return false;
        }
        match self.grants.get(&app.to_ascii_lowercase()) {
            Some(AppGrant::Global) => true,
            Some(AppGrant::Users(users)) => users.contains(user),
            None => false,
        }
    }

    /// Whether no application has a grant.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

/// What a directory knows of a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryEntry {
    /// The user's display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The user's principal name.
    #[serde(default)]
    pub upn: Option<String>,
}

/// Users by object id: where an organizer's display name and UPN come from
/// when a token does not carry them (app-only tokens never do).
///
/// `meetingd --directory FILE` reads one as JSON:
/// `{"<object id>": {"displayName": "…", "upn": "…"}, …}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Directory {
    users: BTreeMap<UserId, DirectoryEntry>,
}

impl Directory {
    /// Reads a directory file's JSON.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Adds or replaces a user.
    pub fn insert(&mut self, user: UserId, entry: DirectoryEntry) {
        self.users.insert(user, entry);
    }

    /// What the directory knows of `user`.
    pub fn get(&self, user: &UserId) -> Option<&DirectoryEntry> {
        self.users.get(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> UserId {
        text.parse().unwrap()
    }

    #[test]
    fn a_policy_is_empty_until_an_application_has_a_grant() {
        let mut policy = AppAccessPolicy::default();
        assert!(policy.is_empty());
        policy.grant("app", AppGrant::Users([id("u1")].into_iter().collect()));
        assert!(!policy.is_empty());
    }

    #[test]
    fn a_directory_answers_what_was_inserted_and_an_insert_replaces() {
        let mut directory = Directory::default();
        let entry = |name: &str| DirectoryEntry {
            display_name: Some(name.to_owned()),
            upn: Some(format!("{name}@contoso.com")),
        };
        directory.insert(id("u1"), entry("first"));
        assert_eq!(directory.get(&id("u1")), Some(&entry("first")));
        assert_eq!(directory.get(&id("u2")), None);
        directory.insert(id("u1"), entry("second"));
        assert_eq!(directory.get(&id("u1")), Some(&entry("second")));
    }

    #[test]
    fn a_grant_names_users_or_everyone_and_application_ids_ignore_case() {
        let mut policy = AppAccessPolicy::default();
        policy.grant_spec("App-A=u1,U2").unwrap();
        policy.grant_spec("app-a=u3").unwrap();
        policy.grant_spec("app-b=*").unwrap();
        assert!(policy.allows("APP-A", &id("u1")) && policy.allows("app-a", &id("u3")));
        assert!(!policy.allows("app-a", &id("u4")));
        assert!(policy.allows("app-b", &id("anyone")));
        assert!(!policy.allows("app-c", &id("u1")));
    }

    #[test]
    fn application_ids_read_from_json_compare_without_case() {
        let policy: AppAccessPolicy =
            serde_json::from_str(r#"{"5A8E0D4C-1B2A-4C3D-9E8F-0A1B2C3D4E5F": "global"}"#).unwrap();
        assert!(policy.allows("5a8e0d4c-1b2a-4c3d-9e8f-0a1b2c3d4e5f", &id("anyone")));
        assert!(policy.allows("5A8E0D4C-1B2A-4C3D-9E8F-0A1B2C3D4E5F", &id("anyone")));
    }

    #[test]
    fn a_malformed_grant_is_refused_with_what_is_wrong() {
        let mut policy = AppAccessPolicy::default();
        for spec in ["no-equals", "=u1", "app=", "app=u1,,u2"] {
            let error = policy.grant_spec(spec).unwrap_err();
            assert!(error.contains(spec), "{error}");
        }
        assert!(policy.is_empty());
    }

    #[test]
    fn a_directory_file_maps_object_ids_to_names() {
        let directory = Directory::from_json(
            r#"{"D4A060B5-A8FC-450C-837B-750B2C280000": {"displayName": "Tyler Stein", "upn": "t@contoso.com"}}"#,
        )
        .unwrap();
        let entry = directory
            .get(&id("d4a060b5-a8fc-450c-837b-750b2c280000"))
            .unwrap();
        assert_eq!(entry.display_name.as_deref(), Some("Tyler Stein"));
        assert!(Directory::from_json(r#"{"u": {"name": "x"}}"#).is_err());
    }
}
