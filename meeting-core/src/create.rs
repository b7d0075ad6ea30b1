//! The body of `POST …/onlineMeetings`: a meeting without a key.

use crate::model::ChatInfo;
use crate::request::{InvalidRequest, RequestParticipants};
use crate::update::{member_value, object_members, OptionsPatch, UPDATABLE_OPTIONS};
use crate::{CreateOrGetRequest, DateTimeOffset, ExternalId};
use serde::Deserialize;
use serde_json::Value;

/// The body of `POST …/onlineMeetings`: an `onlineMeeting` to create, which no
/// key names (Graph's create; a repeated call creates another meeting).
///
/// It takes what createOrGet takes (`subject`, the times, `participants`,
/// `chatInfo`, with the same bounds and profile rules) and the options a
/// PATCH may change, plus `joinMeetingIdSettings.isPasscodeRequired`.
/// `externalId` and members `onlineMeeting` does not have are ignored, as
/// createOrGet ignores unknown members.
///
/// ```
/// use meeting_core::CreateRequest;
///
/// let request = CreateRequest::from_json(br#"{"subject": "User Token Meeting",
///     "joinMeetingIdSettings": {"isPasscodeRequired": true}}"#)?;
/// assert_eq!(request.is_passcode_required, Some(true));
/// # Ok::<(), meeting_core::InvalidRequest>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateRequest {
    /// At most 1,024 characters.
    pub subject: Option<String>,
    /// The start; defaults depend on the [`Profile`](crate::Profile).
    pub start_date_time: Option<DateTimeOffset>,
    /// The end; defaults depend on the [`Profile`](crate::Profile).
    pub end_date_time: Option<DateTimeOffset>,
    /// The organizer must be the caller when present; at most 1,000 attendees.
    pub participants: Option<RequestParticipants>,
    /// Checked for shape, then ignored: every meeting gets a new chat thread.
    pub chat_info: Option<ChatInfo>,
    /// Options that differ from the meeting policy's.
    pub options: OptionsPatch,
    /// Whether joining by id needs a passcode; the policy decides when absent.
    pub is_passcode_required: Option<bool>,
}

/// The createOrGet members of a create body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
struct Common {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    start_date_time: Option<DateTimeOffset>,
    #[serde(default)]
    end_date_time: Option<DateTimeOffset>,
    #[serde(default)]
    participants: Option<RequestParticipants>,
    #[serde(default)]
    chat_info: Option<ChatInfo>,
}

/// `joinMeetingIdSettings` as a create may set it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a joinMeetingIdSettings object")]
struct JoinSettings {
    #[serde(rename = "@odata.type", default)]
    _odata_type: crate::ODataTag<crate::options::JoinMeetingIdSettings>,
    #[serde(default)]
    is_passcode_required: Option<bool>,
}

impl CreateRequest {
    /// Parses and validates a JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidRequest> {
        let mut members = object_members(body)?;
        let mut options = OptionsPatch::default();
        for option in UPDATABLE_OPTIONS {
            if let Some(value) = members.remove(*option) {
                options.insert(option, value)?;
            }
        }
        let is_passcode_required = match members.remove("joinMeetingIdSettings") {
            None | Some(Value::Null) => None,
            Some(value) => {
                let settings: JoinSettings = member_value("joinMeetingIdSettings", value)?;
                settings.is_passcode_required
            }
        };
        let common: Common = member_value("", Value::Object(members))?;
        let request = CreateRequest {
            subject: common.subject,
            start_date_time: common.start_date_time,
            end_date_time: common.end_date_time,
            participants: common.participants,
            chat_info: common.chat_info,
            options,
            is_passcode_required,
        };
        // The placeholder stands in for the key only to reuse createOrGet's bounds.
        request
            .with_key(ExternalId::placeholder(uuid::Uuid::nil()))
            .validate()?;
        Ok(request)
    }

    /// The createOrGet request this create amounts to under `key`.
    pub(crate) fn with_key(&self, key: ExternalId) -> CreateOrGetRequest {
        CreateOrGetRequest {
            subject: self.subject.clone(),
            start_date_time: self.start_date_time,
            end_date_time: self.end_date_time,
            participants: self.participants.clone(),
            chat_info: self.chat_info.clone(),
            ..CreateOrGetRequest::new(key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::OnlineMeetingPresenters;

    #[test]
    fn graph_s_create_example_parses_and_needs_no_key() {
        let request = CreateRequest::from_json(
            br#"{"startDateTime":"2019-07-12T14:30:34.2444915-07:00",
                 "endDateTime":"2019-07-12T15:00:34.2464912-07:00",
                 "subject":"User Token Meeting"}"#,
        )
        .unwrap();
        assert_eq!(request.subject.as_deref(), Some("User Token Meeting"));
        assert!(request.start_date_time.is_some() && request.end_date_time.is_some());
    }

    #[test]
    fn options_and_the_passcode_requirement_are_taken() {
        let request = CreateRequest::from_json(
            br#"{"allowedPresenters": "organizer", "joinMeetingIdSettings": {"isPasscodeRequired": true}}"#,
        )
        .unwrap();
        let options = request
            .options
            .apply(&crate::options::MeetingOptions::default())
            .unwrap();
        assert_eq!(
            options.allowed_presenters,
            OnlineMeetingPresenters::Organizer
        );
        assert_eq!(request.is_passcode_required, Some(true));
    }

    #[test]
    fn bad_members_are_named() {
        let error = CreateRequest::from_json(br#"{"subject": 5}"#).unwrap_err();
        assert_eq!(error.member_path(), Some("subject"));
        let error = CreateRequest::from_json(br#"{"participants": {"attendees": [{"upn": 5}]}}"#)
            .unwrap_err();
        assert_eq!(error.member_path(), Some("participants.attendees[0].upn"));
        let error =
            CreateRequest::from_json(br#"{"joinMeetingIdSettings": {"isPasscodeRequired": 1}}"#)
                .unwrap_err();
        assert_eq!(
            error.member_path(),
            Some("joinMeetingIdSettings.isPasscodeRequired")
        );
        assert!(CreateRequest::from_json(b"").is_err());
        let long = format!(r#"{{"subject": "{}"}}"#, "x".repeat(1025));
        assert_eq!(
            CreateRequest::from_json(long.as_bytes())
                .unwrap_err()
                .member_path(),
            Some("subject")
        );
    }
}
