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
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct ExternalId(Arc<str>);

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
/// An identifier every call copies into its key: shared, so a copy is a
/// reference count, not an allocation.
macro_rules! shared_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps an identifier as given.
            pub fn new(value: impl AsRef<str>) -> Self {
                $name(Arc::from(value.as_ref()))
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(Arc::from(value))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(Arc::from(value))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map($name::from)
            }
        }
    };
}

shared_id!(
    /// A Microsoft Entra tenant id (the token's `tid`).
    TenantId
);
shared_id!(
    /// A user's object id (the token's `oid`).
    UserId
);

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
    fn external_id_is_kept_exactly() {
        let id = ExternalId::new(" Key ").unwrap();
        assert_eq!(id.as_str(), " Key ");
        assert_ne!(id, ExternalId::new("key").unwrap());
    }
}
