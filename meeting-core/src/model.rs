//! Graph's `onlineMeeting` and its nested types, in the seed's member order.
//!
//! [`OnlineMeeting`] is the stored meeting: its serde form is what stores keep,
//! and what both profiles render from ([`crate::render`]). Every object type
//! derives [`ODataType`](macro@crate::ODataType) and so writes its
//! `@odata.type` first. Declared properties without a value are written as
//! `null`, empty collections as `[]`. `identitySet` and `identity` are open
//! types: members this model does not declare are kept in `additional` and
//! written back, verbatim and in order, after the declared ones.

use crate::ids::{ExternalId, MeetingId};
use crate::odata::ODataTag;
use crate::options::{JoinMeetingIdSettings, MeetingOptions};
use crate::DateTimeOffset;
use meeting_derive::ODataType;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The members of an open type that the model does not declare.
pub type AdditionalMembers = Map<String, Value>;

/// `microsoft.graph.onlineMeeting`.
#[derive(ODataType, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnlineMeeting {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// Server clock when the meeting was created.
    pub creation_date_time: DateTimeOffset,
    /// From the request, or the profile's default.
    pub start_date_time: DateTimeOffset,
    /// From the request, or the profile's default.
    pub end_date_time: DateTimeOffset,
    /// The URL a participant opens to join.
    pub join_web_url: String,
    /// From the request.
    pub subject: Option<String>,
    /// Organizer and attendees.
    pub participants: MeetingParticipants,
    /// Always `false`: createOrGet makes regular meetings.
    pub is_broadcast: bool,
    /// Who may skip the lobby.
    pub auto_admitted_users: Option<AutoAdmittedUsers>,
    /// Always empty here.
    pub capabilities: Vec<MeetingCapability>,
    /// Dial-in details, when a dial-in is configured.
    pub audio_conferencing: Option<AudioConferencing>,
    /// The meeting's chat thread.
    pub chat_info: Option<ChatInfo>,
    /// The video teleconference id, when video interop is configured.
    pub video_teleconference_id: Option<String>,
    /// The caller's key.
    pub external_id: ExternalId,
    /// `<organizer userId>_<threadId>`.
    pub id: MeetingId,
    /// Always `null` here.
    pub outer_meeting_auto_admitted_users: Option<AutoAdmittedUsers>,
    /// Always `null` here; kept verbatim when present.
    pub meeting_info: Option<AdditionalMembers>,
    /// The number to join by and its passcode (v1.0). Absent on meetings
    /// stored before they had one; never shown by `beta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_meeting_id_settings: Option<JoinMeetingIdSettings>,
    /// The options the meeting policy gave the meeting at creation (v1.0).
    /// Absent on meetings stored before: v1.0 shows Graph's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_options: Option<MeetingOptions>,
}

/// `microsoft.graph.meetingParticipants`.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingParticipants {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// The organizer; on a stored meeting always present, built from the caller.
    #[serde(default)]
    pub organizer: Option<MeetingParticipantInfo>,
    /// As sent (`null` reads as empty).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub attendees: Vec<MeetingParticipantInfo>,
    /// Always empty on a created meeting.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub producers: Vec<MeetingParticipantInfo>,
    /// Always empty on a created meeting.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contributors: Vec<MeetingParticipantInfo>,
}

/// `microsoft.graph.meetingParticipantInfo`.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingParticipantInfo {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// Who the participant is.
    #[serde(default)]
    pub identity: Option<IdentitySet>,
    /// The participant's user principal name.
    #[serde(default)]
    pub upn: Option<String>,
    /// The participant's role, written only when it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<OnlineMeetingRole>,
}

/// `microsoft.graph.identitySet`, an open type.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySet {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// The user, when the participant is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Identity>,
    /// The application, when the participant is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<Identity>,
    /// The device, when the participant is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Identity>,
    /// Members sent by the client that this model does not declare.
    #[serde(flatten)]
    pub additional: AdditionalMembers,
}

/// `microsoft.graph.identity`, an open type.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// The object id; declared by Graph, so always written.
    #[serde(default)]
    pub id: Option<String>,
    /// The tenant; a dynamic member, written only when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The display name; declared by Graph, so always written.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `AAD`, `MSA`, …; a dynamic member, written only when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    /// Members sent by the client that this model does not declare.
    #[serde(flatten)]
    pub additional: AdditionalMembers,
}

/// `microsoft.graph.audioConferencing`.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioConferencing {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// Nine digits.
    pub conference_id: Option<String>,
    /// The configured toll number.
    pub toll_number: Option<String>,
    /// `<dial-in base>/<uuid>?id=<conferenceId>`.
    pub dialin_url: Option<String>,
}

/// `microsoft.graph.chatInfo`.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatInfo {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// `19:meeting_<opaque>@thread.v2`.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// `"0"`: the thread's root message.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The reply chain's root, when there is one; written only when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_chain_message_id: Option<String>,
}

/// `microsoft.graph.onlineMeetingRole`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum OnlineMeetingRole {
    Attendee,
    Presenter,
    UnknownFutureValue,
    Producer,
    Coorganizer,
}

/// `microsoft.graph.autoAdmittedUsersType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum AutoAdmittedUsers {
    EveryoneInCompany,
    Everyone,
}

/// `microsoft.graph.meetingCapabilities`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum MeetingCapability {
    QuestionAndAnswer,
    UnknownFutureValue,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

impl OnlineMeeting {
    /// About how many bytes a meeting kept with its JSON text (`json_len`
    /// bytes) takes: the text, the parsed strings (about as many bytes again)
    /// and the inline struct. What caches that keep both weigh an entry by.
    pub fn weight_with_json(json_len: usize) -> usize {
        2 * json_len + std::mem::size_of::<OnlineMeeting>()
    }

    /// Reads a meeting back from the JSON a store wrote for it (its
    /// `serde_json` serialization).
    ///
    /// Every store reads through this, so that whatever the service accepted
    /// reads back: nesting up to [`JSON_MAX_DEPTH`](crate::limits::JSON_MAX_DEPTH)
    /// levels (serde_json alone stops one level short). Deeper text, which the
    /// service never writes, is refused with an error rather than risking the
    /// stack.
    pub fn from_stored_json(json: &str) -> Result<OnlineMeeting, serde_json::Error> {
        if let Some(at) = crate::scan::too_deep(json.as_bytes(), crate::limits::JSON_MAX_DEPTH) {
            return Err(serde::de::Error::custom(format_args!(
                "JSON nesting deeper than {} levels at byte {at}",
                crate::limits::JSON_MAX_DEPTH
            )));
        }
        let mut deserializer = serde_json::Deserializer::from_str(json);
        deserializer.disable_recursion_limit();
        let meeting = OnlineMeeting::deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(meeting)
    }

    /// The meeting's join id, when it has one (v1.0-era meetings): unique
    /// among a store's meetings.
    pub fn join_meeting_id(&self) -> Option<&str> {
        self.join_meeting_id_settings
            .as_ref()
            .and_then(|settings| settings.join_meeting_id.as_deref())
    }

    /// The meeting's entity tag, `W/"<16 hex digits>"`: a hash (64-bit FNV-1a)
    /// of its stored form, so every store, process and profile gives one
    /// meeting the same tag, and any change gives it another. Weak, as each
    /// profile writes the meeting differently; `If-Match` compares it as OData
    /// services do, by its opaque part.
    pub fn etag(&self) -> String {
        let mut hash = Fnv1a::new();
        // Writing to a hasher cannot fail, and the model has only string keys.
        let _ = serde_json::to_writer(&mut hash, self);
        format!("W/\"{:016x}\"", hash.0)
    }

    /// The organizer's identity as stored.
    pub fn organizer_identity(&self) -> Option<&Identity> {
        self.participants
            .organizer
            .as_ref()
            .and_then(|organizer| organizer.identity.as_ref())
            .and_then(|identity| identity.user.as_ref())
    }
}

/// A join link in the canonical form lookups compare: scheme and host in
/// lower case, and the hex digits of every percent escape in lower case (as
/// Teams writes them), so `%3A` finds `%3a`. Everything else is compared
/// exactly. Stores index a meeting's `joinWebUrl` in this form.
///
/// ```
/// use meeting_core::join_web_url_key;
///
/// assert_eq!(
///     join_web_url_key("HTTPS://Teams.Microsoft.com/l/meetup-join/19%3Ameeting_X%40thread.v2/0"),
///     "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0"
/// );
/// ```
pub fn join_web_url_key(url: &str) -> std::borrow::Cow<'_, str> {
    let authority_end = url.find("://").map_or(0, |scheme_end| {
        let authority = scheme_end + 3;
        url[authority..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |end| authority + end)
    });
    let bytes = url.as_bytes();
    let escape_at = |i: usize| bytes[i] == b'%' && i + 2 < bytes.len();
    // Only the escapes need a look: found by `%` (a memchr search), not byte by byte.
    let upper_escape = url.match_indices('%').any(|(i, _)| {
        escape_at(i)
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
            && (bytes[i + 1].is_ascii_uppercase() || bytes[i + 2].is_ascii_uppercase())
    });
    if !upper_escape && !url[..authority_end].bytes().any(|b| b.is_ascii_uppercase()) {
        return std::borrow::Cow::Borrowed(url);
    }
    let mut canonical = bytes.to_vec();
    canonical[..authority_end].make_ascii_lowercase();
    let mut i = authority_end;
    while i < canonical.len() {
        if escape_at(i) && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() {
            canonical[i + 1].make_ascii_lowercase();
            canonical[i + 2].make_ascii_lowercase();
            i += 3;
        } else {
            i += 1;
        }
    }
    // Only ASCII letters changed case: still UTF-8.
    std::borrow::Cow::Owned(String::from_utf8(canonical).unwrap_or_else(|_| url.to_owned()))
}

/// A meeting of `external_id` (its id `id-<n>`, join id `n`), from its stored JSON: for tests.
#[cfg(test)]
pub(crate) fn test_meeting(external_id: &str, n: u64) -> OnlineMeeting {
    OnlineMeeting::from_stored_json(&format!(
        r#"{{"id": "id-{n}", "externalId": "{external_id}",
            "creationDateTime": "2026-01-01T09:00:00Z", "startDateTime": "2026-01-01T09:00:00Z",
            "endDateTime": "2026-01-01T10:00:00Z", "subject": null, "isBroadcast": false,
            "autoAdmittedUsers": null, "capabilities": [], "audioConferencing": null,
            "chatInfo": null, "videoTeleconferenceId": null,
            "outerMeetingAutoAdmittedUsers": null, "meetingInfo": null,
            "joinWebUrl": "https://teams.example/l/meetup-join/{n}",
            "joinMeetingIdSettings": {{"joinMeetingId": "{n:012}", "isPasscodeRequired": false}},
            "participants": {{"organizer": {{"identity": {{"user": {{"id": "user", "tenantId": "tenant"}}}}}}}}}}"#
    ))
    .unwrap()
}

/// 64-bit FNV-1a over whatever is written to it: the meeting's entity tag.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl std::io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Identity {
    /// A user identity with an id and, when known, a display name.
    pub fn user(id: impl Into<String>, display_name: Option<String>) -> Self {
        Identity {
            id: Some(id.into()),
            display_name,
            ..Identity::default()
        }
    }
}

impl ChatInfo {
    /// A chat info naming `thread_id`, without a message id.
    pub fn new(thread_id: impl Into<String>) -> Self {
        ChatInfo {
            thread_id: Some(thread_id.into()),
            ..ChatInfo::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_etag_hash_is_fnv_1a_64() {
        use std::io::Write;
        // The published test vectors of FNV-1a, 64 bits.
        for (text, expected) in [
            ("", 0xcbf2_9ce4_8422_2325u64),
            ("a", 0xaf63_dc4c_8601_ec8c),
            ("foobar", 0x8594_4171_f739_67e8),
        ] {
            let mut hash = Fnv1a::new();
            hash.write_all(text.as_bytes()).unwrap();
            assert_eq!(hash.0, expected, "{text:?}");
        }
    }

    #[test]
    fn a_cache_weighs_a_meeting_as_twice_its_text_and_the_struct() {
        let inline = std::mem::size_of::<OnlineMeeting>();
        assert_eq!(OnlineMeeting::weight_with_json(0), inline);
        assert_eq!(OnlineMeeting::weight_with_json(4096), 8192 + inline);
    }

    #[test]
    fn only_the_scheme_and_host_change_case_even_when_the_host_is_short() {
        assert_eq!(
            join_web_url_key("HTTPS://T.co/Path?Q=%3A"),
            "https://t.co/Path?Q=%3a"
        );
        assert_eq!(join_web_url_key("https://t.co/Path"), "https://t.co/Path");
        // An escape whose first hex digit alone is upper case, on a lower-case host.
        assert_eq!(
            join_web_url_key("https://t.co/p?q=%A3&r=%b4"),
            "https://t.co/p?q=%a3&r=%b4"
        );
    }

    /// A meeting whose first attendee's user identity carries an extra nested
    /// `levels` deep; the identity object itself is 6 levels down.
    fn meeting_with_extra(levels: usize) -> OnlineMeeting {
        let extra = (0..levels).fold(json!(0), |inner, _| json!([inner]));
        let mut user = Identity::user("u1", None);
        user.additional.insert("x".into(), extra);
        let attendee = MeetingParticipantInfo {
            identity: Some(IdentitySet {
                user: Some(user),
                ..IdentitySet::default()
            }),
            ..MeetingParticipantInfo::default()
        };
        let mut meeting: OnlineMeeting = serde_json::from_value(json!({
            "creationDateTime": "2026-01-01T09:00:00Z",
            "startDateTime": "2026-01-01T09:00:00Z",
            "endDateTime": "2026-01-01T10:00:00Z",
            "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/x",
            "subject": null,
            "participants": {},
            "isBroadcast": false,
            "autoAdmittedUsers": null,
            "capabilities": [],
            "audioConferencing": null,
            "chatInfo": null,
            "videoTeleconferenceId": null,
            "externalId": "k",
            "id": "u1_19:meeting_x@thread.v2",
            "outerMeetingAutoAdmittedUsers": null,
            "meetingInfo": null,
        }))
        .unwrap();
        meeting.participants.attendees.push(attendee);
        meeting
    }

    #[test]
    fn a_meeting_nested_to_the_request_limit_reads_back() {
        let meeting = meeting_with_extra(crate::limits::JSON_MAX_DEPTH - 6);
        let stored = serde_json::to_string(&meeting).unwrap();
        assert!(crate::scan::too_deep(stored.as_bytes(), 127).is_some());
        assert_eq!(crate::scan::too_deep(stored.as_bytes(), 128), None);
        // serde_json's own limit stops one level short: the defect this reader fixes.
        assert!(serde_json::from_str::<OnlineMeeting>(&stored).is_err());
        assert_eq!(OnlineMeeting::from_stored_json(&stored).unwrap(), meeting);
    }

    #[test]
    fn stored_text_nested_past_the_limit_is_an_error_not_a_stack_overflow() {
        // Built as text: serde_json would recurse as deep to write (or drop) such a value.
        let shallow = serde_json::to_string(&meeting_with_extra(0)).unwrap();
        for levels in [crate::limits::JSON_MAX_DEPTH - 5, 1_000_000] {
            let extra = format!("{}0{}", "[".repeat(levels), "]".repeat(levels));
            let stored = shallow.replace(r#""x":0"#, &format!(r#""x":{extra}"#));
            let error = OnlineMeeting::from_stored_json(&stored).unwrap_err();
            assert!(error.to_string().contains("deeper than 128"), "{error}");
        }
    }

    #[test]
    fn a_join_link_s_key_ignores_the_case_of_scheme_host_and_escapes_only() {
        let url = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_Ab%40thread.v2/0?context=%7b%22Tid%22%7d";
        assert!(matches!(
            join_web_url_key(url),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            join_web_url_key(
                &url.replace("%3a", "%3A")
                    .replace("https://teams", "HTTPS://Teams")
            ),
            url
        );
        // The path's own letters are compared exactly.
        assert_ne!(
            join_web_url_key(&url.replace("meeting_Ab", "meeting_AB")),
            url
        );
        // A lone or short % is left as it is.
        assert_eq!(join_web_url_key("https://x/%A"), "https://x/%A");
    }

    #[test]
    fn the_etag_is_weak_and_changes_with_any_member() {
        let meeting = meeting_with_extra(0);
        let tag = meeting.etag();
        assert!(
            tag.starts_with("W/\"") && tag.ends_with('"') && tag.len() == 20,
            "{tag}"
        );
        assert_eq!(tag, meeting.clone().etag());
        let mut changed = meeting.clone();
        changed.subject = Some("changed".into());
        assert_ne!(changed.etag(), tag);
    }

    #[test]
    fn stored_text_with_trailing_characters_is_an_error() {
        let stored = serde_json::to_string(&meeting_with_extra(0)).unwrap() + "x";
        assert!(OnlineMeeting::from_stored_json(&stored).is_err());
    }

    #[test]
    fn a_join_link_key_lowers_the_host_and_escape_digits_only() {
        use std::borrow::Cow;
        let canonical = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0?context=%7b%22Tid%22%7d";
        assert!(matches!(join_web_url_key(canonical), Cow::Borrowed(_)));
        assert_eq!(
            join_web_url_key("HTTPS://Teams.Microsoft.COM/l/Meetup-Join/19%3Ameeting_X%40thread.v2/0?context=%7B%22Tid%22%7D"),
            "https://teams.microsoft.com/l/Meetup-Join/19%3ameeting_X%40thread.v2/0?context=%7b%22Tid%22%7d"
        );
        // Not escapes: a `%` without two hex digits, at the end or before other text.
        for kept in [
            "https://t.example/a%",
            "https://t.example/a%4",
            "https://t.example/%ZZ%%4A",
        ] {
            let key = join_web_url_key(kept);
            assert_eq!(key.replace("%4a", "%4A"), kept, "{kept}");
        }
        assert_eq!(
            join_web_url_key("https://t.example/%%4A"),
            "https://t.example/%%4a"
        );
    }
}
