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
    #[serde(rename = "@odata.type")]
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

    /// A body refused by [`check_raw`], at byte `offset`.
    fn raw(body: &[u8], offset: usize, problem: &str) -> Self {
        let before = &body[..offset.min(body.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        InvalidRequest {
            member: None,
            message: format!("malformed JSON: {problem} at line {line} column {column}"),
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
        check_raw(body)?;
        // The fast pass keeps no path; only a body that fails is parsed again
        // with the path tracked, to name the member at fault.
        let request = parse(body, |deserializer| {
            CreateOrGetRequest::deserialize(deserializer)
                .map_err(|error| InvalidRequest::syntax(&error))
        })
        .map_err(|_| explain(body))?;
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

/// Deserializes the whole of `body` with `read`, refusing trailing characters.
fn parse<T>(
    body: &[u8],
    read: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
    ) -> Result<T, InvalidRequest>,
) -> Result<T, InvalidRequest> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    // check_raw bounds the depth at 128 levels; serde_json's own limit is 127.
    deserializer.disable_recursion_limit();
    let value = read(&mut deserializer)?;
    deserializer
        .end()
        .map_err(|error| InvalidRequest::syntax(&error))?;
    Ok(value)
}

/// Why `body` does not parse, naming the member at fault when there is one.
fn explain(body: &[u8]) -> InvalidRequest {
    let tracked = parse(body, |deserializer| {
        serde_path_to_error::deserialize::<_, CreateOrGetRequest>(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data if path != "." => {
                    InvalidRequest::member(path, inner)
                }
                _ => InvalidRequest::syntax(&inner),
            }
        })
    });
    match tracked {
        Err(error) => error,
        // Both passes read the same bytes with the same types, so this cannot happen.
        Ok(_) => InvalidRequest {
            member: None,
            message: "malformed request body".into(),
        },
    }
}

/// Checks, over the raw body, what serde_json lets through in the members it
/// skips (unknown members are skipped unparsed): the body is an object, nesting
/// is at most [`JSON_MAX_DEPTH`] levels, every number fits an `f64`, and no
/// string holds a lone surrogate escape. Syntax is left to serde_json.
fn check_raw(body: &[u8]) -> Result<(), InvalidRequest> {
    match body.iter().position(|b| !b" \t\r\n".contains(b)) {
        Some(start) if body[start] != b'{' => {
            return Err(InvalidRequest::raw(
                body,
                start,
                "the body must be a JSON object",
            ))
        }
        _ => {}
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => i = skip_string(body, i + 1)?,
            b'[' | b'{' => {
                depth += 1;
                if depth > JSON_MAX_DEPTH {
                    return Err(InvalidRequest::raw(
                        body,
                        i,
                        "JSON nesting deeper than 128 levels",
                    ));
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < body.len()
                    && matches!(body[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let number = std::str::from_utf8(&body[start..i])
                    .ok()
                    .and_then(|n| n.parse::<f64>().ok());
                if number.is_some_and(|n| !n.is_finite()) {
                    return Err(InvalidRequest::raw(
                        body,
                        start,
                        "a number too large for a 64-bit float",
                    ));
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Skips a string whose opening quote is just before `i`; returns the index after its end.
fn skip_string(body: &[u8], mut i: usize) -> Result<usize, InvalidRequest> {
    let hex4 = |at: usize| {
        body.get(at..at + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u16::from_str_radix(digits, 16).ok())
    };
    while i < body.len() {
        match body[i] {
            b'"' => return Ok(i + 1),
            b'\\' if body.get(i + 1) == Some(&b'u') => match hex4(i + 2) {
                Some(0xD800..=0xDBFF) => {
                    let escape_follows = body.get(i + 6..i + 8) == Some(b"\\u".as_slice());
                    if !(escape_follows && matches!(hex4(i + 8), Some(0xDC00..=0xDFFF))) {
                        return Err(InvalidRequest::raw(body, i, "a lone surrogate in a string"));
                    }
                    i += 12;
                }
                Some(0xDC00..=0xDFFF) => {
                    return Err(InvalidRequest::raw(body, i, "a lone surrogate in a string"))
                }
                _ => i += 6,
            },
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Ok(i)
}
