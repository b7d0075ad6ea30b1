//! The createOrGet request body and its validation (spec section 2).

use crate::ids::ExternalId;
use crate::model::{ChatInfo, MeetingParticipantInfo, MeetingParticipants};
use crate::odata::ODataTag;
use crate::scan::{Scanner, Token};
use crate::DateTimeOffset;
use serde::Deserialize;

/// The most Unicode characters a `subject` may have.
pub const SUBJECT_MAX_CHARS: usize = 1024;
/// The most attendees a request may list.
pub const ATTENDEES_MAX: usize = 1000;
/// The deepest JSON nesting a body may have. Stores read back whatever this
/// lets through ([`OnlineMeeting::from_stored_json`](crate::OnlineMeeting::from_stored_json)).
pub const JSON_MAX_DEPTH: usize = 128;
/// The most JSON values and member names a body may hold. It bounds what
/// parsing a body can build (a 4 MiB body of `[0,0,…]` would otherwise become
/// two million values) at a few times what the fullest valid request needs:
/// 1,000 attendees, each with an identity, UPN and role, take about 20,000.
pub const JSON_MAX_VALUES: usize = 65_536;

/// The body of `POST …/onlineMeetings/createOrGet`, with its key.
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
/// Unknown members are ignored, as Graph does. Deserializing it with serde
/// directly checks the key but not [`validate`](Self::validate)'s bounds.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawRequest")]
pub struct CreateOrGetRequest {
    /// The caller's key.
    pub external_id: ExternalId,
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
}

/// The body as it reads, before its key is known to be there.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
struct RawRequest {
    #[serde(default)]
    external_id: Option<ExternalId>,
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

impl TryFrom<RawRequest> for CreateOrGetRequest {
    type Error = InvalidRequest;

    fn try_from(raw: RawRequest) -> Result<Self, InvalidRequest> {
        let external_id = raw.external_id.ok_or_else(|| InvalidRequest {
            member: Some("externalId".into()),
            message: "externalId is required".into(),
        })?;
        if external_id.is_placeholder() {
            // What ExternalId::new says of it: a client's key holds no control character.
            return Err(InvalidRequest::member(
                "externalId",
                crate::ExternalIdError::ControlCharacter(0),
            ));
        }
        Ok(CreateOrGetRequest {
            external_id,
            subject: raw.subject,
            start_date_time: raw.start_date_time,
            end_date_time: raw.end_date_time,
            participants: raw.participants,
            chat_info: raw.chat_info,
        })
    }
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
    /// The meeting's attendees, kept as sent; at most [`ATTENDEES_MAX`].
    #[serde(default, deserialize_with = "participant_list")]
    pub attendees: Option<Vec<MeetingParticipantInfo>>,
    /// Checked for shape, then ignored: a created meeting has no producers.
    /// At most [`ATTENDEES_MAX`].
    #[serde(default, deserialize_with = "participant_list")]
    pub producers: Option<Vec<MeetingParticipantInfo>>,
    /// Checked for shape, then ignored: a created meeting has no contributors.
    /// At most [`ATTENDEES_MAX`].
    #[serde(default, deserialize_with = "participant_list")]
    pub contributors: Option<Vec<MeetingParticipantInfo>>,
}

/// A participant list, refused as soon as it passes [`ATTENDEES_MAX`]
/// entries: nothing past the limit is built, whatever the body holds.
pub(crate) fn participant_list<'de, D>(
    deserializer: D,
) -> Result<Option<Vec<MeetingParticipantInfo>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Bounded;

    impl<'de> serde::de::Visitor<'de> for Bounded {
        type Value = Vec<MeetingParticipantInfo>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {ATTENDEES_MAX} participants")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(ATTENDEES_MAX));
            while let Some(participant) = seq.next_element()? {
                if list.len() == ATTENDEES_MAX {
                    return Err(serde::de::Error::custom(format_args!(
                        "more than {ATTENDEES_MAX} participants; at most {ATTENDEES_MAX} are allowed"
                    )));
                }
                list.push(participant);
            }
            Ok(list)
        }
    }

    struct Nullable;

    impl<'de> serde::de::Visitor<'de> for Nullable {
        type Value = Option<Vec<MeetingParticipantInfo>>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {ATTENDEES_MAX} participants or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_seq(Bounded).map(Some)
        }
    }

    deserializer.deserialize_option(Nullable)
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
    pub(crate) fn syntax(error: &serde_json::Error) -> Self {
        InvalidRequest {
            member: None,
            message: format!("malformed JSON: {error}"),
        }
    }

    /// A body refused by [`check_raw`], at byte `offset`.
    fn raw(body: &[u8], offset: usize, problem: impl std::fmt::Display) -> Self {
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

    /// A problem with the request as a whole, not one member.
    pub(crate) fn whole(message: impl Into<String>) -> Self {
        InvalidRequest {
            member: None,
            message: message.into(),
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
            external_id,
            subject: None,
            start_date_time: None,
            end_date_time: None,
            participants: None,
            chat_info: None,
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
        let raw = parse(body, |deserializer| {
            RawRequest::deserialize(deserializer).map_err(|error| InvalidRequest::syntax(&error))
        })
        .map_err(|_| explain(body))?;
        let request = CreateOrGetRequest::try_from(raw)?;
        request.validate()?;
        Ok(request)
    }

    /// Checks the bounds of spec section 2 that the types alone do not hold
    /// (for a request built in code; [`from_json`](Self::from_json) checks them).
    pub fn validate(&self) -> Result<(), InvalidRequest> {
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
        Ok(())
    }
}

/// Deserializes the whole of `body` with `read`, refusing trailing characters.
pub(crate) fn parse<T>(
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
        serde_path_to_error::deserialize::<_, RawRequest>(deserializer).map_err(|error| {
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
/// skips (unknown members are skipped unparsed), and bounds what parsing may
/// build: the body is an object, nesting is at most [`JSON_MAX_DEPTH`] levels,
/// it holds at most [`JSON_MAX_VALUES`] values and member names, every number
/// fits an `f64`, and no string holds a lone surrogate escape. Syntax is left
/// to serde_json.
pub(crate) fn check_raw(body: &[u8]) -> Result<(), InvalidRequest> {
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
    for (count, (at, token)) in Scanner::new(body).enumerate() {
        if count == JSON_MAX_VALUES {
            return Err(InvalidRequest::raw(
                body,
                at,
                format_args!("more than {JSON_MAX_VALUES} JSON values and member names"),
            ));
        }
        match token {
            Token::Open { depth } if depth > JSON_MAX_DEPTH => {
                return Err(InvalidRequest::raw(
                    body,
                    at,
                    format_args!("JSON nesting deeper than {JSON_MAX_DEPTH} levels"),
                ));
            }
            Token::Number { text: (start, end) } => {
                let number = std::str::from_utf8(&body[start..end])
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
            Token::String { content } => {
                if let Some(at) = lone_surrogate(body, content) {
                    return Err(InvalidRequest::raw(
                        body,
                        at,
                        "a lone surrogate in a string",
                    ));
                }
            }
            Token::Open { .. } | Token::Literal => {}
        }
    }
    Ok(())
}

/// The offset of the first `\u` escape in `body[start..end]` naming half of a
/// surrogate pair without its other half.
fn lone_surrogate(body: &[u8], (start, end): (usize, usize)) -> Option<usize> {
    let hex4 = |at: usize| {
        body.get(at..at + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u16::from_str_radix(digits, 16).ok())
    };
    let mut i = start;
    while i < end {
        match body[i] {
            b'\\' if body.get(i + 1) == Some(&b'u') => match hex4(i + 2) {
                Some(0xD800..=0xDBFF) => {
                    let escape_follows = body.get(i + 6..i + 8) == Some(b"\\u".as_slice());
                    if !(escape_follows && matches!(hex4(i + 8), Some(0xDC00..=0xDFFF))) {
                        return Some(i);
                    }
                    i += 12;
                }
                Some(0xDC00..=0xDFFF) => return Some(i),
                _ => i += 6,
            },
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}
