//! Identifiers and validated values.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The most Unicode characters an `externalId` may have.
pub const EXTERNAL_ID_MAX_CHARS: usize = 256;

/// A caller-chosen meeting key: non-empty, at most 256 Unicode characters, no
/// control characters (Unicode category Cc). Matched exactly: case-sensitive,
/// never trimmed or normalised. Shared by reference count: every call copies it
/// into its [`MeetingKey`].
///
/// ```
/// use meeting_core::ExternalId;
///
/// assert!(ExternalId::new("7eb8263f-d0e0-4149-bb1c-1f0476083c56").is_ok());
/// assert!(ExternalId::new("").is_err());
/// assert!(ExternalId::new("tab\there").is_err());
/// ```
///
/// A meeting created without a key (`POST …/onlineMeetings`) holds a
/// placeholder ([`ExternalId::is_placeholder`]) that no request can name: it
/// begins with a control character, which a client's key may not hold. Both
/// profiles show it as `externalId: null`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId(Arc<str>);

/// What begins the placeholder key of a meeting created without one.
const PLACEHOLDER_PREFIX: &str = "\u{1}unkeyed:";

/// Why a string is not an [`ExternalId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExternalIdError {
    /// The empty string.
    #[error("externalId must not be empty")]
    Empty,
    /// More than [`EXTERNAL_ID_MAX_CHARS`] characters.
    #[error("externalId has {0} characters; at most 256 are allowed")]
    TooLong(usize),
    /// A control character at this character index.
    #[error("externalId contains a control character at character {0}")]
    ControlCharacter(usize),
}

impl ExternalId {
    /// Checks `value` against the rules above.
    pub fn new(value: impl Into<String>) -> Result<Self, ExternalIdError> {
        let value = value.into();
        if value.is_empty() {
            return Err(ExternalIdError::Empty);
        }
        let mut count = 0;
        for (index, c) in value.chars().enumerate() {
            if c.is_control() {
                return Err(ExternalIdError::ControlCharacter(index));
            }
            count += 1;
        }
        if count > EXTERNAL_ID_MAX_CHARS {
            return Err(ExternalIdError::TooLong(count));
        }
        Ok(ExternalId(Arc::from(value)))
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The placeholder key of a meeting created without one, unique by `uuid`.
    pub(crate) fn placeholder(uuid: uuid::Uuid) -> Self {
        ExternalId(Arc::from(format!("{PLACEHOLDER_PREFIX}{uuid}")))
    }

    /// Whether this is the placeholder of a meeting created without a key
    /// (which no client can send, and which is shown as `null`).
    pub fn is_placeholder(&self) -> bool {
        self.0.starts_with(PLACEHOLDER_PREFIX)
    }

    /// The key a client gave, or `None` for a meeting created without one.
    pub fn client_key(&self) -> Option<&ExternalId> {
        (!self.is_placeholder()).then_some(self)
    }
}

impl<'de> Deserialize<'de> for ExternalId {
    /// A client's key by the rules above, or a stored placeholder (which
    /// request parsing then refuses, see [`CreateOrGetRequest`](crate::CreateOrGetRequest)).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if let Some(uuid) = text.strip_prefix(PLACEHOLDER_PREFIX) {
            if uuid::Uuid::try_parse(uuid).is_ok() {
                return Ok(ExternalId(Arc::from(text)));
            }
        }
        ExternalId::new(text).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<String> for ExternalId {
    type Error = ExternalIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ExternalId::new(value)
    }
}

impl Serialize for ExternalId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl From<ExternalId> for String {
    fn from(id: ExternalId) -> String {
        id.0.to_string()
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier as given.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }
    };
}

string_id!(
    /// A meeting's `id`: `<organizer userId>_<threadId>`.
    MeetingId
);
/// Why a string is not a [`TenantId`] or [`UserId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The empty string.
    #[error("an id must not be empty")]
    Empty,
    /// A control character (Unicode category Cc) at this character index: ids
    /// become store keys and log fields.
    #[error("an id must not contain a control character (one is at character {0})")]
    ControlCharacter(usize),
}

/// An Entra ID object identifier: non-empty, no control characters, and a GUID
/// held in its one canonical form (lower-case, hyphenated), so that ids compare,
/// hash and store alike however a token or a path wrote them. Other ids (a
/// UPN, say) are kept as given. Shared by reference count: every call copies it
/// into its [`MeetingKey`].
macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Checks `value` and brings a GUID to its canonical form.
            pub fn new(value: impl AsRef<str>) -> Result<Self, IdError> {
                canonical_id(value.as_ref()).map($name)
            }

            /// The identifier's text, in canonical form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                $name::new(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $name::new(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

object_id!(
    /// A Microsoft Entra tenant id (the token's `tid`). See [`IdError`] for the rules.
    TenantId
);
impl UserId {
    /// An Entra ID object id: a GUID (hyphenated, braced or as a URN), held
    /// in its canonical form; `None` for anything else, a UPN included.
    pub fn object_id(text: &str) -> Option<UserId> {
        let guid = uuid::Uuid::try_parse(text).ok()?;
        Some(UserId(Arc::from(guid.hyphenated().to_string())))
    }
}

object_id!(
    /// A user's object id (the token's `oid`, or the `{userId}` of a path).
    /// See [`IdError`] for the rules.
    UserId
);

/// `value` checked, and lower-cased when it is a hyphenated GUID.
fn canonical_id(value: &str) -> Result<Arc<str>, IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if let Some(index) = value.chars().position(char::is_control) {
        return Err(IdError::ControlCharacter(index));
    }
    let is_guid = value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    Ok(
        if is_guid && value.bytes().any(|b| b.is_ascii_uppercase()) {
            Arc::from(value.to_ascii_lowercase())
        } else {
            Arc::from(value)
        },
    )
}

macro_rules! display_as_str {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    )*};
}

display_as_str!(ExternalId, MeetingId, TenantId, UserId);

/// The createOrGet key: `(tenantId, organizer userId, externalId)`. The calling
/// application is not part of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeetingKey {
    /// The organizer's tenant.
    pub tenant: TenantId,
    /// The organizer.
    pub user: UserId,
    /// The caller's key.
    pub external_id: ExternalId,
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_external_id_becomes_its_text() {
        let id = ExternalId::new("Key-ü 1".to_owned()).unwrap();
        assert_eq!(String::from(id), "Key-ü 1");
    }

    #[test]
    fn a_placeholder_key_reads_back_but_no_client_key_is_one() {
        let placeholder = ExternalId::placeholder(uuid::Uuid::from_u128(7));
        assert!(placeholder.is_placeholder() && placeholder.client_key().is_none());
        let json = serde_json::to_string(&placeholder).unwrap();
        let read: ExternalId = serde_json::from_str(&json).unwrap();
        assert_eq!(read, placeholder);
        assert!(ExternalId::new(placeholder.as_str()).is_err());
        // The prefix without a UUID is an ordinary (refused) control character.
        assert!(serde_json::from_str::<ExternalId>(r#""\u0001unkeyed:x""#).is_err());
        let key = ExternalId::new("unkeyed:x").unwrap();
        assert_eq!(key.client_key(), Some(&key));
    }

    use super::*;

    #[test]
    fn external_id_bounds_at_the_limit_and_one_past_it() {
        assert!(ExternalId::new("x".repeat(256)).is_ok());
        assert_eq!(
            ExternalId::new("x".repeat(257)),
            Err(ExternalIdError::TooLong(257))
        );
        // Characters, not bytes: 256 four-byte characters are fine.
        assert!(ExternalId::new("😀".repeat(256)).is_ok());
        assert_eq!(
            ExternalId::new("😀".repeat(257)),
            Err(ExternalIdError::TooLong(257))
        );
    }

    #[test]
    fn external_id_refuses_every_control_character() {
        for c in ['\0', '\n', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}'] {
            assert_eq!(
                ExternalId::new(format!("a{c}")),
                Err(ExternalIdError::ControlCharacter(1)),
                "{c:?}"
            );
        }
        // Format characters (Cf) are not control characters (Cc).
        assert!(ExternalId::new("a\u{200b}b").is_ok());
    }

    #[test]
    fn a_guid_id_is_held_in_its_lower_case_form_and_other_ids_as_given() {
        let upper = UserId::new("D4A060B5-A8FC-450C-837B-750B2C280000").unwrap();
        let lower = UserId::new("d4a060b5-a8fc-450c-837b-750b2c280000").unwrap();
        assert_eq!(upper, lower);
        assert_eq!(upper.as_str(), "d4a060b5-a8fc-450c-837b-750b2c280000");
        assert_eq!(
            UserId::new("Test1@Contoso.com").unwrap().as_str(),
            "Test1@Contoso.com"
        );
        // Not a GUID: one digit short.
        assert_eq!(
            TenantId::new("D4A060B5-A8FC-450C-837B-750B2C28000")
                .unwrap()
                .as_str(),
            "D4A060B5-A8FC-450C-837B-750B2C28000"
        );
    }

    #[test]
    fn an_object_id_is_a_guid_in_any_of_its_forms_and_nothing_else() {
        let canonical = UserId::new("d4a060b5-a8fc-450c-837b-750b2c280000").unwrap();
        for form in [
            "D4A060B5-A8FC-450C-837B-750B2C280000",
            "{d4a060b5-a8fc-450c-837b-750b2c280000}",
            "d4a060b5a8fc450c837b750b2c280000",
        ] {
            assert_eq!(UserId::object_id(form).as_ref(), Some(&canonical), "{form}");
        }
        for other in ["alice@contoso.com", "", "d4a060b5"] {
            assert_eq!(UserId::object_id(other), None, "{other}");
        }
    }

    #[test]
    fn an_id_is_non_empty_without_control_characters() {
        assert_eq!(UserId::new(""), Err(IdError::Empty));
        assert_eq!(TenantId::new("ab\u{0}"), Err(IdError::ControlCharacter(2)));
        assert_eq!(UserId::new("\u{85}x"), Err(IdError::ControlCharacter(0)));
        assert!(serde_json::from_str::<UserId>(r#""a\nb""#).is_err());
        assert_eq!(
            serde_json::from_str::<UserId>(r#""D4A060B5-A8FC-450C-837B-750B2C280000""#).unwrap(),
            UserId::new("d4a060b5-a8fc-450c-837b-750b2c280000").unwrap()
        );
    }

    #[test]
    fn external_id_is_kept_exactly() {
        let id = ExternalId::new(" Key ").unwrap();
        assert_eq!(id.as_str(), " Key ");
        assert_ne!(id, ExternalId::new("key").unwrap());
    }
}
