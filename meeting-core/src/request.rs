//! The createOrGet request body and its validation (spec section 2).

use crate::ids::ExternalId;
use crate::model::{ChatInfo, MeetingParticipantInfo, MeetingParticipants};
use crate::odata::ODataTag;
use crate::DateTimeOffset;
use serde::Deserialize;

/// The most Unicode characters a `subject` may have.
pub const SUBJECT_MAX_CHARS: usize = 1024;
/// The most attendees a request may list.
pub const ATTENDEES_MAX: usize = 1000;
/// The deepest JSON nesting a body may have (serde_json's recursion limit).
pub const JSON_MAX_DEPTH: usize = 128;

/// The body of `POST …/onlineMeetings/createOrGet`.
///
/// Parse one from JSON with [`CreateOrGetRequest::from_json`], which names the
/// offending member in every error, or build one in code:
///
/// ```
/// use meeting_core::{CreateOrGetRequest, ExternalId};
///
/// let request = CreateOrGetRequest {
///     subject: Some("Weekly sync".into()),
///     ..CreateOrGetRequest::new(ExternalId::new("sync-2026-w48").unwrap())
/// };
/// assert!(request.validate().is_ok());
/// ```
///
/// Unknown members are ignored, as Graph does.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct CreateOrGetRequest {
    /// Required: the caller's key.
    #[serde(default)]
    pub external_id: Option<ExternalId>,
    /// At most 1,024 characters.
    #[serde(default)]
    pub subject: Option<String>,
    /// The start; defaults depend on the [`Profile`](crate::Profile).
    #[serde(default)]
    pub start_date_time: Option<DateTimeOffset>,
    /// The end; defaults depend on the [`Profile`](crate::Profile).
    #[serde(default)]
    pub end_date_time: Option<DateTimeOffset>,
    /// The organizer must be the caller when present; at most 1,000 attendees.
    #[serde(default)]
    pub participants: Option<RequestParticipants>,
    /// Checked for shape, then ignored: every meeting gets a new chat thread.
    #[serde(default)]
    pub chat_info: Option<ChatInfo>,
}

/// The request's `meetingParticipants`. Unlike the stored model it tells an
/// absent (or `null`) list from an empty one, which strict mode needs.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a meetingParticipants object")]
pub struct RequestParticipants {
    #[serde(rename = "@odata.type", default)]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<MeetingParticipants>,
    /// When present, must name the caller.
    #[serde(default)]
    pub organizer: Option<MeetingParticipantInfo>,
    /// The meeting's attendees, kept as sent.
    #[serde(default)]
    pub attendees: Option<Vec<MeetingParticipantInfo>>,
    /// Checked for shape, then ignored: a created meeting has no producers.
    #[serde(default)]
    pub producers: Option<Vec<MeetingParticipantInfo>>,
    /// Checked for shape, then ignored: a created meeting has no contributors.
    #[serde(default)]
    pub contributors: Option<Vec<MeetingParticipantInfo>>,
}

/// A request that breaks a rule of spec section 2. The message names the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    member: Option<String>,
    message: String,
}

impl InvalidRequest {
    /// A rule broken by `member` (a path such as `participants.attendees[2].upn`).
    pub fn member(member: impl Into<String>, problem: impl std::fmt::Display) -> Self {
        let member = member.into();
        InvalidRequest {
            message: format!("{member}: {problem}"),
            member: Some(member),
        }
    }

    /// A body that is not JSON at all; the message says where.
    fn syntax(error: &serde_json::Error) -> Self {
        InvalidRequest {
            member: None,
            message: format!("malformed JSON: {error}"),
        }
    }

    /// The member at fault, when there is one.
    pub fn member_path(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// The whole message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl CreateOrGetRequest {
    /// A request with only its key set.
    pub fn new(external_id: ExternalId) -> Self {
        CreateOrGetRequest {
            external_id: Some(external_id),
            ..CreateOrGetRequest::default()
        }
    }

    /// Parses and validates a JSON body.
    ///
    /// ```
    /// use meeting_core::CreateOrGetRequest;
    ///
    /// let error = CreateOrGetRequest::from_json(br#"{"externalId":"k","participants":{"attendees":[{},{},{"upn":5}]}}"#)
    ///     .unwrap_err();
    /// assert_eq!(error.member_path(), Some("participants.attendees[2].upn"));
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidRequest> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let request: CreateOrGetRequest = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| {
                let path = error.path().to_string();
                let inner = error.into_inner();
                match inner.classify() {
                    serde_json::error::Category::Data if path != "." => {
                        InvalidRequest::member(path, inner)
                    }
                    _ => InvalidRequest::syntax(&inner),
                }
            })?;
        deserializer
            .end()
            .map_err(|error| InvalidRequest::syntax(&error))?;
        request.validate()?;
        Ok(request)
    }

    /// Checks the bounds of spec section 2 that the types alone do not hold.
    pub fn validate(&self) -> Result<&ExternalId, InvalidRequest> {
        let external_id = self.external_id.as_ref().ok_or_else(|| InvalidRequest {
            member: Some("externalId".into()),
            message: "externalId is required".into(),
        })?;
        if let Some(subject) = &self.subject {
            let chars = subject.chars().count();
            if chars > SUBJECT_MAX_CHARS {
                return Err(InvalidRequest::member(
                    "subject",
                    format_args!("{chars} characters; at most {SUBJECT_MAX_CHARS} are allowed"),
                ));
            }
        }
        if let Some(attendees) = self
            .participants
            .as_ref()
            .and_then(|p| p.attendees.as_ref())
        {
            let attendees = attendees.len();
            if attendees > ATTENDEES_MAX {
                return Err(InvalidRequest::member(
                    "participants.attendees",
                    format_args!("{attendees} attendees; at most {ATTENDEES_MAX} are allowed"),
                ));
            }
        }
        Ok(external_id)
    }
}
