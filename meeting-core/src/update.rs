//! The body of `PATCH …/onlineMeetings/{id}`: the members Graph lets a client
//! change, checked before the store is asked.

use crate::model::{MeetingParticipantInfo, OnlineMeeting};
use crate::options::MeetingOptions;
use crate::request::{
    check_raw, parse, participant_list, InvalidRequest, ATTENDEES_MAX, SUBJECT_MAX_CHARS,
};
use crate::{DateTimeOffset, Profile};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The meeting options Graph's update page lists as updatable, by their names.
pub const UPDATABLE_OPTIONS: &[&str] = &[
    "allowAttendeeToEnableCamera",
    "allowAttendeeToEnableMic",
    "allowBreakoutRooms",
    "allowCopyingAndSharingMeetingContent",
    "allowedLobbyAdmitters",
    "allowedPresenters",
    "allowLiveShare",
    "allowMeetingChat",
    "allowPowerPointSharing",
    "allowRecording",
    "allowTeamworkReactions",
    "allowTranscription",
    "allowWhiteboard",
    "isEntryExitAnnounced",
    "lobbyBypassSettings",
    "recordAutomatically",
    "watermarkProtection",
];

/// Members of `onlineMeeting` that a client cannot change: the server's, the
/// ones fixed at creation, and options Graph does not list as updatable.
const READ_ONLY: &[&str] = &[
    "id",
    "creationDateTime",
    "joinWebUrl",
    "joinMeetingIdSettings",
    "joinInformation",
    "chatInfo",
    "externalId",
    "audioConferencing",
    "videoTeleconferenceId",
    "cloudVideoInteropInfo",
    "isBroadcast",
    "meetingOptionsWebUrl",
    "expiryDateTime",
    "autoAdmittedUsers",
    "outerMeetingAutoAdmittedUsers",
    "capabilities",
    "meetingInfo",
    "meetingType",
    "meetingTemplateId",
    "allowParticipantsToChangeName",
    "chatRestrictions",
    "isEndToEndEncryptionEnabled",
    "meetingSpokenLanguageTag",
    "shareMeetingChatHistoryDefault",
    "sensitivityLabelAssignment",
    "attendeeReport",
    "attendanceReports",
    "recordings",
    "transcripts",
];

/// Members Graph lets a client change that this service does not model.
const UNSUPPORTED: &[&str] = &["anonymizeIdentityForRoles", "broadcastSettings"];

/// A checked change of meeting options: members of [`UPDATABLE_OPTIONS`]
/// with values of the right types. Complex options (`lobbyBypassSettings`,
/// `watermarkProtection`) change only the members they name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptionsPatch(Map<String, Value>);

impl OptionsPatch {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds option `name` (one of [`UPDATABLE_OPTIONS`]) set to `value`,
    /// checked by applying it to the default options.
    pub(crate) fn insert(&mut self, name: &str, value: Value) -> Result<(), InvalidRequest> {
        let mut single = OptionsPatch::default();
        single.0.insert(name.to_owned(), value.clone());
        single.apply(&MeetingOptions::default())?;
        self.0.insert(name.to_owned(), value);
        Ok(())
    }

    /// `options` with this patch applied.
    pub fn apply(&self, options: &MeetingOptions) -> Result<MeetingOptions, InvalidRequest> {
        if self.is_empty() {
            return Ok(options.clone());
        }
        let mut value = serde_json::to_value(options)
            .map_err(|e| InvalidRequest::whole(format!("meeting options: {e}")))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| InvalidRequest::whole("meeting options are not an object"))?;
        for (name, new) in &self.0 {
            match (object.get_mut(name), new) {
                (Some(Value::Object(current)), Value::Object(members)) => {
                    for (member, member_value) in members {
                        if member != "@odata.type" && !current.contains_key(member) {
                            return Err(InvalidRequest::member(
                                format!("{name}.{member}"),
                                format_args!("{name} has no member named {member}"),
                            ));
                        }
                        current.insert(member.clone(), member_value.clone());
                    }
                }
                (Some(slot), _) => *slot = new.clone(),
                (None, _) => {
                    return Err(InvalidRequest::member(
                        name.as_str(),
                        "is not a meeting option",
                    ))
                }
            }
        }
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            InvalidRequest::member(path, error.into_inner())
        })
    }
}

/// The body of `PATCH …/onlineMeetings/{id}`: what to change, and nothing else.
///
/// Graph's rules: only the members it lists as updatable; `startDateTime` and
/// `endDateTime` together; the full `participants.attendees` list (the
/// organizer cannot change); options such as `allowedPresenters` or a part of
/// `lobbyBypassSettings`. A member that cannot change, or that
/// `onlineMeeting` does not have, is refused, naming it.
///
/// ```
/// use meeting_core::UpdateRequest;
///
/// let change = UpdateRequest::from_json(br#"{"subject": "Patch Meeting Subject"}"#)?;
/// assert!(!change.is_empty());
/// let error = UpdateRequest::from_json(br#"{"joinWebUrl": "https://example.com"}"#).unwrap_err();
/// assert_eq!(error.member_path(), Some("joinWebUrl"));
/// # Ok::<(), meeting_core::InvalidRequest>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateRequest {
    /// A new subject (`Some(None)` clears it).
    pub subject: Option<Option<String>>,
    /// A new start and end, given together.
    pub schedule: Option<(DateTimeOffset, DateTimeOffset)>,
    /// The new, full list of attendees.
    pub attendees: Option<Vec<MeetingParticipantInfo>>,
    /// Changed options.
    pub options: OptionsPatch,
}

/// A participant list as the request parser reads one: at most
/// [`ATTENDEES_MAX`], refused while parsing past it.
#[derive(Deserialize)]
struct ParticipantList(
    #[serde(deserialize_with = "participant_list")] Option<Vec<MeetingParticipantInfo>>,
);

/// Reads `value` as a `T`, naming `member` (and the path inside it) on error.
pub(crate) fn member_value<T: for<'de> Deserialize<'de>>(
    member: &str,
    value: Value,
) -> Result<T, InvalidRequest> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        let path = if inner == "." {
            member.to_owned()
        } else if member.is_empty() || inner.starts_with('[') {
            format!("{member}{inner}")
        } else {
            format!("{member}.{inner}")
        };
        InvalidRequest::member(path, error.into_inner())
    })
}

/// Checks an `@odata.type` annotation: `type_name` with or without its `#`.
pub(crate) fn check_odata_type(
    member: &str,
    value: &Value,
    type_name: &str,
) -> Result<(), InvalidRequest> {
    match value.as_str().map(|text| text.trim_start_matches('#')) {
        Some(name) if name == type_name => Ok(()),
        _ => Err(InvalidRequest::member(
            member,
            format_args!("must be \"#{type_name}\""),
        )),
    }
}

/// The members of a JSON object body, within the request bounds.
pub(crate) fn object_members(body: &[u8]) -> Result<Map<String, Value>, InvalidRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(InvalidRequest::whole(
            "the request body is empty; send a JSON object with the members to set",
        ));
    }
    check_raw(body)?;
    parse(body, |deserializer| {
        Map::<String, Value>::deserialize(deserializer)
            .map_err(|error| InvalidRequest::syntax(&error))
    })
}

impl UpdateRequest {
    /// Parses and checks a JSON body (an object: `{}` changes nothing).
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidRequest> {
        let mut update = UpdateRequest::default();
        let (mut start, mut end) = (None, None);
        for (name, value) in object_members(body)? {
            match name.as_str() {
                "@odata.type" => check_odata_type(&name, &value, "microsoft.graph.onlineMeeting")?,
                // Other instance annotations (`@odata.context`, …) say nothing to change.
                annotation if annotation.starts_with('@') => {}
                "subject" => {
                    let subject: Option<String> = member_value(&name, value)?;
                    if let Some(chars) = subject.as_ref().map(|s| s.chars().count()) {
                        if chars > SUBJECT_MAX_CHARS {
                            return Err(InvalidRequest::member(
                                "subject",
                                format_args!(
                                    "{chars} characters; at most {SUBJECT_MAX_CHARS} are allowed"
                                ),
                            ));
                        }
                    }
                    update.subject = Some(subject);
                }
                "startDateTime" => start = Some(member_value::<DateTimeOffset>(&name, value)?),
                "endDateTime" => end = Some(member_value::<DateTimeOffset>(&name, value)?),
                "participants" => update.attendees = Some(attendees(value)?),
                option if UPDATABLE_OPTIONS.contains(&option) => {
                    update.options.insert(option, value)?
                }
                fixed if READ_ONLY.contains(&fixed) => {
                    return Err(InvalidRequest::member(
                        fixed,
                        "cannot be changed; Graph lets a PATCH change subject, startDateTime and endDateTime, participants.attendees and the meeting options",
                    ))
                }
                unsupported if UNSUPPORTED.contains(&unsupported) => {
                    return Err(InvalidRequest::member(
                        unsupported,
                        "is not supported by this service",
                    ))
                }
                unknown => {
                    return Err(InvalidRequest::member(
                        unknown,
                        format_args!(
                            "the property '{unknown}' does not exist on type 'microsoft.graph.onlineMeeting'"
                        ),
                    ))
                }
            }
        }
        update.schedule = match (start, end) {
            (Some(start), Some(end)) => Some((start, end)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(InvalidRequest::member(
                    "endDateTime",
                    "is required with startDateTime: a change of time gives both",
                ))
            }
            (None, Some(_)) => {
                return Err(InvalidRequest::member(
                    "startDateTime",
                    "is required with endDateTime: a change of time gives both",
                ))
            }
        };
        Ok(update)
    }

    /// Whether it changes nothing (`{}`).
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.schedule.is_none()
            && self.attendees.is_none()
            && self.options.is_empty()
    }

    /// The time rules of `profile`: on `v1.0` the end may not come before the
    /// start; `beta` accepts it, as its createOrGet does.
    pub fn check(&self, profile: Profile) -> Result<(), InvalidRequest> {
        if let (Profile::V1, Some((start, end))) = (profile, self.schedule) {
            if end < start {
                return Err(InvalidRequest::member(
                    "endDateTime",
                    "must not be earlier than startDateTime",
                ));
            }
        }
        if let Some(attendees) = &self.attendees {
            if attendees.len() > ATTENDEES_MAX {
                return Err(InvalidRequest::member(
                    "participants.attendees",
                    format_args!(
                        "{} attendees; at most {ATTENDEES_MAX} are allowed",
                        attendees.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `meeting` with this change applied.
    pub fn apply(&self, meeting: &OnlineMeeting) -> Result<OnlineMeeting, InvalidRequest> {
        let mut changed = meeting.clone();
        if let Some(subject) = &self.subject {
            changed.subject.clone_from(subject);
        }
        if let Some((start, end)) = self.schedule {
            changed.start_date_time = start;
            changed.end_date_time = end;
        }
        if let Some(attendees) = &self.attendees {
            changed.participants.attendees.clone_from(attendees);
        }
        if !self.options.is_empty() {
            // A meeting stored before options had Graph's defaults.
            let current = meeting.meeting_options.clone().unwrap_or_default();
            changed.meeting_options = Some(self.options.apply(&current)?);
        }
        Ok(changed)
    }
}

/// The new attendees from a `participants` member: `attendees` alone may change.
fn attendees(value: Value) -> Result<Vec<MeetingParticipantInfo>, InvalidRequest> {
    let Value::Object(members) = value else {
        return Err(InvalidRequest::member(
            "participants",
            "must be a meetingParticipants object",
        ));
    };
    let mut attendees = None;
    for (name, value) in members {
        match name.as_str() {
            "@odata.type" => check_odata_type(
                "participants.@odata.type",
                &value,
                "microsoft.graph.meetingParticipants",
            )?,
            "attendees" => {
                let ParticipantList(list) = member_value("participants.attendees", value)?;
                attendees = Some(list.ok_or_else(|| {
                    InvalidRequest::member(
                        "participants.attendees",
                        "must be the full list of attendees ([] removes them all), not null",
                    )
                })?);
            }
            "organizer" => {
                return Err(InvalidRequest::member(
                    "participants.organizer",
                    "cannot be changed: a meeting's organizer is fixed when it is created",
                ))
            }
            fixed @ ("producers" | "contributors") => {
                return Err(InvalidRequest::member(
                    format!("participants.{fixed}"),
                    "cannot be changed; only participants.attendees can",
                ))
            }
            unknown => {
                return Err(InvalidRequest::member(
                    format!("participants.{unknown}"),
                    format_args!(
                        "the property '{unknown}' does not exist on type 'microsoft.graph.meetingParticipants'"
                    ),
                ))
            }
        }
    }
    attendees.ok_or_else(|| {
        InvalidRequest::member(
            "participants",
            "changes only attendees: send participants.attendees with the full list",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{LobbyBypassScope, OnlineMeetingPresenters};

    fn refused(body: &str) -> InvalidRequest {
        UpdateRequest::from_json(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn graph_s_examples_parse() {
        let change = UpdateRequest::from_json(
            br#"{"startDateTime": "2020-09-09T14:33:30.8546353-07:00",
                 "endDateTime": "2020-09-09T15:03:30.8566356-07:00",
                 "subject": "Patch Meeting Subject"}"#,
        )
        .unwrap();
        assert_eq!(change.subject, Some(Some("Patch Meeting Subject".into())));
        assert!(change.schedule.is_some());
        let change = UpdateRequest::from_json(
            br#"{"lobbyBypassSettings": {"isDialInBypassEnabled": true}}"#,
        )
        .unwrap();
        let options = change.options.apply(&MeetingOptions::default()).unwrap();
        assert!(options.lobby_bypass_settings.is_dial_in_bypass_enabled);
        assert_eq!(
            options.lobby_bypass_settings.scope,
            LobbyBypassScope::Organization,
            "members not named keep their values"
        );
    }

    #[test]
    fn members_that_cannot_change_are_refused_by_name() {
        for member in [
            "id",
            "joinWebUrl",
            "joinMeetingIdSettings",
            "externalId",
            "chatInfo",
        ] {
            let error = refused(&format!(r#"{{"{member}": null}}"#));
            assert_eq!(error.member_path(), Some(member));
            assert!(error.message().contains("cannot be changed"), "{error}");
        }
        let error = refused(r#"{"participants": {"organizer": {"upn": "x"}}}"#);
        assert_eq!(error.member_path(), Some("participants.organizer"));
    }

    #[test]
    fn an_odata_type_must_name_the_meeting_type_with_or_without_its_hash() {
        for body in [
            r##"{"@odata.type": "#microsoft.graph.onlineMeeting", "subject": "s"}"##,
            r#"{"@odata.type": "microsoft.graph.onlineMeeting", "subject": "s"}"#,
        ] {
            UpdateRequest::from_json(body.as_bytes()).unwrap();
        }
        for body in [
            r##"{"@odata.type": "#microsoft.graph.event"}"##,
            r#"{"@odata.type": 5}"#,
        ] {
            let error = refused(body);
            assert_eq!(error.member_path(), Some("@odata.type"), "{body}");
            assert!(
                error
                    .message()
                    .contains(r##"must be "#microsoft.graph.onlineMeeting""##),
                "{error}"
            );
        }
    }

    #[test]
    fn an_unknown_member_is_refused_by_name() {
        let error = refused(r#"{"subjet": "typo"}"#);
        assert_eq!(error.member_path(), Some("subjet"));
        assert!(error.message().contains("does not exist"), "{error}");
        let error = refused(r#"{"lobbyBypassSettings": {"scoop": "everyone"}}"#);
        assert_eq!(error.member_path(), Some("lobbyBypassSettings.scoop"));
    }

    #[test]
    fn wrong_types_are_refused_naming_the_member() {
        assert_eq!(refused(r#"{"subject": 5}"#).member_path(), Some("subject"));
        assert_eq!(
            refused(r#"{"allowRecording": "yes"}"#).member_path(),
            Some("allowRecording")
        );
        assert_eq!(
            refused(r#"{"allowedPresenters": "nobody"}"#).member_path(),
            Some("allowedPresenters")
        );
        assert_eq!(
            refused(r#"{"participants": {"attendees": [{}, {"upn": 5}]}}"#).member_path(),
            Some("participants.attendees[1].upn")
        );
        assert_eq!(
            refused(r#"{"startDateTime": "soon", "endDateTime": "later"}"#).member_path(),
            Some("startDateTime")
        );
    }

    #[test]
    fn an_update_is_empty_only_without_any_change() {
        assert!(UpdateRequest::from_json(b"{}").unwrap().is_empty());
        for body in [
            r#"{"subject": "s"}"#,
            r#"{"startDateTime": "2026-01-01T09:00:00Z", "endDateTime": "2026-01-01T10:00:00Z"}"#,
            r#"{"participants": {"attendees": []}}"#,
            r#"{"allowMeetingChat": "disabled"}"#,
        ] {
            let change = UpdateRequest::from_json(body.as_bytes()).unwrap();
            assert!(!change.is_empty(), "{body}");
        }
    }

    #[test]
    fn annotations_change_nothing_and_unsupported_members_are_named_so() {
        let change =
            UpdateRequest::from_json(br#"{"@odata.context": "x", "@odata.etag": "y"}"#).unwrap();
        assert!(change.is_empty());
        for member in UNSUPPORTED {
            let error = refused(&format!(r#"{{"{member}": null}}"#));
            assert_eq!(error.member_path(), Some(*member));
            assert!(
                error.message().contains("is not supported by this service"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_subject_of_exactly_the_bound_is_taken() {
        let body = format!(r#"{{"subject": "{}"}}"#, "é".repeat(SUBJECT_MAX_CHARS));
        let change = UpdateRequest::from_json(body.as_bytes()).unwrap();
        assert_eq!(
            change.subject.unwrap().unwrap().chars().count(),
            SUBJECT_MAX_CHARS
        );
        let long = format!(r#"{{"subject": "{}"}}"#, "é".repeat(SUBJECT_MAX_CHARS + 1));
        assert_eq!(refused(&long).member_path(), Some("subject"));
    }

    #[test]
    fn v1_takes_an_end_equal_to_the_start() {
        let change = UpdateRequest::from_json(
            br#"{"startDateTime": "2026-01-01T10:00:00Z", "endDateTime": "2026-01-01T10:00:00Z"}"#,
        )
        .unwrap();
        change.check(Profile::V1).unwrap();
    }

    #[test]
    fn check_bounds_attendees_at_the_limit() {
        let attendee = MeetingParticipantInfo::default();
        let mut change = UpdateRequest {
            attendees: Some(vec![attendee; ATTENDEES_MAX]),
            ..UpdateRequest::default()
        };
        change.check(Profile::V1).unwrap();
        change
            .attendees
            .as_mut()
            .unwrap()
            .push(MeetingParticipantInfo::default());
        assert_eq!(
            change.check(Profile::V1).unwrap_err().member_path(),
            Some("participants.attendees")
        );
    }

    #[test]
    fn times_change_together() {
        assert_eq!(
            refused(r#"{"startDateTime": "2026-01-01T09:00:00Z"}"#).member_path(),
            Some("endDateTime")
        );
        assert_eq!(
            refused(r#"{"endDateTime": "2026-01-01T09:00:00Z"}"#).member_path(),
            Some("startDateTime")
        );
    }

    #[test]
    fn v1_refuses_an_end_before_the_start_and_beta_accepts_it() {
        let change = UpdateRequest::from_json(
            br#"{"startDateTime": "2026-01-01T10:00:00Z", "endDateTime": "2026-01-01T09:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            change.check(Profile::V1).unwrap_err().member_path(),
            Some("endDateTime")
        );
        assert!(change.check(Profile::Beta).is_ok());
    }

    #[test]
    fn an_empty_body_or_not_an_object_is_refused_and_an_empty_object_changes_nothing() {
        assert!(refused("").message().contains("empty"));
        assert!(refused("  \n").message().contains("empty"));
        assert!(refused("[]").message().contains("JSON object"));
        assert!(refused("{").message().contains("malformed JSON"));
        assert!(UpdateRequest::from_json(b"{}").unwrap().is_empty());
    }

    #[test]
    fn apply_changes_the_options_only_when_the_update_names_one() {
        let meeting = crate::model::test_meeting("k", 1);
        assert_eq!(meeting.meeting_options, None);
        let subject = UpdateRequest::from_json(br#"{"subject": "s"}"#).unwrap();
        let changed = subject.apply(&meeting).unwrap();
        assert_eq!(changed.subject.as_deref(), Some("s"));
        assert_eq!(changed.meeting_options, None, "no option named, none set");
        let option = UpdateRequest::from_json(br#"{"allowedPresenters": "organizer"}"#).unwrap();
        let changed = option.apply(&meeting).unwrap();
        assert_eq!(
            changed.meeting_options.unwrap().allowed_presenters,
            OnlineMeetingPresenters::Organizer
        );
    }

    #[test]
    fn options_apply_to_graph_s_defaults_when_a_meeting_had_none() {
        let change = UpdateRequest::from_json(br#"{"allowedPresenters": "organizer"}"#).unwrap();
        let options = change.options.apply(&MeetingOptions::default()).unwrap();
        assert_eq!(
            options.allowed_presenters,
            OnlineMeetingPresenters::Organizer
        );
        assert!(options.allow_recording);
    }
}
