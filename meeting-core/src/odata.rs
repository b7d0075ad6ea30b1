//! The `@odata.type` annotation.
//!
//! Every Graph object carries its type as its first member:
//! `{"@odata.type": "#microsoft.graph.chatInfo", ...}`. A model type gets it by
//! deriving [`ODataType`](macro@crate::ODataType) and declaring an [`ODataTag`]
//! as its first field; serde's own derive then handles every field, the tag
//! included, so the tag costs one static string write on output and one string
//! comparison on input.
//!
//! ```
//! use meeting_core::{ODataTag, ODataType};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(ODataType, Serialize, Deserialize, Default, Debug)]
//! #[serde(rename_all = "camelCase")]
//! struct ChatInfo {
//!     #[serde(rename = "@odata.type")]
//!     odata_type: ODataTag<Self>,
//!     thread_id: Option<String>,
//! }
//!
//! let json = serde_json::to_string(&ChatInfo::default()).unwrap();
//! assert_eq!(json, r##"{"@odata.type":"#microsoft.graph.chatInfo","threadId":null}"##);
//!
//! // On input the tag is optional, and checked when present.
//! assert!(serde_json::from_str::<ChatInfo>(r#"{"threadId":"x"}"#).is_ok());
//! assert!(serde_json::from_str::<ChatInfo>(r#"{"@odata.type":"microsoft.graph.chatInfo"}"#).is_ok());
//! let wrong = serde_json::from_str::<ChatInfo>(r##"{"@odata.type":"#microsoft.graph.identity"}"##);
//! assert!(wrong.unwrap_err().to_string().contains("#microsoft.graph.chatInfo"));
//! ```

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A model type's Graph type name. Implemented by `#[derive(ODataType)]`.
pub trait ODataType {
    /// The qualified type name, such as `microsoft.graph.onlineMeeting`.
    const TYPE_NAME: &'static str;
    /// The annotation's value: the type name after a `#`.
    const TAG: &'static str;
}

/// A zero-sized marker field that serializes as `T`'s `@odata.type` and checks it
/// on input (with or without the leading `#`, exact case).
pub struct ODataTag<T: ?Sized>(PhantomData<fn() -> T>);

impl<T: ?Sized> ODataTag<T> {
    /// The marker. Every value is the same.
    pub const fn new() -> Self {
        ODataTag(PhantomData)
    }
}

impl<T: ?Sized> Default for ODataTag<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> Clone for ODataTag<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for ODataTag<T> {}

impl<T: ?Sized> PartialEq for ODataTag<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T: ?Sized> Eq for ODataTag<T> {}

impl<T: ?Sized> Hash for ODataTag<T> {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl<T: ODataType + ?Sized> fmt::Debug for ODataTag<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::TAG)
    }
}

impl<T: ODataType + ?Sized> Serialize for ODataTag<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(T::TAG)
    }
}

impl<'de, T: ODataType + ?Sized> Deserialize<'de> for ODataTag<T> {
    /// Reads the tag like an `Option`: serde then treats a missing member (or
    /// `null`) as absent without `#[serde(default)]`, and `default` stays off the
    /// field so that a JSON array cannot stand in for the object.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(TagVisitor(PhantomData::<fn() -> T>))
    }
}

struct TagVisitor<T: ?Sized>(PhantomData<fn() -> T>);

impl<'de, T: ODataType + ?Sized> Visitor<'de> for TagVisitor<T> {
    type Value = ODataTag<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the string \"{}\"", T::TAG)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ODataTag::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ODataTag::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        if value == T::TAG || value == T::TYPE_NAME {
            Ok(ODataTag::new())
        } else {
            Err(E::custom(format_args!(
                "wrong @odata.type \"{value}\": expected \"{}\"",
                T::TAG
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::ChatInfo;
    use crate::ODataTag;

    #[test]
    fn a_tag_debugs_as_its_type_name() {
        assert_eq!(
            format!("{:?}", ODataTag::<ChatInfo>::new()),
            "#microsoft.graph.chatInfo"
        );
    }

    #[test]
    fn a_tag_that_is_not_a_string_is_refused_naming_the_expected_one() {
        let error = serde_json::from_str::<ODataTag<ChatInfo>>("5").unwrap_err();
        assert!(
            error
                .to_string()
                .contains(r##"expected the string "#microsoft.graph.chatInfo""##),
            "{error}"
        );
    }
}
