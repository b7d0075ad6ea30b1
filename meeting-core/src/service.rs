//! The createOrGet service: the rules of spec sections 1 and 3 over a store.

use crate::caller::{Caller, Forbidden, Operation};
use crate::error::Error;
use crate::generate::{self, Clock, IdSource, RandomIds, SystemClock};
use crate::ids::{MeetingId, MeetingKey, TenantId, UserId};
use crate::model::{
    AudioConferencing, AutoAdmittedUsers, ChatInfo, Identity, IdentitySet, MeetingParticipantInfo,
    MeetingParticipants, OnlineMeeting,
};
use crate::request::{CreateOrGetRequest, InvalidRequest};
use crate::store::{MeetingStore, Outcome};
use crate::DateTimeOffset;
use arc_swap::ArcSwap;
use chrono::TimeDelta;
use std::sync::Arc;

/// Which of Graph's two behaviours of createOrGet to follow (spec 1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The seed's (April 2020) behaviour: `200 OK` always, missing times default
    /// to `0001-01-01T00:00:00` UTC, an end before the start is accepted.
    #[default]
    Beta,
    /// Graph v1.0 (May 2020 on): `201 Created` when created, start defaults to
    /// now and end to start + 1 h, an end alone or before the start is refused.
    V1,
}

impl Profile {
    /// The profile for a URL version segment: `beta` or `v1.0`.
    pub fn from_version(version: &str) -> Option<Profile> {
        match version {
            "beta" => Some(Profile::Beta),
            "v1.0" => Some(Profile::V1),
            _ => None,
        }
    }

    /// The URL version segment.
    pub fn version(self) -> &'static str {
        match self {
            Profile::Beta => "beta",
            Profile::V1 => "v1.0",
        }
    }

    /// The meeting's times from the request's, by this profile's rules; checked
    /// now, so that a bad request is refused before the store is consulted.
    fn schedule(
        self,
        start: Option<DateTimeOffset>,
        end: Option<DateTimeOffset>,
    ) -> Result<Schedule, InvalidRequest> {
        match self {
            Profile::Beta => Ok(Schedule::Fixed {
                start: start.unwrap_or(DateTimeOffset::MIN),
                end: end.unwrap_or(DateTimeOffset::MIN),
            }),
            Profile::V1 => match (start, end) {
                (None, None) => Ok(Schedule::AnHourFromCreation),
                (Some(start), None) => {
                    let end = start.checked_add(TimeDelta::hours(1)).map_err(|_| {
                        InvalidRequest::member(
                            "startDateTime",
                            "the default end (start plus one hour) falls after year 9999",
                        )
                    })?;
                    Ok(Schedule::Fixed { start, end })
                }
                (None, Some(_)) => Err(InvalidRequest::member(
                    "startDateTime",
                    "is required when endDateTime is given",
                )),
                (Some(start), Some(end)) if end < start => Err(InvalidRequest::member(
                    "endDateTime",
                    "must not be earlier than startDateTime",
                )),
                (Some(start), Some(end)) => Ok(Schedule::Fixed { start, end }),
            },
        }
    }
}

/// A new meeting's start and end.
#[derive(Clone, Copy, Debug)]
enum Schedule {
    /// Known from the request (or the beta defaults).
    Fixed {
        start: DateTimeOffset,
        end: DateTimeOffset,
    },
    /// v1.0 without times: from the creation instant for an hour. Read from the
    /// clock only when a meeting is built, so that a hit never reads it.
    AnHourFromCreation,
}

/// The server's configuration of generated fields and strictness. As JSON
/// (camelCase members, every member required, unknown members refused) it is
/// what `meeting-http`'s admin API reads and patches.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Answer [`Error::ParameterMismatch`] when an existing meeting differs from
    /// the request's explicit `subject`, times or attendees. Off by default, as in Graph.
    pub strict: bool,
    /// The base of `joinWebUrl`.
    pub join_base_url: String,
    /// The dial-in to give meetings; without one `audioConferencing` is `null`.
    pub dial_in: Option<DialIn>,
    /// Give meetings a `videoTeleconferenceId`; without it the member is `null`.
    pub video_interop: bool,
}

/// A configured dial-in.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DialIn {
    /// The toll number every meeting shows.
    pub toll_number: String,
    /// The base of `dialinUrl`.
    pub base_url: String,
}

/// The default `joinWebUrl` base.
pub const DEFAULT_JOIN_BASE_URL: &str = "https://teams.microsoft.com";
/// The default `dialinUrl` base.
pub const DEFAULT_DIALIN_BASE_URL: &str = "https://dialin.teams.microsoft.com";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            strict: false,
            join_base_url: DEFAULT_JOIN_BASE_URL.to_owned(),
            dial_in: None,
            video_interop: false,
        }
    }
}

/// Graph's createOrGet, get and delete over a [`MeetingStore`].
///
/// Cheap to clone: every part is shared.
#[derive(Clone, Debug)]
pub struct MeetingService {
    pub(crate) store: Arc<dyn MeetingStore>,
    /// Shared by every clone, and replaceable while serving.
    settings: Arc<ArcSwap<Settings>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
}

impl MeetingService {
    /// A service with default [`Settings`], the system clock and random ids.
    pub fn new(store: Arc<dyn MeetingStore>) -> Self {
        MeetingService {
            store,
            settings: Arc::new(ArcSwap::from_pointee(Settings::default())),
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
        }
    }

    /// This service with its own `settings`, no longer shared with the
    /// clones it was made from.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = Arc::new(ArcSwap::from_pointee(settings));
        self
    }

    /// Replaces the settings while serving, for this service and every clone
    /// of it; calls already running finish with the settings they began with.
    pub fn replace_settings(&self, settings: Settings) {
        self.settings.store(Arc::new(settings));
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the source of random values.
    pub fn with_ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// Decides whether `caller` may do `operation` on `target`'s meetings: the
    /// permission table (spec 1.2), then whether a `/users/{userId}` path
    /// names the caller. The one place where access is decided; every
    /// operation runs through what it returns, so an HTTP front can refuse a
    /// caller (`403`) before it reads the body.
    pub fn authorize<'a>(
        &'a self,
        caller: &'a Caller,
        target: Target<'_>,
        operation: Operation,
    ) -> Result<Authorized<'a>, Error> {
        caller.permission(operation)?;
        if let Target::User(user) = target {
            if !caller.is_named_by(user) {
                return Err(Forbidden::OtherUser.into());
            }
        }
        Ok(Authorized {
            service: self,
            caller,
            operation,
        })
    }

    /// [`Authorized::create_or_get`] for `caller` on `target`'s meetings.
    pub async fn create_or_get(
        &self,
        caller: &Caller,
        target: Target<'_>,
        profile: Profile,
        request: &CreateOrGetRequest,
    ) -> Result<Outcome, Error> {
        self.authorize(caller, target, Operation::CreateOrGet)?
            .create_or_get(profile, request)
            .await
    }

    /// [`Authorized::get`] for `caller` on `target`'s meetings.
    pub async fn get(
        &self,
        caller: &Caller,
        target: Target<'_>,
        id: &MeetingId,
    ) -> Result<Arc<OnlineMeeting>, Error> {
        self.authorize(caller, target, Operation::Get)?
            .get(id)
            .await
    }

    /// [`Authorized::delete`] for `caller` on `target`'s meetings.
    pub async fn delete(
        &self,
        caller: &Caller,
        target: Target<'_>,
        id: &MeetingId,
    ) -> Result<(), Error> {
        self.authorize(caller, target, Operation::Delete)?
            .delete(id)
            .await
    }

    /// Succeeds when the store answers.
    pub async fn health(&self) -> Result<(), Error> {
        Ok(self.store.ping().await?)
    }

    /// A new meeting for `key`, with every server-generated member of spec section 3.
    fn build(&self, key: &MeetingKey, draft: &Draft<'_>) -> OnlineMeeting {
        let ids = &*self.ids;
        let settings = self.settings.load();
        let caller = draft.caller;
        let thread_id = generate::thread_id(ids);
        let join_web_url = generate::join_web_url(
            &settings.join_base_url,
            &thread_id,
            caller.tenant.as_str(),
            caller.user.as_str(),
        );
        let audio_conferencing = settings.dial_in.as_ref().map(|dial_in| {
            let conference_id = generate::digits(ids, 9);
            AudioConferencing {
                dialin_url: Some(generate::dialin_url(&dial_in.base_url, ids, &conference_id)),
                conference_id: Some(conference_id),
                toll_number: Some(dial_in.toll_number.clone()),
                ..AudioConferencing::default()
            }
        });
        let organizer = MeetingParticipantInfo {
            identity: Some(IdentitySet {
                user: Some(Identity {
                    tenant_id: Some(caller.tenant.as_str().to_owned()),
                    identity_provider: Some("AAD".to_owned()),
                    ..Identity::user(caller.user.as_str(), caller.display_name.clone())
                }),
                ..IdentitySet::default()
            }),
            upn: caller
                .upn
                .clone()
                .or_else(|| draft.organizer_upn.map(str::to_owned)),
            ..MeetingParticipantInfo::default()
        };
        let attendees = draft
            .request
            .participants
            .as_ref()
            .and_then(|participants| participants.attendees.clone())
            .unwrap_or_default();

        let now = DateTimeOffset::saturating_from_utc(self.clock.now());
        let (start, end) = match draft.schedule {
            Schedule::Fixed { start, end } => (start, end),
            // Saturates only if the clock stands in the last hour of year 9999.
            Schedule::AnHourFromCreation => (
                now,
                now.checked_add(TimeDelta::hours(1))
                    .unwrap_or(DateTimeOffset::MAX),
            ),
        };

        OnlineMeeting {
            odata_type: Default::default(),
            creation_date_time: now,
            start_date_time: start,
            end_date_time: end,
            join_web_url,
            subject: draft.request.subject.clone(),
            participants: MeetingParticipants {
                organizer: Some(organizer),
                attendees,
                ..MeetingParticipants::default()
            },
            is_broadcast: false,
            auto_admitted_users: Some(AutoAdmittedUsers::Everyone),
            capabilities: Vec::new(),
            audio_conferencing,
            chat_info: Some(ChatInfo {
                message_id: Some("0".to_owned()),
                ..ChatInfo::new(thread_id.clone())
            }),
            video_teleconference_id: settings.video_interop.then(|| generate::digits(ids, 10)),
            external_id: key.external_id.clone(),
            id: MeetingId::new(format!("{}_{thread_id}", caller.user)),
            outer_meeting_auto_admitted_users: None,
            meeting_info: None,
        }
    }
}

/// Whose meetings a call acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// The caller's own (`/me/…`).
    Me,
    /// Those of the user a path names (`/users/{userId}/…`): an object id or a UPN.
    User(&'a str),
}

/// A caller cleared by [`MeetingService::authorize`] for one operation; the
/// only way to reach the store. An operation other than the one cleared is
/// [`Forbidden::NotAuthorized`].
#[derive(Clone, Copy, Debug)]
#[must_use = "an authorization does nothing until its operation runs"]
pub struct Authorized<'a> {
    service: &'a MeetingService,
    caller: &'a Caller,
    operation: Operation,
}

impl Authorized<'_> {
    /// The operation this authorization is for.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    fn require(&self, operation: Operation) -> Result<(), Error> {
        if self.operation == operation {
            Ok(())
        } else {
            Err(Forbidden::NotAuthorized {
                authorized: self.operation,
                requested: operation,
            }
            .into())
        }
    }

    /// Creates the caller's meeting with the request's `externalId`, or returns
    /// the one that already exists, exactly once per key whatever the concurrency.
    ///
    /// Checks the request (400), then asks the store. An existing meeting is
    /// returned as stored; other request members are ignored unless
    /// [`Settings::strict`] is on.
    pub async fn create_or_get(
        &self,
        profile: Profile,
        request: &CreateOrGetRequest,
    ) -> Result<Outcome, Error> {
        self.require(Operation::CreateOrGet)?;
        let (service, caller) = (self.service, self.caller);
        request.validate()?;
        let organizer_upn = check_organizer(caller, request)?;
        let schedule = profile.schedule(request.start_date_time, request.end_date_time)?;

        let key = MeetingKey {
            tenant: caller.tenant.clone(),
            user: caller.user.clone(),
            external_id: request.external_id.clone(),
        };
        let draft = Draft {
            caller,
            request,
            organizer_upn,
            schedule,
        };
        let outcome = service
            .store
            .create_or_get(&key, &|| service.build(&key, &draft))
            .await?;
        if service.settings.load().strict {
            if let Outcome::Existing(stored) = &outcome {
                let members = mismatches(request, stored);
                if !members.is_empty() {
                    return Err(Error::ParameterMismatch { members });
                }
            }
        }
        Ok(outcome)
    }

    /// The caller's meeting with this `id`; another organizer's meeting is
    /// [`Error::NotFound`] too, so that ids leak nothing.
    pub async fn get(&self, id: &MeetingId) -> Result<Arc<OnlineMeeting>, Error> {
        self.require(Operation::Get)?;
        self.owned_meeting(id).await
    }

    /// Deletes the caller's meeting with this `id`; its key becomes free.
    pub async fn delete(&self, id: &MeetingId) -> Result<(), Error> {
        self.require(Operation::Delete)?;
        self.owned_meeting(id).await?;
        match self.service.store.delete(id).await? {
            true => Ok(()),
            false => Err(Error::NotFound),
        }
    }

    async fn owned_meeting(&self, id: &MeetingId) -> Result<Arc<OnlineMeeting>, Error> {
        let caller = self.caller;
        let meeting = self.service.store.get(id).await?.ok_or(Error::NotFound)?;
        // Compared as ids: a meeting stored before GUIDs were held in one form still matches.
        let owned = meeting.organizer_identity().is_some_and(|organizer| {
            organizer
                .id
                .as_deref()
                .and_then(|id| UserId::new(id).ok())
                .as_ref()
                == Some(&caller.user)
                && organizer
                    .tenant_id
                    .as_deref()
                    .and_then(|id| TenantId::new(id).ok())
                    .as_ref()
                    == Some(&caller.tenant)
        });
        if owned {
            Ok(meeting)
        } else {
            Err(Error::NotFound)
        }
    }
}

/// What a new meeting takes from the call.
struct Draft<'a> {
    caller: &'a Caller,
    request: &'a CreateOrGetRequest,
    organizer_upn: Option<&'a str>,
    schedule: Schedule,
}

/// The organizer is always the caller: a request naming another user id is
/// refused. Returns the request's organizer UPN, used when the token has none.
fn check_organizer<'r>(
    caller: &Caller,
    request: &'r CreateOrGetRequest,
) -> Result<Option<&'r str>, InvalidRequest> {
    let Some(organizer) = request
        .participants
        .as_ref()
        .and_then(|participants| participants.organizer.as_ref())
    else {
        return Ok(None);
    };
    let named = organizer
        .identity
        .as_ref()
        .and_then(|identity| identity.user.as_ref())
        .and_then(|user| user.id.as_deref());
    if let Some(id) = named {
        if UserId::new(id).ok().as_ref() != Some(&caller.user) {
            return Err(InvalidRequest::member(
                "participants.organizer.identity.user.id",
                format_args!(
                    "names the user {id}, but the organizer is always the caller; omit it or use the caller's id"
                ),
            ));
        }
    }
    Ok(organizer.upn.as_deref())
}

/// Strict mode: the members the request sets explicitly that differ from `stored`.
fn mismatches(request: &CreateOrGetRequest, stored: &OnlineMeeting) -> Vec<&'static str> {
    let mut members = Vec::new();
    if request
        .subject
        .as_ref()
        .is_some_and(|s| stored.subject.as_ref() != Some(s))
    {
        members.push("subject");
    }
    if request
        .start_date_time
        .is_some_and(|t| t != stored.start_date_time)
    {
        members.push("startDateTime");
    }
    if request
        .end_date_time
        .is_some_and(|t| t != stored.end_date_time)
    {
        members.push("endDateTime");
    }
    let attendees = request
        .participants
        .as_ref()
        .and_then(|participants| participants.attendees.as_ref());
    if attendees.is_some_and(|a| *a != stored.participants.attendees) {
        members.push("participants.attendees");
    }
    members
}
