//! Shared by the cross-crate tests: the seed's example exchange and the
//! comparison of a response with it, the read-back of every accepted request
//! through a store ([`read_back`]). (The crate also runs the README's examples
//! as doctests; the tests themselves are in `tests/`.)
#![doc = include_str!("../../README.md")]

#[cfg(feature = "http")]
pub mod daemon;
pub mod errors;
pub mod graph_types;
#[cfg(feature = "http")]
pub mod http;
pub mod paired;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod read_back;

/// A delegated caller from id literals (which must be valid ids).
pub fn delegated<S: Into<String>>(
    tenant: &str,
    user: &str,
    scopes: impl IntoIterator<Item = S>,
) -> meeting_core::Caller {
    meeting_core::Caller::delegated(
        tenant.parse().expect("a valid tenant id"),
        user.parse().expect("a valid user id"),
        scopes,
    )
}

pub mod seed {
    //! The seed's example request and response (`../shared/spec/fixtures`).

    use meeting_core::{scopes, Caller, DialIn, Settings};
    use serde_json::Value;

    /// The seed's example request body.
    pub const REQUEST: &str = include_str!("../fixtures/seed-request.json");
    /// The seed's example response body.
    pub const RESPONSE: &str = include_str!("../fixtures/seed-response.json");
    /// The seed organizer's tenant.
    pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd0110000";
    /// The seed's organizer.
    pub const ORGANIZER: &str = "d4a060b5-a8fc-450c-837b-750b2c280000";

    /// The seed's organizer as a delegated caller with the scope createOrGet needs.
    pub fn caller() -> Caller {
        crate::delegated(TENANT, ORGANIZER, [scopes::READ_WRITE])
            .with_display_name("Tyler Stein")
            .with_upn("test1@contoso.com")
    }

    /// Members whose values the server generates: compared by type, their
    /// format checked by each test.
    pub const GENERATED: &[&str] = &[
        "joinWebUrl",
        "audioConferencing.conferenceId",
        "audioConferencing.dialinUrl",
        "chatInfo.threadId",
        "videoTeleconferenceId",
        "id",
    ];

    /// The seed's attendee has a displayName Graph looked up in its directory;
    /// this service returns attendees as sent, so the name is `null`.
    pub const DIRECTORY_LOOKUP: &str = "participants.attendees[0].identity.user.displayName";

    /// The settings that reproduce the seed's configured members: its join
    /// base, a dial-in with its toll number, video interop.
    pub fn settings() -> Settings {
        Settings {
            join_base_url: "https://devspaces.skype.com".into(),
            dial_in: Some(DialIn {
                toll_number: "555-749-0000".into(),
                base_url: meeting_core::DEFAULT_DIALIN_BASE_URL.into(),
            }),
            video_interop: true,
            ..Settings::default()
        }
    }

    /// Asserts that `actual` has `expected`'s members in its order, with its JSON
    /// types and values; members in `GENERATED` or `also_generated` by type only,
    /// and the attendee's looked-up display name as `null`.
    pub fn assert_same_shape(expected: &Value, actual: &Value, also_generated: &[&str]) {
        compare(expected, actual, "", also_generated);
    }

    fn compare(expected: &Value, actual: &Value, path: &str, also_generated: &[&str]) {
        if GENERATED.contains(&path) || also_generated.contains(&path) {
            assert!(actual.is_string(), "{path} is a string: {actual}");
            return;
        }
        if path == DIRECTORY_LOOKUP {
            assert_eq!(
                *actual,
                Value::Null,
                "{path}: attendees are returned as sent"
            );
            return;
        }
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => {
                let e_keys: Vec<&String> = e.keys().collect();
                let a_keys: Vec<&String> = a.keys().collect();
                assert_eq!(a_keys, e_keys, "members and their order at {path:?}");
                for (key, value) in e {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    compare(value, &a[key], &child, also_generated);
                }
            }
            (Value::Array(e), Value::Array(a)) => {
                assert_eq!(a.len(), e.len(), "length of {path}");
                for (i, (e, a)) in e.iter().zip(a).enumerate() {
                    compare(e, a, &format!("{path}[{i}]"), also_generated);
                }
            }
            _ => assert_eq!(actual, expected, "value of {path}"),
        }
    }
}

/// A meeting id as one URL path segment: everything but RFC 3986's
/// unreserved characters percent-encoded (ids hold `:` and `@`).
pub fn path_segment(id: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(id, SEGMENT).to_string()
}
